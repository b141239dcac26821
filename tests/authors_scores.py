"""The authors' scoring, re-implemented from the experiment repository for the tests.

- `pose_error`: their per-object error, `||logm(R_pred^T R_anno)||_F / sqrt(2)` with
  `R = Rz(theta) @ Rx(-(pi/2 - elevation)) @ Rz(-azimuth)` (the logarithm taken through the
  eigen decomposition here, as scipy is not a dependency).
- `figures`: what each `compute_accuracy_*` script reports for a list of errors: the percentage
  below pi/6 and pi/18, and the median and mean error in degrees (`err / pi * 180`); their
  meta-class entries spell the median's key `meadian_err`, the same figure.
- `open_vocabulary_figures`: `compute_accuracy_open_vocab.py` as written, including its slip:
  for the unknown meta-classes it pairs the unknown objects' errors with the categories of the
  known objects (`zip` stops at the shorter list), so those figures mix categories up. Where
  the script asserts that a meta-class has objects, this gives NaN figures instead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from tests.helpers import logm_angle


def _rz(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def _rx(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _rotation(azimuth: float, elevation: float, theta: float) -> np.ndarray:
    return _rz(theta) @ _rx(-(math.pi / 2 - elevation)) @ _rz(-azimuth)


def pose_error(annotation: Mapping[str, float], prediction: Mapping[str, float]) -> float:
    angles = ("azimuth", "elevation", "theta")
    anno = _rotation(*(float(annotation[key]) for key in angles))
    pred = _rotation(*(float(prediction[key]) for key in angles))
    return logm_angle(pred.T @ anno)


def figures(errors: Sequence[float]) -> dict[str, float]:
    errors = np.array(errors)
    if not errors.size:  # where the open-vocabulary script asserts
        return dict.fromkeys(("pi_6_acc", "pi_18_acc", "mean_err", "median_err"), math.nan)
    return {
        "pi_6_acc": np.mean(errors < np.pi / 6) * 100,
        "pi_18_acc": np.mean(errors < np.pi / 18) * 100,
        "mean_err": np.mean(errors) / np.pi * 180.0,
        "median_err": np.median(errors) / np.pi * 180.0,
    }


def meta_class_figures(
    errors: Sequence[float], categories: Sequence[str], meta_classes: Mapping[str, list[str]]
) -> dict[str, dict[str, float]]:
    """The per-meta-class part of the pose and linear-probing scripts."""
    return {
        meta: figures([e for c, e in zip(categories, errors) if c in members])  # noqa: B905
        for meta, members in meta_classes.items()
    }


def open_vocabulary_figures(
    errors: Sequence[float],
    categories: Sequence[str],
    known: Sequence[str],
    meta_classes: Mapping[str, list[str]],
) -> dict[str, dict[str, float]]:
    """`compute_accuracy_open_vocab.py`'s `performance` dict, slip included."""
    performance = {}
    known_errors = [e for e, c in zip(errors, categories, strict=True) if c in known]
    known_categories = [c for c in categories if c in known]
    performance["known_avg"] = figures(known_errors)
    for meta, figure in meta_class_figures(known_errors, known_categories, meta_classes).items():
        performance[f"known_{meta}"] = figure
    unknown_errors = [e for e, c in zip(errors, categories, strict=True) if c not in known]
    performance["unknown_avg"] = figures(unknown_errors)
    for meta, figure in meta_class_figures(unknown_errors, known_categories, meta_classes).items():
        performance[f"unknown_{meta}"] = figure
    return performance
