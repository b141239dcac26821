"""Small hostile files that would cost gigabytes or minutes: each is refused in bounded memory
and time, with one line naming the member and the cause."""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from converter.read.mesh import MAX_MESH_BYTES
from converter.read.safe_npz import MAX_ANNOTATION_BYTES, MAX_DICT_KEYS
from converter.read.source import MAX_LIST_BYTES
from tests.helpers import edited, members, npz_of_npy, release_npz, with_raw_value
from tests.hostile import first_error_bounded, run_bounded

LIST = "imagenet3d_v1/lists/car_imagenet_train.txt"
# Meshes of one repeated line deflate beyond any plausible ratio: stored, they reach the reader.
STORED = zipfile.ZIP_STORED
MESH = "imagenet3d_v1/CAD/car/01.off"


@pytest.fixture(scope="module")
def annotation(sample_zip: Path) -> str:
    """The member name of a training photo's annotation file."""
    return next(name for name in members(sample_zip, ".npz") if "/car/" in name)


def with_member(
    sample_zip: Path, tmp_path: Path, name: str, data: bytes, method: int = zipfile.ZIP_DEFLATED
) -> Path:
    """The sample with member `name` holding `data`."""
    return edited(sample_zip, tmp_path / "hostile.zip", {name: data}, method)


def assert_one_line(message: str, member: str, cause: str) -> None:
    assert message.startswith(member) and cause in message and "\n" not in message, message


def shared_levels(levels: int) -> list:
    """`L[k] = [L[k-1], L[k-1]]`: a few bytes a level pickled, 2**levels items unfolded."""
    value: list = []
    for _ in range(levels):
        value = [value, value]
    return value


@pytest.mark.parametrize("key", ["bbox", "a_new_key"])
def test_a_pickle_of_shared_parts_is_refused_before_it_unfolds(
    key: str, annotation: str, sample_zip: Path, tmp_path: Path
) -> None:
    """1.2 KB that np.asarray (bbox) or the JSON of unknown keys would unfold to 2**31 items."""
    opcodes = pickle.dumps(shared_levels(30), protocol=3)[2:-1]
    npz = with_raw_value(key, opcodes)
    assert len(npz) < 1500
    message = first_error_bounded(with_member(sample_zip, tmp_path, annotation, npz))
    assert_one_line(message, annotation, "shared parts counted each time")


def colliding_keys(count: int, batch: int) -> bytes:
    """The opcodes of a dict of `count` multiples of 2**61 - 1, which all hash to 0, set
    `batch` at a time (1000 is what pickle writes). Never built here: it would take minutes."""
    pairs = [
        pickle.LONG1 + bytes([len(key)]) + key + pickle.NONE
        for key in (pickle.encode_long(index * (2**61 - 1)) for index in range(count))
    ]
    batches = [pairs[start : start + batch] for start in range(0, count, batch)]
    return pickle.EMPTY_DICT + b"".join(
        pickle.MARK + b"".join(chunk) + pickle.SETITEMS for chunk in batches
    )


@pytest.mark.parametrize(
    ("count", "batch", "cause"),
    [
        (120_000, 1000, "too large"),
        (60_000, 1000, f"more than {MAX_DICT_KEYS} keys"),
        (60_000, 1, "dict key of type int"),
    ],
)
def test_colliding_dict_keys_are_refused_before_they_are_hashed(
    count: int, batch: int, cause: str, annotation: str, sample_zip: Path, tmp_path: Path
) -> None:
    """Keys sharing one hash cost the square of their count: 120,000 took 98 s. So many make a
    file beyond the size of any annotation file; half as many fit, and are refused unhashed."""
    npz = with_raw_value("a_new_key", colliding_keys(count, batch))
    message = first_error_bounded(with_member(sample_zip, tmp_path, annotation, npz))
    assert_one_line(message, annotation, cause)


def largest_annotation(unit: bytes, start: bytes = b"") -> bytes:
    """An annotation file as large as any read, its pickle `start` then `unit` repeated."""
    header = b"\x93NUMPY\x01\x00" + (118).to_bytes(2, "little")
    header += b"{'descr': '|O', 'fortran_order': False, 'shape': (1,), }".ljust(117) + b"\n"
    room = MAX_ANNOTATION_BYTES - len(header) - len(start) - 200
    return npz_of_npy(header + start + unit * (room // len(unit)) + pickle.STOP)


@pytest.mark.parametrize(
    ("unit", "start"),
    [
        (pickle.MEMOIZE, pickle.NONE),
        (pickle.EMPTY_DICT, b""),
        (pickle.NONE + pickle.APPEND, pickle.EMPTY_LIST),
        (pickle.SHORT_BINUNICODE + b"\1a" + pickle.NONE + pickle.SETITEM, pickle.EMPTY_DICT),
    ],
    ids=["memo", "objects", "appends", "setitems"],
)
def test_the_most_work_an_annotation_file_can_ask_for_is_bounded(
    unit: bytes, start: bytes, tmp_path: Path
) -> None:
    """Each opcode takes at least a byte: the file's size bounds the work and what it makes."""
    path = tmp_path / "worst.npz"
    path.write_bytes(largest_annotation(unit, start))
    assert path.stat().st_size <= MAX_ANNOTATION_BYTES
    message = run_bounded(
        f"""
try:
    load_npz_array(open({str(path)!r}, "rb").read(), "worst.npz")
except DataError as error:
    print(error)
""",
        setup="from converter.core.errors import DataError\n"
        "from converter.read.safe_npz import load_npz_array",
    )
    assert_one_line(message, "worst.npz", "not the array its header declares")


def npz_of_entries(count: int) -> bytes:
    """An annotation file with `count` empty entries besides its array."""
    buffer = io.BytesIO(release_npz(np.array([{"class": "car"}], dtype=object)))
    with zipfile.ZipFile(buffer, "a") as npz:
        for index in range(count):
            npz.writestr(f"{index}.npy", b"")
    return buffer.getvalue()


def test_an_npz_of_many_empty_entries_is_refused_unread(
    annotation: str, sample_zip: Path, tmp_path: Path
) -> None:
    npz = npz_of_entries(60_000)
    assert len(npz) > MAX_ANNOTATION_BYTES
    message = first_error_bounded(with_member(sample_zip, tmp_path, annotation, npz))
    assert_one_line(message, annotation, f"too large (limit {MAX_ANNOTATION_BYTES})")


def test_an_npz_of_many_entries_within_the_limit_is_read(
    annotation: str, sample_zip: Path, tmp_path: Path
) -> None:
    npz = npz_of_entries(10_000)
    assert len(npz) <= MAX_ANNOTATION_BYTES
    assert first_error_bounded(with_member(sample_zip, tmp_path, annotation, npz)) == ""


def test_a_split_list_that_inflates_far_is_refused_unread(sample_zip: Path, tmp_path: Path) -> None:
    """64 MiB of ids deflate to about 200 KiB, a ratio zip members may have; lists are small."""
    text = b"n02958343_1\n" * ((64 << 20) // 12)
    message = first_error_bounded(with_member(sample_zip, tmp_path, LIST, text))
    assert_one_line(message, LIST, f"too large (limit {MAX_LIST_BYTES})")


def test_a_mesh_beyond_any_cad_model_is_refused_unread(sample_zip: Path, tmp_path: Path) -> None:
    count = (96 << 20) // 6
    mesh = b"OFF\n%d 0 0\n" % count + b"0 0 0\n" * count
    message = first_error_bounded(with_member(sample_zip, tmp_path, MESH, mesh, STORED))
    assert_one_line(message, MESH, f"too large (limit {MAX_MESH_BYTES})")


@pytest.mark.parametrize("line", [b"a\n", b"0 0 0\n"], ids=["junk", "vertices"])
def test_a_mesh_of_many_lines_is_counted_before_any_is_split(
    line: bytes, sample_zip: Path, tmp_path: Path
) -> None:
    """The largest mesh read, of the shortest lines, with counts that do not match them."""
    mesh = b"OFF\n1 0 0\n" + line * ((MAX_MESH_BYTES - 20) // len(line))
    message = first_error_bounded(with_member(sample_zip, tmp_path, MESH, mesh, STORED))
    assert_one_line(message, MESH, "declares 1 vertices and 0 faces")


def test_a_mesh_of_many_valid_lines_parses_within_the_bounds(
    sample_zip: Path, tmp_path: Path
) -> None:
    count = (MAX_MESH_BYTES - 40) // 6
    mesh = b"OFF\n%d 1 0\n" % count + b"0 0 0\n" * count + b"3 0 0 %d\n" % count
    message = first_error_bounded(with_member(sample_zip, tmp_path, MESH, mesh, STORED))
    assert_one_line(message, MESH, f"vertex index out of range 0..{count - 1}")


def test_items_of_no_bytes_in_a_huge_shape_are_refused_also_when_skipping(
    annotation: str, sample_zip: Path, tmp_path: Path
) -> None:
    """10**18 items of `|S0` take no bytes to store and forever to visit one by one."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "|S0", "fortran_order": False, "shape": (10**18,)}
    )
    npz = npz_of_npy(header.getvalue())
    assert len(npz) < 400
    spec = with_member(sample_zip, tmp_path, annotation, npz)
    message = first_error_bounded(spec)
    assert_one_line(message, annotation, f"declares {10**18} elements (limit")
    category, image_id = annotation.removesuffix(".npz").split("/")[-2:]
    skipped = run_bounded(
        f"source = open_source({str(spec)!r}, on_invalid='skip')\n"
        f"print(source.objects({category!r}, {image_id!r}), source.invalid.count)",
        "from converter.read.source import open_source",
    )
    assert skipped == "[] 1"
