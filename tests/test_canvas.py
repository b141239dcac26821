"""The fast canvas against the public algorithm done the obvious slow way: decode, `cv2.resize`
the whole photo (INTER_CUBIC), pad with black, crop.

`reference_example` (canvas and fields) follows the formulas of docs/format.md, 'The pose3d and
pose6d geometry', literally, one object at a time; the other tests reuse it.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image

from converter.core.errors import DataError
from converter.pose.canvas import (
    decode_photo,
    encode_jpeg,
    open_photo,
    read_header,
    render,
    window_canvas,
)
from converter.pose.geometry import Mode, placement, pose_fields
from converter.pose.options import PoseOptions
from tests.helpers import assert_close, canvas_image, record, reference_canvas, reference_fields


def textured_photo(width: int, height: int, mode: str = "RGB", fmt: str = "JPEG") -> bytes:
    """A photo with detail at every scale, so a misplaced or blurred pixel shows."""
    rng = np.random.default_rng(width * 7919 + height)
    y, x = np.mgrid[0:height, 0:width]
    waves = [np.sin(x / (3 + 9 * c) + c) * np.cos(y / (5 + 7 * c) - c) for c in range(3)]
    pixels = np.stack(waves, axis=-1) * 70 + 128 + rng.normal(0, 12, (height, width, 3))
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, quality=92)
    return buffer.getvalue()


def posed(px: float, py: float, distance: float) -> dict[str, Any]:
    return record(px=px, py=py, principal=[px, py], distance=distance)


def fast_canvases(
    data: bytes, mode: Mode, records: list[dict[str, Any]], options: PoseOptions
) -> list[Image.Image]:
    """All objects of one photo from a single decode."""
    header = read_header(data, "photo.JPEG")
    photo = decode_photo(header)
    places = [placement(mode, item, header.size, options) for item in records]
    return [canvas_image(render(photo, place, options)) for place in places]


DEFAULTS = PoseOptions()
CASES = {
    "centred, doubled": ((500, 375), "pose3d", posed(250, 187.5, 8.0), DEFAULTS),
    "scale above 4": ((500, 375), "pose3d", posed(120.3, 300.7, 18.5), DEFAULTS),
    "scale 50": ((40, 30), "pose3d", posed(20.3, 15.9, 200.0), DEFAULTS),
    "scale 50, a sliver (warped)": ((40, 30), "pose3d", posed(-7.8, 15.9, 200.0), DEFAULTS),
    "top-left corner": ((640, 480), "pose3d", posed(0.0, 0.0, 6.0), DEFAULTS),
    "bottom-right border": ((640, 480), "pose3d", posed(640.0, 480.0, 3.0), DEFAULTS),
    "outside the photo": ((500, 375), "pose3d", posed(-400.0, 100.0, 8.0), DEFAULTS),
    "scale below 0.5": ((1800, 1350), "pose3d", posed(900.0, 500.0, 1.2), DEFAULTS),
    "shrunk 8 times": ((2400, 1600), "pose3d", posed(1000.0, 900.0, 0.5), DEFAULTS),
    "odd canvas": ((500, 375), "pose3d", posed(251.7, 180.2, 5.3), PoseOptions(333, 517)),
    "one-pixel canvas": ((500, 375), "pose3d", posed(250.0, 187.0, 4.0), PoseOptions(1, 1)),
    "pose6d landscape": ((500, 375), "pose6d", posed(250.0, 187.5, 6.0), DEFAULTS),
    "pose6d portrait": ((333, 500), "pose6d", posed(100.0, 400.0, 6.0), DEFAULTS),
    "pose6d large": ((2000, 1500), "pose6d", posed(900.0, 700.0, 6.0), DEFAULTS),
    "pose6d odd canvas": ((1001, 667), "pose6d", posed(500.0, 300.0, 6.0), PoseOptions(479, 641)),
}


@pytest.mark.parametrize("case", CASES)
def test_canvas_matches_the_slow_reference(case: str) -> None:
    (width, height), mode, item, options = CASES[case]
    data = textured_photo(width, height)
    [canvas] = fast_canvases(data, mode, [item], options)
    assert canvas.size == (options.width, options.height)
    assert canvas.mode == "RGB"
    assert_close(canvas, reference_canvas(data, mode, item, options))


@pytest.mark.parametrize("case", CASES)
def test_no_canvas_pixel_keeps_what_its_memory_held(
    case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A canvas is allocated uncleared, cleared only around its window, and the window resized
    straight onto it: with memory that comes white, every pixel is still the reference's."""
    monkeypatch.setattr(np, "empty", lambda shape, dtype=float: np.full(shape, 255, dtype))
    test_canvas_matches_the_slow_reference(case)


def test_one_decode_serves_every_object_of_a_photo() -> None:
    """Shrunk, enlarged and cut by the border: each canvas comes from the same decoded pixels."""
    data = textured_photo(1600, 1200)
    items = [posed(800.0, 600.0, 0.6), posed(200.0, 300.0, 9.0), posed(1500.0, 1100.0, 2.0)]
    canvases = fast_canvases(data, "pose3d", items, DEFAULTS)
    for canvas, item in zip(canvases, items, strict=True):
        assert_close(canvas, reference_canvas(data, "pose3d", item, DEFAULTS))


# A photo's width and height, the size it is resized to, the window of the resized photo a
# canvas shows, the shift from resized-photo to canvas coordinates, and the canvas's size.
Size = tuple[int, int]
Case = tuple[int, int, Size, tuple[int, int, int, int], Size, Size]


def random_resizes(
    rng: np.random.Generator, sides: tuple[int, int], scales: tuple[float, float]
) -> Iterator[tuple[int, int, Size]]:
    """Photo sides drawn from [low, high) of `sides`, and the sizes the photos are resized to at
    scales drawn from `scales` (evenly on a log scale), when they have a pixel."""
    while True:
        width, height = (int(side) for side in rng.integers(*sides, 2))
        scale = float(np.exp(rng.uniform(*np.log(scales))))
        resized = (int(width * scale), int(height * scale))
        if min(resized) >= 1:
            yield width, height, resized


def random_windows(
    count: int, seed: int, sides: tuple[int, int], scales: tuple[float, float]
) -> list[Case]:
    """Windows anywhere in the resized photo, each on a canvas of its own size."""
    rng = np.random.default_rng(seed)
    cases = []
    for width, height, resized in itertools.islice(random_resizes(rng, sides, scales), count):
        x0, y0 = (int(rng.integers(0, side)) for side in resized)
        x1 = int(rng.integers(x0 + 1, resized[0] + 1))
        y1 = int(rng.integers(y0 + 1, resized[1] + 1))
        cases.append((width, height, resized, (x0, y0, x1, y1), (-x0, -y0), (x1 - x0, y1 - y0)))
    return cases


def far_edge_placements(
    count: int, seed: int, sides: tuple[int, int], scales: tuple[float, float]
) -> list[Case]:
    """The resized photo on a canvas of 200 to 1,000 pixels a side, its right and bottom edges
    on the canvas: there the window ends where the photo does, and a resize of its span must
    make the window's last row and column."""
    rng = np.random.default_rng(seed)
    resizes = random_resizes(rng, sides, scales)
    cases: list[Case] = []
    for width, height, resized in itertools.islice(resizes, count):
        canvas = (int(rng.integers(200, 1000)), int(rng.integers(200, 1000)))
        dx, dy = (
            int(rng.integers(1 - made, side - made + 1))
            for made, side in zip(resized, canvas, strict=True)
        )
        box = (max(0, -dx), max(0, -dy), resized[0], resized[1])
        cases.append((width, height, resized, box, (dx, dy), canvas))
    return cases


def assert_canvases_match_the_whole_resize(cases: list[Case]) -> None:
    """On noise, the hardest case for resampling: each window of `cv2.resize`'s output, whether
    resized or warped, within two levels, and the canvas exactly black around it."""
    rng = np.random.default_rng(1)
    for case in cases:
        width, height, resized, box, shift, canvas = case
        pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        whole = cv2.resize(pixels, resized, interpolation=cv2.INTER_CUBIC)
        (x0, y0, x1, y1), (dx, dy) = box, shift
        expected = np.zeros((canvas[1], canvas[0], 3), np.int16)
        expected[y0 + dy : y1 + dy, x0 + dx : x1 + dx] = whole[y0:y1, x0:x1]
        drawn = window_canvas(pixels, resized, box, shift, canvas)
        difference = np.abs(drawn.astype(np.int16) - expected)
        outside = np.ones(difference.shape[:2], bool)
        outside[y0 + dy : y1 + dy, x0 + dx : x1 + dx] = False
        assert difference.max() <= 2 and not difference[outside].any(), case


def test_window_equals_the_same_pixels_of_the_whole_resize() -> None:
    """Photos under 300 pixels a side, shrunk up to 30 times or enlarged up to 12, windows from
    the photo's edges to its middle."""
    assert_canvases_match_the_whole_resize(random_windows(400, 0, (1, 300), (1 / 30, 12)))


def test_tiny_photos_enlarged_hugely_fill_their_canvases(monkeypatch: pytest.MonkeyPatch) -> None:
    """A few pixels enlarged 50 to 400 times, across MAX_RESIZE_FACTOR, on canvases whose memory
    comes white: a row or column left unmade would show. Resized windows at these factors (no
    rule to warp them) left 2 of these 200 canvases up to 255 levels off."""
    monkeypatch.setattr(np, "empty", lambda shape, dtype=float: np.full(shape, 255, dtype))
    assert_canvases_match_the_whole_resize(far_edge_placements(200, 3, (1, 9), (50, 400)))


def test_a_photo_enlarged_150_times_fills_its_window_to_the_edge(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A few pixels enlarged past MAX_RESIZE_FACTOR, the window reaching the photo's bottom edge:
    a resize of its span would make one row too few, which memory that comes white would show;
    the window is warped instead."""
    monkeypatch.setattr(np, "empty", lambda shape, dtype=float: np.full(shape, 255, dtype))
    pixels = np.random.default_rng(2).integers(0, 256, (7, 6, 3), dtype=np.uint8)
    resized, box = (901, 1052), (153, 633, 901, 1052)
    whole = cv2.resize(pixels, resized, interpolation=cv2.INTER_CUBIC)
    window = window_canvas(pixels, resized, box, (-153, -633), (748, 419))
    assert np.abs(window.astype(np.int16) - whole[633:, 153:]).max() <= 2


def test_object_outside_the_photo_gives_a_black_canvas() -> None:
    data = textured_photo(500, 375)
    [canvas] = fast_canvases(data, "pose3d", [posed(-400.0, 100.0, 8.0)], DEFAULTS)
    assert canvas.getbbox() is None


@pytest.mark.parametrize(("mode", "fmt"), [("L", "JPEG"), ("CMYK", "JPEG"), ("RGBA", "PNG")])
def test_other_colour_modes_become_rgb(mode: str, fmt: str) -> None:
    data = textured_photo(400, 300, mode=mode, fmt=fmt)
    for pose_mode, item in (("pose3d", posed(200.0, 150.0, 7.0)), ("pose6d", posed(1, 1, 5.0))):
        [canvas] = fast_canvases(data, pose_mode, [item], DEFAULTS)  # type: ignore[arg-type]
        assert canvas.mode == "RGB"
        assert_close(canvas, reference_canvas(data, pose_mode, item, DEFAULTS))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("mode", "item"),
    [
        ("pose3d", posed(0.5, 0.5, 2.0)),
        ("pose3d", posed(0.5, 0.5, 12.0)),
        ("pose3d", posed(0.0, 0.0, 1.0)),
        ("pose6d", posed(0.5, 0.5, 2.0)),
    ],
)
def test_one_pixel_photo(mode: Mode, item: dict[str, Any]) -> None:
    data = textured_photo(1, 1)
    [canvas] = fast_canvases(data, mode, [item], DEFAULTS)
    assert_close(canvas, reference_canvas(data, mode, item, DEFAULTS))


def test_unreadable_photo_names_its_member() -> None:
    with pytest.raises(DataError, match=r"images/bed/n1_1\.JPEG"):
        open_photo(b"not a photo", "images/bed/n1_1.JPEG")
    truncated = textured_photo(300, 200)[:400]
    with pytest.raises(DataError, match=r"images/bed/n1_2\.JPEG"):
        decode_photo(read_header(truncated, "images/bed/n1_2.JPEG"))


@pytest.mark.parametrize(
    ("mode", "fmt", "by_pillow"),
    [("RGB", "JPEG", False), ("L", "JPEG", False), ("CMYK", "JPEG", True), ("RGB", "PNG", True)],
)
def test_pillow_opens_only_what_libjpeg_turbo_does_not_decode(
    mode: str, fmt: str, by_pillow: bool
) -> None:
    header = read_header(textured_photo(64, 48, mode, fmt), "photo")
    assert header.size == (64, 48)
    assert (header.image is not None) == by_pillow


def with_declared_size(data: bytes, width: int, height: int) -> bytes:
    """The JPEG with its frame header (baseline SOF) declaring another size."""
    at = data.index(b"\xff\xc0") + 5
    return data[:at] + height.to_bytes(2, "big") + width.to_bytes(2, "big") + data[at + 4 :]


def test_a_jpeg_declaring_too_many_pixels_is_refused_from_its_header() -> None:
    """libjpeg-turbo reads the header, Pillow's limit on pixels still applies."""
    data = with_declared_size(textured_photo(64, 48), 20000, 20000)
    with pytest.raises(DataError, match=r"images/bed/n1_3\.JPEG.*not a readable image"):
        read_header(data, "images/bed/n1_3.JPEG")


@pytest.mark.parametrize("case", CASES)
def test_fields_match_the_reference(case: str) -> None:
    size, mode, item, options = CASES[case]
    fields = pose_fields(mode, item, placement(mode, item, size, options), options)
    assert fields == reference_fields(mode, item, size, options)


def pillow_pixels(data: bytes) -> np.ndarray:
    """The photo as Pillow decodes it, in stored pixels (no EXIF turn), as RGB."""
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def with_orientation(data: bytes, orientation: int) -> bytes:
    """The JPEG re-saved with an EXIF orientation that asks viewers to turn it."""
    image = Image.open(io.BytesIO(data))
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=92, exif=exif)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        textured_photo(321, 203),
        textured_photo(200, 150, "L"),
        textured_photo(160, 120, "CMYK"),
        with_orientation(textured_photo(240, 180), 6),
        textured_photo(90, 70, fmt="PNG"),
    ],
    ids=["colour", "grey", "cmyk", "exif-turned", "png"],
)
def test_decoding_gives_pillows_stored_pixels(data: bytes) -> None:
    """Whichever decoder a photo takes, the pixels are Pillow's, in stored (unturned) order."""
    photo = decode_photo(read_header(data, "photo"))
    assert np.array_equal(photo.pixels[..., ::-1], pillow_pixels(data))


@pytest.mark.parametrize("quality", [50, 75, 95])
def test_canvas_jpeg_is_the_file_pillow_writes(quality: int) -> None:
    """The canvas encoder writes Pillow's bytes at the same quality (4:2:0 chroma)."""
    canvas = np.ascontiguousarray(pillow_pixels(textured_photo(800, 640))[..., ::-1])
    buffer = io.BytesIO()
    canvas_image(canvas).save(buffer, format="JPEG", quality=quality)
    assert encode_jpeg(canvas, quality) == buffer.getvalue()
