"""Writing files so that a final name only ever holds a complete file."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

PARTIAL_SUFFIX = ".partial"
# A folder built in place under this prefix, then renamed to its final name when whole.
STAGING_PREFIX = ".partial-"
# The time stamped on every member of a zip written here, so equal content gives equal bytes.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


@contextlib.contextmanager
def replaced_on_success(path: Path, *, make_folder: bool = True) -> Iterator[Path]:
    """A hidden, unique temporary path beside `path`, renamed onto it when the block succeeds.

    Unique, so two processes making the same file (a cached sample, say) never share one. A
    writer of many files into one folder makes it once and passes `make_folder=False`.
    """
    if make_folder:
        path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}{PARTIAL_SUFFIX}")
    try:
        yield temporary
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_atomic(path: Path, data: bytes, *, make_folder: bool = True) -> Path:
    """`data` under `path`, never half-written."""
    with replaced_on_success(path, make_folder=make_folder) as temporary:
        temporary.write_bytes(data)
    return path
