"""Deterministic archives shaped like the ImageNet3D release (docs/format.md, 'Release layout').

One writer draws every archive from plans of its photos (`write_archive`): here, the small
sample that holds every case the readers must handle (tests, the source word `sample`); the
plans of the benchmark workload and of the scaled archives are the benchmarks' own
(`testbed/`). Objects with a pose are painted with the CAD mesh projected by the release's camera in a brightness band the background
never reaches, so a test can find them again in the decoded photo and check the annotation
against them. The sample stores its values in every form the release's tools wrote, and
`sample_cases` names which photo, object or CAD folder carries each case.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from converter.core.files import ZIP_TIME, replaced_on_success
from converter.core.release import SAMPLE_SYNSETS, TOP_FOLDER
from converter.pose.camera import project, to_camera
from converter.read.mesh import Mesh, write_off
from converter.read.source import SPLITS, Layout
from converter.sample.shapes import category_meshes

CATEGORIES = SAMPLE_SYNSETS  # category -> the synset that starts its image ids
# Where each member goes: the reader's own layout of the release, so writer and reader agree.
RELEASE_LAYOUT = Layout("v1", f"{TOP_FOLDER}/")
SAMPLE_VERSION = 2  # part of the cache file name: bump when the sample's content changes

VIEWPORT = 3000
FOCAL = 1.0
BACKGROUND_MAX = 150  # no background pixel is brighter than this in any channel
OBJECT_MIN = 205  # no pixel of a posed object is darker than this in any channel (colours x 0.88)
_OBJECT_COLOURS = {
    "aeroplane": (245, 248, 255),
    "bicycle": (255, 244, 235),
    "car": (255, 238, 238),
    "chair": (240, 255, 240),
}
_UNPOSED_COLOUR = (70, 105, 140)  # pose-less objects stay inside the background's band
_LIGHT = np.array([0.3, -0.5, 0.8]) / np.linalg.norm([0.3, -0.5, 0.8])


# ---- plans: what each photo holds ------------------------------------------------------------


@dataclass(frozen=True)
class ObjectPlan:
    cad_index: int
    azimuth: float
    elevation: float
    theta: float
    distance: float  # where the mesh is drawn; the annotation may withhold it (see kind)
    px: float
    py: float
    viewport: int
    status: str | None  # None: an older file without object_status and dense
    kind: str = "posed"  # "posed", "zero_distance" (distance 0, keys kept), "no_pose" (keys absent)
    forms: frozenset[str] = frozenset()  # how the values are stored (see _stored); none: numpy


@dataclass(frozen=True)
class PhotoPlan:
    category: str
    image_id: str
    split: str  # "train" or "validation" (the list files' own words: `Layout.split_list`)
    width: int
    height: int
    mode: str  # "RGB", "L" or "CMYK"
    objects: tuple[ObjectPlan, ...]
    png: bool = False  # saved as PNG under the .JPEG name
    shape: str = ""  # whose procedural meshes and colour it borrows; "": its own category's

    @property
    def look(self) -> str:
        """The sample category whose meshes and colour draw this photo's objects."""
        return self.shape or self.category


@dataclass(frozen=True)
class Style:
    """How photos are textured and encoded."""

    noise: int  # amplitude of per-pixel noise
    shapes: int  # muted ellipses and rectangles in the background
    quality: int
    subsampling: int  # Pillow's JPEG chroma subsampling: 0 = 4:4:4, 2 = 4:2:0


_SAMPLE_STYLE = Style(noise=4, shapes=6, quality=92, subsampling=0)


def slots(rng: np.random.Generator, n: int, width: int, height: int) -> list[tuple[float, float]]:
    """Centres for n objects side by side, jittered."""
    return [
        (
            width * ((j + 0.5) / n + rng.uniform(-0.06, 0.06)),
            height * rng.uniform(0.4, 0.6),
        )
        for j in range(n)
    ]


def plan_object(
    rng: np.random.Generator,
    category: str,
    centre: tuple[float, float],
    distance: float,
    status: str | None,
    *,
    viewport: int = VIEWPORT,
    kind: str = "posed",
) -> ObjectPlan:
    return ObjectPlan(
        cad_index=int(rng.integers(1, len(category_meshes(category)) + 1)),
        azimuth=float(rng.uniform(0, 2 * np.pi)),
        elevation=float(rng.uniform(-0.15, 0.7)),
        theta=float(rng.normal(0, 0.15)),
        distance=distance,
        px=centre[0],
        py=centre[1],
        viewport=viewport,
        status=status,
        kind=kind,
    )


def _to_border(rng: np.random.Generator, centre: tuple, width: int, height: int) -> tuple:
    """Move a centre next to one photo edge, so the object runs across it."""
    edge = int(rng.integers(4))
    x, y = centre
    if edge < 2:
        return (width * (0.03 if edge == 0 else 0.97), y)
    return (x, height * (0.03 if edge == 2 else 0.97))


_TRAIN, _VALIDATION = SPLITS
_PHOTOS_PER_CATEGORY = 11
_VAL_PER_CATEGORY = 3
_EXTREME_SIZES = ((48, 36), (36, 60), (60, 40), (44, 56), (1600, 1200), (1200, 1600), (1800, 1350))
_SAMPLE_MODES = {5: "L", 30: "L", 17: "CMYK", 40: "CMYK"}  # photo number -> JPEG colour mode
_STATUS_CYCLE = ("status_good", "status_partially", "status_good", "status_barely", "status_bad")
_UNUSUAL_OBJECTS = {4: "no_pose", 9: "zero_distance", 14: "legacy"}  # object number -> case


def _sample_plans(rng: np.random.Generator) -> list[PhotoPlan]:
    """Every case the readers must handle, in 44 photos of 4 categories."""
    total = _PHOTOS_PER_CATEGORY * len(CATEGORIES)
    sizes = list(_EXTREME_SIZES)
    while len(sizes) < total:
        long_side = int(rng.integers(120, 641))
        short_side = int(long_side * rng.choice([0.75, 0.75, 0.6, 1.0]))
        sizes.append((long_side, short_side) if len(sizes) % 3 else (short_side, long_side))
    sizes = [sizes[i] for i in rng.permutation(total)]
    plans, number = [], 0
    for g, (width, height) in enumerate(sizes):
        category = list(CATEGORIES)[g // _PHOTOS_PER_CATEGORY]
        within = g % _PHOTOS_PER_CATEGORY
        tiny, large = max(width, height) <= 60, min(width, height) >= 1200
        n = 1 if tiny else (1, 2, 1, 3, 2, 1)[g % 6]
        objects = []
        for j, centre in enumerate(slots(rng, n, width, height)):
            share = 1.4 if large and j == 0 else rng.uniform(0.45, 0.85) / np.sqrt(n)
            viewport = 2000 if number % 11 == 7 else VIEWPORT
            distance = viewport / (share * min(width, height))
            if number % 5 == 2:
                centre = _to_border(rng, centre, width, height)
            special = _UNUSUAL_OBJECTS.get(number)
            status = None if special == "legacy" else _STATUS_CYCLE[number % len(_STATUS_CYCLE)]
            kind = special if special in ("no_pose", "zero_distance") else "posed"
            objects.append(
                plan_object(rng, category, centre, distance, status, viewport=viewport, kind=kind)
            )
            number += 1
        plans.append(
            PhotoPlan(
                category=category,
                image_id=f"{CATEGORIES[category]}_{_sample_number(within)}",
                split=_VALIDATION if within >= _PHOTOS_PER_CATEGORY - _VAL_PER_CATEGORY else _TRAIN,
                width=width,
                height=height,
                mode=_SAMPLE_MODES.get(g, "RGB"),
                objects=tuple(objects),
            )
        )
    return plans


def _sample_number(within: int) -> int:
    """Image numbers of mixed lengths, so string order differs from numeric order."""
    return 87 + within * 113


# ---- value forms: how the release's tools stored each value -----------------------------------

# One of these holds each sample object's values: the release's numpy scalars, the Python values
# its README states, the 0-d arrays of a per-object `np.savez(**values)` read back, or the size-1
# arrays of MATLAB-style records (with `principal` as a row or a column to match).
CONTAINERS = (
    "numpy scalars",
    "python values",
    "0-d arrays",
    "size-1 arrays (1,)",
    "size-1 arrays (1, 1)",
)
# The size-1 containers: the shape of one number, and of `principal`.
_SIZE_ONE = {"size-1 arrays (1,)": ((1,), (1, 2)), "size-1 arrays (1, 1)": ((1, 1), (2, 1))}
# Each applies on top of any container: what the annotation app wrote (a float viewport, its
# annotator's id) and what readers only compare (a bool ignore, a whole float cad_index).
VARIANTS = ("float viewport", "float cad_index", "bool ignore", "annotator key")
ANNOTATOR = "annotator_01"
PNG_PHOTO = "PNG under .JPEG"
CRLF_CAD = "CRLF line ends"


@dataclass(frozen=True)
class Case:
    """Which part of the sample carries one case: an object, a photo, or a category's CAD files."""

    name: str
    category: str
    image_id: str | None = None  # None: the category's CAD files
    index: int | None = None  # the object's index in its photo's annotation array; None: the photo


def _with_forms(plans: list[PhotoPlan], rng: np.random.Generator) -> tuple[list[PhotoPlan], str]:
    """Every container with and without every variant, one PNG photo, one CRLF CAD category.

    Object k of a seeded order takes container k % 5 and, in turns of five objects, variants
    0 and 2 or 1 and 3: ten objects already cover every pairing.
    """
    count = sum(len(plan.objects) for plan in plans)
    ranks = iter(rng.permutation(count).tolist())
    plans = [
        replace(
            plan,
            objects=tuple(replace(item, forms=value_forms(next(ranks))) for item in plan.objects),
        )
        for plan in plans
    ]
    photos = [
        number
        for number, plan in enumerate(plans)
        if plan.mode == "RGB" and 60 < max(plan.width, plan.height) <= 640
    ]
    png = int(rng.choice(photos))
    plans[png] = replace(plans[png], png=True)
    return plans, str(rng.choice(sorted({plan.category for plan in plans})))


def value_forms(rank: int) -> frozenset[str]:
    turn = rank // len(CONTAINERS)
    variants = {name for j, name in enumerate(VARIANTS) if (turn + j) % 2 == 0}
    return frozenset({CONTAINERS[rank % len(CONTAINERS)], *variants})


def _object_cases(item: ObjectPlan) -> list[str]:
    """The cases one object carries: its forms, its principal's shape, its special kind."""
    names = sorted(item.forms)
    if item.kind == "no_pose":
        names.append("no pose keys")
    names += [
        f"principal {line}"
        for container, (_, line) in _SIZE_ONE.items()
        if container in item.forms and item.kind != "no_pose"
    ]
    if item.kind == "zero_distance":
        names.append("distance 0")
    if item.status is None:
        names.append("no status")
    return names


def sample_cases(seed: int = 0) -> list[Case]:
    """The manifest of `write_sample(path, seed)`: every case and where it is, without writing."""
    plans, crlf = _sample(seed)
    cases = [Case(CRLF_CAD, crlf)]
    for plan in plans:
        photo_cases = {"L": ["grey"], "CMYK": ["CMYK"]}.get(plan.mode, [])
        photo_cases += [PNG_PHOTO] if plan.png else []
        cases += [Case(name, plan.category, plan.image_id) for name in photo_cases]
        cases += [
            Case(name, plan.category, plan.image_id, index)
            for index, item in enumerate(plan.objects)
            for name in _object_cases(item)
        ]
    return cases


# ---- projection, annotation and drawing ------------------------------------------------------


@dataclass(frozen=True)
class _Placed:
    """An object's mesh projected into its photo."""

    plan: ObjectPlan
    mesh: Mesh
    points: np.ndarray  # (N, 2) image points of the vertices
    depth: np.ndarray  # (N,) distance of each vertex in front of the camera
    bbox: tuple[float, float, float, float]  # projected box, clipped to the photo


def _place(plan: ObjectPlan, category: str, width: int, height: int) -> _Placed:
    mesh = category_meshes(category)[plan.cad_index - 1]
    pose = (plan.azimuth, plan.elevation, plan.theta, plan.distance)
    points = project(mesh.vertices, *pose, plan.px, plan.py, plan.viewport)
    depth = -to_camera(mesh.vertices, plan.azimuth, plan.elevation, plan.distance)[:, 2]
    low = np.maximum(points.min(axis=0), 0)
    high = np.minimum(points.max(axis=0), [width - 1, height - 1])
    return _Placed(plan, mesh, points, depth, (low[0], low[1], high[0], high[1]))


def _is_dense(box: tuple, others: list[tuple]) -> bool:
    """Another object's box touches this one grown by half its size: "close" in the image."""
    x1, y1, x2, y2 = box
    gx, gy = (x2 - x1) / 2, (y2 - y1) / 2
    return any(
        o[0] <= x2 + gx and o[2] >= x1 - gx and o[1] <= y2 + gy and o[3] >= y1 - gy for o in others
    )


def _annotation(photo: PhotoPlan, placed: _Placed, dense: bool) -> dict:
    """One object as the release stores it (docs/format.md, 'Annotation keys'), in its forms."""
    plan = placed.plan
    record: dict = {
        "class": np.str_(photo.category),
        "bbox": np.array(placed.bbox, dtype=np.float64),
        "height": np.uint16(photo.height),
        "width": np.uint16(photo.width),
    }
    if plan.kind != "no_pose":
        record |= {key: np.float64(getattr(plan, key)) for key in ("azimuth", "elevation", "theta")}
    record["distance"] = np.float64(
        {"posed": plan.distance, "zero_distance": 0.0, "no_pose": -1.0}[plan.kind]
    )
    if plan.kind != "no_pose":
        record |= {"px": np.float64(plan.px), "py": np.float64(plan.py)}
        record["principal"] = np.array([plan.px, plan.py], dtype=np.float64)
    record |= {
        "focal": np.float64(FOCAL),
        "viewport": np.int64(plan.viewport),
        "cad_index": np.int64(plan.cad_index),
    }
    if plan.status is not None:
        record["object_status"] = np.str_(plan.status)
        record["dense"] = np.str_("dense_yes" if dense else "dense_no")
    record["ignore"] = np.int32(plan.status == "status_bad")
    return _stored(record, plan.forms)


def _stored(record: dict, forms: frozenset[str]) -> dict:
    """The same values in the forms named (docs/format.md, 'Value forms'); none: unchanged."""
    record = dict(record)
    if "float viewport" in forms:
        record["viewport"] = np.float64(record["viewport"])
    if "float cad_index" in forms:
        record["cad_index"] = np.float64(record["cad_index"])
    if "bool ignore" in forms:
        record["ignore"] = np.bool_(record["ignore"])
    if "annotator key" in forms:
        record["annotator"] = np.str_(ANNOTATOR)
    if "python values" in forms:
        return {key: value.tolist() for key, value in record.items()}
    if "0-d arrays" in forms:
        return {key: np.asarray(value) for key, value in record.items()}
    for container, (shape, line) in _SIZE_ONE.items():
        if container in forms:
            return {key: _sized(key, value, shape, line) for key, value in record.items()}
    return record


def _sized(key: str, value: Any, shape: tuple[int, ...], line: tuple[int, int]) -> Any:
    """A number as an array of `shape`, `principal` as `line`; text and `bbox` unchanged."""
    if key == "principal":
        return value.reshape(line)
    if isinstance(value, np.number | np.bool_):
        return np.full(shape, value)
    return value


def _release_npz(records: list[dict]) -> bytes:
    """The annotation file exactly as the release writes it (zipfile dates np.savez members 1980)."""
    array = np.empty(len(records), dtype=object)
    array[:] = records
    buffer = io.BytesIO()
    np.savez(buffer, annotations=array)
    return buffer.getvalue()


def _background(rng: np.random.Generator, width: int, height: int, style: Style) -> Image.Image:
    """Smooth colour fields, muted shapes and pixel noise, all within 10..BACKGROUND_MAX."""
    coarse = rng.uniform(25, 125, (int(rng.integers(2, 6)), int(rng.integers(2, 6)), 3))
    image = Image.fromarray(coarse.astype(np.uint8)).resize(
        (width, height), Image.Resampling.BICUBIC
    )
    draw = ImageDraw.Draw(image)
    for _ in range(style.shapes):
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        rx, ry = rng.uniform(0.03, 0.25) * width, rng.uniform(0.03, 0.25) * height
        colour = tuple(int(c) for c in rng.integers(20, 131, 3))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((x - rx, y - ry, x + rx, y + ry), fill=colour)
    pixels = np.asarray(image, dtype=np.int16) + rng.integers(
        -style.noise, style.noise + 1, (height, width, 3), dtype=np.int16
    )
    return Image.fromarray(np.clip(pixels, 10, BACKGROUND_MAX).astype(np.uint8))


def _draw(
    draw: ImageDraw.ImageDraw, placed: _Placed, colour: tuple[int, int, int], contrast: float
) -> None:
    """Fill every projected face, far to near, darkened by up to `contrast` away from the light."""
    triangles = placed.mesh.vertices[placed.mesh.faces]
    normals = np.cross(triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0])
    lengths = np.linalg.norm(normals, axis=1)
    light = np.abs(normals @ _LIGHT) / np.where(lengths > 0, lengths, 1)
    shade = 1 - contrast + contrast * light
    order = np.argsort(-placed.depth[placed.mesh.faces].mean(axis=1), kind="stable")
    corners = placed.points[placed.mesh.faces].reshape(-1, 6)
    fills = np.floor(shade[:, None] * np.asarray(colour)).astype(int)
    for face in order:
        draw.polygon(corners[face].tolist(), fill=tuple(fills[face].tolist()))


def _photo_bytes(
    photo: PhotoPlan, placed: list[_Placed], style: Style, rng: np.random.Generator
) -> bytes:
    """The JPEG: background, then pose-less objects, then posed ones on top."""
    image = _background(rng, photo.width, photo.height, style)
    draw = ImageDraw.Draw(image)
    for item in sorted(placed, key=lambda item: item.plan.kind == "posed"):
        if item.plan.kind == "posed":
            _draw(draw, item, _OBJECT_COLOURS[photo.look], contrast=0.12)
        else:
            _draw(draw, item, _UNPOSED_COLOUR, contrast=0.4)
    buffer = io.BytesIO()
    if photo.png:
        image.save(buffer, "PNG")
        return buffer.getvalue()
    options = {"quality": style.quality}
    if photo.mode == "RGB":
        options["subsampling"] = style.subsampling
    image.convert(photo.mode).save(buffer, "JPEG", **options)
    return buffer.getvalue()


# ---- the archive -----------------------------------------------------------------------------


def _members(
    plans: list[PhotoPlan], style: Style, seed: int, crlf: str | None = None
) -> dict[str, Callable[[], bytes]]:
    """Every file of the archive, each made only when it is written (photos are the slow part).

    The CAD files of category `crlf` end their lines as Windows tools do.
    """
    members: dict[str, Callable[[], bytes]] = {}
    looks = {plan.category: plan.look for plan in plans}
    listed: dict[tuple[str, str], list[str]] = defaultdict(list)
    for plan in plans:
        listed[plan.category, plan.split].append(plan.image_id)
    for category in sorted(looks):
        for index, mesh in enumerate(category_meshes(looks[category]), start=1):
            members[RELEASE_LAYOUT.cad(category, index)] = partial(
                _off_bytes, mesh, category == crlf
            )
        for split in SPLITS:
            text = "".join(f"{image_id}\n" for image_id in listed[category, split])
            members[RELEASE_LAYOUT.split_list(category, split)] = partial(str.encode, text)
    for number, photo in enumerate(plans):
        placed = [_place(obj, photo.look, photo.width, photo.height) for obj in photo.objects]
        boxes = [item.bbox for item in placed]
        records = [
            _annotation(photo, item, _is_dense(item.bbox, boxes[:k] + boxes[k + 1 :]))
            for k, item in enumerate(placed)
        ]
        members[RELEASE_LAYOUT.annotation(photo.category, photo.image_id)] = partial(
            _release_npz, records
        )
        rng = np.random.default_rng([seed, 1, number])
        photo_name = f"{RELEASE_LAYOUT.photo_folder(photo.category)}{photo.image_id}.JPEG"
        members[photo_name] = partial(_photo_bytes, photo, placed, style, rng)
    return members


def _off_bytes(mesh: Mesh, crlf: bool) -> bytes:
    data = write_off(mesh)
    return data.replace(b"\n", b"\r\n") if crlf else data


def _write_zip(path: Path, members: dict[str, Callable[[], bytes]]) -> Path:
    """Sorted members, fixed timestamps, directory entries as zip tools add them; atomic."""
    folders = {name[: i + 1] for name in members for i, c in enumerate(name) if c == "/"}
    with replaced_on_success(path) as temporary, zipfile.ZipFile(temporary, "w") as archive:
        for name in sorted(folders | set(members)):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.create_system = 3
            if name in folders:
                info.external_attr = (0o40755 << 16) | 0x10
                archive.writestr(info, b"")
                continue
            info.external_attr = 0o644 << 16
            jpeg = name.endswith(".JPEG")
            info.compress_type = zipfile.ZIP_STORED if jpeg else zipfile.ZIP_DEFLATED
            archive.writestr(info, members[name]())
    return path


def _sample(seed: int) -> tuple[list[PhotoPlan], str]:
    """The sample's plans with their value forms, and its CRLF CAD category."""
    return _with_forms(
        _sample_plans(np.random.default_rng([seed, 0])), np.random.default_rng([seed, 2])
    )


def write_sample(path: str | os.PathLike, seed: int = 0) -> Path:
    """The small test archive: byte-identical for the same seed; `sample_cases(seed)` lists
    which photo, object or CAD folder carries each case."""
    plans, crlf = _sample(seed)
    return write_archive(path, plans, _SAMPLE_STYLE, seed, crlf)


def write_archive(
    path: str | os.PathLike,
    plans: list[PhotoPlan],
    style: Style,
    seed: int,
    crlf: str | None = None,
) -> Path:
    """The archive of `plans`, photos drawn in `style`; the same plans and seed give the same bytes."""
    return _write_zip(Path(path), _members(plans, style, seed, crlf))


def cached_sample(seed: int = 0) -> Path:
    """The sample archive in the user cache, generated on first use."""
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "imagenet3d-hf"
    path = root / f"sample-v{SAMPLE_VERSION}-seed{seed}.zip"
    return path if path.is_file() else write_sample(path, seed)
