"""The `datasets.Features` of every configuration, made from the field table.

The columns, their types and order are declared once, in `converter.core.fields`.

Status and density keep the release's own words (`status_good`, `dense_yes`, ...) as
strings: they read the same in a filter, in the Hub viewer and in the public tool's
output, and a missing value is simply null. The category is a ClassLabel whose names are
the source's categories, sorted, as `imagefolder` infers its labels.
"""

from __future__ import annotations

from collections.abc import Sequence

import datasets

from converter.core.fields import (
    CAD,
    CAD_CONFIG,
    CONFIGS,
    IMAGE_CONFIGS,
    OBJECT,
    POSE,
    RAW,
    fields_in,
)
from converter.pose.options import PoseOptions


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
        CAD_CONFIG: "one example per CAD mesh of the release, in a single `train` split (the "
        "meshes serve both splits of the other configurations)",
    }[config]


def feature_of(kind: str, categories: Sequence[str]) -> datasets.features.FeatureType:
    """The `datasets` feature of one type word of the field table."""
    if kind == "image":
        return datasets.Image()
    if kind == "label":
        return datasets.ClassLabel(names=sorted(categories))
    if kind == "objects":
        return [_features(OBJECT, categories)]
    value, *lengths = kind.replace("]", "").split("[")
    feature: datasets.features.FeatureType = datasets.Value(value)
    for length in reversed(lengths):  # the outermost list is written first
        feature = datasets.Sequence(feature, length=int(length) if length else -1)
    return feature


def _features(place: str, categories: Sequence[str]) -> dict[str, datasets.features.FeatureType]:
    return {field.name: feature_of(field.kind, categories) for field in fields_in(place)}


def raw_features(categories: Sequence[str]) -> datasets.Features:
    """One example per photo: the photo as released (RGB) and all its objects."""
    return datasets.Features(_features(RAW, categories))


def pose_features(categories: Sequence[str]) -> datasets.Features:
    """One example per kept object on an H x W canvas (pose3d and pose6d share the columns)."""
    return datasets.Features(_features(POSE, categories))


def cad_features(categories: Sequence[str]) -> datasets.Features:
    """One example per CAD mesh: vertices float32 (N, 3) and triangles int32 (M, 3), 0-based."""
    return datasets.Features(_features(CAD, categories))


def features_for(config: str, categories: Sequence[str]) -> datasets.Features:
    """The features of a configuration by name."""
    if config not in CONFIGS:
        raise ValueError(f"unknown configuration {config!r}; expected one of {', '.join(CONFIGS)}")
    make = {"raw": raw_features, CAD_CONFIG: cad_features}.get(config, pose_features)
    return make(categories)


__all__ = [
    "CAD_CONFIG",
    "CONFIGS",
    "IMAGE_CONFIGS",
    "cad_features",
    "config_doc",
    "feature_of",
    "features_for",
    "pose_features",
    "raw_features",
]
