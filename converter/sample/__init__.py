"""Generated archives shaped like the release: the built-in sample. Imports `core`, `read`, `pose`."""

from __future__ import annotations

from converter.sample.writer import (
    SAMPLE_VERSION,
    Case,
    cached_sample,
    sample_cases,
    write_sample,
)

__all__ = [
    "SAMPLE_VERSION",
    "Case",
    "cached_sample",
    "sample_cases",
    "write_sample",
]
