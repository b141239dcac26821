"""The keep rule and the canvas numbers, checked on worked examples and on random placements.

The formulas: docs/format.md, "The pose3d and pose6d geometry".
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from converter.core.names import example_name
from converter.pose.geometry import (
    Mode,
    canvas_shift,
    cropping_params,
    padding_params,
    placement,
    pose_fields,
    skip_reason,
)
from converter.pose.options import DEFAULT_STATUSES, KEPT_RULES, PoseOptions
from tests.helpers import record

DEFAULTS = PoseOptions()


def test_defaults_are_the_public_tools() -> None:
    assert (DEFAULTS.height, DEFAULTS.width, DEFAULTS.target_distance) == (640, 800, 4.0)
    assert DEFAULTS.kept_rule == "project"
    assert DEFAULTS.kept_statuses == DEFAULT_STATUSES
    assert "status_bad" not in DEFAULTS.kept_statuses


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({}, None),
        ({"object_status": None}, None),
        ({"ignore": None}, None),
        ({"distance": 0.0}, "no_pose"),
        ({"distance": -1.0, "px": None}, "no_pose"),
        ({"distance": None}, "no_pose"),
        ({"ignore": True}, "ignored"),
        ({"object_status": "status_bad"}, "status"),
        ({"px": None, "py": None, "principal": None}, "incomplete_pose"),
        ({"bbox": None}, "incomplete_pose"),
        ({"theta": None}, "incomplete_pose"),
    ],
)
def test_keep_rule(changes: dict[str, Any], reason: str | None) -> None:
    assert skip_reason(record(**changes), DEFAULTS) == reason


def test_allowed_statuses_are_an_option() -> None:
    only_good = PoseOptions(statuses=("status_good",))
    assert skip_reason(record(object_status="status_barely"), only_good) == "status"
    assert skip_reason(record(object_status="status_bad"), PoseOptions(statuses=())) == "status"


@pytest.mark.parametrize(
    ("changes", "project", "public", "experiment"),
    [
        ({}, None, None, None),
        ({"object_status": None}, None, None, "no_status"),
        ({"ignore": True}, "ignored", "ignored", None),
        ({"object_status": "status_bad"}, "status", None, "status"),
        ({"object_status": "status_bad", "ignore": True}, "ignored", "ignored", "status"),
        ({"distance": 0.0, "object_status": None}, "no_pose", "no_pose", "no_pose"),
    ],
)
def test_the_three_kept_rules_side_by_side(
    changes: dict[str, Any], project: str | None, public: str | None, experiment: str | None
) -> None:
    """docs/format.md, 'The kept rule': the public tool reads `ignore` and no status; the
    experiment code reads the status (and needs one) and no `ignore`."""
    item = record(**changes)
    reasons = [skip_reason(item, PoseOptions(kept_rule=rule)) for rule in KEPT_RULES]
    assert reasons == [project, public, experiment]


def test_statuses_given_apply_under_every_rule() -> None:
    options = PoseOptions(kept_rule="public", statuses=("status_good",))
    assert skip_reason(record(object_status="status_barely"), options) == "status"


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown kept_rule"):
        PoseOptions(kept_rule="paper")
    with pytest.raises(ValueError, match="unknown statuses"):
        PoseOptions(statuses=("status_fine",))
    with pytest.raises(ValueError, match="canvas size"):
        PoseOptions(height=0)


def test_example_name_has_two_digit_index() -> None:
    assert example_name("n02818832_13", 0) == "n02818832_13_00"
    assert example_name("n02818832_13", 12) == "n02818832_13_12"


def test_pose3d_worked_example() -> None:
    """Distance 8 doubles the photo; its centre point goes to the canvas centre."""
    place = placement("pose3d", record(), (500, 375), DEFAULTS)
    assert (place.scale, place.resized, place.cx, place.cy) == (2.0, (1000, 750), 500, 375)
    fields = pose_fields("pose3d", record(), place, DEFAULTS)
    assert fields["bbox"] == [100.0, 105.0, 700.0, 545.0]
    assert (fields["px"], fields["py"], fields["distance"]) == (400.0, 320.0, 4.0)
    assert fields["principal"] == [400.0, 320.0]
    assert fields["padding_params"] == [0, 0, 0, 0, 0, 0]
    assert fields["cropping_params"] == [55, 55, 100, 100, 0, 0]
    assert fields["resize_rate"] == 2.0
    assert fields["distance_original"] == 8.0
    assert fields["bbox_original"] == [100.0, 80.0, 400.0, 300.0]


def test_pose6d_worked_example() -> None:
    """The whole photo fits the canvas; the camera keeps its pose, so distance shrinks with it."""
    place = placement("pose6d", record(), (500, 375), DEFAULTS)
    assert (place.scale, place.resized, place.cx, place.cy) == (1.6, (800, 600), 400, 300)
    fields = pose_fields("pose6d", record(), place, DEFAULTS)
    assert fields["bbox"] == pytest.approx([160.0, 148.0, 640.0, 500.0])
    assert (fields["px"], fields["py"]) == pytest.approx((400.0, 320.0))
    assert fields["distance"] == pytest.approx(5.0)
    assert fields["padding_params"] == [20, 20, 0, 0, 0, 0]
    # The cropping formula measures from cy, not cy + top: the public tool's value.
    assert fields["cropping_params"] == [0, 20, 0, 0, 0, 0]


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown mode"):
        placement("pose9d", record(), (500, 375), DEFAULTS)  # type: ignore[arg-type]


sizes = st.integers(min_value=1, max_value=3000)
canvas_sides = st.integers(min_value=1, max_value=1000)
coordinates = st.floats(min_value=-500, max_value=3500)


@given(
    width=sizes,
    height=sizes,
    px=coordinates,
    py=coordinates,
    distance=st.floats(min_value=0.01, max_value=40),
    canvas_w=canvas_sides,
    canvas_h=canvas_sides,
    mode=st.sampled_from(["pose3d", "pose6d"]),
)
def test_padding_then_cropping_cuts_the_canvas_window(
    width: int,
    height: int,
    px: float,
    py: float,
    distance: float,
    canvas_w: int,
    canvas_h: int,
    mode: Mode,
) -> None:
    """The public tool's params start the cut where the canvas shift puts it, on any canvas."""
    options = PoseOptions(height=canvas_h, width=canvas_w)
    place = placement(mode, record(px=px, py=py, distance=distance), (width, height), options)
    top, _, left, right, _, _ = padding_params(place, options)
    crop_top, _, crop_left, crop_right, _, _ = cropping_params(place, options)
    dx, dy = canvas_shift(place, options)
    assert (crop_left - left, crop_top - top) == (-dx, -dy)
    if left == right == 0:
        # The cut is one pixel short of the canvas on an odd side (a known quirk of the public tool).
        assert place.resized[0] - crop_left - crop_right == canvas_w - canvas_w % 2
