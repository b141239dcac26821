"""Annotation files are zips of stored members, written in one buffer: the bytes `zipfile`
writes, read back by `np.load` (docs/format.md, 'The public tool's folder')."""

from __future__ import annotations

import io
import sys
import zipfile

import numpy as np
import pytest

from converter.core.files import ZIP_TIME
from converter.core.stored_zip import stored_zip
from converter.outputs.tool_folder import plain_npz

ARRAYS = {
    "bbox": np.array([1.5, 2.0, 30.25, 40.0]),
    "class": np.array("aeroplane"),
    "cad_index": np.array(3, dtype=np.int64),
    "empty": np.zeros((0, 3), dtype=np.float32),
    "padding_params": np.arange(6),
}


def zipfile_bytes(members: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members:
            archive.writestr(zipfile.ZipInfo(name, ZIP_TIME), data, zipfile.ZIP_STORED)
    return buffer.getvalue()


@pytest.mark.skipif(sys.platform == "win32", reason="zipfile marks members made on Windows")
def test_the_archive_is_the_one_zipfile_writes() -> None:
    members = [("a.npy", b"x" * 100), ("nothing.npy", b""), ("bytes.npy", bytes(range(256)))]
    assert stored_zip(members) == zipfile_bytes(members)
    assert stored_zip([]) == zipfile_bytes([])


def test_np_load_reads_every_array_back() -> None:
    with np.load(io.BytesIO(plain_npz(ARRAYS))) as loaded:
        assert sorted(loaded.files) == sorted(ARRAYS)
        for key, array in ARRAYS.items():
            assert loaded[key].dtype == array.dtype
            assert np.array_equal(loaded[key], array)


def test_an_object_array_is_refused() -> None:
    with pytest.raises(ValueError, match="names: object is not a plain array"):
        plain_npz({"names": np.array([{"a": 1}], dtype=object)})
