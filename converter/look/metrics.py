"""Scoring predicted viewpoints against the annotations (docs/format.md, 'Metrics').

Predictions and ground truth are mappings from an example name (``<image_id>_<k:02d>``, or
``<category>_<image_id>_<k:02d>`` for a photo several categories hold) to a
record with ``azimuth``, ``elevation`` and ``theta`` in radians; ground-truth records also carry
``category``. A pose example dict is such a record, so ``{ex["name"]: ex for ex in examples}``
is ground truth as it stands.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from converter.core.errors import DataError, described, printable
from converter.core.files import write_atomic
from converter.core.progress import progress_bar
from converter.outputs.examples import object_name, select_objects
from converter.pose.camera import object_rotation
from converter.pose.options import PoseOptions

if TYPE_CHECKING:
    from converter.read.source import Source

ANGLES = ("azimuth", "elevation", "theta")
THRESHOLDS = {"acc_pi_6": math.pi / 6, "acc_pi_18": math.pi / 18}
REPORTED_NAMES = 10


def rotation_matrices(poses: np.ndarray) -> np.ndarray:
    """(N, 3, 3) rotations of (N, 3) poses (azimuth, elevation, theta), all at once."""
    poses = np.asarray(poses, dtype=np.float64).reshape(-1, 3)
    azimuth, elevation, theta = poses.T
    return object_rotation(azimuth, elevation, theta)


def rotation_error(predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Angle in [0, pi] of the relative rotation between paired (N, 3) poses, in radians.

    Equal to ``arccos((trace(R1^T R2) - 1) / 2)`` ('Metrics'), but computed as the atan2 of the
    angle's sine (the skew part of R1^T R2) and cosine: arccos of a clipped argument loses half
    its digits near 0 and pi, while atan2 stays exact there (identical poses give exactly 0).
    """
    relative = np.einsum("nki,nkj->nij", rotation_matrices(predicted), rotation_matrices(truth))
    cosine = (np.trace(relative, axis1=1, axis2=2) - 1.0) / 2.0
    skew = relative - relative.transpose(0, 2, 1)
    sine = np.sqrt(skew[:, 2, 1] ** 2 + skew[:, 0, 2] ** 2 + skew[:, 1, 0] ** 2) / 2.0
    return np.arctan2(sine, cosine)


def error_figures(errors: np.ndarray) -> dict[str, Any]:
    """Count, accuracies (percent of errors strictly below each threshold) and median in degrees.

    With no errors at all the figures are None (JSON null) rather than a made-up number.
    """
    errors = np.asarray(errors, dtype=np.float64)
    summary: dict[str, Any] = {"count": int(errors.size)}
    for key, threshold in THRESHOLDS.items():
        summary[key] = float(100.0 * np.mean(errors < threshold)) if errors.size else None
    summary["median_deg"] = float(np.degrees(np.median(errors))) if errors.size else None
    return summary


def _angles(record: Mapping[str, Any]) -> tuple[float, float, float]:
    return tuple(float(record[key]) for key in ANGLES)


def _named(names: Iterable[str]) -> dict[str, Any]:
    names = sorted(names)
    return {"count": len(names), "names": names[:REPORTED_NAMES]}


def evaluate(
    predictions: Mapping[str, Mapping[str, Any]], ground_truth: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """Figures over all ground-truth objects and per category.

    A ground-truth object without a prediction counts as wrong (error pi), so leaving out hard
    cases cannot raise the score; such names are listed under ``missing``. Predictions for names
    that are not in the ground truth are not scored and are listed under ``unknown``.
    """
    names = sorted(ground_truth)
    truth = np.array([_angles(ground_truth[name]) for name in names]).reshape(-1, 3)
    predicted = np.array(
        [_angles(predictions[name]) if name in predictions else (0.0,) * 3 for name in names]
    ).reshape(-1, 3)
    found = np.array([name in predictions for name in names], dtype=bool)
    errors = np.where(found, rotation_error(predicted, truth), np.pi)
    categories = np.array([str(ground_truth[name]["category"]) for name in names])
    return {
        "overall": error_figures(errors),
        "per_category": {
            category: error_figures(errors[categories == category])
            for category in sorted(set(categories.tolist()))
        },
        "missing": _named(name for name, ok in zip(names, found, strict=True) if not ok),
        "unknown": _named(set(predictions) - set(ground_truth)),
    }


def ground_truth(
    source: Source, split: str, options: PoseOptions | None = None
) -> dict[str, dict[str, Any]]:
    """Name -> category and angles of every object the pose examples of `split` hold.

    Read from the records with the preprocessing's own keep rule and naming, so it names exactly
    the examples a model is scored on without decoding a single photo. Both pose configurations
    keep the same objects under the same names and angles, so one answer serves both. Names are
    unique: the source refuses a photo named like another's qualified name when it is opened.
    """
    options = options or PoseOptions()
    truth: dict[str, dict[str, Any]] = {}
    photos = source.image_ids(split)
    for category, image_id in progress_bar(iterable=photos, desc=split, unit="photo"):
        for record in select_objects(source, category, image_id, options):
            name = object_name(source, category, image_id, record["index"])
            truth[name] = {"category": category, **{key: record[key] for key in ANGLES}}
    return truth


def _cells(label: str, summary: Mapping[str, Any]) -> str:
    figures = [summary[key] for key in (*THRESHOLDS, "median_deg")]
    shown = ["-" if value is None else f"{value:.1f}" for value in figures]
    return (
        f"{printable(label):<24} {summary['count']:>7} {shown[0]:>9} {shown[1]:>9} {shown[2]:>11}"
    )


def format_report(report: Mapping[str, Any]) -> list[str]:
    """The figures as a table, one category a line and overall last, then what was not scored.

    Names are printed with their control characters escaped (`printable`): a prediction named
    with a newline and a made-up `overall` row shows as one name, not as a second table row.
    """
    lines = [f"{'category':<24} {'count':>7} {'acc@pi/6':>9} {'acc@pi/18':>9} {'median deg':>11}"]
    lines += [_cells(category, summary) for category, summary in report["per_category"].items()]
    lines.append(_cells("overall", report["overall"]))
    for key, label in (("missing", "missing predictions"), ("unknown", "unknown names")):
        if report[key]["count"]:
            first = ", ".join(printable(name) for name in report[key]["names"])
            lines.append(f"{label}: {report[key]['count']} (first: {first})")
    return lines


def write_report(report: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    """The report as JSON, written under a temporary name first so no half-file is left."""
    write_atomic(Path(path), (json.dumps(report, indent=2) + "\n").encode("utf-8"))


def _prediction(line: str, member: str) -> tuple[str, dict[str, float]]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise DataError(member, f"not valid JSON ({error.msg})") from None
    except RecursionError:
        raise DataError(member, "JSON nested too deep to read") from None
    except ValueError:  # Python refuses to convert an integer of thousands of digits
        raise DataError(member, "holds an integer too long to read") from None
    if not isinstance(record, dict):
        raise DataError(member, f"expected a JSON object, got {type(record).__name__}")
    name = record.get("name")
    if not isinstance(name, str) or not name:
        raise DataError(member, "missing or not a non-empty string", key="name")
    angles = {}
    for key in ANGLES:
        value = record.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise DataError(
                member, f"expected a number in radians, got {described(value)}", key=key
            )
        angle = _as_float(value)
        if not math.isfinite(angle):
            raise DataError(member, f"expected a finite number, got {described(value)}", key=key)
        angles[key] = angle
    return name, angles


def _as_float(value: int | float) -> float:
    """The value as a float; an integer too large for one is infinite, as a float literal would be."""
    try:
        return float(value)
    except OverflowError:
        return math.inf


def read_predictions(path: str | os.PathLike[str]) -> dict[str, dict[str, float]]:
    """Predictions from a JSON-lines file, one ``{"name", "azimuth", "elevation", "theta"}`` a line.

    Blank lines are skipped and other keys ignored; a bad or repeated line raises DataError
    naming ``<file>:<line>`` and the field, so the user can fix the file.
    """
    predictions: dict[str, dict[str, float]] = {}
    first_line: dict[str, int] = {}
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            member = f"{os.fspath(path)}:{number}"
            name, angles = _prediction(line, member)
            if name in predictions:
                raise DataError(member, f"{name!r} already predicted on line {first_line[name]}")
            predictions[name] = angles
            first_line[name] = number
    return predictions
