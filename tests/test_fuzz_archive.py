"""Broken and hostile zips: opening gives a Source, a SourceError naming the file, or a DataError
naming a member whose name cannot be an output's (a damaged name byte); reading a member gives
its bytes or a DataError naming the member; sizes are judged before inflating."""

from __future__ import annotations

import re
import warnings
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from converter.core.errors import DataError, SourceError
from converter.read.archive import MAX_MEMBERS, first_overlap
from converter.read.source import SPLITS, Source, open_source
from tests.helpers import declaring, edited, members, overlapping
from tests.hostile import peak_allocated

FUZZ = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
LISTS = "imagenet3d_v1/lists"


def read_everything(source: Source) -> int:
    """Read every photo, annotation and mesh; the number of DataErrors met on the way."""
    errors = 0
    for split in SPLITS:
        try:
            pairs = source.image_ids(split)
        except DataError:
            errors += 1
            continue
        for category, image_id in pairs:
            for read in (source.photo_bytes, source.objects):
                try:
                    read(category, image_id)
                except DataError:
                    errors += 1
    for category in source.categories():
        for index in source.cad_indices(category):
            try:
                source.cad_bytes(category, index)
            except DataError:
                errors += 1
    return errors


def central_entry(data: bytes, name: str) -> int:
    """Where member `name` sits in the central directory of a zip without a comment."""
    end = len(data) - 22
    entry = int.from_bytes(data[end + 16 : end + 20], "little")
    while True:
        lengths = [
            int.from_bytes(data[entry + at : entry + at + 2], "little") for at in (28, 30, 32)
        ]
        if data[entry + 46 : entry + 46 + lengths[0]] == name.encode():
            return entry
        entry += 46 + sum(lengths)


def with_declared_size(data: bytes, name: str, size: int) -> bytes:
    """The zip `data` whose central directory claims member `name` inflates to `size` bytes.

    The claim goes in a zip64 extra field, as a real archive over 4 GiB would carry it.
    """
    entry = central_entry(data, name)
    name_end = entry + 46 + len(name)
    assert data[entry + 30 : entry + 32] == b"\0\0", "expects a member without extra fields"
    patched = bytearray(data[:name_end])
    patched[entry + 24 : entry + 28] = b"\xff\xff\xff\xff"
    patched[entry + 30 : entry + 32] = (12).to_bytes(2, "little")
    patched += b"\x01\x00\x08\x00" + size.to_bytes(8, "little") + data[name_end:]
    end = len(patched) - 22
    directory_size = int.from_bytes(patched[end + 12 : end + 16], "little") + 12
    patched[end + 12 : end + 16] = directory_size.to_bytes(4, "little")
    return bytes(patched)


def peak_memory_of_reading(path: Path, name: str) -> tuple[BaseException | None, int]:
    """What reading member `name` raised, and the peak of Python memory it took."""
    source = open_source(path)
    raised: BaseException | None = None

    def read() -> None:
        nonlocal raised
        try:
            source.store.read(name)
        except (DataError, SourceError) as error:
            raised = error

    peak = peak_allocated(read)
    return raised, peak


@FUZZ
@given(st.binary(max_size=2000))
def test_random_bytes_are_not_a_release(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    path = tmp_path_factory.mktemp("random") / "imagenet3d_v1.zip"
    path.write_bytes(data)
    with pytest.raises(SourceError, match=re.escape(str(path))):
        open_source(path)


def test_a_zip_cut_short_anywhere_is_named(sample_zip: Path, tmp_path: Path) -> None:
    whole = sample_zip.read_bytes()
    directory = whole.rindex(b"PK\x01\x02")
    lengths = {*range(0, len(whole), len(whole) // 40), *range(directory, len(whole))}
    path = tmp_path / "cut.zip"
    for length in sorted(lengths):
        path.write_bytes(whole[:length])
        with pytest.raises(SourceError, match=r"cut\.zip"):
            open_source(path)


@FUZZ
@given(data=st.data(), on_invalid=st.sampled_from(["raise", "skip"]))
def test_a_damaged_zip_is_refused_or_read_member_by_member(
    sample_zip: Path,
    tmp_path_factory: pytest.TempPathFactory,
    data: st.DataObject,
    on_invalid: str,
) -> None:
    """Damage anywhere, most often in the headers at the end; only our errors come out."""
    whole = bytearray(sample_zip.read_bytes())
    tail = whole.index(b"PK\x01\x02")
    offsets = st.integers(tail, len(whole) - 1) | st.integers(0, len(whole) - 1)
    for offset, value in data.draw(st.lists(st.tuples(offsets, st.integers(0, 255)), min_size=1)):
        whole[offset] = value
    path = tmp_path_factory.mktemp("damaged") / "imagenet3d_v1.zip"
    path.write_bytes(bytes(whole))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            source = open_source(path, on_invalid=on_invalid)  # type: ignore[arg-type]
        except SourceError as error:
            assert str(path) in str(error)
            return
        except DataError:  # a damaged name is refused where it enters, unless skipping
            assert on_invalid == "raise"
            return
        read_everything(source)


def test_a_member_declaring_a_huge_size_is_refused_before_inflating(
    sample_zip: Path, tmp_path: Path
) -> None:
    name = members(sample_zip, ".JPEG")[0]
    path = tmp_path / "huge.zip"
    path.write_bytes(with_declared_size(sample_zip.read_bytes(), name, 2**40))
    raised, peak = peak_memory_of_reading(path, name)
    assert isinstance(raised, DataError) and raised.member == name
    assert "too large" in str(raised) and peak < 1 << 20


def test_an_impossible_compression_ratio_is_refused_before_inflating(
    sample_zip: Path, tmp_path: Path
) -> None:
    """64 MiB of zeros deflate to 64 KiB: a ratio no photo or annotation file has."""
    name = members(sample_zip, ".npz")[0]
    bomb = edited(sample_zip, tmp_path / "bomb.zip", {name: bytes(64 << 20)}, zipfile.ZIP_DEFLATED)
    raised, peak = peak_memory_of_reading(bomb, name)
    assert isinstance(raised, DataError) and raised.member == name
    assert "implausible" in str(raised) and peak < 1 << 20


def test_a_member_inflating_beyond_its_declared_size_stops_there(
    sample_zip: Path, tmp_path: Path
) -> None:
    name = members(sample_zip, ".npz")[0]
    whole = edited(sample_zip, tmp_path / "long.zip", {name: bytes(8 << 20)}, zipfile.ZIP_DEFLATED)
    path = tmp_path / "lying.zip"
    path.write_bytes(with_declared_size(whole.read_bytes(), name, 1000))
    raised, peak = peak_memory_of_reading(path, name)
    assert isinstance(raised, DataError) and raised.member == name
    assert peak < 1 << 20


@pytest.mark.parametrize(
    ("flag_offset", "value", "complaint"),
    [(8, 99, "compression method"), (6, 1, "encrypted"), (6, 1 << 6, "strong encryption")],
)
def test_a_member_we_cannot_decode_is_named(
    sample_zip: Path, tmp_path: Path, flag_offset: int, value: int, complaint: str
) -> None:
    name = members(sample_zip, ".npz")[0]
    data = bytearray(sample_zip.read_bytes())
    central = central_entry(bytes(data), name)
    local = int.from_bytes(data[central + 42 : central + 46], "little")
    data[local + flag_offset] |= value
    data[central + flag_offset + 2] |= value
    path = tmp_path / "odd.zip"
    path.write_bytes(bytes(data))
    category, image_id = name.split("/")[-2], Path(name).stem
    with pytest.raises(DataError, match=complaint) as caught:
        open_source(path).objects(category, image_id)
    assert caught.value.member == name
    skipping = open_source(path, on_invalid="skip")
    assert skipping.objects(category, image_id) == [] and skipping.invalid.count == 1


def test_corrupt_annotations_are_counted_when_skipping(sample_zip: Path, tmp_path: Path) -> None:
    names = members(sample_zip, ".npz")
    broken = edited(sample_zip, tmp_path / "junk.zip", {name: b"junk" * 50 for name in names})
    source = open_source(broken, on_invalid="skip")
    assert read_everything(source) == 0
    assert source.invalid.count == len(names)


def test_an_empty_split_list_is_an_empty_split(sample_zip: Path, tmp_path: Path) -> None:
    empty = edited(sample_zip, tmp_path / "empty.zip", {f"{LISTS}/car_imagenet_val.txt": b""})
    source, original = open_source(empty), open_source(sample_zip)
    assert source.image_ids("validation", ["car"]) == []
    assert source.image_ids("train") == original.image_ids("train")


def test_a_list_naming_a_missing_photo_names_the_list(sample_zip: Path, tmp_path: Path) -> None:
    member = f"{LISTS}/car_imagenet_train.txt"
    text = zipfile.ZipFile(sample_zip).read(member) + b"n02958343_999999\n"
    source = open_source(edited(sample_zip, tmp_path / "missing.zip", {member: text}))
    with pytest.raises(DataError, match="n02958343_999999") as caught:
        source.image_ids("train")
    assert caught.value.member == member


def test_a_list_that_is_not_utf8_names_the_list(sample_zip: Path, tmp_path: Path) -> None:
    member = f"{LISTS}/chair_imagenet_val.txt"
    source = open_source(edited(sample_zip, tmp_path / "latin.zip", {member: b"n0\xe9\xff\n"}))
    with pytest.raises(DataError, match="UTF-8") as caught:
        source.image_ids("validation")
    assert caught.value.member == member


def test_duplicate_and_spaced_ids_in_a_list_are_listed_once(
    sample_zip: Path, tmp_path: Path
) -> None:
    member = f"{LISTS}/car_imagenet_train.txt"
    ids = zipfile.ZipFile(sample_zip).read(member).split()
    text = b"\r\n".join([*ids, *ids, b"  " + ids[0] + b"  ", b""])
    source = open_source(edited(sample_zip, tmp_path / "twice.zip", {member: text}))
    assert source.image_ids("train", ["car"]) == open_source(sample_zip).image_ids("train", ["car"])


def test_cad_indices_are_the_categorys_own_meshes(sample_zip: Path, tmp_path: Path) -> None:
    """Meshes of a category with a name as long, or files not named NN.off, are not its meshes."""
    odd = {
        "imagenet3d_v1/CAD/bus/07.off": b"OFF\n0 0 0\n",
        "imagenet3d_v1/CAD/car/1.off": b"OFF\n0 0 0\n",
        "imagenet3d_v1/CAD/car/0\u00b2.off": b"OFF\n0 0 0\n",
        "imagenet3d_v1/CAD/car/readme.off": b"",
    }
    source = open_source(edited(sample_zip, tmp_path / "cad.zip", odd))
    assert source.cad_indices("car") == open_source(sample_zip).cad_indices("car") == [1, 2]
    assert all(source.cad_bytes("car", index) for index in source.cad_indices("car"))


def declaring_members(data: bytes, count: int) -> bytes:
    """The zip `data` (no comment) whose end records declare `count` members, in the zip64
    record a real archive of over 65,535 members carries."""
    end = len(data) - 22
    directory_size = data[end + 12 : end + 16]
    directory_offset = data[end + 16 : end + 20]
    record = b"PK\x06\x06" + (44).to_bytes(8, "little") + b"\x2d\x00\x2d\x00" + bytes(8)
    record += count.to_bytes(8, "little") * 2
    record += int.from_bytes(directory_size, "little").to_bytes(8, "little")
    record += int.from_bytes(directory_offset, "little").to_bytes(8, "little")
    locator = b"PK\x06\x07" + bytes(4) + end.to_bytes(8, "little") + (1).to_bytes(4, "little")
    final = data[end : end + 8] + b"\xff\xff\xff\xff" + data[end + 12 :]
    return data[:end] + record + locator + final


def test_an_archive_declaring_millions_of_members_is_refused_before_parsing(
    sample_zip: Path, tmp_path: Path
) -> None:
    """zipfile would parse every entry at once, about 800 bytes of memory each."""
    path = tmp_path / "many.zip"
    path.write_bytes(declaring_members(sample_zip.read_bytes(), 10_000_000))

    def refused() -> None:
        with pytest.raises(SourceError, match=f"declares 10000000 members.*limit {MAX_MEMBERS}"):
            open_source(path)

    assert peak_allocated(refused) < 1 << 20
    honest = tmp_path / "honest.zip"
    honest.write_bytes(declaring_members(sample_zip.read_bytes(), len(members(sample_zip, ""))))
    assert open_source(honest).categories() == open_source(sample_zip).categories()


def test_members_sharing_bytes_are_refused_at_open(tmp_path: Path) -> None:
    """Each such member passes the size and ratio checks; together they inflate one stream
    once per member. zipfile itself reads both here."""
    photo = "imagenet3d_v1/images/car/n1_1.JPEG"
    path = tmp_path / "overlapping.zip"
    path.write_bytes(overlapping("imagenet3d_v1/images/car/n1_2.JPEG", photo, bytes(1 << 20)))
    assert zipfile.ZipFile(path).read(photo) == bytes(1 << 20)
    with pytest.raises(SourceError, match=rf"{path}: members .* and {photo} share bytes"):
        open_source(path)


@pytest.mark.parametrize(
    ("held", "why"),
    [
        (200, "its directory of .* bytes is too large for the 7 members it declares"),
        (20, "declares 7 members but its directory holds more"),
    ],
)
def test_a_directory_holding_more_than_its_end_record_declares_is_refused(
    held: int, why: str, tmp_path: Path
) -> None:
    """zipfile parses the directory by its byte size, not by the declared count."""
    path = tmp_path / "lying.zip"
    path.write_bytes(declaring(7, {f"{index}": b"" for index in range(held)}))
    assert len(zipfile.ZipFile(path).infolist()) == held
    with pytest.raises(SourceError, match=f"{path}: {why}"):
        open_source(path)


def test_first_overlap_names_two_spans_sharing_a_byte() -> None:
    assert first_overlap([(0, 10), (10, 5), (20, 1)]) is None
    assert first_overlap([(20, 1), (0, 12), (10, 5)]) == (1, 2)
    assert first_overlap([(0, 100), (40, 1), (10, 5)]) == (0, 2)
