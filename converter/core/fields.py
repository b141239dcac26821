"""Every field of every configuration, declared once: name, type, meaning, where it appears.

The record parser's keys (`RECORD_KEYS`), the release keys it reads (`RELEASE_KEYS`), the
`datasets.Features` of each configuration (`converter.outputs.schema`) and the dataset card's
field list (`FIELD_DOCS`) are all read from `FIELDS`. Types are words, not `datasets` objects,
so that reading this table imports nothing heavy: `float64`, `int32`, `string`, `bool`, `image`,
`label` (a ClassLabel over the categories), `objects` (raw's list of object records), and lists
written outermost first: `float64[4]` is four numbers, `float64[3][3]` a 3 x 3 matrix,
`float32[][3]` any number of triples.

Where a field appears, its places: `RAW` is a column of an example per photo, `OBJECT` a key
of each record in its `objects` (and, unless it is computed, of every parsed record), `POSE` a
column of an example per kept object on its canvas, `CAD` a column of an example per CAD mesh.
Which configuration has which columns is declared in `converter.outputs.configurations`.
"""

from __future__ import annotations

from dataclasses import dataclass

RAW = "photo"
OBJECT = "object"
POSE = "canvas"
CAD = "mesh"


@dataclass(frozen=True)
class Field:
    """One field: its name in examples, its type word, what it means, where it appears."""

    name: str
    kind: str
    meaning: str
    places: tuple[str, ...]
    release_key: str | None = None  # the key of the release's per-object dict it is read from
    computed: bool = False  # derived from the other fields after parsing (the camera matrices)


def _read(name: str, kind: str, meaning: str, *places: str) -> Field:
    """A field read from the release under its own name."""
    return Field(name, kind, meaning, places, release_key=name)


def _camera(name: str, kind: str, meaning: str) -> Field:
    """A camera matrix of every posed object, computed from its pose after parsing."""
    return Field(name, kind, f"{meaning}; null without pose", (OBJECT, POSE), computed=True)


FIELDS = (
    Field(
        "image",
        "image",
        "the photo (raw, RGB) or the H x W RGB canvas (pose3d, pose6d)",
        (RAW, POSE),
    ),
    Field(
        "name",
        "string",
        "`<image_id>_<k>`, k the object's index as two digits (`<category>_<image_id>_<k>` "
        "for a photo that several categories hold)",
        (POSE,),
    ),
    Field("image_id", "string", "ImageNet image id, e.g. `n02818832_13`", (RAW, POSE)),
    Field(
        "object_index", "int32", "position of the object in the photo's annotation array", (POSE,)
    ),
    Field("index", "int32", "position of the object in the photo's annotation array", (OBJECT,)),
    Field(
        "category",
        "label",
        "the object's category, a ClassLabel over the source's categories (sorted)",
        (RAW, OBJECT, POSE, CAD),
        release_key="class",
    ),
    _read(
        "bbox",
        "float64[4]",
        "2D box `x1, y1, x2, y2` in pixels (of the photo in raw, of the canvas otherwise)",
        OBJECT,
        POSE,
    ),
    _read("azimuth", "float64", "viewpoint azimuth, radians", OBJECT, POSE),
    _read("elevation", "float64", "viewpoint elevation, radians", OBJECT, POSE),
    _read("theta", "float64", "in-plane rotation, radians", OBJECT, POSE),
    _read(
        "distance",
        "float64",
        "camera-to-object distance in CAD units; <= 0 means no 3D pose",
        OBJECT,
        POSE,
    ),
    _read("px", "float64", "x of the pixel where the object's 3D centre projects", OBJECT, POSE),
    _read("py", "float64", "y of the pixel where the object's 3D centre projects", OBJECT, POSE),
    _read("principal", "float64[2]", "`[px, py]`", OBJECT, POSE),
    _read("focal", "float64", "focal length as annotated", OBJECT, POSE),
    _read("viewport", "int32", "projection scale in pixels", OBJECT, POSE),
    _read(
        "cad_index",
        "int32",
        "which CAD mesh of the category (1-based; `CAD/<category>/<NN>.off`)",
        OBJECT,
        POSE,
        CAD,
    ),
    _read(
        "object_status",
        "string",
        "`status_good`, `status_partially`, `status_barely` or `status_bad`",
        OBJECT,
        POSE,
    ),
    _read(
        "dense",
        "string",
        "`dense_yes` when another object of the category is close, else `dense_no`",
        OBJECT,
        POSE,
    ),
    _camera(
        "rotation",
        "float64[3][3]",
        "3 x 3 object-to-camera rotation (camera looks down +z, x right, y down the image)",
    ),
    _camera(
        "translation", "float64[3]", "CAD origin in the camera frame, CAD units: `(0, 0, distance)`"
    ),
    _camera(
        "intrinsics",
        "float64[3][3]",
        "3 x 3 pinhole matrix in pixels of this example's image: focal `viewport`, principal "
        "point `(px, py)`",
    ),
    _read("height", "int32", "height of the photo in pixels", RAW, OBJECT),
    _read("width", "int32", "width of the photo in pixels", RAW, OBJECT),
    _read("ignore", "bool", "true for objects the annotators marked unusable", OBJECT),
    Field(
        "extra",
        "string",
        "annotation keys unknown to this schema, JSON-encoded (null when none)",
        (OBJECT,),
    ),
    Field(
        "objects",
        "objects",
        "every annotated object of the photo, in the release's order (raw only)",
        (RAW,),
    ),
    Field("bbox_original", "float64[4]", "the box in the original photo", (POSE,)),
    Field("px_original", "float64", "`px` in the original photo", (POSE,)),
    Field("py_original", "float64", "`py` in the original photo", (POSE,)),
    Field("principal_original", "float64[2]", "`principal` in the original photo", (POSE,)),
    Field("distance_original", "float64", "`distance` as annotated", (POSE,)),
    Field("resize_rate", "float64", "scale factor s applied to the photo", (POSE,)),
    Field(
        "padding_params",
        "int32[6]",
        "public tool's black padding `(top, bottom, left, right, 0, 0)`",
        (POSE,),
    ),
    Field(
        "cropping_params",
        "int32[6]",
        "public tool's crop of the padded photo `(top, bottom, left, right, 0, 0)`",
        (POSE,),
    ),
    Field("height_original", "int32", "height of the original photo", (POSE,)),
    Field("width_original", "int32", "width of the original photo", (POSE,)),
    Field("vertices", "float32[][3]", "CAD mesh vertices (N, 3), CAD units", (CAD,)),
    Field("faces", "int32[][3]", "CAD mesh triangles (M, 3), 0-based vertex indices", (CAD,)),
    Field(
        "mesh_file", "string", "the mesh's file in the release, `CAD/<category>/<NN>.off`", (CAD,)
    ),
)


def fields_in(place: str) -> tuple[Field, ...]:
    """The fields of one place (`RAW`, `OBJECT`, `POSE` or `CAD`), in their column order."""
    return tuple(field for field in FIELDS if place in field.places)


def inner_fields(field: Field) -> tuple[Field, ...]:
    """The fields of the records a field holds: the objects of `objects`, none for the others."""
    return fields_in(OBJECT) if field.kind == "objects" else ()


RECORD_KEYS = tuple(field.name for field in fields_in(OBJECT) if not field.computed)
RELEASE_KEYS = tuple(field.release_key for field in FIELDS if field.release_key is not None)
FIELD_DOCS = {field.name: field.meaning for field in FIELDS}
