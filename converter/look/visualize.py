"""Pictures for checking the data by eye: overlays of a few chosen examples per category.

For each category, `visualize` writes ``<out>/<category>/<name>.png`` (one overlay per chosen
example: the photo or canvas with boxes and posed CAD meshes, coloured as ``converter.look.draw``
documents) and ``<out>/<category>.png``, a contact sheet of those overlays with their names.
The choice depends only on the seed and the category, so a run can be repeated exactly.
"""

from __future__ import annotations

import io
import itertools
import os
import zlib
from collections.abc import Iterator, MutableMapping, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from converter.core.fields import CONFIGS
from converter.core.files import write_atomic
from converter.core.progress import progress_bar
from converter.look.draw import MeshKey, Style, overlay
from converter.outputs.examples import iter_raw_examples, render_examples, select_objects
from converter.pose.geometry import MODES
from converter.pose.options import PoseOptions
from converter.read.mesh import Mesh
from converter.read.source import Source

THUMBNAIL = 240
COLUMNS = 4
MARGIN = 8
FONT_SIZE = 14
BACKGROUND = (32, 32, 32)
TEXT = (235, 235, 235)
Item = TypeVar("Item")


def choose(candidates: Sequence[Item], count: int, seed: int, category: str) -> list[Item]:
    """Up to `count` candidates in their own order, drawn by a generator seeded with seed and category.

    Seeding per category keeps a category's choice the same whichever other categories are drawn.
    """
    rng = np.random.default_rng([seed, zlib.crc32(category.encode("utf-8"))])
    picked = rng.choice(len(candidates), size=min(count, len(candidates)), replace=False)
    return [candidates[index] for index in sorted(picked.tolist())]


def raw_overlays(
    source: Source,
    category: str,
    split: str,
    count: int,
    seed: int,
    meshes: MutableMapping[MeshKey, Mesh],
    style: Style,
) -> Iterator[tuple[str, Image.Image]]:
    """(image_id, overlay) of chosen photos with all their objects."""
    pairs = choose(source.image_ids(split, [category]), count, seed, category)
    for example in iter_raw_examples(source, split, pairs=pairs):
        yield example["image_id"], overlay(example, source, meshes=meshes, style=style)


def pose_overlays(
    source: Source,
    category: str,
    split: str,
    mode: str,
    count: int,
    seed: int,
    meshes: MutableMapping[MeshKey, Mesh],
    style: Style,
    options: PoseOptions,
) -> Iterator[tuple[str, Image.Image]]:
    """(name, overlay) of chosen pose examples, each on its own canvas.

    Objects are chosen among those the preprocessing keeps, so every pick makes an example, and
    only the chosen objects' canvases are rendered.
    """
    kept = [
        (image_id, record)
        for _, image_id in source.image_ids(split, [category])
        for record in select_objects(source, category, image_id, options)
    ]
    chosen = choose(kept, count, seed, category)
    for image_id, group in itertools.groupby(chosen, key=lambda item: item[0]):
        records = [record for _, record in group]
        for example in render_examples(source, category, image_id, records, mode, options):
            yield example["name"], overlay(example, source, meshes=meshes, style=style)


def contact_sheet(title: str, items: Sequence[tuple[str, Image.Image]]) -> Image.Image:
    """A grid of thumbnails with their names under them and a title on top."""
    font = ImageFont.load_default(size=FONT_SIZE)
    columns = min(COLUMNS, len(items))
    rows = -(-len(items) // columns)
    cell_w, cell_h = THUMBNAIL + MARGIN, THUMBNAIL + FONT_SIZE + 2 * MARGIN
    top = FONT_SIZE + 2 * MARGIN
    sheet = Image.new("RGB", (columns * cell_w + MARGIN, top + rows * cell_h), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    draw.text((MARGIN, MARGIN), title, fill=TEXT, font=font)
    for position, (name, image) in enumerate(items):
        x = MARGIN + (position % columns) * cell_w
        y = top + (position // columns) * cell_h
        thumbnail = image.copy()
        thumbnail.thumbnail((THUMBNAIL, THUMBNAIL))
        offset = ((THUMBNAIL - thumbnail.width) // 2, (THUMBNAIL - thumbnail.height) // 2)
        sheet.paste(thumbnail, (x + offset[0], y + offset[1]))
        draw.text((x, y + THUMBNAIL + MARGIN // 2), name, fill=TEXT, font=font)
    return sheet


def save_png(image: Image.Image, path: Path) -> Path:
    """Write under a temporary name first, so an interrupted run leaves no half-written PNG."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return write_atomic(path, buffer.getvalue())


def visualize(
    source: Source,
    out: str | os.PathLike[str],
    config: str = "raw",
    per_category: int = 4,
    seed: int = 0,
    split: str = "train",
    categories: Sequence[str] | None = None,
    style: Style = "wireframe",
    options: PoseOptions | None = None,
) -> list[Path]:
    """Write overlays and a contact sheet per category; return the written paths.

    `config` is ``raw`` (photos with all their objects) or a pose configuration (one canvas per
    kept object, made with `options`). Categories without examples in `split` get no files.
    """
    if config not in CONFIGS:
        raise ValueError(f"unknown configuration {config!r}; expected one of {', '.join(CONFIGS)}")
    if per_category < 1:
        raise ValueError(f"per_category must be at least 1, got {per_category}")
    if seed < 0:
        raise ValueError(f"seed must not be negative, got {seed}")
    options = options or PoseOptions()
    out = Path(out)
    meshes: dict[MeshKey, Mesh] = {}
    written = []
    chosen = categories or source.categories()
    for category in progress_bar(iterable=chosen, desc=f"{config} overlays", unit="category"):
        if config in MODES:
            chosen = pose_overlays(
                source, category, split, config, per_category, seed, meshes, style, options
            )
        else:
            chosen = raw_overlays(source, category, split, per_category, seed, meshes, style)
        items = list(chosen)
        if not items:
            continue
        written += [save_png(image, out / category / f"{name}.png") for name, image in items]
        title = f"{category}  {config}  {split}  seed {seed}"
        written.append(save_png(contact_sheet(title, items), out / f"{category}.png"))
    return written
