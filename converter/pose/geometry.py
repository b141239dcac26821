"""Which objects are kept and where their photo lands on the canvas, as numbers.

docs/format.md states both: 'The kept rule' and 'The pose3d and pose6d geometry'.

Pure arithmetic on object records and photo sizes, so the pixel code (canvas.py), the example
producer and the tests all share one statement of the formulas.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from converter.core.errors import check_choice
from converter.pose.options import PoseOptions

Mode = Literal["pose3d", "pose6d"]
MODES: tuple[Mode, ...] = ("pose3d", "pose6d")
# What a kept object needs to be placed on the canvas and given its canvas values.
PLACEMENT_KEYS = ("bbox", "px", "py", "principal", "azimuth", "elevation", "theta")


@dataclass(frozen=True)
class Placement:
    """How one photo is put on the canvas: scale `s`, the resized size and the point at the centre.

    Canvas pixel (u, v) shows resized pixel (u - W//2 + cx, v - H//2 + cy).
    """

    scale: float
    resized: tuple[int, int]
    cx: int
    cy: int


def has_pose(record: Mapping[str, Any]) -> bool:
    """The release marks an object without a pose by a missing or non-positive distance."""
    return record["distance"] is not None and record["distance"] > 0


def skip_reason(record: dict[str, Any], options: PoseOptions) -> str | None:
    """None when the object makes an example under the options' kept rule, else a short word
    saying why not."""
    rule = options.rule
    if not has_pose(record):
        return "no_pose"
    if rule.honours_ignore and record["ignore"]:
        return "ignored"
    status = record["object_status"]
    if status is None and rule.needs_status:
        return "no_status"
    if status is not None and status not in options.kept_statuses:
        return "status"
    if any(record[key] is None for key in PLACEMENT_KEYS):
        return "incomplete_pose"
    return None


def placement(
    mode: Mode, record: dict[str, Any], photo_size: tuple[int, int], options: PoseOptions
) -> Placement:
    """Scale and centre point of a kept object on a photo of (width, height)."""
    check_choice("mode", mode, MODES)
    w, h = photo_size
    if mode == "pose3d":
        s = record["distance"] / options.target_distance
        resized = (int(w * s), int(h * s))
        return Placement(s, resized, int(record["px"] * s), int(record["py"] * s))
    s = min(options.height / h, options.width / w)
    resized = (int(w * s), int(h * s))
    return Placement(s, resized, resized[0] // 2, resized[1] // 2)


def canvas_shift(place: Placement, options: PoseOptions) -> tuple[int, int]:
    """Where resized pixel (0, 0) lands on the canvas, as (x, y)."""
    return options.width // 2 - place.cx, options.height // 2 - place.cy


def padding_params(place: Placement, options: PoseOptions) -> list[int]:
    """The public tool's black border around the resized photo: (top, bottom, left, right, 0, 0)."""
    half_w, half_h = options.width // 2, options.height // 2
    w, h = place.resized
    return [
        max(half_h - place.cy, 0),
        max(half_h + place.cy - h, 0),
        max(half_w - place.cx, 0),
        max(half_w + place.cx - w, 0),
        0,
        0,
    ]


def cropping_params(place: Placement, options: PoseOptions) -> list[int]:
    """The public tool's cut out of the padded photo: (top, bottom, left, right, 0, 0)."""
    half_w, half_h = options.width // 2, options.height // 2
    top, bottom, left, right, _, _ = padding_params(place, options)
    padded_w = place.resized[0] + left + right
    padded_h = place.resized[1] + top + bottom
    return [
        max(place.cy - half_h, 0),
        max(padded_h - place.cy - half_h, 0),
        max(place.cx - half_w, 0),
        max(padded_w - place.cx - half_w, 0),
        0,
        0,
    ]


def pose_fields(
    mode: Mode, record: dict[str, Any], place: Placement, options: PoseOptions
) -> dict[str, Any]:
    """The values that change on the canvas, the originals they replace, and how they were made."""
    s = place.scale
    dx, dy = canvas_shift(place, options)
    x1, y1, x2, y2 = record["bbox"]
    if mode == "pose3d":
        px, py, distance = options.width / 2, options.height / 2, options.target_distance
    else:
        px, py, distance = record["px"] * s + dx, record["py"] * s + dy, record["distance"] / s
    return {
        "bbox": [x1 * s + dx, y1 * s + dy, x2 * s + dx, y2 * s + dy],
        "px": px,
        "py": py,
        "principal": [px, py],
        "distance": distance,
        "bbox_original": list(record["bbox"]),
        "px_original": record["px"],
        "py_original": record["py"],
        "principal_original": list(record["principal"]),
        "distance_original": record["distance"],
        "resize_rate": s,
        "padding_params": padding_params(place, options),
        "cropping_params": cropping_params(place, options),
    }
