"""Names from the release become output paths: one that is not a plain file name is refused
where it enters, so nothing is ever written outside OUT."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from converter.cli import main
from converter.core.errors import DataError
from converter.core.names import MAX_NAME_BYTES, unsafe_name
from converter.look.visualize import visualize
from converter.read.source import open_source
from tests.edits import edited, folder_files

TOP = "imagenet3d_v1"


def renamed_category(sample_zip: Path, out: Path, category: str, new: str) -> Path:
    """The sample with a copy of `category`'s photos, annotations and lists under `new`."""
    changes = {}
    with zipfile.ZipFile(sample_zip) as archive:
        for name in archive.namelist():
            parts = name.split("/")
            if len(parts) == 4 and parts[1] in ("images", "annotations") and parts[2] == category:
                changes["/".join([*parts[:2], new, parts[3]])] = archive.read(name)
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
