"""Names from the release become output paths: one that is not a plain file name is refused
where it enters, so nothing is ever written outside OUT; nor are two that one file system would
take for one file (equal after case folding and NFC normalisation), or two photos whose examples
would share a name."""

from __future__ import annotations

import zipfile
from pathlib import Path

import datasets
import pytest

from converter.cli import main
from converter.core.errors import DataError
from converter.core.files import write_atomic
from converter.core.names import MAX_NAME_BYTES, unsafe_name
from converter.look.visualize import visualize
from converter.outputs.export import export
from converter.outputs.tool_folder import preprocess
from converter.pose.options import PoseOptions
from converter.read.source import open_source
from tests.helpers import (
    an_aeroplane_photo,
    edited,
    folder_files,
    reclassed,
    with_photo_copied,
)

TOP = "imagenet3d_v1"


def renamed_category(sample_zip: Path, out: Path, category: str, new: str) -> Path:
    """The sample with a copy of `category`'s photos, annotations (their objects of class `new`)
    and lists under `new`."""
    changes = {}
    with zipfile.ZipFile(sample_zip) as archive:
        for name in archive.namelist():
            parts = name.split("/")
            if len(parts) == 4 and parts[1] in ("images", "annotations") and parts[2] == category:
                data = archive.read(name)
                data = reclassed(data, new) if name.endswith(".npz") else data
                changes["/".join([*parts[:2], new, parts[3]])] = data
            elif parts[1] == "lists" and parts[2].startswith(f"{category}_"):
                changes[f"{TOP}/lists/{new}{parts[2][len(category) :]}"] = archive.read(name)
    return edited(sample_zip, out, changes)


@pytest.fixture
def dotdot(sample_zip: Path, tmp_path: Path) -> Path:
    """The sample with a category named `..`, whose outputs would land beside OUT."""
    return renamed_category(sample_zip, tmp_path / "dotdot.zip", "car", "..")


def test_a_category_named_dotdot_is_refused_where_it_enters(dotdot: Path) -> None:
    with pytest.raises(DataError, match=r"the category '\.\.' cannot be a file name") as caught:
        open_source(dotdot)
    assert caught.value.member.startswith(f"{TOP}/images/../")


def test_visualize_skipping_it_writes_nothing_outside_out(dotdot: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    before = folder_files(tmp_path)
    source = open_source(dotdot, on_invalid="skip")
    assert ".." not in source.categories() and source.invalid.count > 0
    written = visualize(source, out, per_category=2)
    assert written and all(path.resolve().is_relative_to(out) for path in written)
    after = {
        name: data for name, data in folder_files(tmp_path).items() if not name.startswith("out/")
    }
    assert after == before


def test_the_command_line_says_so_in_one_line(
    dotdot: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["visualize", str(dotdot), str(tmp_path / "out")]) != 0
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "the category '..' cannot be a file name" in error
    assert not (tmp_path / "out").exists()


def test_an_image_id_that_is_not_a_file_name_is_refused(sample_zip: Path, tmp_path: Path) -> None:
    member = f"{TOP}/images/car/...JPEG"
    photo = next(n for n in zipfile.ZipFile(sample_zip).namelist() if n.endswith(".JPEG"))
    hostile = edited(
        sample_zip, tmp_path / "id.zip", {member: zipfile.ZipFile(sample_zip).read(photo)}
    )
    with pytest.raises(DataError, match=r"the image id '\.\.' cannot be a file name") as caught:
        open_source(hostile)
    assert caught.value.member == member


def test_list_lines_that_are_not_file_names_are_refused(sample_zip: Path, tmp_path: Path) -> None:
    member = f"{TOP}/lists/car_imagenet_train.txt"
    text = zipfile.ZipFile(sample_zip).read(member) + b"../../../etc/passwd\n"
    hostile = edited(sample_zip, tmp_path / "list.zip", {member: text})
    with pytest.raises(DataError, match=r"1 lines refused, first: the image id '\.\./") as caught:
        open_source(hostile).image_ids("train")
    assert caught.value.member == member
    skipping = open_source(hostile, on_invalid="skip")
    assert skipping.image_ids("train") == open_source(sample_zip).image_ids("train")
    assert skipping.invalid.count == 1


@pytest.mark.parametrize(
    "name",
    [
        *("", ".", "..", ".hidden", "a/b", "a\\b", "c:", "a*", 'a"b', "a\x00b", "a\nb"),
        *("x" * (MAX_NAME_BYTES + 1), "\u8eca" * 34, "car\x85", "car\x9b", "car\u202e", "a\u2028b"),
    ],
    ids=repr,
)
def test_names_that_are_not_plain_file_names(name: str) -> None:
    assert unsafe_name(name) is not None


@pytest.mark.parametrize(
    "name", ["car", "n02958343_1", "wine_bottle", "x" * MAX_NAME_BYTES, "\u8eca" * 33, "café"]
)
def test_names_of_the_release_are_plain_file_names(name: str) -> None:
    assert unsafe_name(name) is None


@pytest.mark.parametrize("control", ["\x85", "\x9b", "\u202e"], ids=repr)
def test_a_category_with_any_unicode_control_character_is_refused(
    sample_zip: Path, tmp_path: Path, control: str, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile = renamed_category(sample_zip, tmp_path / "c1.zip", "car", f"car{control}")
    with pytest.raises(DataError, match=f"control character U\\+{ord(control):04X}") as caught:
        open_source(hostile)
    assert caught.value.key == "category"
    assert main(["inspect", str(hostile), "--on-invalid", "skip"]) == 0
    printed = capsys.readouterr()
    assert control not in printed.out + printed.err
    assert "invalid records skipped" in printed.err


@pytest.mark.parametrize("twin", ["Car", "CAR"])
def test_categories_equal_after_case_folding_are_refused(
    sample_zip: Path, tmp_path: Path, twin: str
) -> None:
    hostile = renamed_category(sample_zip, tmp_path / "twin.zip", "car", twin)
    with pytest.raises(DataError, match=f"the category 'car' is the category '{twin}'") as caught:
        open_source(hostile)
    assert caught.value.member.startswith(f"{TOP}/images/car/")
    assert caught.value.key == "category"
    assert open_source(hostile, on_invalid="skip").categories() == [
        twin,
        "aeroplane",
        "bicycle",
        "chair",
    ]


def test_a_skipped_twin_is_counted_once_whatever_the_processes(
    sample_zip: Path, tmp_path: Path
) -> None:
    hostile = renamed_category(sample_zip, tmp_path / "twin.zip", "car", "Car")
    source = open_source(hostile, on_invalid="skip")
    preprocess(source, tmp_path / "out", "pose3d", num_proc=2, progress=False)
    assert source.invalid.count == 1


def test_categories_equal_after_nfc_normalisation_are_refused(
    sample_zip: Path, tmp_path: Path
) -> None:
    composed = renamed_category(sample_zip, tmp_path / "composed.zip", "car", "caf\u00e9")
    hostile = renamed_category(composed, tmp_path / "both.zip", "car", "cafe\u0301")
    with pytest.raises(DataError, match="equal after case folding and NFC normalisation"):
        open_source(hostile)


def test_a_name_is_measured_in_bytes(sample_zip: Path, tmp_path: Path) -> None:
    """90 CJK characters are 270 bytes: under 128 characters, over any file system's 255."""
    hostile = renamed_category(sample_zip, tmp_path / "long.zip", "car", "\u8eca" * 90)
    with pytest.raises(DataError, match="it is 270 bytes in UTF-8, not 1 to 100") as caught:
        open_source(hostile)
    assert caught.value.key == "category"


def with_long_shared_photo(sample_zip: Path, out: Path, category: str, image_id: str) -> Path:
    """The sample with a car photo copied as `image_id` into car and into a new `category`."""
    photo, annotation = (
        f"{TOP}/images/car/n02958343_87.JPEG",
        f"{TOP}/annotations/car/n02958343_87.npz",
    )
    with zipfile.ZipFile(sample_zip) as archive:
        changes = {
            f"{TOP}/lists/{category}_imagenet_train.txt": f"{image_id}\n".encode(),
            f"{TOP}/lists/car_imagenet_train.txt": archive.read(
                f"{TOP}/lists/car_imagenet_train.txt"
            )
            + f"\n{image_id}\n".encode(),
        }
        for folder in ("car", category):
            changes[f"{TOP}/images/{folder}/{image_id}.JPEG"] = archive.read(photo)
            changes[f"{TOP}/annotations/{folder}/{image_id}.npz"] = reclassed(
                archive.read(annotation), folder
            )
    return edited(sample_zip, out, changes)


def test_the_longest_names_allowed_fit_every_file_written(sample_zip: Path, tmp_path: Path) -> None:
    """A 99-byte category and a 100-byte image id held by two categories: the qualified names
    and their temporary names still fit in one path component."""
    category, image_id = "\u8eca" * 33, "\u00e9" * 50
    longest = with_long_shared_photo(sample_zip, tmp_path / "longest.zip", category, image_id)
    out = tmp_path / "out"
    options = PoseOptions(categories=(category,))
    preprocess(open_source(longest), out, "pose3d", options, splits=["train"], progress=False)
    (written,) = (out / "images" / f"{category}_train").iterdir()
    assert written.name == f"{category}_{image_id}_00.JPEG"
    assert len(written.name.encode()) == 99 + 1 + 100 + 3 + 5  # 226 as a temporary name


def test_a_file_name_too_long_is_one_line_naming_it_before_anything_is_written(
    tmp_path: Path,
) -> None:
    path = tmp_path / ("x" * 240)
    with pytest.raises(
        DataError, match="the name is 258 bytes with its temporary suffix"
    ) as caught:
        write_atomic(path, b"data")
    assert caught.value.member == str(path) and caught.value.key == "file name"
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def named_like_a_qualified_name(sample_zip: Path, tmp_path: Path) -> tuple[Path, str]:
    """Aeroplane's photo <id> also in car (so named aeroplane_<id>_NN), and chair's photo
    literally named aeroplane_<id>: both would write aeroplane_<id>_00."""
    image_id = an_aeroplane_photo(open_source(sample_zip))
    copies = {"car": image_id, "chair": f"aeroplane_{image_id}"}
    return with_photo_copied(sample_zip, tmp_path / "clash.zip", image_id, copies), image_id


def test_preprocess_refuses_names_that_clash_naming_both_photos(
    named_like_a_qualified_name: tuple[Path, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    hostile, image_id = named_like_a_qualified_name
    command = ["preprocess", str(hostile), str(tmp_path / "out"), "--mode", "pose3d"]
    assert main(command) == 1
    error = capsys.readouterr().err.splitlines()[-1]
    assert error == (
        f"imagenet3d preprocess: {TOP}/images/chair/aeroplane_{image_id}.JPEG [image id]: its "
        f"examples would be named aeroplane_{image_id}_NN like those of "
        f"{TOP}/images/aeroplane/{image_id}.JPEG; rename one photo"
    )


def test_skipping_the_later_photo_gives_one_file_per_listed_name(
    named_like_a_qualified_name: tuple[Path, str], tmp_path: Path
) -> None:
    hostile, image_id = named_like_a_qualified_name
    source = open_source(hostile, on_invalid="skip")
    preprocess(source, tmp_path / "out", "pose3d", splits=["validation"], progress=False)
    assert source.invalid.count >= 1
    listed = [
        (path.parent.name, name)
        for path in (tmp_path / "out" / "lists").glob("*/mesh01.txt")
        for name in path.read_text().split()
    ]
    images = {(path.parent.name, path.stem) for path in (tmp_path / "out" / "images").glob("*/*")}
    assert len(listed) == len(set(listed)) and set(listed) == images
    assert ("aeroplane_val", f"aeroplane_{image_id}_00") in images


def test_export_pose3d_gives_each_row_its_own_name(
    named_like_a_qualified_name: tuple[Path, str], tmp_path: Path
) -> None:
    hostile, _ = named_like_a_qualified_name
    with pytest.raises(DataError, match="rename one photo"):
        export(hostile, tmp_path / "refused", ["pose3d"])
    export(open_source(hostile, on_invalid="skip"), tmp_path / "out", ["pose3d"])
    names = datasets.load_dataset(str(tmp_path / "out"), "pose3d", split="validation")["name"]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("prefix", ["AEROPLANE", "Aeroplane"])
def test_names_equal_after_case_folding_clash_too(
    sample_zip: Path, tmp_path: Path, prefix: str
) -> None:
    image_id = an_aeroplane_photo(open_source(sample_zip))
    copies = {"car": image_id, "chair": f"{prefix}_{image_id}"}
    hostile = with_photo_copied(sample_zip, tmp_path / "fold.zip", image_id, copies)
    with pytest.raises(DataError, match=f"named {prefix}_{image_id}_NN like those of"):
        open_source(hostile)
