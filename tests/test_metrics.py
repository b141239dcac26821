"""Rotation error, accuracy and median, and scoring a predictions file."""

from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path

import numpy as np
import pytest

from converter.cli import main
from converter.core.errors import DataError
from converter.look.metrics import (
    ANGLES,
    error_figures,
    evaluate,
    ground_truth,
    read_predictions,
    rotation_error,
    rotation_matrices,
)
from converter.outputs.examples import iter_pose_examples
from converter.pose.camera import object_rotation
from converter.pose.options import PoseOptions
from converter.read.safe_npz import load_npz_array
from converter.read.source import Source, open_source
from tests.edits import edited, release_npz


def logm_angle(rotation: np.ndarray) -> float:
    """||logm(R)||_F / sqrt(2), with logm taken through R's eigen decomposition."""
    values, vectors = np.linalg.eig(rotation)
    logarithm = vectors @ np.diag(np.log(values.astype(complex))) @ np.linalg.inv(vectors)
    return float(np.linalg.norm(logarithm) / math.sqrt(2))


@pytest.fixture
def random_poses() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    return rng.uniform(-np.pi, np.pi, (200, 3)), rng.uniform(-np.pi, np.pi, (200, 3))


def test_rotation_matrices_match_the_camera_model(random_poses):
    poses, _ = random_poses
    expected = np.stack([object_rotation(*pose) for pose in poses])
    np.testing.assert_allclose(rotation_matrices(poses), expected, atol=1e-12)


def test_rotation_error_is_the_matrix_logarithm_angle(random_poses):
    first, second = random_poses
    relative = [
        object_rotation(*a).T @ object_rotation(*b) for a, b in zip(first, second, strict=True)
    ]
    expected = [logm_angle(rotation) for rotation in relative]
    np.testing.assert_allclose(rotation_error(first, second), expected, atol=1e-6)


def test_identical_poses_have_zero_error(random_poses):
    poses, _ = random_poses
    assert np.all(rotation_error(poses, poses) == 0.0)


def test_a_half_turn_is_pi():
    pose = np.array([[0.4, 0.2, -0.3]])
    in_plane = pose + np.array([0.0, 0.0, np.pi])
    around_vertical = pose + np.array([np.pi, 0.0, 0.0])
    assert rotation_error(pose, in_plane)[0] == pytest.approx(np.pi, abs=1e-9)
    assert rotation_error(pose, around_vertical)[0] == pytest.approx(np.pi, abs=1e-9)


def test_a_small_in_plane_turn_is_its_angle():
    pose = np.array([[1.0, 0.5, 0.1]])
    assert rotation_error(pose, pose + np.array([0.0, 0.0, 1e-4]))[0] == pytest.approx(
        1e-4, rel=1e-6
    )


def test_accuracy_counts_errors_strictly_below_the_threshold():
    errors = np.array([0.0, 0.1, np.pi / 6 - 1e-9, np.pi / 6, np.pi])
    summary = error_figures(errors)
    assert summary["count"] == 5
    assert summary["acc_pi_6"] == pytest.approx(60.0)
    assert summary["acc_pi_18"] == pytest.approx(40.0)
    assert summary["median_deg"] == pytest.approx(30.0)
    assert error_figures(np.array([np.pi / 18]))["acc_pi_18"] == 0.0


def test_median_of_an_even_count_is_the_mean_of_the_middle_two():
    assert error_figures(np.radians([10.0, 20.0, 40.0, 90.0]))["median_deg"] == pytest.approx(30.0)


def test_no_errors_give_no_figures():
    assert error_figures(np.array([])) == {
        "count": 0,
        "acc_pi_6": None,
        "acc_pi_18": None,
        "median_deg": None,
        "mean_deg": None,
    }


def test_mean_error_is_beside_the_median():
    figures = error_figures(np.radians([10.0, 20.0, 90.0]))
    assert figures["mean_deg"] == pytest.approx(40.0)
    assert figures["median_deg"] == pytest.approx(20.0)


def truth(category: str, azimuth: float) -> dict:
    return {"category": category, "azimuth": azimuth, "elevation": 0.2, "theta": 0.0}


def test_evaluate_scores_overall_and_per_category():
    ground_truth = {
        "n1_1_00": truth("bed", 0.0),
        "n1_2_00": truth("bed", 1.0),
        "n2_1_00": truth("car", 2.0),
    }
    predictions = {
        "n1_1_00": {"azimuth": 0.0, "elevation": 0.2, "theta": 0.0},
        "n1_2_00": {"azimuth": 1.0 + np.radians(20), "elevation": 0.2, "theta": 0.0},
        "n2_1_00": {"azimuth": 2.0 + np.radians(5), "elevation": 0.2, "theta": 0.0},
    }
    report = evaluate(predictions, ground_truth)
    assert report["overall"]["count"] == 3
    assert report["overall"]["acc_pi_6"] == pytest.approx(100.0)
    assert report["overall"]["acc_pi_18"] == pytest.approx(200.0 / 3)
    assert report["per_category"]["bed"]["acc_pi_18"] == pytest.approx(50.0)
    assert report["per_category"]["car"]["median_deg"] < 5.0
    assert report["missing"] == {"count": 0, "names": []}
    assert report["unmatched"] == {"count": 0, "names": []}
    assert json.loads(json.dumps(report)) == report


def test_missing_predictions_count_as_wrong_and_are_reported():
    ground_truth = {"a_00": truth("bed", 0.0), "b_00": truth("bed", 1.0)}
    predictions = {
        "a_00": {"azimuth": 0.0, "elevation": 0.2, "theta": 0.0},
        "zz_07": {"azimuth": 0.0, "elevation": 0.0, "theta": 0.0},
    }
    report = evaluate(predictions, ground_truth)
    assert report["overall"]["acc_pi_6"] == pytest.approx(50.0)
    assert report["overall"]["median_deg"] == pytest.approx(90.0)
    assert report["missing"] == {"count": 1, "names": ["b_00"]}
    assert report["unmatched"] == {"count": 1, "names": ["zz_07"]}


def write_lines(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_read_predictions_reads_json_lines(tmp_path):
    path = write_lines(
        tmp_path / "predictions.jsonl",
        '{"name": "n1_1_00", "azimuth": 1, "elevation": 0.5, "theta": -0.25, "score": 0.9}',
        "",
        '{"name": "n1_2_00", "azimuth": 0.0, "elevation": 0.0, "theta": 0.0}',
    )
    assert read_predictions(path) == {
        "n1_1_00": {"azimuth": 1.0, "elevation": 0.5, "theta": -0.25},
        "n1_2_00": {"azimuth": 0.0, "elevation": 0.0, "theta": 0.0},
    }


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"name": "a", "azimuth": 1', ":2: not valid JSON"),
        ("[1, 2, 3]", ":2: expected a JSON object"),
        ("[" * 100_000 + "]" * 100_000, ":2: JSON nested too deep to read"),
        ('{"azimuth": 1, "elevation": 0, "theta": 0}', ":2 [name]"),
        ('{"name": "a", "azimuth": "1", "elevation": 0, "theta": 0}', ":2 [azimuth]"),
        ('{"name": "a", "azimuth": 1, "elevation": 0}', ":2 [theta]"),
        ('{"name": "a", "azimuth": 1, "elevation": NaN, "theta": 0}', ":2 [elevation]"),
        (f'{{"name": "a", "azimuth": 1{"0" * 400}, "elevation": 0, "theta": 0}}', ":2 [azimuth]"),
        (
            f'{{"name": "a", "azimuth": 1{"0" * 5000}, "elevation": 0, "theta": 0}}',
            ":2: holds an integer too long to read",
        ),
        (
            '{"name": "ok", "azimuth": 1, "elevation": 0, "theta": 0}',
            ":2: 'ok' already predicted on line 1",
        ),
    ],
)
def test_bad_prediction_lines_are_named(tmp_path, line, message):
    good = '{"name": "ok", "azimuth": 0, "elevation": 0, "theta": 0}'
    path = write_lines(tmp_path / "predictions.jsonl", good, line)
    with pytest.raises(DataError) as caught:
        read_predictions(path)
    assert f"predictions.jsonl{message}" in str(caught.value)


def test_ground_truth_names_exactly_the_pose_examples(sample_zip):
    source = open_source(sample_zip)
    examples = iter_pose_examples(source, "validation", "pose3d", PoseOptions())
    expected = {
        ex["name"]: {"category": ex["category"], **{key: ex[key] for key in ANGLES}}
        for ex in examples
    }
    assert expected and ground_truth(source, "validation") == expected


def test_the_annotations_score_perfectly_against_themselves(sample_zip):
    truth = ground_truth(open_source(sample_zip), "validation")
    report = evaluate(truth, truth)
    for summary in (report["overall"], *report["per_category"].values()):
        assert summary["acc_pi_6"] == summary["acc_pi_18"] == 100.0
        assert summary["median_deg"] == 0.0
    assert report["overall"]["count"] == len(truth)
    assert report["missing"]["count"] == report["unmatched"]["count"] == 0


def test_cli_evaluate_prints_a_table_and_writes_json(sample_zip, tmp_path, capsys):
    truth = ground_truth(open_source(sample_zip), "validation")
    left_out, *kept = sorted(truth)
    lines = [
        json.dumps({"name": name, **{key: truth[name][key] for key in ANGLES}}) for name in kept
    ]
    lines.append(json.dumps({"name": "n0_0_00", "azimuth": 0, "elevation": 0, "theta": 0}))
    predictions = write_lines(tmp_path / "predictions.jsonl", *lines)
    out = tmp_path / "scores.json"
    code = main(["evaluate", str(predictions), "--source", str(sample_zip), "--json", str(out)])
    assert code == 0
    report = json.loads(out.read_text())
    assert report["missing"] == {"count": 1, "names": [left_out]}
    assert report["unmatched"] == {"count": 1, "names": ["n0_0_00"]}
    printed = capsys.readouterr().out
    assert "overall" in printed and left_out in printed and "acc@pi/6" in printed
    assert all(category in printed for category in report["per_category"])


def test_cli_evaluate_names_the_bad_line(sample_zip, tmp_path, capsys):
    predictions = write_lines(tmp_path / "predictions.jsonl", '{"name": "a", "azimuth": 0}')
    assert main(["evaluate", str(predictions), "--source", str(sample_zip)]) == 1
    assert "predictions.jsonl:1 [elevation]" in capsys.readouterr().err


def with_photo_copied(sample_zip: Path, out: Path, image_id: str, copies: dict[str, str]) -> Path:
    """The sample with aeroplane's validation photo `image_id` also listed under other categories,
    its objects of the category of each folder they are copied to.

    `copies` maps a category to the image id the copy has there.
    """
    root = "imagenet3d_v1"
    changes = {}
    with zipfile.ZipFile(sample_zip) as archive:
        photo = archive.read(f"{root}/images/aeroplane/{image_id}.JPEG")
        annotation = f"{root}/annotations/aeroplane/{image_id}.npz"
        objects = load_npz_array(archive.read(annotation), annotation)
        for category, copy_id in copies.items():
            changes[f"{root}/images/{category}/{copy_id}.JPEG"] = photo
            moved = np.array([{**item, "class": category} for item in objects], dtype=object)
            changes[f"{root}/annotations/{category}/{copy_id}.npz"] = release_npz(moved)
            listed = f"{root}/lists/{category}_imagenet_val.txt"
            changes[listed] = archive.read(listed) + f"\n{copy_id}\n".encode()
    return edited(sample_zip, out, changes)


def an_aeroplane_photo(source: Source) -> str:
    """A validation photo of aeroplane with kept objects."""
    truth = ground_truth(source, "validation")
    return next(n.rpartition("_")[0] for n, t in truth.items() if t["category"] == "aeroplane")


def test_a_photo_in_two_categories_gives_names_qualified_by_category(sample_zip, tmp_path):
    image_id = an_aeroplane_photo(open_source(sample_zip))
    shared = open_source(
        with_photo_copied(sample_zip, tmp_path / "x.zip", image_id, {"car": image_id})
    )
    names = [ex["name"] for ex in iter_pose_examples(shared, "validation", "pose6d", PoseOptions())]
    assert len(names) == len(set(names))
    assert f"aeroplane_{image_id}_00" in names and f"car_{image_id}_00" in names
    assert sorted(ground_truth(shared, "validation")) == sorted(names)


def test_a_split_where_two_objects_would_share_a_name_is_refused_on_opening(sample_zip, tmp_path):
    image_id = an_aeroplane_photo(open_source(sample_zip))
    # Once car holds <id> too, aeroplane's <id> is named aeroplane_<id>_00, as is chair's aeroplane_<id>.
    copies = {"car": image_id, "chair": f"aeroplane_{image_id}"}
    hostile = with_photo_copied(sample_zip, tmp_path / "x.zip", image_id, copies)
    with pytest.raises(DataError, match=f"named aeroplane_{image_id}_NN like those of") as caught:
        open_source(hostile)
    assert caught.value.member == f"imagenet3d_v1/images/chair/aeroplane_{image_id}.JPEG"
    assert f"imagenet3d_v1/images/aeroplane/{image_id}.JPEG" in str(caught.value)
