"""Pictures for checking the data by eye: overlays of a few chosen examples per category.

For each category, `visualize` writes ``<out>/<category>/<name>.png`` (one overlay per chosen
example: the photo or canvas with boxes and posed CAD meshes, coloured as ``converter.look.draw``
documents) and ``<out>/<category>.png``, a contact sheet of those overlays with their names.
The choice depends only on the seed and the category, so a run can be repeated exactly.

The source is the release (any `Source`) or an export of it: a folder written by `export`, or
the Hub repository it was pushed to, read with `datasets` alone (rows from the configuration,
meshes from `cad`). Both choose the same examples and draw the same pixels. Names that become
paths pass the same check from either: the release's where they enter (`converter.read.source`),
an export's row by row here.
"""

from __future__ import annotations

import functools
import io
import itertools
import os
import tempfile
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from converter.core.errors import DataError, described
from converter.core.files import write_atomic
from converter.core.names import example_name, unsafe_name
from converter.core.progress import progress_bar
from converter.look.draw import Meshes, Style, cad_meshes, overlay
from converter.look.exports import export_location
from converter.outputs.configurations import (
    DEFAULT,
    MESHES,
    image_configuration,
)
from converter.outputs.examples import iter_raw_examples, render_examples, select_objects
from converter.pose.geometry import Mode
from converter.pose.options import PoseOptions
from converter.read.source import InvalidLog, OnInvalid, Source, split_name

THUMBNAIL = 240
COLUMNS = 4
MARGIN = 8
FONT_SIZE = 14
BACKGROUND = (32, 32, 32)
TEXT = (235, 235, 235)
Item = TypeVar("Item")
Overlays = Callable[[str], Iterator[tuple[str, Image.Image]]]
# The release's order of examples: by category, photo, then object (for those with one each).
ORDER = ("category", "image_id", "object_index")


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
    meshes: Meshes,
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
    mode: Mode,
    count: int,
    seed: int,
    meshes: Meshes,
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


class Export:
    """One split of an export's configuration and the export's meshes, loaded with `datasets`.

    A row whose category, image id or name could not be a file name of the outputs is refused,
    or passed over and counted in `invalid` when `on_invalid` is "skip": an export folder or a
    Hub repository is as untrusted as the release.

    Meshes are held to the release's rule; one that breaks it is an invalid record, raised or
    (with `on_invalid="skip"`) counted in `invalid` and drawn without, as for the release.
    """

    def __init__(
        self,
        location: str | os.PathLike[str],
        config: str,
        split: str,
        token: Any,
        on_invalid: OnInvalid = "raise",
    ):
        import datasets

        declared = image_configuration(config)
        self.label = f"{os.fspath(location)} {config} {split}"
        self.config, self.on_invalid, self.invalid = config, on_invalid, InvalidLog()
        where = export_location(location)
        # `datasets` caches a local folder's configuration under the folder's name alone, so a
        # folder of the same name read before would be served instead: a local export is
        # prepared in a cache of its own, removed with this object.
        self._cache = tempfile.TemporaryDirectory(prefix="imagenet3d-export-")
        cache = self._cache.name if Path(where).is_dir() else None
        self.rows = datasets.load_dataset(where, config, split=split, token=token, cache_dir=cache)
        cad = datasets.load_dataset(where, MESHES, split="train", token=token, cache_dir=cache)
        self.categories: list[str] = self.rows.features["category"].names
        self.meshes = cad_meshes(cad, self.categories, self.tolerate)
        self.naming = declared.naming
        self._by_category = self._group()

    def tolerate(self, error: DataError) -> None:
        self.invalid.tolerate(error, self.on_invalid)

    def candidates(self, category: str) -> list[int]:
        """Row numbers of a category in the release's order: by photo, then object index.

        The converter meets examples in this order, so `choose` picks the same ones from both.
        """
        return self._by_category.get(category, [])

    def _group(self) -> dict[str, list[int]]:
        keys = [key for key in ORDER if key in self.rows.column_names]
        keys += [] if self.naming in keys else [self.naming]
        columns = self.rows.select_columns(keys).to_dict()
        rows = zip(*(columns[key] for key in keys), range(len(self.rows)), strict=True)
        checked = []
        for label, image_id, *naming, row in rows:
            problem = self._unsafe_row(label, image_id, *naming)
            if problem is None:
                checked.append((label, image_id, *naming[:1], row))
                continue
            self.tolerate(DataError(f"{self.label} row {row}", problem[1], key=problem[0]))
        grouped: dict[str, list[int]] = defaultdict(list)
        for label, *_, row in sorted(checked):
            grouped[self.categories[label]].append(row)
        return grouped

    def _unsafe_row(
        self, label: Any, image_id: Any, index: Any = None, name: Any = None
    ) -> tuple[str, str] | None:
        """(field, why) when a row's values cannot name its overlay file: the category and
        image id must be plain names, and a pose row's name the one its values give."""
        if type(label) is not int or not 0 <= label < len(self.categories):
            return "category", f"expected a category label, got {described(label)}"
        category = self.categories[label]
        if not isinstance(image_id, str):
            return "image_id", f"expected text, got {described(image_id)}"
        for key, value in (("category", category), ("image_id", image_id)):
            problem = unsafe_name(value, key.replace("_", " "))
            if problem:
                return key, problem
        if self.naming == "name" and (
            type(index) is not int
            or name not in (example_name(image_id, index), example_name(image_id, index, category))
        ):
            return (
                "name",
                f"{described(name)} is neither <image_id>_<k> nor <category>_<image_id>_<k>",
            )
        return None

    def overlays(
        self, category: str, count: int, seed: int, style: Style
    ) -> Iterator[tuple[str, Image.Image]]:
        """(name, overlay) of the chosen rows of one category."""
        for index in choose(self.candidates(category), count, seed, category):
            row = self.rows[index]
            drawn = overlay(row, meshes=self.meshes, categories=self.categories, style=style)
            yield row[self.naming], drawn


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
    write_atomic(path, buffer.getvalue())
    return path


def visualize(
    source: Source | Export | str | os.PathLike[str],
    out: str | os.PathLike[str],
    config: str = DEFAULT,
    per_category: int = 4,
    seed: int = 0,
    split: str = "train",
    categories: Sequence[str] | None = None,
    style: Style = "wireframe",
    options: PoseOptions | None = None,
    token: Any = None,
) -> list[Path]:
    """Write overlays and a contact sheet per category; return the written paths.

    `source` is the release, or an export's folder or Hub repository id (`is_export`), or an
    `Export` of `config` already opened (to choose how invalid meshes are met). `config`
    is ``raw`` (photos with all their objects) or a pose configuration (one canvas per kept
    object, made with `options`, or as exported). Categories without examples get no files.
    """
    declared = image_configuration(config)
    if per_category < 1:
        raise ValueError(f"per_category must be at least 1, got {per_category}")
    if seed < 0:
        raise ValueError(f"seed must not be negative, got {seed}")
    split = split_name(split)
    chosen = {"count": per_category, "seed": seed, "style": style}
    if isinstance(source, Source):
        overlays = _release_overlays(source, declared.mode, split, options, chosen)
        names = source.categories()
    else:
        export = source if isinstance(source, Export) else Export(source, config, split, token)
        overlays = functools.partial(export.overlays, **chosen)
        names = export.categories
    out = Path(out)
    written = []
    chosen_names = categories or names
    for category in progress_bar(iterable=chosen_names, desc=f"{config} overlays", unit="category"):
        items = list(overlays(category))
        if not items:
            continue
        written += [save_png(image, out / category / f"{name}.png") for name, image in items]
        title = f"{category}  {config}  {split}  seed {seed}"
        written.append(save_png(contact_sheet(title, items), out / f"{category}.png"))
    return written


def _release_overlays(
    source: Source,
    mode: Mode | None,
    split: str,
    options: PoseOptions | None,
    chosen: dict[str, Any],
) -> Overlays:
    """The overlays of one category from the release: canvases of the objects the geometry of
    `mode` places, else photos; meshes are loaded once for all categories."""
    meshes: Meshes = {}
    if mode is not None:
        return functools.partial(
            pose_overlays,
            source,
            split=split,
            mode=mode,
            meshes=meshes,
            options=options or PoseOptions(),
            **chosen,
        )
    return functools.partial(raw_overlays, source, split=split, meshes=meshes, **chosen)
