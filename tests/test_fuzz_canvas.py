"""Random photos, objects and canvases: the numbers of docs/format.md, 'The pose3d and pose6d
geometry', keep their invariants and the canvas is exactly H x W, black where the photo does not
reach and the photo where it does."""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from converter.pose.canvas import decode_photo, read_header, render
from converter.pose.geometry import (
    Mode,
    canvas_shift,
    cropping_params,
    padding_params,
    placement,
    pose_fields,
)
from converter.pose.options import PoseOptions
from tests.helpers import canvas_image

FUZZ = settings(max_examples=200, deadline=None, derandomize=True, database=None)
MEMBER = "imagenet3d_v1/images/car/n02958343_3.JPEG"
COLOUR = (200, 120, 40)
# JPEG rounds a flat colour by a level or two; resampling a flat colour must not change it.
COLOUR_TOLERANCE = 4

modes = st.sampled_from(["pose3d", "pose6d"])
photo_sides = st.integers(1, 3) | st.integers(1, 5000)
canvas_sides = st.integers(1, 3) | st.integers(1, 1200)
distances = st.floats(-4, 4).map(lambda exponent: 10.0**exponent)
coordinates = st.floats(-1e5, 1e5)


def record(px: float, py: float, distance: float) -> dict[str, Any]:
    """A kept object as converter.read.records makes it; the box spans the centre point."""
    return {
        "bbox": [px - 10.0, py - 20.0, px + 30.0, py + 5.0],
        "px": px,
        "py": py,
        "principal": [px, py],
        "distance": distance,
    }


def finite(values: list[Any]) -> bool:
    return all(math.isfinite(value) for value in values)


@FUZZ
@given(
    mode=modes,
    width=photo_sides,
    height=photo_sides,
    canvas_w=canvas_sides,
    canvas_h=canvas_sides,
    px=coordinates,
    py=coordinates,
    distance=distances,
)
def test_pose_fields_keep_the_invariants_of_the_pose_geometry(
    mode: Mode,
    width: int,
    height: int,
    canvas_w: int,
    canvas_h: int,
    px: float,
    py: float,
    distance: float,
) -> None:
    """docs/format.md, 'The pose3d and pose6d geometry', holds for any photo, canvas and pose."""
    options = PoseOptions(height=canvas_h, width=canvas_w)
    item = record(px, py, distance)
    place = placement(mode, item, (width, height), options)
    fields = pose_fields(mode, item, place, options)
    s, (resized_w, resized_h) = place.scale, place.resized
    dx, dy = canvas_shift(place, options)
    assert finite([*fields["bbox"], fields["px"], fields["py"], fields["distance"], s])
    assert fields["principal"] == [fields["px"], fields["py"]]
    x1, y1, x2, y2 = item["bbox"]
    assert fields["bbox"] == [x1 * s + dx, y1 * s + dy, x2 * s + dx, y2 * s + dy]
    if mode == "pose3d":
        assert (fields["px"], fields["py"]) == (canvas_w / 2, canvas_h / 2)
        assert fields["distance"] == options.target_distance
        assert s == distance / options.target_distance
    else:
        assert resized_w <= canvas_w and resized_h <= canvas_h
        assert resized_w >= canvas_w - 1 or resized_h >= canvas_h - 1
        assert (place.cx, place.cy) == (resized_w // 2, resized_h // 2)
        assert fields["distance"] == distance / s
    assert fields["resize_rate"] == s and fields["distance_original"] == distance
    padding, cropping = padding_params(place, options), cropping_params(place, options)
    assert min(padding + cropping) >= 0 and padding[4:] == cropping[4:] == [0, 0]
    top, bottom, left, right = padding[:4]
    crop_top, crop_bottom, crop_left, crop_right = cropping[:4]
    assert (crop_left - left, crop_top - top) == (-dx, -dy)
    # The public tool's values measure the bottom and right cuts from cy and cx, not from cy + top and
    # cx + left, so the cut is short by the top and left padding (and by one on an odd side).
    assert resized_h + top + bottom - crop_top - crop_bottom == canvas_h // 2 * 2 - top
    assert resized_w + left + right - crop_left - crop_right == canvas_w // 2 * 2 - left


def test_cropping_values_are_the_public_tools_and_the_canvas_starts_at_their_top_left() -> None:
    """An object near the top of a 500 x 375 photo at distance 4 (scale 1), default canvas.

    The bottom cut is measured from cy, not cy + top (docs/format.md, 'The pose3d and pose6d
    geometry'), so padded photo minus the cuts is 370 rows, not 640; the canvas is still the
    H x W window starting at the cut's top left, which the padded photo always holds.
    """
    options = PoseOptions()
    place = placement("pose3d", record(100.0, 50.0, 4.0), (500, 375), options)
    top, bottom, left, right, _, _ = padding_params(place, options)
    crop_top, crop_bottom, crop_left, crop_right, _, _ = cropping_params(place, options)
    padded_w, padded_h = place.resized[0] + left + right, place.resized[1] + top + bottom
    assert padded_h - crop_top - crop_bottom == options.height - top == 370
    assert padded_w - crop_left - crop_right == options.width - left
    assert crop_top + options.height <= padded_h and crop_left + options.width <= padded_w


def flat_photo(width: int, height: int, fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), COLOUR).save(buffer, format=fmt, quality=95)
    return buffer.getvalue()


@FUZZ
@given(
    mode=modes,
    width=st.integers(1, 3) | st.integers(1, 400),
    height=st.integers(1, 3) | st.integers(1, 400),
    canvas_w=st.integers(1, 3) | st.integers(1, 300),
    canvas_h=st.integers(1, 3) | st.integers(1, 300),
    px=st.floats(-600, 1000),
    py=st.floats(-600, 1000),
    distance=st.floats(-3, 3).map(lambda exponent: 10.0**exponent),
    fmt=st.sampled_from(["JPEG", "PNG"]),
)
def test_the_canvas_shows_the_photo_exactly_where_the_geometry_puts_it(
    mode: Mode,
    width: int,
    height: int,
    canvas_w: int,
    canvas_h: int,
    px: float,
    py: float,
    distance: float,
    fmt: str,
) -> None:
    """A flat-coloured photo: that colour on the resized photo's window, black elsewhere
    (docs/format.md, 'The pose3d and pose6d geometry')."""
    options = PoseOptions(height=canvas_h, width=canvas_w)
    header = read_header(flat_photo(width, height, fmt), MEMBER)
    place = placement(mode, record(px, py, distance), header.size, options)
    canvas = canvas_image(render(decode_photo(header), place, options))
    assert canvas.size == (canvas_w, canvas_h) and canvas.mode == "RGB"
    dx, dy = canvas_shift(place, options)
    inside = np.zeros((canvas_h, canvas_w), dtype=bool)
    inside[
        max(dy, 0) : max(dy + place.resized[1], 0), max(dx, 0) : max(dx + place.resized[0], 0)
    ] = True
    pixels = np.asarray(canvas, dtype=np.int16)
    assert (pixels[~inside] == 0).all()
    assert (np.abs(pixels[inside] - COLOUR) <= COLOUR_TOLERANCE).all()
