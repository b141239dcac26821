"""Annotations drawn over photos with Pillow: each object's 2D box and its CAD mesh under its pose.

One fixed palette: the colour says the object's ``object_status`` (Okabe-Ito colours, told
apart also with colour-blind vision); `legend()` says which is which in words, for
`imagenet3d visualize --help` and the README.

Meshes are projected with the annotation camera (``converter.pose.camera.project``). An object without
a pose (or whose mesh is not at hand) gets only its box. Meshes come from the release (a source) or
from the ``cad`` configuration of an export (a loaded dataset, or the dict ``cad_meshes`` makes of it),
so a row from the Hub can be drawn with nothing else.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from PIL import Image, ImageDraw

from converter.core.errors import DataError, check_choice
from converter.pose.camera import has_camera, project
from converter.read.mesh import Mesh, checked_mesh, load_cad

if TYPE_CHECKING:
    from converter.read.source import Source

Style = Literal["wireframe", "faces"]
STYLES: tuple[Style, ...] = ("wireframe", "faces")
COLOURS: tuple[tuple[str | None, str, tuple[int, int, int]], ...] = (
    ("status_good", "bluish green", (0, 158, 115)),
    ("status_partially", "sky blue", (86, 180, 233)),
    ("status_barely", "yellow", (240, 228, 66)),
    ("status_bad", "vermillion", (213, 94, 0)),
    (None, "reddish purple", (204, 121, 167)),
)
PALETTE = {status: rgb for status, _, rgb in COLOURS}
FACE_OPACITY = 0.45
MeshKey = tuple[str, int]
# Meshes by key; None for one its source refused, so it is drawn without and counted once.
Meshes = MutableMapping[MeshKey, Mesh | None]


def legend() -> str:
    """What the colours of an overlay mean, in one sentence."""
    meanings = ", ".join(f"{name} {status or 'no status'}" for status, name, _ in COLOURS)
    return f"Box and mesh colours by object_status: {meanings}."


def as_image(image: Any) -> Image.Image:
    """A PIL image, image bytes, or a ``{"bytes", "path"}`` image dict, as a PIL image."""
    if isinstance(image, Mapping):
        image = image.get("bytes") or image["path"]
    if isinstance(image, bytes):
        image = io.BytesIO(image)
    return image if isinstance(image, Image.Image) else Image.open(image)


def line_width(image: Image.Image) -> int:
    """Lines about 1/400 of the longer side: visible on big photos, not blotting small ones."""
    return max(1, round(max(image.size) / 400))


def draw_box(image: Image.Image, bbox: Sequence[float], colour: tuple[int, int, int]) -> None:
    ImageDraw.Draw(image).rectangle(list(bbox), outline=colour, width=line_width(image))


def projected_vertices(mesh: Mesh, pose: Mapping[str, Any]) -> np.ndarray:
    """(N, 2) image points of the mesh's vertices under the record's pose.

    Vertices are taken at float32, the precision the ``cad`` configuration publishes, so an
    overlay drawn from the Hub and one drawn from the release are the same pixels.
    """
    return project(
        np.asarray(mesh.vertices, dtype=np.float32),
        pose["azimuth"],
        pose["elevation"],
        pose["theta"],
        pose["distance"],
        pose["px"],
        pose["py"],
        pose["viewport"],
    )


def _drawable(points: np.ndarray, image: Image.Image, groups: np.ndarray) -> np.ndarray:
    """The rows of `groups` (vertex indices) whose points Pillow can take.

    A pose far off the photo can project vertices to huge or infinite coordinates, which Pillow
    refuses; a generous margin around the photo keeps every visible line.
    """
    limit = 16 * max(image.size)
    ok = np.all(np.isfinite(points) & (np.abs(points) < limit), axis=1)
    return groups[np.all(ok[groups], axis=1)]


def mesh_edges(faces: np.ndarray) -> np.ndarray:
    """(E, 2) vertex pairs, each shared edge once, so a wireframe draws every line once."""
    faces = np.asarray(faces, dtype=np.int64)
    pairs = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    return np.unique(np.sort(pairs, axis=1), axis=0)


def draw_wireframe(
    image: Image.Image, points: np.ndarray, faces: np.ndarray, colour: tuple[int, int, int]
) -> None:
    draw = ImageDraw.Draw(image)
    width = line_width(image)
    for start, end in _drawable(points, image, mesh_edges(faces)):
        draw.line([tuple(points[start]), tuple(points[end])], fill=colour, width=width)


def draw_faces(
    image: Image.Image, points: np.ndarray, faces: np.ndarray, colour: tuple[int, int, int]
) -> None:
    """The mesh's silhouette, tinted evenly so the photo stays visible through it."""
    silhouette = Image.new("L", image.size, 0)
    draw = ImageDraw.Draw(silhouette)
    for face in _drawable(points, image, np.asarray(faces, dtype=np.int64)):
        draw.polygon([tuple(point) for point in points[face]], fill=255)
    opacity = silhouette.point(lambda value: round(value * FACE_OPACITY))
    image.paste(colour, mask=opacity)


def draw_object(
    image: Image.Image, record: Mapping[str, Any], mesh: Mesh | None, style: Style = "wireframe"
) -> None:
    """One object record (or pose example) in place: its mesh when posed, then its box on top."""
    colour = PALETTE.get(record.get("object_status"), PALETTE[None])
    if mesh is not None and has_camera(record):
        points = projected_vertices(mesh, record)
        if style == "faces":
            draw_faces(image, points, mesh.faces, colour)
        else:
            draw_wireframe(image, points, mesh.faces, colour)
    if record.get("bbox") is not None:
        draw_box(image, record["bbox"], colour)


def cad_meshes(
    cad: Iterable[Mapping[str, Any]],
    categories: Sequence[str] | None = None,
    tolerate: Callable[[DataError], None] | None = None,
) -> dict[MeshKey, Mesh]:
    """Rows of the ``cad`` configuration as meshes by (category name, cad_index).

    `cad` is the loaded dataset (its ClassLabel names the categories) or any rows of it. Each row
    is held to the rule a mesh file of the release is (`checked_mesh`): a row breaking it raises
    its DataError, or is passed to `tolerate` and left out.
    """
    if categories is None and hasattr(cad, "features"):
        categories = cad.features["category"].names
    meshes = {}
    for row in cad:
        key = (_with_category_name(row, categories)["category"], row["cad_index"])
        try:
            meshes[key] = checked_mesh(row["vertices"], row["faces"], f"cad mesh {key[0]} {key[1]}")
        except DataError as error:
            if tolerate is None:
                raise
            tolerate(error)
    return meshes


def find_mesh(record: Mapping[str, Any], meshes: Meshes, source: Source | None) -> Mesh | None:
    """The record's mesh from `meshes`, else loaded from `source` and kept in `meshes`.

    A mesh the source refuses is one of its invalid records: raised, or (when the source skips
    them) counted once and the objects drawn without it, as `export` leaves it out.
    """
    if record.get("cad_index") is None:
        return None
    key = (record["category"], record["cad_index"])
    if key not in meshes and source is not None:
        try:
            meshes[key] = load_cad(source, *key)
        except DataError as error:
            source.tolerate(error)
            meshes[key] = None
    return meshes.get(key)


def draw_objects(
    image: Image.Image,
    objects: Sequence[Mapping[str, Any]],
    source: Source | None = None,
    *,
    meshes: Meshes | None = None,
    style: Style = "wireframe",
) -> Image.Image:
    """A copy of the photo with all its objects drawn; meshes come from `meshes` or `source`.

    Pass a dict as `meshes` to reuse loaded meshes across photos (keys: (category, cad_index)).
    With neither `meshes` nor `source`, only boxes are drawn.
    """
    check_choice("style", style, STYLES)
    meshes = {} if meshes is None else meshes
    canvas = image.convert("RGB")
    for record in objects:
        draw_object(canvas, record, find_mesh(record, meshes, source), style)
    return canvas


def _with_category_name(
    record: Mapping[str, Any], categories: Sequence[str] | None
) -> Mapping[str, Any]:
    """The record with a loaded dataset's ClassLabel index turned back into its category name."""
    category = record.get("category")
    if isinstance(category, bool) or not isinstance(category, (int, np.integer)):
        return record
    if categories is None:
        raise ValueError(
            f"category is a class index ({category}); pass "
            "categories=ds.features['category'].names or the source the dataset was built from"
        )
    return {**record, "category": categories[int(category)]}


def overlay(
    row: Mapping[str, Any],
    source: Source | None = None,
    *,
    meshes: Meshes | Any | None = None,
    categories: Sequence[str] | None = None,
    style: Style = "wireframe",
) -> Image.Image:
    """Any example drawn over: a raw photo with its objects, or one pose3d/pose6d example.

    Takes the example dicts of the converter and rows of a loaded dataset alike (images as PIL
    images or bytes, categories as names or ClassLabel indices). A pose example is drawn with its
    own principal point and distance, so the mesh lands where the canvas shows the object.
    `meshes` is a dict by (category, cad_index), or the loaded ``cad`` configuration (to draw
    many rows, convert it once with `cad_meshes`). Class indices are named with `categories`,
    else with the source's or the ``cad`` configuration's categories.
    """
    if meshes is not None and not isinstance(meshes, Mapping):
        categories = categories or meshes.features["category"].names
        meshes = cad_meshes(meshes, categories)
    if categories is None and source is not None:
        categories = source.categories()
    if "objects" in row:
        objects = [_with_category_name(record, categories) for record in row["objects"]]
    else:
        objects = [_with_category_name(row, categories)]
    return draw_objects(as_image(row["image"]), objects, source, meshes=meshes, style=style)
