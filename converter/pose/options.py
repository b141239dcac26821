"""The options of the pose configurations, declared and checked in this one place.

The builder's config is a `PoseOptions`, the command line's flags are generated from its fields
(`jpeg_quality` is `--jpeg-quality`), and `preprocess` and `export` take one. The defaults are
the public preprocessing tool's: a 640 x 800 canvas, objects moved to distance 4, every status
but `status_bad`, and JPEGs saved at Pillow's default quality, 75.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from converter.read.records import STATUSES

DEFAULT_STATUSES = tuple(status for status in STATUSES if status != "status_bad")
JPEG_QUALITIES = range(1, 101)


@dataclass
class PoseOptions:
    """Canvas size, target distance, kept statuses and categories, and the canvases' JPEG quality.

    Each field's `help` metadata is its command-line help; `nargs`, `choices` and `metavar` mark
    the fields given as lists of words.
    """

    height: int = field(default=640, metadata={"help": "canvas height in pixels"})
    width: int = field(default=800, metadata={"help": "canvas width in pixels"})
    target_distance: float = field(
        default=4.0, metadata={"help": "distance pose3d moves every object to"}
    )
    statuses: tuple[str, ...] = field(
        default=DEFAULT_STATUSES,
        metadata={
            "help": "object statuses kept",
            "nargs": "+",
            "choices": STATUSES,
            "metavar": "STATUS",
        },
    )
    categories: tuple[str, ...] | None = field(
        default=None,
        metadata={"help": "categories kept (default: every one)", "nargs": "+", "metavar": "NAME"},
    )
    jpeg_quality: int = field(default=75, metadata={"help": "JPEG quality of the canvases, 1..100"})

    def __post_init__(self) -> None:
        """Refuse values that could only make wrong or empty canvases; lists become tuples."""
        self.statuses = tuple(self.statuses)
        if self.categories is not None:
            self.categories = tuple(self.categories)
        if self.height < 1 or self.width < 1:
            raise ValueError(f"canvas size must be positive, got {self.height} x {self.width}")
        if not self.target_distance > 0:
            raise ValueError(f"target_distance must be positive, got {self.target_distance}")
        unknown = sorted(set(self.statuses) - set(STATUSES))
        if unknown:
            raise ValueError(f"unknown statuses {unknown}; known: {', '.join(STATUSES)}")
        if self.jpeg_quality not in JPEG_QUALITIES:
            raise ValueError(f"jpeg_quality must be within 1..100, got {self.jpeg_quality}")

    def values(self) -> dict[str, Any]:
        """The options alone as keywords (of a builder config too), e.g. for `ImageNet3D(...)`."""
        return {option.name: getattr(self, option.name) for option in fields(PoseOptions)}
