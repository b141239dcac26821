"""Generated archives shaped like the release: the built-in sample and the benchmark workload
(and, in `scaled`, archives of the release's breadth at any scale, for scale benchmarks).

`open_release` opens any location like `converter.read.open_source`, and also the word `sample`
(the built-in sample) when no file or folder of that name exists. Imports `core`, `read`, `pose`.
"""

from __future__ import annotations

import os
from pathlib import Path

from converter.read.source import OnInvalid, Source, open_source
from converter.sample.writer import (
    SAMPLE_VERSION,
    Case,
    cached_sample,
    sample_cases,
    write_sample,
    write_workload,
)

SAMPLE_WORD = "sample"

__all__ = [
    "SAMPLE_VERSION",
    "SAMPLE_WORD",
    "Case",
    "cached_sample",
    "open_release",
    "sample_cases",
    "write_sample",
    "write_workload",
]


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
        location = cached_sample()
    return open_source(location, token, on_invalid)
