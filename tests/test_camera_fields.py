"""R, t, K on every posed object, and the CAD meshes as a configuration, checked as users load them.

The camera fields must be right, not only consistent: they project every mesh vertex where the
overlays draw it, their rotation is the metrics' up to a stated flip, and it equals a rotation
built from the angles with the textbook PASCAL3D+ formulas, written out here entry by entry.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from converter.core.release import REPO_ID
from converter.look.draw import projected_vertices
from converter.look.metrics import rotation_error, rotation_matrices
from converter.outputs.export_folder import CARD
from converter.pose.camera import camera_centre, camera_fields, camera_rotation, object_rotation
from converter.read.mesh import Mesh, read_off
from converter.read.source import SPLITS, Source

HALF_TURN_ABOUT_X = np.diag([1.0, -1.0, -1.0])
angles = st.floats(min_value=-math.pi, max_value=math.pi)


def textbook_viewpoint(azimuth: float, elevation: float, theta: float) -> np.ndarray:
    """PASCAL3D+'s viewpoint rotation: in-plane theta after Rx(-(pi/2 - e)) after Rz(-a)."""
    a, e = -azimuth, -(math.pi / 2 - elevation)
    rz = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, math.cos(e), -math.sin(e)], [0, math.sin(e), math.cos(e)]])
    c, s = math.cos(theta), math.sin(theta)
    in_plane = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    return in_plane @ rx @ rz


def textbook_projection(points: np.ndarray, pose: dict[str, float]) -> np.ndarray:
    """PASCAL3D+'s projection: P = diag(f, f, -1) [R | -R C], then theta in the plane, v flipped."""
    a, e, d = pose["azimuth"], pose["elevation"], pose["distance"]
    centre = d * np.array([math.cos(e) * math.sin(a), -math.cos(e) * math.cos(a), math.sin(e)])
    look = textbook_viewpoint(a, e, 0.0)
    f = pose["viewport"]
    homogeneous = np.diag([f, f, -1.0]) @ (look @ (points - centre).T)
    plane = homogeneous[:2] / homogeneous[2]
    c, s = math.cos(pose["theta"]), math.sin(pose["theta"])
    u, v = np.array([[c, -s], [s, c]]) @ plane
    return np.stack([u + pose["px"], -v + pose["py"]], axis=1)


def pinhole(points: np.ndarray, fields: dict[str, Any]) -> np.ndarray:
    """`intrinsics @ (rotation @ v + translation)`, divided by depth: what a 6D-pose user does."""
    rotation, translation, intrinsics = (
        np.asarray(fields[key]) for key in ("rotation", "translation", "intrinsics")
    )
    camera = points @ rotation.T + translation
    assert np.all(camera[:, 2] > 0), "the mesh is in front of the camera"
    image = camera @ intrinsics.T
    return image[:, :2] / image[:, 2:]


def load(exported: Path, config: str, split: str) -> datasets.Dataset:
    return datasets.load_dataset(str(exported), config, split=split)


@pytest.fixture(scope="module")
def meshes(exported: Path) -> dict[tuple[str, int], Mesh]:
    """The cad configuration as loaded from the export: (category name, cad_index) -> Mesh."""
    cad = load(exported, "cad", "train")
    names = cad.features["category"].names
    return {
        (names[row["category"]], row["cad_index"]): Mesh(
            np.asarray(row["vertices"], dtype=np.float32), np.asarray(row["faces"])
        )
        for row in cad
    }


def posed_records(exported: Path, config: str) -> list[dict[str, Any]]:
    """Every object of the config's loaded rows that has a pose, category as its name."""
    records = []
    for split in SPLITS:
        rows = load(exported, config, split)
        names = rows.features["category"].names
        for row in rows.remove_columns("image"):
            objects = row["objects"] if config == "raw" else [row]
            for record in objects:
                if record["distance"] is not None and record["distance"] > 0:
                    records.append({**record, "category": names[record["category"]]})
    return records


@given(angles, angles, angles)
def test_rotation_is_the_textbook_pascal3d_rotation_turned_to_look_down_z(a, e, theta):
    textbook = textbook_viewpoint(a, e, theta)
    np.testing.assert_allclose(rotation_matrices([a, e, theta])[0], textbook, atol=1e-12)
    np.testing.assert_allclose(
        camera_rotation(a, e, theta), HALF_TURN_ABOUT_X @ textbook, atol=1e-12
    )


@given(angles, angles, angles)
def test_one_pose_on_python_numbers_is_numpys_matrix_to_the_last_bit(a, e, theta):
    flipped = object_rotation(a, e, theta) * np.array([[1.0], [-1.0], [-1.0]])
    np.testing.assert_array_equal(camera_rotation(a, e, theta), flipped)


@given(angles, angles, angles, angles, angles, angles)
def test_the_flip_leaves_every_viewpoint_error_unchanged(a1, e1, t1, a2, e2, t2):
    one, two = np.array(camera_rotation(a1, e1, t1)), np.array(camera_rotation(a2, e2, t2))
    angle = np.arccos(np.clip((np.trace(one.T @ two) - 1) / 2, -1, 1))
    expected = rotation_error(np.array([[a1, e1, t1]]), np.array([[a2, e2, t2]]))[0]
    assert angle == pytest.approx(expected, abs=1e-6)


@given(angles, angles, st.floats(min_value=0.1, max_value=100))
def test_translation_is_the_cad_origin_seen_from_the_camera(a, e, distance):
    fields = camera_fields(
        {"azimuth": a, "elevation": e, "theta": 0.3, "distance": distance}
        | {"px": 1.0, "py": 2.0, "viewport": 3000}
    )
    origin = -np.asarray(fields["rotation"]) @ camera_centre(a, e, distance)
    np.testing.assert_allclose(fields["translation"], origin, atol=1e-9 * distance)


@pytest.mark.parametrize(
    "missing", [{"distance": 0.0}, {"distance": -1.0}, {"distance": None}, {"theta": None}, {}]
)
def test_an_object_without_a_full_pose_has_null_camera_fields(missing):
    pose = {"azimuth": 0.1, "elevation": 0.2, "theta": 0.3, "distance": 5.0, "px": 1.0, "py": 2.0}
    fields = camera_fields({**pose, **missing})  # no viewport at all in the last case
    assert fields == {"rotation": None, "translation": None, "intrinsics": None}


def test_the_pinhole_equals_the_textbook_projection():
    pose = {"azimuth": 2.1, "elevation": -0.4, "theta": 0.7, "distance": 6.0}
    pose |= {"px": 310.5, "py": 200.25, "viewport": 3000}
    points = np.random.default_rng(0).uniform(-1, 1, (50, 3))
    np.testing.assert_allclose(
        pinhole(points, camera_fields(pose)), textbook_projection(points, pose), atol=1e-6
    )


@pytest.mark.parametrize("config", ["raw", "pose3d", "pose6d"])
def test_every_posed_object_projects_where_the_overlay_draws_it(exported, meshes, config):
    records = posed_records(exported, config)
    assert len(records) > 10
    for record in records:
        mesh = meshes[record["category"], record["cad_index"]]
        vertices = mesh.vertices.astype(np.float64)
        np.testing.assert_allclose(
            pinhole(vertices, record), projected_vertices(mesh, record), rtol=0, atol=1e-4
        )
        assert np.asarray(record["rotation"]) == pytest.approx(
            HALF_TURN_ABOUT_X
            @ rotation_matrices([record["azimuth"], record["elevation"], record["theta"]])[0],
            abs=1e-12,
        )


def test_raw_counts_every_posed_object_and_nulls_the_others(exported, source: Source):
    posed = 0
    for split in SPLITS:
        for row in load(exported, "raw", split).remove_columns("image"):
            for record in row["objects"]:
                fields = [record[key] for key in ("rotation", "translation", "intrinsics")]
                has_pose = record["distance"] is not None and record["distance"] > 0
                assert all(value is not None for value in fields) == has_pose
                assert all(value is None for value in fields) == (not has_pose)
                posed += has_pose
    assert posed == len(posed_records(exported, "raw"))


def test_pose_intrinsics_are_in_canvas_pixels(exported):
    row = load(exported, "pose3d", "train").remove_columns("image")[0]
    assert row["intrinsics"] == [
        [row["viewport"], 0, 400.0],
        [0, row["viewport"], 320.0],
        [0, 0, 1],
    ]
    assert row["translation"] == [0.0, 0.0, 4.0]


def test_cad_has_one_row_per_mesh_equal_to_the_parsed_off_files(exported, source: Source):
    cad = load(exported, "cad", "train")
    names = cad.features["category"].names
    expected = {
        (category, index): read_off(
            source.cad_bytes(category, index), source.cad_member(category, index)
        )
        for category in source.categories()
        for index in source.cad_indices(category)
    }
    assert len(cad) == len(expected) and names == source.categories()
    for row in cad:
        key = (names[row["category"]], row["cad_index"])
        mesh = expected.pop(key)
        assert row["mesh_file"] == f"CAD/{key[0]}/{key[1]:02d}.off"
        vertices = np.asarray(row["vertices"], dtype=np.float32)
        assert vertices.tobytes() == mesh.vertices.astype(np.float32).tobytes()
        assert (
            np.asarray(row["faces"], dtype=np.int32).tobytes()
            == mesh.faces.astype(np.int32).tobytes()
        )
    assert not expected


def test_the_cards_snippet_poses_and_projects_a_mesh_as_the_overlay_does(exported, meshes):
    card = (exported / CARD).read_text()
    section = card[card.index("## Camera and CAD meshes") :]
    code = section.split("```python\n")[1].split("```")[0]
    namespace: dict[str, Any] = {}
    exec(code.replace(REPO_ID, str(exported)), namespace)
    row = namespace["row"]
    category = load(exported, "pose6d", "train").features["category"].int2str(row["category"])
    mesh = meshes[category, row["cad_index"]]
    np.testing.assert_allclose(namespace["pixels"], projected_vertices(mesh, row), atol=1e-4)
    assert np.all(namespace["camera"][:, 2] > 0)
