"""Member-level access to an unpacked folder or a zip, local or remote, reading only what is asked.

A zip is opened by its central directory alone; each member is then read by its own
offset, so a remote archive costs a few range requests per member instead of a download.
"""

from __future__ import annotations

import errno
import functools
import hashlib
import lzma
import os
import stat
import struct
import threading
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import BinaryIO, Protocol

import numpy as np

from converter.core.errors import DataError, SourceError
from converter.read.zip_index import ZipIndex, open_member

# The bound on any member, whatever its kind; Source reads each kind with a tighter one.
MAX_MEMBER_BYTES = 1 << 30
# The release has under 200,000 members (photos, annotation files, lists, meshes). Its central
# directory is parsed at once: 141,000 members took 61 MiB at the peak and their index keeps
# 24 MiB (bench/RESULTS.md, "Scale"), so 500,000 stay well under 400 MB.
MAX_MEMBERS = 500_000
# A directory entry is 46 bytes and the member's name, extra field and comment; the release's
# names are short paths (`imagenet3d_v1/images/<category>/<image id>.JPEG`). zipfile parses the directory by its byte size, not its declared count, so
# the size is bounded by the count too, and the entries are counted before zipfile parses them.
MAX_ENTRY_BYTES = 512
DIRECTORY_ENTRY_SIZE = 46
MAX_COMPRESSION_RATIO = 200
# Opening a FIFO for reading waits for a writer; without blocking it opens at once, and is then
# refused as not a regular file. (Windows has neither FIFOs nor the flag.)
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
_NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)
# What opening a link without following it fails with: ELOOP on Linux and macOS, EMLINK on
# FreeBSD.
_LINK_REFUSED = (errno.ELOOP, errno.EMLINK)
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


def _read_whole(descriptor: int, size: int) -> bytes:
    """A regular file that had `size` bytes when its status was read, and one byte more if it
    has grown since, by the system's calls alone (a Python file object adds three, see
    `converter.core.files`). A regular file's read comes back short only at its end (or when a
    signal cuts it), so a file read whole needs no further read to find its end: one call a
    file rather than two, each of which hands Python's lock to another thread."""
    parts = []
    wanted = size + 1
    while part := os.read(descriptor, wanted):
        parts.append(part)
        wanted -= len(part)
        if wanted <= 1:  # read to its size, or grown past it
            break
    return b"".join(parts)


class FolderStore:
    """An unpacked release; member names are posix paths relative to the folder.

    A member is read only if it is a regular file inside the folder once links are followed
    (a link to a file elsewhere, a FIFO or a device is refused), and only up to the limit a zip
    member of its kind has.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._real_root = os.path.realpath(root)
        self._real_folders: dict[str, str] = {}

    def names(self) -> list[str]:
        return [name for name, _ in self._files]

    @functools.cached_property
    def _files(self) -> list[tuple[str, str]]:
        """Each file's member name and path, sorted by name: the folder as first listed, walked
        once for its names and its fingerprint."""
        root = os.fspath(self.root)
        found = []
        for folder, _, files in os.walk(root):
            relative = os.path.relpath(folder, root).replace(os.sep, "/")
            prefix = "" if relative == "." else f"{relative}/"
            found.extend((prefix + name, os.path.join(folder, name)) for name in files)
        return sorted(found)

    def read(self, name: str, limit: int = MAX_MEMBER_BYTES) -> bytes:
        descriptor = self._open(name)
        try:
            status = os.fstat(descriptor)
            if not stat.S_ISREG(status.st_mode):
                raise DataError(name, "is not a regular file")
            check_size(name, status.st_size, limit)
            data = _read_whole(descriptor, status.st_size)
        finally:
            os.close(descriptor)
        check_size(name, len(data), limit)  # grown past the limit since: a byte over it
        return data

    def _open(self, name: str) -> int:
        """The member opened for reading, with links followed; refused when it leaves the folder.

        Each folder's real path is found and checked once (a release has a few hundred). The
        member itself is opened without following a link, so that a link, even one made in its
        place meanwhile, is refused by the open and only then resolved and checked: a plain
        member costs no system call but its open.
        """
        folder, _, base = name.rpartition("/")
        path = os.path.join(self._real_folder(name, folder), base)
        try:
            if _NO_FOLLOW:
                return os.open(path, _OPEN_FLAGS | _NO_FOLLOW)
            if not os.path.islink(path):
                return os.open(path, _OPEN_FLAGS)
        except OSError as error:
            if error.errno not in _LINK_REFUSED:
                raise DataError(name, f"cannot be read ({error.strerror or error})") from None
        target = os.path.realpath(path)
        self._check_inside(name, target)
        try:
            return os.open(target, _OPEN_FLAGS)
        except OSError as error:
            raise DataError(name, f"cannot be read ({error.strerror or error})") from None

    def _real_folder(self, name: str, folder: str) -> str:
        real_folder = self._real_folders.get(folder)
        if real_folder is None:
            real_folder = os.path.realpath(self.root / folder)
            self._check_inside(name, real_folder)
            self._real_folders[folder] = real_folder
        return real_folder

    def _check_inside(self, name: str, path: str) -> None:
        if os.path.commonpath([self._real_root, path]) != self._real_root:
            raise DataError(name, f"is a link to {path}, outside {self.root}")

    def position(self, name: str) -> int:
        return 0

    def fingerprint(self) -> str:
        """A digest of every file's name and size: cheap, and changed by any file added or cut."""
        return _digest((name, os.stat(path).st_size) for name, path in self._files)


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
            problem = _directory_problem(file)
            if problem:
                raise SourceError(f"{label}: {problem}")
            self.index = ZipIndex(file)
        except SourceError:
            raise
        except ZIP_ERRORS as error:
            raise SourceError(
                f"{label}: not a readable zip archive ({error}); "
                "the download may be truncated, fetch it again"
            ) from None
        overlap = first_overlap(self.index.spans())
        if overlap:
            first, second = (self.index.names[index] for index in overlap)
            raise SourceError(
                f"{label}: members {first} and {second} share bytes (overlapping members, the "
                "construction of a zip bomb)"
            )

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


def _directory_problem(file: BinaryIO) -> str | None:
    """Why the central directory must not be parsed, judged before zipfile parses it whole: more
    members declared than any release, more bytes than the count allows, or more entries than
    declared. The end record is read by zipfile's own reader (zip64 too); without one, None,
    and zipfile reports it."""
    end = zipfile._EndRecData(file)
    if end is None:
        return None
    count, size = end[zipfile._ECD_ENTRIES_TOTAL], end[zipfile._ECD_SIZE]
    if count > MAX_MEMBERS:
        return f"declares {count} members, more than any release (limit {MAX_MEMBERS})"
    if size > count * MAX_ENTRY_BYTES:
        return (
            f"its directory of {size} bytes is too large for the {count} members it declares "
            f"(limit {MAX_ENTRY_BYTES} bytes each)"
        )
    start = end[zipfile._ECD_LOCATION] - size
    if end[zipfile._ECD_SIGNATURE] == zipfile.stringEndArchive64:
        start -= zipfile.sizeEndCentDir64 + zipfile.sizeEndCentDir64Locator
    file.seek(max(start, 0))
    if _count_entries(file.read(size), count) > count:
        return f"declares {count} members but its directory holds more"
    return None


def _count_entries(directory: bytes, most: int) -> int:
    """The entries of a central directory, counted as zipfile walks them, up to `most` + 1."""
    count = position = 0
    while position + DIRECTORY_ENTRY_SIZE <= len(directory) and count <= most:
        name, extra, comment = struct.unpack_from("<HHH", directory, position + 28)
        position += DIRECTORY_ENTRY_SIZE + name + extra + comment
        count += 1
    return count


def first_overlap(spans: Sequence[tuple[int, int]] | np.ndarray) -> tuple[int, int] | None:
    """The indices of two (offset, size) spans that share a byte, or None.

    Members whose bytes overlap let a few megabytes of one deflate stream inflate once per
    member (the "better zip bomb"); no zip writer makes them.
    """
    if len(spans) < 2:
        return None
    offsets, sizes = np.asarray(spans, dtype=np.int64).T
    order = np.argsort(offsets, kind="stable")
    ends = offsets[order] + sizes[order]
    reach = np.maximum.accumulate(ends)[:-1]
    clash = np.flatnonzero(reach > offsets[order][1:])
    if not len(clash):
        return None
    later = int(clash[0]) + 1
    earlier = int(np.argmax(ends[:later] > offsets[order][later]))
    return int(order[earlier]), int(order[later])


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
