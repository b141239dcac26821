"""Errors a user can act on: each names the file (archive member) and, where known, the field."""

from __future__ import annotations

import reprlib
from collections.abc import Collection
from typing import Any

# Values printed in full in a message; anything else is shown by its type.
_PLAIN = (str, bytes, int, float, bool, type(None))


def described(value: Any) -> str:
    """A value from a file, short enough for a message. Structures are shown by their type
    (a flat tuple of plain values in full): the repr of one nested a million deep would fail."""
    flat = type(value) is tuple and all(type(item) in _PLAIN for item in value)
    if flat or type(value) in _PLAIN:
        return reprlib.repr(value)
    return f"<{type(value).__name__}>"


def check_choice(kind: str, value: object, choices: Collection[str]) -> None:
    """Refuse a `value` (a configuration, split, mode, style, ...) that is not one of `choices`."""
    if value not in choices:
        raise ValueError(f"unknown {kind} {value!r}; expected one of {', '.join(choices)}")


def printable(text: str) -> str:
    """`text` with each character a terminal would act on (newline, escape, C1 and bidirectional
    controls) written as its Python escape: a name from a file printed in a report or an error
    can then neither forge a line of it nor drive the terminal."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


class DataError(ValueError):
    """Bad input data: names the member and the key so the user can find it."""

    def __init__(self, member: str, message: str, key: str | None = None) -> None:
        self.member = member
        self.reason = message
        self.key = key
        where = f"{member} [{key}]" if key else member
        super().__init__(printable(f"{where}: {message}"))

    def __reduce__(self) -> tuple[type[DataError], tuple[str, str, str | None]]:
        """Pickled whole, so that an error met in a worker process reaches the main one."""
        return type(self), (self.member, self.reason, self.key)


class SourceError(OSError):
    """A source that cannot be opened or has no layout we know."""


class AccessError(RuntimeError):
    """The gated Hub repository refused us; the message says what to do.

    Not an OSError on purpose: `zipfile` turns any OSError met while opening an archive
    into "File is not a zip file", which would hide the sentence the user needs.
    """


class NetworkError(RuntimeError):
    """A remote read still failing after its retries; names the URL and the byte range.

    A RuntimeError for the same reason as AccessError: `zipfile` would hide an OSError.
    """
