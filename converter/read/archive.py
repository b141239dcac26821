"""Member-level access to an unpacked folder or a zip, local or remote, reading only what is asked.

A zip is opened by its central directory alone; each member is then read by its own
offset, so a remote archive costs a few range requests per member instead of a download.
"""

from __future__ import annotations

import hashlib
import lzma
import os
import stat
import threading
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO, Protocol

from converter.core.errors import DataError, SourceError
from converter.read.zip_index import ZipIndex, open_member

# The bound on any member, whatever its kind; Source reads each kind with a tighter one.
MAX_MEMBER_BYTES = 1 << 30
# The release has under 200,000 members (photos, annotation files, lists, meshes). Its central
# directory is parsed at once: 141,000 members took 61 MiB at the peak and their index keeps
# 24 MiB (bench/RESULTS.md, "Scale"), so 500,000 stay well under 400 MB.
MAX_MEMBERS = 500_000
MAX_COMPRESSION_RATIO = 200
# Opening a FIFO for reading waits for a writer; without blocking it opens at once, and is then
# refused as not a regular file. (Windows has neither FIFOs nor the flag.)
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
# What zipfile raises on a damaged archive or member. RuntimeError, which it raises for an
# encrypted member, is left out: a refused remote read is one (AccessError) and must reach the
# user as it is; check_member refuses encrypted members before reading instead.
ZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    lzma.LZMAError,
    EOFError,
    OSError,
    ValueError,
    NotImplementedError,
)


class Store(Protocol):
    """What the layout code needs of a container: its member names and their bytes."""

    def names(self) -> list[str]: ...

    def read(self, name: str, limit: int = MAX_MEMBER_BYTES) -> bytes: ...

    def position(self, name: str) -> int: ...

    def fingerprint(self) -> str: ...


class FolderStore:
    """An unpacked release; member names are posix paths relative to the folder.

    A member is read only if it is a regular file inside the folder once links are followed
    (a link to a file elsewhere, a FIFO or a device is refused), and only up to the limit a zip
    member of its kind has.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._real_root = os.path.realpath(root)

    def names(self) -> list[str]:
        found = []
        for folder, _, files in os.walk(self.root):
            relative = Path(folder).relative_to(self.root)
            found.extend((relative / name).as_posix() for name in files)
        return sorted(found)

    def read(self, name: str, limit: int = MAX_MEMBER_BYTES) -> bytes:
        path = os.path.realpath(self.root / name)
        if os.path.commonpath([self._real_root, path]) != self._real_root:
            raise DataError(name, f"is a link to {path}, outside {self.root}")
        try:
            descriptor = os.open(path, _OPEN_FLAGS)
        except OSError as error:
            raise DataError(name, f"cannot be read ({error.strerror or error})") from None
        with os.fdopen(descriptor, "rb") as file:
            status = os.fstat(descriptor)
            if not stat.S_ISREG(status.st_mode):
                raise DataError(name, "is not a regular file")
            check_size(name, status.st_size, limit)
            # One byte more than the size shows a file that grew since; no more than the limit.
            data = file.read(min(status.st_size, limit) + 1)
        check_size(name, len(data), limit)
        return data

    def position(self, name: str) -> int:
        return 0

    def fingerprint(self) -> str:
        """A digest of every file's name and size: cheap, and changed by any file added or cut."""
        return _digest((name, (self.root / name).stat().st_size) for name in self.names())


class ZipStore:
    """A zip read by random access from any seekable binary file (local or remote), through
    one compact index of its central directory (`ZipIndex`).

    A file with a `prefetch(start, end)` method (a remote one) is told each member's whole
    span first, so a member costs one request rather than one per header and body.
    """

    def __init__(self, file: BinaryIO, label: str) -> None:
        self.label = label
        self._file = file
        self._lock = threading.Lock()  # one seek-and-read at a time, as zipfile's own reads
        try:
            members = _declared_members(file)
            if members > MAX_MEMBERS:
                raise SourceError(
                    f"{label}: declares {members} members, more than any release (limit "
                    f"{MAX_MEMBERS})"
                )
            self.index = ZipIndex(file)
        except SourceError:
            raise
        except ZIP_ERRORS as error:
            raise SourceError(
                f"{label}: not a readable zip archive ({error}); "
                "the download may be truncated, fetch it again"
            ) from None

    def names(self) -> list[str]:
        return list(self.index.names)

    def position(self, name: str) -> int:
        return self.index.header_offset[self._find(name)]

    def fingerprint(self) -> str:
        """A digest of every member's name, size and CRC, from the central directory alone."""
        index = self.index
        return _digest(
            (name, index.file_size[number], index.crc[number])
            for number, name in enumerate(index.names)
        )

    def _find(self, name: str) -> int:
        number = self.index.find(name)
        if number is None:
            raise DataError(name, f"not in {self.label}")
        return number

    def read(self, name: str, limit: int = MAX_MEMBER_BYTES) -> bytes:
        number = self._find(name)
        info = self.index.zipinfo(number)
        check_member(info, name, limit)
        prefetch = getattr(self._file, "prefetch", None)
        if prefetch is not None:
            prefetch(info.header_offset, self.index.span_end[number])
        try:
            with self._lock, open_member(self._file, info) as member:
                return member.read(info.file_size)
        except ZIP_ERRORS as error:
            raise DataError(name, f"corrupt or truncated zip member ({error})") from None


def _digest(entries: Iterable[tuple[object, ...]]) -> str:
    digest = hashlib.sha256()
    for entry in entries:
        digest.update(repr(entry).encode())
    return digest.hexdigest()


def _declared_members(file: BinaryIO) -> int:
    """The member count the zip's end record declares, read before zipfile parses every entry,
    by zipfile's own reader of that record (zip64 too); 0 without one, which zipfile reports."""
    end = zipfile._EndRecData(file)
    return 0 if end is None else end[zipfile._ECD_ENTRIES_TOTAL]


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """The member's bytes, inflating no more than its header declares.

    `ZipFile.read` inflates all the compressed data holds (up to 2 GiB at once) and only then
    cuts it to the declared size, so a small member lying about its size could fill memory.
    """
    with archive.open(info) as member:
        return member.read(info.file_size)


def check_size(name: str, size: int, limit: int) -> None:
    """Refuse a member, file or text of more than `limit` bytes."""
    if size > limit:
        raise DataError(name, f"size {size} bytes is too large (limit {limit})")


def check_member(
    info: zipfile.ZipInfo, member: str, limit: int = MAX_MEMBER_BYTES, key: str | None = None
) -> None:
    """Refuse an encrypted member, or one whose header promises an absurd size, before reading."""
    if info.flag_bits & 0x1:
        raise DataError(member, "is encrypted", key=key)
    if max(info.file_size, info.compress_size) > limit:
        raise DataError(
            member,
            f"declared size {info.file_size} bytes ({info.compress_size} compressed) is too large "
            f"(limit {limit})",
            key=key,
        )
    if info.file_size > max(info.compress_size, 1) * MAX_COMPRESSION_RATIO + 65536:
        raise DataError(
            member,
            f"declared size {info.file_size} is implausible for {info.compress_size} "
            "compressed bytes",
            key=key,
        )
