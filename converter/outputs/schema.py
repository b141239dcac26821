"""The `datasets.Features` of every configuration: the one place the columns are declared.

Status and density keep the release's own words (`status_good`, `dense_yes`, ...) as
strings: they read the same in a filter, in the Hub viewer and in the public tool's
output, and a missing value is simply null. The category is a ClassLabel whose names are
the source's categories, sorted, as `imagefolder` infers its labels.
"""

from __future__ import annotations

from collections.abc import Sequence

import datasets

from converter.pose.options import PoseOptions

CONFIGS = ("raw", "pose3d", "pose6d")


def config_doc(config: str, canvas: PoseOptions) -> str:
    """What one example of a configuration is, for the builder and the dataset card."""
    size = f"{canvas.height} x {canvas.width}"
    return {
        "raw": "one example per photo, the photo as released (converted to RGB) with all its "
        "objects",
        "pose3d": "one example per usable object: the photo scaled so that the object sits at "
        f"the target distance, object centre at the centre of a {size} canvas",
        "pose6d": f"one example per usable object: the whole photo fitted on a {size} canvas, "
        "camera kept",
    }[config]


def _float() -> datasets.Value:
    return datasets.Value("float64")


def _floats(length: int) -> datasets.Sequence:
    return datasets.Sequence(datasets.Value("float64"), length=length)


def _pose_fields() -> dict[str, datasets.features.FeatureType]:
    """Viewpoint, camera and quality fields that every configuration carries per object."""
    return {
        "bbox": _floats(4),
        "azimuth": _float(),
        "elevation": _float(),
        "theta": _float(),
        "distance": _float(),
        "px": _float(),
        "py": _float(),
        "principal": _floats(2),
        "focal": _float(),
        "viewport": datasets.Value("int32"),
        "cad_index": datasets.Value("int32"),
        "object_status": datasets.Value("string"),
        "dense": datasets.Value("string"),
    }


def raw_features(categories: Sequence[str]) -> datasets.Features:
    """One example per photo: the photo as released (RGB) and all its objects."""
    category = datasets.ClassLabel(names=sorted(categories))
    obj = {
        "index": datasets.Value("int32"),
        "category": category,
        **_pose_fields(),
        "height": datasets.Value("int32"),
        "width": datasets.Value("int32"),
        "ignore": datasets.Value("bool"),
        "extra": datasets.Value("string"),
    }
    return datasets.Features(
        {
            "image": datasets.Image(),
            "image_id": datasets.Value("string"),
            "category": category,
            "height": datasets.Value("int32"),
            "width": datasets.Value("int32"),
            "objects": [obj],
        }
    )


def pose_features(categories: Sequence[str]) -> datasets.Features:
    """One example per kept object on an H x W canvas (pose3d and pose6d share the columns)."""
    return datasets.Features(
        {
            "image": datasets.Image(),
            "name": datasets.Value("string"),
            "image_id": datasets.Value("string"),
            "object_index": datasets.Value("int32"),
            "category": datasets.ClassLabel(names=sorted(categories)),
            **_pose_fields(),
            "bbox_original": _floats(4),
            "px_original": _float(),
            "py_original": _float(),
            "principal_original": _floats(2),
            "distance_original": _float(),
            "resize_rate": _float(),
            "padding_params": datasets.Sequence(datasets.Value("int32"), length=6),
            "cropping_params": datasets.Sequence(datasets.Value("int32"), length=6),
            "height_original": datasets.Value("int32"),
            "width_original": datasets.Value("int32"),
        }
    )


def features_for(config: str, categories: Sequence[str]) -> datasets.Features:
    """The features of a configuration by name."""
    if config not in CONFIGS:
        raise ValueError(f"unknown configuration {config!r}; expected one of {', '.join(CONFIGS)}")
    return raw_features(categories) if config == "raw" else pose_features(categories)


FIELD_DOCS = {
    "image": "the photo (raw, RGB) or the H x W RGB canvas (pose3d, pose6d)",
    "image_id": "ImageNet image id, e.g. `n02818832_13`",
    "category": "one of the 200 rigid categories (ClassLabel over the source's categories, sorted)",
    "height": "height of the photo in pixels",
    "width": "width of the photo in pixels",
    "objects": "every annotated object of the photo, in the release's order (raw only)",
    "index": "position of the object in the photo's annotation array",
    "name": "`<image_id>_<k>`, k the object's index as two digits",
    "object_index": "position of the object in the photo's annotation array",
    "bbox": "2D box `x1, y1, x2, y2` in pixels (of the photo in raw, of the canvas otherwise)",
    "azimuth": "viewpoint azimuth, radians",
    "elevation": "viewpoint elevation, radians",
    "theta": "in-plane rotation, radians",
    "distance": "camera-to-object distance in CAD units; <= 0 means no 3D pose",
    "px": "x of the pixel where the object's 3D centre projects",
    "py": "y of the pixel where the object's 3D centre projects",
    "principal": "`[px, py]`",
    "focal": "focal length as annotated",
    "viewport": "projection scale in pixels",
    "cad_index": "which CAD mesh of the category (1-based; `CAD/<category>/<NN>.off`)",
    "object_status": "`status_good`, `status_partially`, `status_barely` or `status_bad`",
    "dense": "`dense_yes` when another object of the category is close, else `dense_no`",
    "ignore": "true for objects the annotators marked unusable",
    "extra": "annotation keys unknown to this schema, JSON-encoded (null when none)",
    "bbox_original": "the box in the original photo",
    "px_original": "`px` in the original photo",
    "py_original": "`py` in the original photo",
    "principal_original": "`principal` in the original photo",
    "distance_original": "`distance` as annotated",
    "resize_rate": "scale factor s applied to the photo",
    "padding_params": "public tool's black padding `(top, bottom, left, right, 0, 0)`",
    "cropping_params": "public tool's crop of the padded photo `(top, bottom, left, right, 0, 0)`",
    "height_original": "height of the original photo",
    "width_original": "width of the original photo",
}
