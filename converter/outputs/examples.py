"""Examples as plain dicts: one per photo (raw), per kept object (pose3d / pose6d) or per mesh (cad).

Every output (datasets builder, Parquet export, the public tool's folder) consumes these,
so the keep rule, the canvas and the fields are decided once. Work is split per photo:
a photo is decoded once for all its kept objects, and objects that share a placement (every
object of a pose6d photo) share one encoded canvas.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import ExifTags, Image

from converter.core.errors import DataError
from converter.core.names import example_name
from converter.pose.camera import camera_fields
from converter.pose.canvas import (
    check_decodes,
    decode_photo,
    decode_rgb,
    encode_jpeg,
    open_photo,
    read_header,
    render,
)
from converter.pose.geometry import (
    Mode,
    Placement,
    placement,
    pose_fields,
    skip_reason,
)
from converter.pose.options import PoseOptions
from converter.read.mesh import load_cad
from converter.read.source import Source

Pair = tuple[str, str]
UNCHANGED_KEYS = (
    "azimuth",
    "elevation",
    "theta",
    "focal",
    "viewport",
    "cad_index",
    "object_status",
    "dense",
)


@dataclass
class Report:
    """What a run looked at and why objects were left out, for summaries and the builder."""

    photos: int = 0
    seen: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    @property
    def kept(self) -> int:
        return self.seen - self.skipped.total()

    def add(self, other: Report) -> None:
        """Fold in the counts of another shard of the same run."""
        self.photos += other.photos
        self.seen += other.seen
        self.skipped.update(other.skipped)

    def summary(self) -> str:
        reasons = ", ".join(f"{reason} {count}" for reason, count in sorted(self.skipped.items()))
        skipped = self.skipped.total()
        detail = f" ({reasons})" if reasons else ""
        return (
            f"{self.seen} objects in {self.photos} photos: {self.kept} kept, "
            f"{skipped} skipped{detail}"
        )


def select_objects(
    source: Source,
    category: str,
    image_id: str,
    options: PoseOptions,
    report: Report | None = None,
) -> list[dict[str, Any]]:
    """The photo's objects that make examples, counting the others by reason in `report`."""
    report = Report() if report is None else report
    records = source.objects(category, image_id)
    report.photos += 1
    report.seen += len(records)
    kept = []
    for record in records:
        reason = skip_reason(record, options)
        if reason is None:
            kept.append(record)
        else:
            report.skipped[reason] += 1
    return kept


def object_name(source: Source, category: str, image_id: str, index: int) -> str:
    """The name of an object's pose example, unique within a split (see `example_name`)."""
    shared = image_id in source.shared_image_ids
    return example_name(image_id, index, category if shared else None)


@dataclass(frozen=True)
class Canvases:
    """One photo's canvases: its size, each kept object's placement, and one JPEG per distinct
    placement (every object of a pose6d photo shares one)."""

    size: tuple[int, int]
    places: list[Placement]
    encoded: dict[Placement, bytes]


def draw_canvases(
    data: bytes, member: str, kept: Sequence[dict[str, Any]], mode: Mode, options: PoseOptions
) -> Canvases:
    """Decode the photo `data` once and encode the canvas of each distinct placement.

    It reads nothing but its arguments, so photos can be drawn on threads beside the one that
    reads the source (`converter.core.ahead`); a bad photo is a DataError naming `member`.
    """
    header = read_header(data, member)
    check_photo_size(header.size, kept, member)
    places = [placement(mode, record, header.size, options) for record in kept]
    photo = decode_photo(header)
    encoded: dict[Placement, bytes] = {}
    for place in places:
        if place not in encoded:
            encoded[place] = encode_jpeg(render(photo, place, options), options.jpeg_quality)
    return Canvases(header.size, places, encoded)


def pose_examples(
    source: Source,
    category: str,
    image_id: str,
    kept: Sequence[dict[str, Any]],
    mode: Mode,
    options: PoseOptions,
    canvases: Canvases,
) -> Iterator[dict[str, Any]]:
    """The pose examples of one photo's kept objects, on the canvases drawn for them."""
    width, height = canvases.size
    for record, place in zip(kept, canvases.places, strict=True):
        name = object_name(source, category, image_id, record["index"])
        canvas = pose_fields(mode, record, place, options)
        yield {
            "image": {"path": f"{name}.JPEG", "bytes": canvases.encoded[place]},
            "name": name,
            "image_id": image_id,
            "object_index": record["index"],
            "category": category,
            **canvas,
            **{key: record[key] for key in UNCHANGED_KEYS},
            **camera_fields({**record, **canvas}),
            "height_original": height,
            "width_original": width,
        }


def render_examples(
    source: Source,
    category: str,
    image_id: str,
    kept: Sequence[dict[str, Any]],
    mode: Mode,
    options: PoseOptions,
) -> Iterator[dict[str, Any]]:
    """The pose examples of one photo's kept objects, drawn in this thread."""
    if not kept:
        return
    member = source.photo_member(category, image_id)
    try:
        data = source.photo_bytes(category, image_id)
        canvases = draw_canvases(data, member, kept, mode, options)
    except DataError as error:
        source.tolerate(error)
        return
    yield from pose_examples(source, category, image_id, kept, mode, options, canvases)


def _pairs(
    source: Source, split: str, categories: Sequence[str] | None, pairs: Sequence[Pair] | None
) -> Sequence[Pair]:
    if pairs is not None:
        return pairs
    return source.image_ids(split, None if categories is None else list(categories))


def iter_pose_examples(
    source: Source,
    split: str,
    mode: Mode,
    options: PoseOptions,
    report: Report | None = None,
    pairs: Sequence[Pair] | None = None,
) -> Iterator[dict[str, Any]]:
    """Pose examples of a split, photo by photo in sorted order.

    The photos are those of `options.categories` (every category when None), or `pairs`
    (category, image_id), which replaces the split's own list, so a caller can shard the
    work (by category or by slices of image ids) and run the shards in separate processes.
    """
    report = Report() if report is None else report
    for category, image_id in _pairs(source, split, options.categories, pairs):
        kept = select_objects(source, category, image_id, options, report)
        yield from render_examples(source, category, image_id, kept, mode, options)


def raw_image(
    data: bytes, member: str, image_id: str, objects: Sequence[dict[str, Any]]
) -> tuple[dict[str, Any], tuple[int, int]]:
    """The photo as released when it is an RGB JPEG shown as stored, else an RGB PNG; and its size.

    `datasets` turns a photo by its EXIF orientation when it decodes it, but boxes, centres and
    sizes are in stored pixels (the public tool's and the canvases' frame), so a photo that
    would be turned is stored as a PNG of its pixels as they are. The size, read from the
    header, is checked against the objects' before any pixel is decoded: a small file may
    declare a photo of hundreds of megabytes.
    """
    image = open_photo(data, member)
    size = image.size
    check_photo_size(size, objects, member)
    if image.format == "JPEG" and image.mode == "RGB" and _shown_as_stored(image):
        check_decodes(image, member)
        return {"path": f"{image_id}.JPEG", "bytes": data}, size
    rgb = decode_rgb(image, member)
    buffer = io.BytesIO()
    rgb.save(buffer, format="PNG")
    return {"path": f"{image_id}.png", "bytes": buffer.getvalue()}, size


def _shown_as_stored(image: Image.Image) -> bool:
    """True when no EXIF orientation asks viewers (and `datasets`) to turn the photo."""
    try:
        orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    except (OSError, ValueError, SyntaxError):
        return False
    return orientation == 1


def iter_raw_examples(
    source: Source,
    split: str,
    categories: Sequence[str] | None = None,
    pairs: Sequence[Pair] | None = None,
) -> Iterator[dict[str, Any]]:
    """One example per photo of a split, with all its object records; `pairs` as above."""
    for category, image_id in _pairs(source, split, categories, pairs):
        member = source.photo_member(category, image_id)
        objects = source.objects(category, image_id)
        try:
            data = source.photo_bytes(category, image_id)
            image, size = raw_image(data, member, image_id, objects)
        except DataError as error:
            source.tolerate(error)
            continue
        yield {
            "image": image,
            "image_id": image_id,
            "category": category,
            "height": size[1],
            "width": size[0],
            "objects": [{**record, **camera_fields(record)} for record in objects],
        }


def check_photo_size(size: tuple[int, int], records: Sequence[dict[str, Any]], member: str) -> None:
    """Refuse a photo whose size is not the one its objects were annotated on.

    Boxes and centres are pixels of the annotated photo: on another size every number of
    every example would be wrong while looking plausible.
    """
    for record in records:
        annotated = (record["width"], record["height"])
        if None not in annotated and annotated != size:
            raise DataError(
                member,
                f"photo is {size[0]} x {size[1]} but object {record['index']} was annotated on "
                f"{annotated[0]} x {annotated[1]}",
                key="width/height",
            )


def iter_cad_examples(
    source: Source, categories: Sequence[str] | None = None
) -> Iterator[dict[str, Any]]:
    """One example per CAD mesh of the chosen categories, in category and index order."""
    for category in source.categories() if categories is None else categories:
        for cad_index in source.cad_indices(category):
            try:
                mesh = load_cad(source, category, cad_index)
            except DataError as error:
                source.tolerate(error)
                continue
            member = source.cad_member(category, cad_index)
            yield {
                "category": category,
                "cad_index": cad_index,
                "vertices": mesh.vertices.astype(np.float32),
                "faces": mesh.faces.astype(np.int32),
                "mesh_file": member.removeprefix(source.layout.prefix),
            }
