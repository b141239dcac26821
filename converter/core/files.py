"""Writing files so that a final name only ever holds a complete file."""

from __future__ import annotations

import contextlib
import os
import random
import re
from collections.abc import Iterator
from pathlib import Path

from converter.core.errors import DataError
from converter.core.names import MAX_COMPONENT_BYTES

PARTIAL_SUFFIX = ".partial"
# A folder built in place under this prefix, then renamed to its final name when whole.
STAGING_PREFIX = ".partial-"
# The time stamped on every member of a zip written here, so equal content gives equal bytes.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
# Files are written through the system's calls alone: a Python file object adds three more per
# file (two to learn its buffer size and whether it is a terminal, one to find its position),
# and in a run drawing on threads each call can hand Python's lock to another thread. The
# temporary name is created, never reused: were a file or a link already there, the write fails
# rather than follow it.
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
# The names `temporary_path` gives: a run killed before its rename leaves one of these, which
# the next run may remove, and nothing else.
_TEMPORARY = re.compile(rf"\..+\.[0-9a-f]{{8}}{re.escape(PARTIAL_SUFFIX)}", re.DOTALL)
# The random part of those names, drawn from a generator seeded by the system once per process
# (again in a forked child, which would otherwise draw its parent's names) rather than asking
# the system for each: in a run drawing on threads, that call hands Python's lock to another
# thread, and a run names two files per object. A name already there fails the write (above).
_NAMES = random.Random()
if hasattr(os, "register_at_fork"):  # POSIX; Windows starts every worker afresh
    os.register_at_fork(after_in_child=_NAMES.seed)


def temporary_path(path: str | os.PathLike[str]) -> str:
    """A hidden, unique name beside `path` to write it under before renaming it into place.

    Unique, so two processes making the same file (a cached sample, say) never share one. Its
    length is checked here, before anything is written: a name the file system cannot hold is
    one line naming the file, not `File name too long` from deep inside a run. Made of strings,
    not `Path`s, as a run writes two files per object.
    """
    folder, name = os.path.split(os.fspath(path))
    temporary = f".{name}.{_NAMES.getrandbits(32):08x}{PARTIAL_SUFFIX}"
    size = len(temporary.encode("utf-8", "surrogatepass"))
    if size > MAX_COMPONENT_BYTES:
        raise DataError(
            os.fspath(path),
            f"the name is {size} bytes with its temporary suffix, beyond the "
            f"{MAX_COMPONENT_BYTES} a file system holds in one name",
            key="file name",
        )
    return os.path.join(folder, temporary)


def is_temporary(path: Path) -> bool:
    """True for a file named as `temporary_path` names them."""
    return _TEMPORARY.fullmatch(path.name) is not None and path.is_file()


def remove_temporaries(folder: Path) -> None:
    """Remove the temporary files an interrupted run left directly in `folder`; nothing else."""
    for path in folder.iterdir() if folder.is_dir() else ():
        if is_temporary(path):
            path.unlink(missing_ok=True)


@contextlib.contextmanager
def replaced_on_success(path: str | os.PathLike[str], *, make_folder: bool = True) -> Iterator[str]:
    """A temporary path beside `path` (`temporary_path`), renamed onto it when the block succeeds.

    A writer of many files into one folder makes it once and passes `make_folder=False`.
    """
    temporary = temporary_path(path)
    if make_folder:
        os.makedirs(os.path.dirname(temporary) or ".", exist_ok=True)
    try:
        yield temporary
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def write_atomic(path: str | os.PathLike[str], data: bytes, *, make_folder: bool = True) -> None:
    """`data` under `path`, never half-written."""
    with replaced_on_success(path, make_folder=make_folder) as temporary:
        descriptor = os.open(temporary, _NEW_FILE, 0o666)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(descriptor, view) :]
        finally:
            os.close(descriptor)
