"""The options of the pose configurations, declared and checked in this one place.

The builder's config is a `PoseOptions`, the command line's flags are generated from its fields
(`jpeg_quality` is `--jpeg-quality`), and `preprocess` and `export` take one. The defaults are
the public preprocessing tool's canvas (640 x 800, objects moved to distance 4, JPEGs at Pillow's
default quality, 75) and this project's kept rule. The kept rules of the public tool and of the
authors' experiment code are offered by name (docs/format.md, 'The kept rule').
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal

from converter.core.errors import check_choice
from converter.read.records import STATUSES

DEFAULT_STATUSES = tuple(status for status in STATUSES if status != "status_bad")
JPEG_QUALITIES = range(1, 101)
RuleName = Literal["project", "public", "experiment"]


@dataclass(frozen=True)
class KeptRule:
    """Which objects with a pose become examples: the three rules differ in these three points."""

    honours_ignore: bool  # an object flagged `ignore` is left out
    needs_status: bool  # an object without `object_status` is left out
    statuses: tuple[str, ...]  # the statuses kept unless `statuses` is given


# This project's configurations; the public tool (it reads `ignore` and no status); the authors'
# experiment code (it reads the status and no `ignore`, and drops objects without a status).
KEPT_RULES: dict[str, KeptRule] = {
    "project": KeptRule(honours_ignore=True, needs_status=False, statuses=DEFAULT_STATUSES),
    "public": KeptRule(honours_ignore=True, needs_status=False, statuses=STATUSES),
    "experiment": KeptRule(honours_ignore=False, needs_status=True, statuses=DEFAULT_STATUSES),
}


@dataclass
class PoseOptions:
    """Canvas size, target distance, kept rule, statuses and categories, and the JPEG quality.

    Each field's `help` metadata is its command-line help; `nargs`, `choices` and `metavar` mark
    the fields given as lists of words.
    """

    height: int = field(default=640, metadata={"help": "canvas height in pixels"})
    width: int = field(default=800, metadata={"help": "canvas width in pixels"})
    target_distance: float = field(
        default=4.0, metadata={"help": "distance pose3d moves every object to"}
    )
    kept_rule: RuleName = field(
        default="project",
        metadata={
            "help": "which objects become examples: this project's rule, the public tool's or "
            "the experiment code's (docs/format.md, 'The kept rule')",
            "choices": tuple(KEPT_RULES),
        },
    )
    statuses: tuple[str, ...] | None = field(
        default=None,
        metadata={
            "help": "object statuses kept (default: the kept rule's; every status but "
            "status_bad, or every status with --kept-rule public)",
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
        check_choice("kept_rule", self.kept_rule, KEPT_RULES)
        if self.statuses is not None:
            self.statuses = tuple(self.statuses)
        if self.categories is not None:
            self.categories = tuple(self.categories)
        if self.height < 1 or self.width < 1:
            raise ValueError(f"canvas size must be positive, got {self.height} x {self.width}")
        if not self.target_distance > 0:
            raise ValueError(f"target_distance must be positive, got {self.target_distance}")
        unknown = sorted(set(self.kept_statuses) - set(STATUSES))
        if unknown:
            raise ValueError(f"unknown statuses {unknown}; known: {', '.join(STATUSES)}")
        if self.jpeg_quality not in JPEG_QUALITIES:
            raise ValueError(f"jpeg_quality must be within 1..100, got {self.jpeg_quality}")

    @property
    def rule(self) -> KeptRule:
        return KEPT_RULES[self.kept_rule]

    @property
    def kept_statuses(self) -> tuple[str, ...]:
        """The statuses given, else the kept rule's (left unset so a later rule still applies)."""
        return self.rule.statuses if self.statuses is None else self.statuses

    def values(self) -> dict[str, Any]:
        """The options alone as keywords (of a builder config too), e.g. for `ImageNet3D(...)`."""
        return {option.name: getattr(self, option.name) for option in fields(PoseOptions)}
