"""A zip archive of stored (uncompressed) members, built in one buffer.

Byte for byte what `zipfile` writes on POSIX for the same members stored with `ZIP_TIME` (as
`np.savez` stores arrays), without its bookkeeping per member: a `.npz` of thirty small arrays
is written in a seventh of `zipfile`'s time. Members are small (no ZIP64) and named in ASCII.
The record layouts are those of the zip specification (APPNOTE.TXT, sections 4.3.7, 4.3.12 and
4.3.16).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable

from converter.core.files import ZIP_TIME

_LOCAL = struct.Struct("<4s5H3L2H")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_END = struct.Struct("<4s4H2LH")
_VERSION = 20  # 2.0: what `zipfile` writes as made-by and needed version for stored members
_MADE_ON_UNIX = 3 << 8
_READ_WRITE = 0o600 << 16  # the permissions `zipfile.writestr` gives a member
_LIMIT = 0xFFFFFFFF


def _dos_time(stamp: tuple[int, int, int, int, int, int]) -> tuple[int, int]:
    year, month, day, hour, minute, second = stamp
    return hour << 11 | minute << 5 | second // 2, (year - 1980) << 9 | month << 5 | day


_TIME, _DATE = _dos_time(ZIP_TIME)


def stored_zip(members: Iterable[tuple[str, bytes]]) -> bytes:
    """The archive of `members` (name, data), in their order."""
    parts: list[bytes] = []
    directory: list[bytes] = []
    offset = 0
    for name, data in members:
        encoded = name.encode("ascii")
        if len(data) >= _LIMIT:
            raise ValueError(f"{name}: {len(data)} bytes is too large for a stored member")
        crc, size = zlib.crc32(data), len(data)
        fields = (_TIME, _DATE, crc, size, size, len(encoded))
        local = _LOCAL.pack(b"PK\x03\x04", _VERSION, 0, 0, *fields, 0)
        directory.append(
            _CENTRAL.pack(
                b"PK\x01\x02",
                _MADE_ON_UNIX | _VERSION,
                _VERSION,
                0,
                0,
                *fields,
                0,
                0,
                0,
                0,
                _READ_WRITE,
                offset,
            )
            + encoded
        )
        parts += (local, encoded, data)
        offset += len(local) + len(encoded) + size
    listing = b"".join(directory)
    count = len(directory)
    end = _END.pack(b"PK\x05\x06", 0, 0, count, count, len(listing), offset, 0)
    return b"".join([*parts, listing, end])
