"""`evaluate` against the authors' accuracy scripts, and scoring from an export or the Hub
(docs/format.md, 'Metrics')."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from converter.cli import main
from converter.look.metrics import ANGLES, evaluate, ground_truth
from converter.outputs.hub import push
from converter.pose.options import PoseOptions
from converter.read.source import open_source
from testbed.servers.hub import Hub
from tests.authors_scores import figures, meta_class_figures, open_vocabulary_figures, pose_error

# Known categories as the experiment repository writes its list: one a line, no final newline,
# names the split does not have among them.
KNOWN = "aeroplane\nbicycle\nbus\nchair"
META_CLASSES = {"vehicles": ["aeroplane", "bicycle", "bus", "car"], "everything": []}
RENAMED = {"acc_pi_6": "pi_6_acc", "acc_pi_18": "pi_18_acc", "median_deg": "median_err"}


def noisy_predictions(truth: dict[str, dict[str, Any]], seed: int = 3) -> dict[str, dict]:
    """Every annotation turned by up to about 17 degrees about each angle, within [0, 2 pi)."""
    rng = np.random.default_rng(seed)
    return {
        name: {key: (record[key] + rng.uniform(-0.3, 0.3)) % (2 * np.pi) for key in ANGLES}
        for name, record in sorted(truth.items())
    }


def theirs(summary: dict[str, Any]) -> dict[str, float]:
    """Our figures under the authors' key names."""
    return {RENAMED.get(key, "mean_err"): summary[key] for key in (*RENAMED, "mean_deg")}


def assert_groups_equal(ours: dict[str, dict], authors: dict[str, dict]) -> None:
    assert set(ours) == set(authors)
    for group, summary in ours.items():
        assert theirs(summary) == pytest.approx(authors[group]), group


@pytest.fixture(scope="module")
def scored(sample_zip: Path) -> tuple[dict, dict, list[float], list[str]]:
    """The validation objects the experiment code keeps, noisy predictions, and the authors'
    per-object errors and categories in their evaluation script's order."""
    truth = ground_truth(open_source(sample_zip), "validation", PoseOptions(kept_rule="experiment"))
    predictions = noisy_predictions(truth)
    names = sorted(truth)
    errors = [pose_error(truth[name], predictions[name]) for name in names]
    return truth, predictions, errors, [truth[name]["category"] for name in names]


def test_overall_per_category_and_meta_class_figures_are_the_authors(scored) -> None:
    truth, predictions, errors, categories = scored
    everything = {**META_CLASSES, "everything": sorted(set(categories))}
    report = evaluate(predictions, truth, meta_classes=everything)
    assert theirs(report["overall"]) == pytest.approx(figures(errors))
    per_category = {category: [category] for category in set(categories)}
    expected = meta_class_figures(errors, categories, per_category)
    assert_groups_equal(report["per_category"], expected)
    expected = meta_class_figures(errors, categories, everything)
    assert_groups_equal(report["meta_classes"], expected)


def test_known_and_unknown_figures_are_the_authors_with_their_slip_put_right(scored) -> None:
    """Known (overall and per meta-class) and unknown overall equal the open-vocabulary
    script's. Its unknown meta-classes pair the unknown objects' errors with the known objects'
    categories, here aeroplanes: it counts every unknown object (each a car) as an aircraft.
    Ours count each object in its own category's meta-classes."""
    truth, predictions, errors, categories = scored
    known = KNOWN.split("\n")
    groups = {"aircraft": ["aeroplane"], "ground": ["bicycle", "bus", "car", "chair"]}
    report = evaluate(predictions, truth, known=known, meta_classes=groups)
    authors = open_vocabulary_figures(errors, categories, known, groups)
    assert theirs(report["known"]["overall"]) == pytest.approx(authors["known_avg"])
    for meta in groups:
        known_meta = report["known"]["meta_classes"][meta]
        assert theirs(known_meta) == pytest.approx(authors[f"known_{meta}"])
    unknown = report["unknown"]
    assert theirs(unknown["overall"]) == pytest.approx(authors["unknown_avg"])
    assert unknown["overall"]["count"] == categories.count("car") > 0
    assert authors["unknown_aircraft"] == pytest.approx(authors["unknown_avg"])
    assert unknown["meta_classes"]["aircraft"]["count"] == 0
    assert unknown["meta_classes"]["ground"] == unknown["overall"]


def write_predictions(path: Path, predictions: dict[str, dict], scale: float = 1.0) -> Path:
    lines = [
        json.dumps({"name": name, **{key: value[key] * scale for key in ANGLES}})
        for name, value in predictions.items()
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_command_line_reports_known_unknown_meta_classes_and_means(
    sample_zip: Path, scored, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    truth, predictions, _, _ = scored
    (tmp_path / "known.txt").write_text(KNOWN)
    (tmp_path / "meta.json").write_text(json.dumps(META_CLASSES))
    argv = [
        "evaluate",
        str(write_predictions(tmp_path / "p.jsonl", predictions)),
        *("--source", str(sample_zip), "--split", "val", "--kept-rule", "experiment"),
        *("--known-categories", str(tmp_path / "known.txt")),
        *("--meta-classes", str(tmp_path / "meta.json"), "--json", str(tmp_path / "s.json")),
    ]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "mean deg" in printed and "known categories" in printed and "vehicles" in printed
    report = json.loads((tmp_path / "s.json").read_text())
    known = KNOWN.split("\n")
    assert report == json.loads(
        json.dumps(evaluate(predictions, truth, known=known, meta_classes=META_CLASSES))
    )
    assert report["known"]["meta_classes"]["everything"]["count"] == 0


def test_angles_in_degrees_stop_with_a_hint(
    sample_zip: Path, scored, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path = write_predictions(tmp_path / "p.jsonl", scored[1], scale=180 / np.pi)
    assert main(["evaluate", str(path), "--source", str(sample_zip)]) == 1
    assert "beyond 2 pi" in capsys.readouterr().err


def test_predictions_for_another_split_exit_naming_the_split(
    sample_zip: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    train = ground_truth(open_source(sample_zip), "train")
    path = write_predictions(tmp_path / "p.jsonl", noisy_predictions(train))
    assert main(["evaluate", str(path), "--source", str(sample_zip)]) == 1
    assert "an example of the validation split" in capsys.readouterr().err


def scores(predictions: Path, source: str, tmp_path: Path, *extra: str) -> dict:
    out = tmp_path / f"{abs(hash(source))}.json"
    assert main(["evaluate", str(predictions), "--source", source, "--json", str(out), *extra]) == 0
    return json.loads(out.read_text())


def test_an_export_folder_scores_as_the_release(
    sample_zip: Path, exported: Path, tmp_path: Path
) -> None:
    truth = ground_truth(open_source(sample_zip), "validation")
    predictions = write_predictions(tmp_path / "p.jsonl", noisy_predictions(truth))
    from_release = scores(predictions, str(sample_zip), tmp_path)
    assert scores(predictions, str(exported), tmp_path) == from_release
    assert from_release["missing"]["count"] == 0


def test_the_hub_dataset_scores_as_the_release(
    sample_zip: Path, exported: Path, hub: Hub, hf_token: str, tmp_path: Path
) -> None:
    push(exported, "me/imagenet3d", token=hf_token, gated="none")  # read without a token
    truth = ground_truth(open_source(sample_zip), "validation")
    predictions = write_predictions(tmp_path / "p.jsonl", noisy_predictions(truth))
    from_release = scores(predictions, str(sample_zip), tmp_path)
    assert scores(predictions, "me/imagenet3d", tmp_path) == from_release
    assert scores(predictions, "hf://datasets/me/imagenet3d", tmp_path, "--split", "val") == (
        from_release
    )


def test_an_export_is_scored_as_exported_not_by_a_kept_rule(
    exported: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    predictions = tmp_path / "p.jsonl"
    predictions.write_text("")
    argv = ["evaluate", str(predictions), "--source", str(exported), "--kept-rule", "experiment"]
    assert main(argv) == 1
    assert "scored as they were exported" in capsys.readouterr().err
