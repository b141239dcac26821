"""Canvas pixels: one decoded photo, many objects, each resampling only what reaches its canvas.

The public tool resizes the whole photo with OpenCV's `INTER_CUBIC` once per object, pads it and
crops the canvas out, spending most of its time on pixels it throws away. Here a photo is decoded
once and each canvas resizes just the part of the photo under its visible window, placed so
that every canvas pixel samples the photo where the whole-photo resize would have.

OpenCV and simplejpeg are imported where a canvas is first drawn (OpenCV takes about 0.2 s to
load), so that commands drawing none start without them.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image

from converter.core.errors import DataError
from converter.pose.geometry import Placement, canvas_shift
from converter.pose.options import PoseOptions

PHOTO_FORMATS = ("JPEG", "PNG", "BMP", "GIF", "TIFF", "WEBP")
# The JPEG colour spaces (as libjpeg-turbo names them) it decodes to the pixels Pillow gives;
# it turns CMYK into other colours.
JPEG_DIRECT_SPACES = ("YCbCr", "RGB", "Gray")
# Bicubic reads one source pixel before and two after the one a resized pixel falls on.
KERNEL_BEFORE, KERNEL_AFTER = 1, 2
# A window's first source pixel must sit this close to where the whole-photo resize samples it
# (in source pixels): finer than the 1/32 pixel OpenCV's own warps round positions to.
ALIGNMENT = 1 / 256
# How far back a window may start to find such a pixel before it falls back to the photo's edge.
ALIGNMENT_SEARCH = 1024
# Beyond this many resized pixels per needed one (plus a margin), a window is warped instead.
WASTE, WASTE_MARGIN = 2, 64
# From this enlargement on, a window is warped instead: its span's start, up to ALIGNMENT from
# the aligned position, would move the resized pixels half a pixel, and the size the resize makes
# of a span ending at the photo's edge could round past the resized photo's edge.
MAX_RESIZE_FACTOR = 1 / (2 * ALIGNMENT)
# JPEG DCT scaling (`draft`) is left off: when shrinking, OpenCV's bicubic samples full-size pixels
# without smoothing, while a photo decoded at 1/2 is already smoothed. Measured on the benchmark
# workload's photos shrunk 2 to 3.3 times: mean differences of 2.9 to 4.6 levels, maxima near 100,
# far past what the canvases may differ by.


@dataclass(frozen=True)
class Photo:
    """Decoded pixels (height x width x 3) of a photo of `size` (width, height), in OpenCV's
    channel order (blue, green, red): resampled and encoded by OpenCV, a canvas never needs its
    channels swapped (a copy of every pixel)."""

    pixels: np.ndarray
    size: tuple[int, int]


def open_photo(data: bytes, member: str) -> Image.Image:
    """The photo with its header read and pixels not yet decoded, so sizes are known cheaply.

    Only the formats photos come in are opened (Pillow would hand some others, such as EPS,
    to outside programs), and a size past Pillow's decompression-bomb warning is refused.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data), formats=PHOTO_FORMATS)
    except Image.UnidentifiedImageError:  # its message names a buffer's address, not the file
        formats = ", ".join(PHOTO_FORMATS)
        raise DataError(member, f"not a readable image: not one of {formats}") from None
    except (
        OSError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as error:
        raise DataError(member, f"not a readable image: {error}") from None


def decode_rgb(image: Image.Image, member: str) -> Image.Image:
    """The photo's pixels, decoded and as RGB; a broken stream is a DataError naming `member`."""
    try:
        image.load()
    except (OSError, ValueError, SyntaxError) as error:
        raise DataError(member, f"cannot decode the image: {error}") from None
    return image if image.mode == "RGB" else image.convert("RGB")


def check_decodes(image: Image.Image, member: str) -> None:
    """Decode at the smallest JPEG scale: the whole stream is read, at a fraction of the cost."""
    if image.format == "JPEG":
        image.draft(None, (1, 1))
    decode_rgb(image, member)


@dataclass(frozen=True)
class PhotoFile:
    """A photo's bytes with only its header read: its size is known, no pixel decoded yet.

    `image` is Pillow's for a photo libjpeg-turbo does not decode (CMYK, other formats, a header
    it refuses), None for one it does.
    """

    data: bytes
    member: str
    size: tuple[int, int]
    image: Image.Image | None = None


def read_header(data: bytes, member: str) -> PhotoFile:
    """The photo's header: by libjpeg-turbo for a colour or grey JPEG of a size Pillow accepts
    (under a tenth of the time Pillow takes), else by Pillow (`open_photo`), whose checks
    and messages then apply."""
    import simplejpeg

    try:
        height, width, colour_space, _ = simplejpeg.decode_jpeg_header(data)
    except ValueError:
        colour_space = None
    if colour_space in JPEG_DIRECT_SPACES and width * height <= (
        Image.MAX_IMAGE_PIXELS or math.inf
    ):
        return PhotoFile(data, member, (width, height))
    image = open_photo(data, member)
    return PhotoFile(data, member, image.size, image)


def decode_photo(photo: PhotoFile) -> Photo:
    """Decode once, for every canvas of the photo.

    A colour or grey JPEG is decoded by libjpeg-turbo straight into OpenCV's channel order (with
    the accurate DCT and smooth upsampling Pillow uses: the same pixels, in 0.6 of the time);
    CMYK photos, other formats and any stream it refuses go through Pillow. Neither turns the
    photo by its EXIF orientation: boxes are in stored pixels.
    """
    if photo.image is None:
        pixels = _decode_jpeg(photo.data)
        if pixels is not None:
            return Photo(pixels, photo.size)
    import cv2

    image = photo.image or open_photo(photo.data, photo.member)
    rgb = np.asarray(decode_rgb(image, photo.member))
    return Photo(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), image.size)


def _decode_jpeg(data: bytes) -> np.ndarray | None:
    """The JPEG's pixels, or None when libjpeg-turbo refuses them (Pillow then decodes, and
    names what is wrong)."""
    import simplejpeg

    try:
        return simplejpeg.decode_jpeg(data, "BGR")
    except ValueError:
        return None


@dataclass(frozen=True)
class Span:
    """One axis of a window: source pixels [start, stop), whose resized pixel i is resized
    pixel `first + i` of the whole photo."""

    start: int
    stop: int
    first: int

    def warped(self, factor: float, needed: int) -> bool:
        """True when the span is better warped than resized: when resizing it makes far more
        pixels than the `needed` ones (a large enlargement times the kernel's reach, or a long
        search for an aligned start), or enlarges past MAX_RESIZE_FACTOR. A warp samples the
        same positions (to 1/32 pixel) for the needed pixels alone."""
        wasteful = (self.stop - self.start) * factor > WASTE * needed + WASTE_MARGIN
        return wasteful or factor >= MAX_RESIZE_FACTOR


def source_span(lo: int, hi: int, resized: int, length: int) -> Span:
    """The source pixels a resize needs to give resized pixels [lo, hi) of the whole axis exactly.

    `cv2.resize` samples resized pixel i at source (i + 0.5) * length / resized - 0.5 and repeats
    the edge pixels beyond the photo. Resizing the span from `start` at the same scale samples
    its pixel j at start + (j + 0.5) * scale - 0.5, so the span starts at a resized pixel `first`
    whose position first * scale is a whole source pixel (within ALIGNMENT), early enough for
    the kernel's reach. Where no such pixel is near, the span starts at the photo's edge.
    """
    scale = 1 / (resized / length)
    needed = math.floor((lo + 0.5) * scale - 0.5) - KERNEL_BEFORE
    stop = min(length, math.floor((hi - 0.5) * scale - 0.5) + KERNEL_AFTER + 1)
    first = min(lo, math.floor(needed / scale))
    for candidate in range(first, max(first - ALIGNMENT_SEARCH, 0), -1):
        start = round(candidate * scale)
        if start <= needed and abs(candidate * scale - start) <= ALIGNMENT:
            return Span(start, stop, candidate)
    return Span(0, stop, 0)


def window_canvas(
    pixels: np.ndarray,
    resized: tuple[int, int],
    box: tuple[int, int, int, int],
    shift: tuple[int, int],
    size: tuple[int, int],
) -> np.ndarray:
    """A canvas of `size` (width, height), black but for pixels [x0, x1) x [y0, y1) of
    `cv2.resize(pixels, resized, INTER_CUBIC)`, moved by `shift` (x, y) onto it; only the part of
    the photo under the window is resampled, and written straight onto the canvas."""
    import cv2

    height, width = pixels.shape[:2]
    x0, y0, x1, y1 = box
    dx, dy = shift
    inner = (x0 + dx, y0 + dy, x1 + dx, y1 + dy)
    if box == (0, 0, *resized):  # the whole resized photo, as on nearly every pose6d canvas
        canvas = _blank(size, inner)
        cv2.resize(pixels, resized, _within(canvas, inner), interpolation=cv2.INTER_CUBIC)
        return canvas
    spans = source_span(x0, x1, resized[0], width), source_span(y0, y1, resized[1], height)
    factors = resized[0] / width, resized[1] / height
    if spans[0].warped(factors[0], x1 - x0) or spans[1].warped(factors[1], y1 - y0):
        canvas = _blank(size, inner)
        scale = 1 / factors[0], 1 / factors[1]
        _within(canvas, inner)[...] = _warp_window(pixels, scale, box)
        return canvas
    return _spans_on_canvas(pixels, spans, factors, shift, size, inner)


def _spans_on_canvas(
    pixels: np.ndarray,
    spans: tuple[Span, Span],
    factors: tuple[float, float],
    shift: tuple[int, int],
    size: tuple[int, int],
    inner: tuple[int, int, int, int],
) -> np.ndarray:
    """The canvas of `window_canvas`, its window (`inner` on the canvas) drawn by resizing the
    source `spans` (x, y) by `factors` into a buffer around the canvas.

    What the resize makes beyond the window lands beyond the canvas, where the window is cut by
    the canvas's edge; where the photo's edge cuts it, the resize ends at that edge too
    (MAX_RESIZE_FACTOR). So the window needs no copy of its own. Against clearing a canvas and
    copying the window in, which 678 of the benchmark workload's 1,479 pose3d canvases (those the
    photo's edge cuts) need otherwise: 0.955 of the CPU time drawing pose3d, 0.982 with encoding
    (the two ways taking turns canvas by canvas, three passes, two sets); pose6d 1.003.
    """
    import cv2

    (xs, ys), (fx, fy), (dx, dy) = spans, factors, shift
    # The size cv2.resize makes of a span at this scale: it rounds half to even, as round does.
    made_w = round((xs.stop - xs.start) * fx)
    made_h = round((ys.stop - ys.start) * fy)
    left, top = min(0, xs.first + dx), min(0, ys.first + dy)
    right = max(size[0], xs.first + dx + made_w)
    bottom = max(size[1], ys.first + dy + made_h)
    buffer = np.empty((bottom - top, right - left, 3), np.uint8)
    canvas = _black_around(buffer[-top : size[1] - top, -left : size[0] - left], inner)
    x, y = xs.first + dx - left, ys.first + dy - top
    # Without a destination size, cv2.resize takes the scale as given rather than from the sizes;
    # it fills the destination given, which has the size and type it makes.
    cv2.resize(
        pixels[ys.start : ys.stop, xs.start : xs.stop],
        None,
        buffer[y : y + made_h, x : x + made_w],
        fx=fx,
        fy=fy,
        interpolation=cv2.INTER_CUBIC,
    )
    return canvas


def _warp_window(
    pixels: np.ndarray, scale: tuple[float, float], box: tuple[int, int, int, int]
) -> np.ndarray:
    """The window by `cv2.warpAffine`, mapping window pixel (j, i) to the photo position the
    whole-photo resize samples for resized pixel (x0 + j, y0 + i)."""
    import cv2

    x0, y0, x1, y1 = box
    sx, sy = scale
    matrix = np.array([[sx, 0, (x0 + 0.5) * sx - 0.5], [0, sy, (y0 + 0.5) * sy - 0.5]])
    return cv2.warpAffine(
        pixels,
        matrix,
        (x1 - x0, y1 - y0),
        flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )


def resample_on_one_thread() -> None:
    """For a run of as many worker processes as there are CPUs: OpenCV's own threads would only
    compete with the other workers (measured: more CPU time for the same canvases).

    Called in the command's own process before any worker is forked, and inherited: in a forked
    process OpenCV would wait for pool threads that the fork did not copy."""
    import cv2

    cv2.setNumThreads(1)


def render(photo: Photo, place: Placement, options: PoseOptions) -> np.ndarray:
    """The H x W canvas, in the photo's channel order: pixel (u, v) shows resized pixel
    (u - W//2 + cx, v - H//2 + cy), black beyond the resized photo (`window_canvas`)."""
    dx, dy = canvas_shift(place, options)
    resized_w, resized_h = place.resized
    box = x0, y0, x1, y1 = (
        max(0, -dx),
        max(0, -dy),
        min(resized_w, options.width - dx),
        min(resized_h, options.height - dy),
    )
    if x0 >= x1 or y0 >= y1:
        return np.zeros((options.height, options.width, 3), np.uint8)
    size = options.width, options.height
    return window_canvas(photo.pixels, place.resized, box, (dx, dy), size)


def _blank(size: tuple[int, int], inner: tuple[int, int, int, int]) -> np.ndarray:
    """A new canvas of `size` (width, height), black but for `inner`."""
    return _black_around(np.empty((size[1], size[0], 3), np.uint8), inner)


def _within(canvas: np.ndarray, inner: tuple[int, int, int, int]) -> np.ndarray:
    """The part `inner` (x0, y0, x1, y1) of `canvas`."""
    x0, y0, x1, y1 = inner
    return canvas[y0:y1, x0:x1]


def _black_around(canvas: np.ndarray, inner: tuple[int, int, int, int]) -> np.ndarray:
    """`canvas`, cleared everywhere but `inner` (x0, y0, x1, y1), which the window fills: its
    memory is left as allocated rather than cleared twice."""
    x0, y0, x1, y1 = inner
    canvas[:y0] = 0
    canvas[y1:] = 0
    canvas[y0:y1, :x0] = 0
    canvas[y0:y1, x1:] = 0
    return canvas


def encode_jpeg(canvas: np.ndarray, quality: int) -> bytes:
    """The canvas as JPEG: the bytes Pillow's `save(quality=...)` writes (4:2:0 chroma, the same
    tables and header), in three quarters of its time."""
    import cv2

    chroma = [cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420]
    settings = [cv2.IMWRITE_JPEG_QUALITY, quality, *chroma]
    _, encoded = cv2.imencode(".jpg", canvas, settings)
    return encoded.tobytes()
