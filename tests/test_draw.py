"""Overlays of boxes and posed CAD meshes on photos, canvases and loaded dataset rows."""

from __future__ import annotations

import datasets
import numpy as np
import pytest
from PIL import Image

from converter.look.draw import (
    PALETTE,
    as_image,
    cad_meshes,
    draw_objects,
    line_width,
    overlay,
    projected_vertices,
)
from converter.outputs.examples import iter_pose_examples, iter_raw_examples
from converter.outputs.schema import pose_features, raw_features
from converter.pose.options import PoseOptions
from converter.read.mesh import Mesh

TETRAHEDRON = Mesh(
    vertices=np.array([[0.0, 0.0, 0.5], [0.5, -0.3, -0.3], [-0.5, -0.3, -0.3], [0.0, 0.5, -0.3]]),
    faces=np.array([[0, 1, 2], [0, 2, 3], [0, 3, 1], [1, 3, 2]]),
)
POSE = {
    "category": "toy",
    "cad_index": 1,
    "azimuth": 0.3,
    "elevation": 0.2,
    "theta": 0.1,
    "distance": 5.0,
    "px": 100.0,
    "py": 80.0,
    "viewport": 400,
    "object_status": "status_good",
    "bbox": [50.0, 30.0, 150.0, 130.0],
}


def changed(before: Image.Image, after: Image.Image) -> np.ndarray:
    """(H, W) mask of the pixels an overlay touched."""
    return np.any(np.asarray(before) != np.asarray(after), axis=2)


def inside(mask: np.ndarray, bbox: list[float], margin: int) -> np.ndarray:
    """The part of `mask` within the box shrunk by `margin` pixels on each side."""
    x1, y1, x2, y2 = (round(value) for value in bbox)
    return mask[y1 + margin : y2 - margin, x1 + margin : x2 - margin]


def test_a_wireframe_passes_through_every_projected_vertex():
    blank = Image.new("RGB", (200, 160))
    drawn = draw_objects(blank, [POSE], meshes={("toy", 1): TETRAHEDRON})
    pixels = np.asarray(drawn)
    for x, y in projected_vertices(TETRAHEDRON, POSE).round().astype(int):
        near = pixels[y - 1 : y + 2, x - 1 : x + 2].reshape(-1, 3)
        assert PALETTE["status_good"] in map(tuple, near.tolist())
    assert drawn.size == blank.size
    assert not changed(blank, drawn)[:20].any(), "nothing above the box"


def test_faces_tint_the_silhouette_evenly():
    blank = Image.new("RGB", (200, 160))
    drawn = draw_objects(blank, [POSE], meshes={("toy", 1): TETRAHEDRON}, style="faces")
    x, y = projected_vertices(TETRAHEDRON, POSE).mean(axis=0).round().astype(int)
    tint = np.asarray(drawn)[y, x]
    assert tint.tolist() == [round(0.45 * channel) for channel in PALETTE["status_good"]]


def test_an_object_without_pose_or_mesh_gets_only_its_box():
    blank = Image.new("RGB", (200, 160))
    no_pose = {**POSE, "distance": 0.0, "object_status": None}
    for record, meshes in ((no_pose, {("toy", 1): TETRAHEDRON}), (POSE, None)):
        mask = changed(blank, draw_objects(blank, [record], meshes=meshes))
        assert mask.any()
        assert not inside(mask, record["bbox"], margin=line_width(blank)).any()


def test_colours_follow_the_status():
    blank = Image.new("RGB", (200, 160))
    for status, colour in PALETTE.items():
        drawn = draw_objects(blank, [{**POSE, "object_status": status}])
        assert tuple(np.asarray(drawn)[30, 100]) == colour


def test_unknown_style_is_refused():
    with pytest.raises(ValueError, match="unknown style"):
        draw_objects(Image.new("RGB", (8, 8)), [], style="points")


def test_pose3d_puts_the_cad_origin_at_the_canvas_centre(source):
    options = PoseOptions()
    origin = Mesh(np.zeros((1, 3)), np.zeros((0, 3), dtype=np.int64))
    examples = list(iter_pose_examples(source, "train", "pose3d", options))
    assert examples
    for example in examples:
        centre = projected_vertices(origin, example)[0]
        np.testing.assert_allclose(centre, [options.width / 2, options.height / 2], atol=1e-9)


def test_raw_overlay_draws_every_posed_object_inside_its_box(source):
    example = next(ex for ex in iter_raw_examples(source, "train") if len(ex["objects"]) > 1)
    photo = as_image(example["image"]).convert("RGB")
    drawn = overlay(example, source)
    assert drawn.size == photo.size == (example["width"], example["height"])
    mask = changed(photo, drawn)
    for record in example["objects"]:
        assert inside(mask, record["bbox"], margin=3).any() == (record["distance"] > 0)


@pytest.mark.parametrize("mode", ["pose3d", "pose6d"])
def test_pose_overlay_draws_the_object_on_its_canvas(source, mode):
    options = PoseOptions()
    example = next(iter_pose_examples(source, "validation", mode, options))
    canvas = as_image(example["image"]).convert("RGB")
    drawn = overlay(example, source)
    assert drawn.size == (options.width, options.height)
    mask = changed(canvas, drawn)
    assert inside(mask, example["bbox"], margin=3).any()


def test_rows_of_a_loaded_dataset_draw_like_the_examples(source):
    categories = source.categories()
    raw = next(iter_raw_examples(source, "train"))
    pose = next(iter_pose_examples(source, "train", "pose6d", PoseOptions()))
    for example, features in ((raw, raw_features(categories)), (pose, pose_features(categories))):
        row = datasets.Dataset.from_list([example], features=features)[0]
        assert isinstance(row["image"], Image.Image) and isinstance(row["category"], int)
        expected = np.asarray(overlay(example, source))
        np.testing.assert_array_equal(np.asarray(overlay(row, source=source)), expected)


def test_class_indices_need_their_names(source):
    pose = next(iter_pose_examples(source, "train", "pose3d", PoseOptions()))
    row = {**pose, "category": 0}
    with pytest.raises(ValueError, match="categories="):
        overlay(row)
    assert overlay(row, categories=source.categories()).size == (800, 640)


def test_a_loaded_row_draws_with_the_cad_configuration_alone(source, exported):
    cad = datasets.load_dataset(str(exported), "cad", split="train")
    row = datasets.load_dataset(str(exported), "pose6d", split="validation")[0]
    expected = np.asarray(overlay(row, source))
    np.testing.assert_array_equal(np.asarray(overlay(row, meshes=cad)), expected)
    meshes = cad_meshes(cad)
    assert set(meshes) == {(c, i) for c in source.categories() for i in source.cad_indices(c)}
    names = cad.features["category"].names
    np.testing.assert_array_equal(
        np.asarray(overlay(row, meshes=meshes, categories=names)), expected
    )
