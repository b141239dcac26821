"""A zip's central directory held as a few flat arrays, and its members read by their offsets.

`zipfile.ZipFile` keeps a `ZipInfo` object per member, and the release has about 180,000
members. Here the sorted member names are one UTF-8 byte string with an array of where each
starts, and each number of a member is one slot of a typed array, so the index costs a small
fraction of zipfile's (bench/RESULTS.md, "Scale"). A member's `ZipInfo` is made only when it
is read, and its bytes come through zipfile's own `ZipExtFile`, which inflates and checks the
CRC as `ZipFile.open` does."""

from __future__ import annotations

import bisect
import struct
import zipfile
from array import array
from collections.abc import Sequence
from typing import BinaryIO

import numpy as np

_CENTRAL = struct.Struct(zipfile.structCentralDir)
_LOCAL = struct.Struct(zipfile.structFileHeader)
_UTF8_NAME = 0x800
_UNSUPPORTED = {
    0x20: "compressed patched data (flag bit 5)",
    0x40: "strong encryption (flag bit 6)",
}
_ZIP64_MARK = 0xFFFF_FFFF
_BEYOND_OFFSETS = 1 << 64  # what the offset arrays hold
# The numbers kept of each member, and the array type of each.
_FIELDS = {
    "header_offset": "Q",
    "compress_size": "Q",
    "file_size": "Q",
    "span_end": "Q",
    "least_span": "Q",
    "crc": "L",
    "flag_bits": "H",
    "compress_type": "H",
}


class _Names(Sequence[str]):
    """The sorted names as a sequence, decoded one at a time (what `bisect` needs)."""

    def __init__(self, blob: bytes, starts: array) -> None:
        self._blob, self._starts = blob, starts

    def __len__(self) -> int:
        return len(self._starts) - 1

    def __getitem__(self, index: int) -> str:  # type: ignore[override]
        return self._blob[self._starts[index] : self._starts[index + 1]].decode()


class ZipIndex:
    """The files of a zip (folder entries left out), sorted by name; for a name twice, the last.

    `header_offset`, `compress_size`, `file_size`, `crc`, `flag_bits`, `compress_type` and
    `span_end` (where the member's data ends, if its local header repeats the central one's
    name and extra field) and `least_span` (the fewest bytes it takes from its local header on:
    header, name and data, a local extra field only adds) are arrays in name order, one slot per
    member.
    """

    header_offset: array
    compress_size: array
    file_size: array
    span_end: array
    least_span: array
    crc: array
    flag_bits: array
    compress_type: array

    def __init__(self, file: BinaryIO) -> None:
        """Read the central directory that the end record points at, in one read."""
        end = zipfile._EndRecData(file)
        if not end:
            raise zipfile.BadZipFile("File is not a zip file")
        size, offset = end[zipfile._ECD_SIZE], end[zipfile._ECD_OFFSET]
        concat = end[zipfile._ECD_LOCATION] - size - offset
        if end[zipfile._ECD_SIGNATURE] == zipfile.stringEndArchive64:
            concat -= zipfile.sizeEndCentDir64 + zipfile.sizeEndCentDir64Locator
        if offset + concat < 0:
            raise zipfile.BadZipFile("Bad offset for central directory")
        file.seek(offset + concat)
        names, columns = _entries(file.read(size), concat)
        kept = _kept(names)
        encoded = [names[index].encode() for index in kept]
        self.starts = array("Q", [0])
        for name in encoded:
            self.starts.append(self.starts[-1] + len(name))
        self._blob = b"".join(encoded)
        for field, column in columns.items():
            setattr(self, field, array(column.typecode, map(column.__getitem__, kept)))
        self.names: Sequence[str] = _Names(self._blob, self.starts)

    def __len__(self) -> int:
        return len(self.names)

    def find(self, name: str) -> int | None:
        """The index of member `name`, or None."""
        index = bisect.bisect_left(self.names, name)
        return index if index < len(self) and self.names[index] == name else None

    def spans(self) -> np.ndarray:
        """Each member's (header offset, least span), one row per member, for overlap checks."""
        offsets = np.frombuffer(self.header_offset, dtype=np.uint64)
        return np.column_stack([offsets, np.frombuffer(self.least_span, dtype=np.uint64)])

    def zipinfo(self, index: int) -> zipfile.ZipInfo:
        """The member's `ZipInfo`, made for one read: what `ZipExtFile` and the checks need."""
        info = zipfile.ZipInfo(self.names[index])
        info.header_offset = self.header_offset[index]
        info.compress_size = self.compress_size[index]
        info.file_size = self.file_size[index]
        info.CRC = self.crc[index]
        info.flag_bits = self.flag_bits[index]
        info.compress_type = self.compress_type[index]
        return info


def _kept(names: list[str]) -> list[int]:
    """The entries kept, in name order: no folders, and of a repeated name the last (the one
    zipfile's own lookup finds)."""
    order = sorted(range(len(names)), key=names.__getitem__)
    return [
        index
        for position, index in enumerate(order)
        if not names[index].endswith("/")
        and (position + 1 == len(order) or names[order[position + 1]] != names[index])
    ]


def _entries(data: bytes, concat: int) -> tuple[list[str], dict[str, array]]:
    """Each central directory entry's name, and its numbers by field, parsed as `zipfile` does."""
    names: list[str] = []
    columns = {field: array(typecode) for field, typecode in _FIELDS.items()}
    position = 0
    while position < len(data):
        if position + _CENTRAL.size > len(data):
            raise zipfile.BadZipFile("Truncated central directory")
        fields = _CENTRAL.unpack_from(data, position)
        if fields[0] != zipfile.stringCentralDir:
            raise zipfile.BadZipFile("Bad magic number for central directory")
        name_size, extra_size, comment_size = fields[12:15]
        start = position + _CENTRAL.size
        name = _decoded(data[start : start + name_size], fields[5])
        file_size, compress_size, header_offset = fields[11], fields[10], fields[18]
        if _ZIP64_MARK in (file_size, compress_size, header_offset):
            info = zipfile.ZipInfo()
            info.extra = data[start + name_size : start + name_size + extra_size]
            info.file_size, info.compress_size = file_size, compress_size
            info.header_offset = header_offset
            info._decodeExtra()  # zipfile's own zip64 reading
            file_size, compress_size = info.file_size, info.compress_size
            header_offset = info.header_offset
        header_offset += concat
        span_end = header_offset + _LOCAL.size + name_size + extra_size + compress_size
        if header_offset < 0 or span_end >= _BEYOND_OFFSETS:
            raise zipfile.BadZipFile(f"Bad offset {header_offset} for {name!r}")
        names.append(name)
        least_span = _LOCAL.size + name_size + compress_size
        values = (
            header_offset,
            compress_size,
            file_size,
            span_end,
            least_span,
            fields[9],
            *fields[5:7],
        )
        for column, value in zip(columns.values(), values, strict=True):
            column.append(value)
        position = start + name_size + extra_size + comment_size
    return names, columns


def _decoded(raw: bytes, flag_bits: int) -> str:
    """A stored name as zipfile reads it: UTF-8 when flagged, else cp437, cut at a NUL."""
    name = raw.decode("utf-8" if flag_bits & _UTF8_NAME else "cp437")
    return name.partition("\0")[0]


def open_member(file: BinaryIO, info: zipfile.ZipInfo) -> zipfile.ZipExtFile:
    """The member's data stream after checking its local header, as `ZipFile.open` does."""
    file.seek(info.header_offset)
    header = file.read(_LOCAL.size)
    if len(header) != _LOCAL.size:
        raise zipfile.BadZipFile("Truncated file header")
    fields = _LOCAL.unpack(header)
    if fields[0] != zipfile.stringFileHeader:
        raise zipfile.BadZipFile("Bad magic number for file header")
    name = file.read(fields[10])
    file.seek(fields[11], 1)
    for flag, what in _UNSUPPORTED.items():
        if info.flag_bits & flag:
            raise NotImplementedError(what)
    if _decoded(name, fields[3]) != info.filename:
        raise zipfile.BadZipFile(
            f"File name in directory {info.filename!r} and header {name!r} differ."
        )
    return zipfile.ZipExtFile(file, "r", info)
