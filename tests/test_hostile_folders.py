"""A hostile unpacked release: only regular files inside the folder are read, each within the
size limit of its kind, and nothing hangs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from converter.core.errors import DataError
from converter.read.archive import _read_whole
from converter.read.safe_npz import MAX_ANNOTATION_BYTES
from converter.read.source import MAX_PHOTO_BYTES, open_source
from tests.hostile import first_error_bounded


@pytest.fixture
def folder(sample_dir: Path, tmp_path: Path) -> Path:
    """A copy of the unpacked sample that the test may change."""
    return Path(shutil.copytree(sample_dir, tmp_path / "release"))


def first_file(folder: Path, kind: str, suffix: str) -> tuple[Path, str]:
    """The first file of a kind (`images`, `annotations`) and its member name."""
    path = sorted((folder / "imagenet3d_v1" / kind).rglob(f"*{suffix}"))[0]
    return path, path.relative_to(folder).as_posix()


def test_a_fifo_is_refused_without_waiting_for_a_writer(folder: Path) -> None:
    path, member = first_file(folder, "annotations", ".npz")
    path.unlink()
    os.mkfifo(path)
    assert first_error_bounded(folder) == f"{member}: is not a regular file"


def test_a_link_to_a_device_is_refused_unread(folder: Path) -> None:
    path, member = first_file(folder, "images", ".JPEG")
    path.unlink()
    path.symlink_to("/dev/zero")
    assert first_error_bounded(folder) == f"{member}: is a link to /dev/zero, outside {folder}"


@pytest.mark.parametrize(
    ("kind", "suffix", "limit"),
    [("annotations", ".npz", MAX_ANNOTATION_BYTES), ("images", ".JPEG", MAX_PHOTO_BYTES)],
)
def test_a_sparse_file_of_gigabytes_is_refused_unread(
    kind: str, suffix: str, limit: int, folder: Path
) -> None:
    path, member = first_file(folder, kind, suffix)
    os.truncate(path, 3 << 30)
    message = first_error_bounded(folder)
    assert message == f"{member}: size {3 << 30} bytes is too large (limit {limit})"


@pytest.mark.parametrize(
    ("size", "read"), [(10, b"0123456789"), (4, b"01234"), (20, b"0123456789")]
)
def test_a_file_is_read_to_its_size_and_one_that_grew_since_shows_a_byte_more(
    size: int, read: bytes, tmp_path: Path
) -> None:
    """`size` is what the file's status said: as now, smaller (it grew since: a byte more,
    which the size check refuses at the limit) or larger (it shrank since)."""
    path = tmp_path / "member"
    path.write_bytes(b"0123456789")
    descriptor = os.open(path, os.O_RDONLY)
    try:
        assert _read_whole(descriptor, size) == read
    finally:
        os.close(descriptor)


def test_a_link_out_of_the_folder_is_never_followed(folder: Path, tmp_path: Path) -> None:
    """The outside file's bytes must not end up in any output."""
    secret = tmp_path / "secret.JPEG"
    secret.write_bytes(b"not for the dataset")
    path, member = first_file(folder, "images", ".JPEG")
    path.unlink()
    path.symlink_to(secret)
    category, image_id = path.parent.name, path.stem
    with pytest.raises(DataError, match="outside") as caught:
        open_source(folder).photo_bytes(category, image_id)
    assert caught.value.member == member


def test_a_link_within_the_folder_is_read(folder: Path) -> None:
    path, _ = first_file(folder, "images", ".JPEG")
    other = sorted(path.parent.glob("*.JPEG"))[1]
    path.unlink()
    path.symlink_to(os.path.relpath(other, path.parent))
    source = open_source(folder)
    assert source.photo_bytes(path.parent.name, path.stem) == other.read_bytes()


def test_a_folder_linked_out_of_the_release_is_never_followed(folder: Path, tmp_path: Path) -> None:
    """A category's photo folder replaced by a link to a copy of it elsewhere: its photos are
    not listed, and asked for by name, each is refused though it is a plain file there."""
    path, member = first_file(folder, "images", ".JPEG")
    elsewhere = Path(shutil.copytree(path.parent, tmp_path / "elsewhere"))
    shutil.rmtree(path.parent)
    path.parent.symlink_to(elsewhere)
    source = open_source(folder)
    with pytest.raises(DataError, match="no such photo"):
        source.photo_bytes(path.parent.name, path.stem)
    with pytest.raises(DataError, match="outside") as caught:
        source.store.read(member)
    assert caught.value.member == member


def test_a_name_climbing_out_of_the_folder_is_refused(folder: Path, tmp_path: Path) -> None:
    """A plain file beside the release, named through `..` (as a hostile split list could)."""
    (tmp_path / "secret.JPEG").write_bytes(b"not for the dataset")
    member = "imagenet3d_v1/images/../../../secret.JPEG"
    with pytest.raises(DataError, match="outside") as caught:
        open_source(folder).store.read(member)
    assert caught.value.member == member
