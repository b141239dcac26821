"""Where the outputs and the command line open a source: any location, or the word `sample`."""

from __future__ import annotations

import os
from pathlib import Path

from converter.read.source import OnInvalid, Source, open_source

SAMPLE_WORD = "sample"


def open_release(
    location: str | os.PathLike[str] | None = None,
    token: str | bool | None = None,
    on_invalid: OnInvalid = "raise",
) -> Source:
    """`open_source`, where `sample` names the built-in sample unless a path of that name exists."""
    if (
        location is not None
        and os.fspath(location) == SAMPLE_WORD
        and not Path(SAMPLE_WORD).exists()
    ):
        from converter.sample import cached_sample  # the generator, loaded only when asked for

        location = cached_sample()
    return open_source(location, token, on_invalid)
