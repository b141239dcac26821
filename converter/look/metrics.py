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
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from converter.core.errors import DataError, described, printable
from converter.core.files import write_atomic
from converter.core.progress import progress_bar
from converter.look.exports import export_location
from converter.outputs.configurations import posed_configs
from converter.outputs.examples import object_name, select_objects
from converter.pose.camera import object_rotation
from converter.pose.options import PoseOptions
from converter.read.source import Source, split_name

ANGLES = ("azimuth", "elevation", "theta")
THRESHOLDS = {"acc_pi_6": math.pi / 6, "acc_pi_18": math.pi / 18}
# No viewpoint angle needs more than a full turn either way; beyond it, degrees are most likely.
FULL_TURN = 2 * math.pi
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
    """Count, accuracies (percent of errors strictly below each threshold), median and mean error
    in degrees.

    With no errors at all the figures are None (JSON null) rather than a made-up number.
    """
    errors = np.asarray(errors, dtype=np.float64)
    summary: dict[str, Any] = {"count": int(errors.size)}
    for key, threshold in THRESHOLDS.items():
        summary[key] = float(100.0 * np.mean(errors < threshold)) if errors.size else None
    summary["median_deg"] = float(np.degrees(np.median(errors))) if errors.size else None
    summary["mean_deg"] = float(np.degrees(np.mean(errors))) if errors.size else None
    return summary


def group_figures(
    errors: np.ndarray, categories: np.ndarray, meta_classes: Mapping[str, Sequence[str]] | None
) -> dict[str, Any]:
    """The figures of a group of objects, over all of them and per meta-class when given.

    A meta-class counts the objects of this group whose category it lists, so the known and
    unknown groups each get their own meta-class figures.
    """
    figures: dict[str, Any] = {"overall": error_figures(errors)}
    if meta_classes is not None:
        figures["meta_classes"] = {
            meta: error_figures(errors[np.isin(categories, list(members))])
            for meta, members in meta_classes.items()
        }
    return figures


def _angles(record: Mapping[str, Any]) -> tuple[float, float, float]:
    return tuple(float(record[key]) for key in ANGLES)


def _count_and_first(names: Iterable[str]) -> dict[str, Any]:
    """How many names there are and the first few, sorted, for a report that stays short."""
    names = sorted(names)
    return {"count": len(names), "names": names[:REPORTED_NAMES]}


def evaluate(
    predictions: Mapping[str, Mapping[str, Any]],
    ground_truth: Mapping[str, Mapping[str, Any]],
    known: Collection[str] | None = None,
    meta_classes: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
    """Figures over all ground-truth objects and per category; per meta-class with
    `meta_classes`; and with `known` (the categories a model was trained on), the same for the
    objects of known and of unknown categories, under ``known`` and ``unknown``.

    A ground-truth object without a prediction counts as wrong (error pi), so leaving out hard
    cases cannot raise the score; such names are listed under ``missing``. Predictions for names
    that are not in the ground truth are not scored and are listed under ``unmatched``.
    """
    names = sorted(ground_truth)
    truth = np.array([_angles(ground_truth[name]) for name in names]).reshape(-1, 3)
    predicted = np.array(
        [_angles(predictions[name]) if name in predictions else (0.0,) * 3 for name in names]
    ).reshape(-1, 3)
    found = np.array([name in predictions for name in names], dtype=bool)
    errors = np.where(found, rotation_error(predicted, truth), np.pi)
    categories = np.array([str(ground_truth[name]["category"]) for name in names], dtype=str)
    report = group_figures(errors, categories, meta_classes)
    report["per_category"] = {
        category: error_figures(errors[categories == category])
        for category in sorted(set(categories.tolist()))
    }
    if known is not None:
        is_known = np.isin(categories, list(known))
        for group, chosen in (("known", is_known), ("unknown", ~is_known)):
            report[group] = group_figures(errors[chosen], categories[chosen], meta_classes)
    report["missing"] = _count_and_first(
        name for name, ok in zip(names, found, strict=True) if not ok
    )
    report["unmatched"] = _count_and_first(set(predictions) - set(ground_truth))
    return report


def check_matches(
    predictions: Mapping[str, Any], ground_truth: Mapping[str, Any], split: str
) -> None:
    """Refuse predictions of which none names an example of the split: scoring them would print
    figures of nothing but misses, when the cause is most likely another split or naming."""
    if ground_truth and not set(predictions) & set(ground_truth):
        first = ", ".join(sorted(predictions)[:3]) or "none"
        raise ValueError(
            f"none of the {len(predictions)} predictions names an example of the {split} split "
            f"(its examples are named like {min(ground_truth)}; predictions: {first}); "
            "predictions for another split?"
        )


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


def exported_ground_truth(
    location: str | os.PathLike[str], split: str, token: Any = None
) -> dict[str, dict[str, Any]]:
    """Name -> category and angles of the rows of an export's pose configuration (`pose3d`,
    else `pose6d`): a folder written by `export` or the Hub dataset it was pushed to.

    Only those columns are read, streaming, so no image is downloaded or decoded. The rows are
    the examples as exported, whatever options built them.
    """
    import datasets

    split = split_name(split)
    where = export_location(location)
    configs = datasets.get_dataset_config_names(where, token=token)
    config = next((name for name in posed_configs() if name in configs), None)
    if config is None:
        raise ValueError(f"{location} holds no pose configuration (it has {', '.join(configs)})")
    rows = datasets.load_dataset(
        where,
        config,
        split=split,
        streaming=True,
        columns=["name", "category", *ANGLES],
        token=token,
    )
    labels = rows.features["category"].names
    truth: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row["name"] in truth:
            raise DataError(
                f"{location} ({config}, {split})", f"two rows are named {row['name']!r}"
            )
        angles = {key: row[key] for key in ANGLES}
        truth[row["name"]] = {"category": labels[row["category"]], **angles}
    return truth


def read_known_categories(path: str | os.PathLike[str]) -> list[str]:
    """Category names, one a line (the experiment repository's list of known categories reads
    as it is); blank lines are skipped."""
    with open(path, encoding="utf-8") as lines:
        return [line.strip() for line in lines if line.strip()]


def read_meta_classes(path: str | os.PathLike[str]) -> dict[str, list[str]]:
    """Meta-classes from a JSON object, each name mapped to its list of category names."""
    member = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as file:
            groups = json.load(file)
    except (json.JSONDecodeError, RecursionError, UnicodeDecodeError) as error:
        raise DataError(member, f"not valid JSON ({error})") from None
    if not isinstance(groups, dict):
        raise DataError(member, f"expected a JSON object, got {type(groups).__name__}")
    for name, members in groups.items():
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            raise DataError(member, "expected a list of category names", key=name)
    return groups


FIGURES = (*THRESHOLDS, "median_deg", "mean_deg")
HEADER = f"{'count':>7} {'acc@pi/6':>9} {'acc@pi/18':>9} {'median deg':>11} {'mean deg':>9}"


def _cells(label: str, summary: Mapping[str, Any]) -> str:
    shown = ["-" if summary[key] is None else f"{summary[key]:.1f}" for key in FIGURES]
    cells = f"{shown[0]:>9} {shown[1]:>9} {shown[2]:>11} {shown[3]:>9}"
    return f"{printable(label):<24} {summary['count']:>7} {cells}"


def _group_lines(title: str, group: Mapping[str, Any], label: str) -> list[str]:
    lines = [f"{title:<24} {HEADER}"]
    lines += [_cells(meta, summary) for meta, summary in group.get("meta_classes", {}).items()]
    return [*lines, _cells(label, group["overall"])]


def format_report(report: Mapping[str, Any]) -> list[str]:
    """The figures as tables: one category a line and overall last; each meta-class; known,
    unknown and all categories; then what was not scored.

    Names are printed with their control characters escaped (`printable`): a prediction named
    with a newline and a made-up `overall` row shows as one name, not as a second table row.
    """
    lines = [f"{'category':<24} {HEADER}"]
    lines += [_cells(category, summary) for category, summary in report["per_category"].items()]
    lines.append(_cells("overall", report["overall"]))
    for group in ("known", "unknown"):
        if group in report:
            lines += _group_lines(f"{group} categories", report[group], group)
    if "known" in report or "meta_classes" in report:
        lines += _group_lines("all categories", report, "all")
    for key, label in (("missing", "missing predictions"), ("unmatched", "unmatched names")):
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
        if abs(angle) > FULL_TURN:
            raise DataError(
                member,
                f"{angle:g} is beyond 2 pi: angles are in radians (degrees given?)",
                key=key,
            )
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
