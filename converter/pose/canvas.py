"""Canvas pixels: one decoded photo, many objects, each resampling only what reaches its canvas.

The naive way (decode per object, resize the whole photo, pad, crop) spends most of its time
on pixels that are thrown away. Here a photo is decoded once, at reduced size when every
object shrinks it enough (JPEG DCT scaling), and each canvas resamples just its visible window.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

from PIL import Image

from converter.core.errors import DataError
from converter.pose.geometry import Placement, canvas_shift
from converter.pose.options import PoseOptions

# A JPEG is decoded at 1/r size only while it keeps DRAFT_GAP decoded pixels per resized pixel
# on both axes; the bicubic resize does the rest. 1.25 lets a 2000 px photo shown at 800 px be
# decoded at 1000 px (half the decode, a fifth of the resampling) for a mean difference near 1
# on textured photos (2 is the tolerance); below it the DCT scaling's smoothing starts to show.
DRAFT_GAP = 1.25
# Shrinks by more than this first average whole blocks of pixels (Pillow's `reduce`), which is
# far cheaper than a wide bicubic kernel and indistinguishable at this gap.
REDUCING_GAP = 3.0
REDUCTIONS = (8, 4, 2)
PHOTO_FORMATS = ("JPEG", "PNG", "BMP", "GIF", "TIFF", "WEBP")


@dataclass(frozen=True)
class Photo:
    """Decoded RGB pixels of a photo of full `size`; one pixel spans `reduction` photo pixels."""

    image: Image.Image
    size: tuple[int, int]
    reduction: float


def open_photo(data: bytes, member: str) -> Image.Image:
    """The photo with its header read and pixels not yet decoded, so sizes are known cheaply.

    Only the formats photos come in are opened (Pillow would hand some others, such as EPS,
    to outside programs), and a size past Pillow's decompression-bomb warning is refused.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data), formats=PHOTO_FORMATS)
    except (
        OSError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as error:
        raise DataError(member, f"not a readable image: {error}") from None


def _reduction(size: tuple[int, int], targets: list[tuple[int, int]]) -> int:
    """The biggest DCT reduction that keeps DRAFT_GAP decoded pixels per pixel of every target."""
    for reduction in REDUCTIONS:
        decoded = (size[0] // reduction, size[1] // reduction)
        if min(decoded) >= 1 and all(
            decoded[axis] >= DRAFT_GAP * target[axis] for target in targets for axis in (0, 1)
        ):
            return reduction
    return 1


def decode_photo(image: Image.Image, member: str, targets: Iterable[tuple[int, int]] = ()) -> Photo:
    """Decode once, as RGB; a JPEG at reduced size when every resized size in `targets` allows it."""
    size = image.size
    targets = list(targets)
    reduction = _reduction(size, targets) if targets and image.format == "JPEG" else 1
    factor = 1.0
    drafted = (
        image.draft(None, (size[0] // reduction, size[1] // reduction)) if reduction > 1 else None
    )
    if drafted is not None:
        factor = size[0] / drafted[1][2]
    try:
        image.load()
    except (OSError, ValueError, SyntaxError) as error:
        raise DataError(member, f"cannot decode the image: {error}") from None
    if image.mode != "RGB":
        image = image.convert("RGB")
    return Photo(image, size, factor)


def render(photo: Photo, place: Placement, options: PoseOptions) -> Image.Image:
    """The H x W canvas: pixel (u, v) shows resized pixel (u - W//2 + cx, v - H//2 + cy)."""
    dx, dy = canvas_shift(place, options)
    resized_w, resized_h = place.resized
    x0, x1 = max(0, -dx), min(resized_w, options.width - dx)
    y0, y1 = max(0, -dy), min(resized_h, options.height - dy)
    canvas_size = (options.width, options.height)
    if x0 >= x1 or y0 >= y1:
        return Image.new("RGB", canvas_size)
    # Resized pixel i samples the photo at (i + 0.5) * w / w'; a window starting at x0 keeps that
    # alignment when its box starts at x0 * w / w'. Integer products first keep the edges exact.
    w, h = photo.size
    r = photo.reduction
    box = (
        x0 * w / resized_w / r,
        y0 * h / resized_h / r,
        x1 * w / resized_w / r,
        y1 * h / resized_h / r,
    )
    window = photo.image.resize(
        (x1 - x0, y1 - y0), Image.Resampling.BICUBIC, box=box, reducing_gap=REDUCING_GAP
    )
    if window.size == canvas_size:
        return window
    canvas = Image.new("RGB", canvas_size)
    canvas.paste(window, (x0 + dx, y0 + dy))
    return canvas


def encode_jpeg(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()
