"""The `datasets.Features` of every configuration, made from the field table.

The columns, their types and order are declared once, in `converter.core.fields`; which
columns a configuration has, in `converter.outputs.configurations`.

Status and density keep the release's own words (`status_good`, `dense_yes`, ...) as
strings: they read the same in a filter, in the Hub viewer and in the public tool's
output, and a missing value is simply null. The category is a ClassLabel whose names are
the source's categories, sorted, as `imagefolder` infers its labels.
"""

from __future__ import annotations

from collections.abc import Sequence

import datasets

from converter.core.fields import CAD, OBJECT, POSE, RAW, Field, fields_in
from converter.outputs.configurations import configuration


def feature_of(kind: str, categories: Sequence[str]) -> datasets.features.FeatureType:
    """The `datasets` feature of one type word of the field table."""
    if kind == "image":
        return datasets.Image()
    if kind == "label":
        return datasets.ClassLabel(names=sorted(categories))
    if kind == "objects":
        return [_features(fields_in(OBJECT), categories)]
    value, *lengths = kind.replace("]", "").split("[")
    feature: datasets.features.FeatureType = datasets.Value(value)
    for length in reversed(lengths):  # the outermost list is written first
        feature = datasets.Sequence(feature, length=int(length) if length else -1)
    return feature


def _features(
    fields: Sequence[Field], categories: Sequence[str]
) -> dict[str, datasets.features.FeatureType]:
    return {field.name: feature_of(field.kind, categories) for field in fields}


def columns(fields: Sequence[Field], categories: Sequence[str]) -> datasets.Features:
    """The features of `fields`, in their order."""
    return datasets.Features(_features(fields, categories))


def raw_features(categories: Sequence[str]) -> datasets.Features:
    """One example per photo: the photo as released (RGB) and all its objects."""
    return columns(fields_in(RAW), categories)


def pose_features(categories: Sequence[str]) -> datasets.Features:
    """One example per kept object on an H x W canvas (pose3d and pose6d share the columns)."""
    return columns(fields_in(POSE), categories)


def cad_features(categories: Sequence[str]) -> datasets.Features:
    """One example per CAD mesh: vertices float32 (N, 3) and triangles int32 (M, 3), 0-based."""
    return columns(fields_in(CAD), categories)


def features_for(config: str, categories: Sequence[str]) -> datasets.Features:
    """The features of a configuration by name."""
    return columns(configuration(config).fields, categories)


__all__ = [
    "cad_features",
    "columns",
    "feature_of",
    "features_for",
    "pose_features",
    "raw_features",
]
