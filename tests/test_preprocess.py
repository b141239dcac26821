"""Pose and raw examples on the sample archive, and the public tool's folder written from them."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import converter.outputs.tool_folder
from converter.cli import main
from converter.core.errors import DataError
from converter.outputs.examples import (
    Report,
    iter_pose_examples,
    iter_raw_examples,
    object_name,
    select_objects,
)
from converter.outputs.schema import pose_features
from converter.outputs.tool_folder import (
    LOCK,
    STAMP,
    OutputMismatch,
    annotation_arrays,
    layout_options,
    preprocess,
    release_types,
)
from converter.pose.camera import CAMERA_FIELDS
from converter.pose.canvas import decode_photo, encode_jpeg, read_header, render
from converter.pose.geometry import Mode, placement, skip_reason
from converter.pose.options import PoseOptions
from converter.read.source import SPLITS, Source, open_source
from converter.sample import sample_cases
from tests.helpers import (
    assert_close,
    canvas_image,
    edited,
    folder_files,
    members,
    reference_canvas,
    reference_fields,
)

DEFAULTS = PoseOptions()
ROOT = Path(__file__).resolve().parent.parent
# Keys our annotation files add to the public tool's (docs/format.md lists them).
EXTRA_KEYS = {
    "image_id",
    "object_index",
    "object_status",
    "dense",
    "height_original",
    "width_original",
    *CAMERA_FIELDS,
}


@pytest.mark.parametrize("mode", ["pose3d", "pose6d"])
def test_every_sample_object_matches_the_slow_reference(source: Source, mode: Mode) -> None:
    """Numbers equal the formulas literally; each canvas, before JPEG encoding, equals the public
    algorithm's within the tolerance, and is what the example's JPEG encodes."""
    report = Report()
    examples = [
        example
        for split in SPLITS
        for example in iter_pose_examples(source, split, mode, DEFAULTS, report=report)
    ]
    assert len(examples) == report.kept > 0
    for example in examples:
        category, image_id = example["category"], example["image_id"]
        item = source.objects(category, image_id)[example["object_index"]]
        size = (example["width_original"], example["height_original"])
        fields = reference_fields(mode, item, size, DEFAULTS)
        assert {key: example[key] for key in fields} == fields
        data = source.photo_bytes(category, image_id)
        photo = decode_photo(read_header(data, image_id))
        canvas = render(photo, placement(mode, item, size, DEFAULTS), DEFAULTS)
        assert_close(canvas_image(canvas), reference_canvas(data, mode, item, DEFAULTS))
        assert example["image"]["bytes"] == encode_jpeg(canvas, DEFAULTS.jpeg_quality)


def test_report_counts_every_object_once(source: Source) -> None:
    report = Report()
    list(iter_pose_examples(source, "train", "pose3d", DEFAULTS, report=report))
    records = [item for pair in source.image_ids("train") for item in source.objects(*pair)]
    reasons = [skip_reason(item, DEFAULTS) for item in records]
    assert report.photos == len(source.image_ids("train"))
    assert report.seen == len(records)
    assert report.kept == reasons.count(None)
    assert dict(report.skipped) == {r: reasons.count(r) for r in set(reasons) - {None}}
    assert report.summary().startswith(f"{len(records)} objects in {report.photos} photos")


def test_example_has_the_pose_columns(source: Source) -> None:
    example = next(iter_pose_examples(source, "train", "pose6d", DEFAULTS))
    assert set(example) == set(pose_features(source.categories()))
    assert example["name"] == f"{example['image_id']}_{example['object_index']:02d}"
    assert example["image"]["path"] == f"{example['name']}.JPEG"


def test_shards_by_pairs_add_up_to_the_split(source: Source) -> None:
    """A builder can run each category (or any slice of ids) on its own and concatenate."""
    whole = list(iter_pose_examples(source, "train", "pose3d", DEFAULTS))
    shards = [
        example
        for category in source.categories()
        for example in iter_pose_examples(
            source, "train", "pose3d", DEFAULTS, pairs=source.image_ids("train", [category])
        )
    ]
    assert [e["name"] for e in shards] == [e["name"] for e in whole]
    assert [e["image"]["bytes"] for e in shards] == [e["image"]["bytes"] for e in whole]


def test_raw_examples_keep_rgb_jpegs_and_convert_the_rest(source: Source) -> None:
    examples = list(iter_raw_examples(source, "train")) + list(
        iter_raw_examples(source, "validation")
    )
    assert len(examples) == len(source.image_ids("train")) + len(source.image_ids("validation"))
    converted = 0
    for example in examples:
        data = source.photo_bytes(example["category"], example["image_id"])
        original = Image.open(io.BytesIO(data))
        image = Image.open(io.BytesIO(example["image"]["bytes"]))
        assert image.mode == "RGB"
        assert (example["width"], example["height"]) == original.size == image.size
        records = [
            {key: value for key, value in obj.items() if key not in CAMERA_FIELDS}
            for obj in example["objects"]
        ]
        assert records == source.objects(example["category"], example["image_id"])
        if (original.format, original.mode) == ("JPEG", "RGB"):
            assert example["image"] == {"path": f"{example['image_id']}.JPEG", "bytes": data}
        else:
            converted += 1
            assert example["image"]["path"] == f"{example['image_id']}.png"
            assert image.tobytes() == original.convert("RGB").tobytes()
    assert converted > 0


@pytest.fixture(scope="module")
def finished(source: Source, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Report]:
    out = tmp_path_factory.mktemp("pose3d")
    report = preprocess(source, out, "pose3d", progress=False)
    return out, report


def test_folder_has_the_public_tools_layout(source: Source, finished: tuple[Path, Report]) -> None:
    out, report = finished
    category = source.categories()[0]
    names = (out / "lists" / f"{category}_val" / "mesh01.txt").read_text().split()
    files = folder_files(out)
    assert sum(path.endswith(".JPEG") for path in files) == report.kept
    assert sum(path.endswith(".npz") for path in files) == report.kept
    assert not [path for path in files if path.endswith(".partial")]
    with np.load(out / "annotations" / f"{category}_val" / f"{names[0]}.npz") as npz:
        assert npz["name"] == names[0]
        assert npz["class"] == category
        assert npz["bbox"].shape == (4,) and npz["principal"].tolist() == [400.0, 320.0]
        assert npz["padding_params"].dtype.kind == "i" and npz["padding_params"].shape == (6,)
        for key in ("azimuth", "elevation", "theta", "cad_index", "focal", "viewport"):
            assert npz[key].shape == ()
    image = Image.open(out / "images" / f"{category}_val" / f"{names[0]}.JPEG")
    assert image.size == (800, 640)


def public_tool(source: Path, out: Path, mode: Mode) -> Path:
    """The public tool's algorithm (bench/public_tool.py) run on an unpacked release."""
    script = ROOT / "bench" / "public_tool.py"
    subprocess.run([sys.executable, script, source, out, "--mode", mode], check=True)
    return out


def test_lists_and_annotation_types_equal_the_public_tools(
    sample_dir: Path, finished: tuple[Path, Report], tmp_path: Path
) -> None:
    """Same lists byte for byte (the release lists' order), same files, and in every annotation
    the public tool's keys with its types, plus our documented extra keys (those of them the
    object has). Shapes too, except where the release stores one number as a size-1 array: that
    is written as the number (a 0-d array)."""
    out, _ = finished
    theirs = folder_files(public_tool(sample_dir / "imagenet3d_v1", tmp_path, "pose3d"))
    ours = folder_files(out)
    lists = {path: data for path, data in theirs.items() if path.startswith("lists/")}
    assert lists == {path: data for path, data in ours.items() if path.startswith("lists/")}
    assert set(theirs) == set(ours) - {STAMP, LOCK}
    size_one = {
        f"{case.image_id}_{case.index:02d}.npz"
        for case in sample_cases(seed=0)
        if case.name.startswith("size-1 arrays")
    }
    for path in (path for path in theirs if path.endswith(".npz")):
        with np.load(io.BytesIO(theirs[path])) as public, np.load(io.BytesIO(ours[path])) as mine:
            assert set(public) <= set(mine) <= set(public) | EXTRA_KEYS
            assert {key: mine[key].dtype for key in public} == {
                key: public[key].dtype for key in public
            }
            if path.rpartition("/")[2] not in size_one:
                assert {key: mine[key].shape for key in public} == {
                    key: public[key].shape for key in public
                }


def test_values_copied_from_the_release_keep_its_types() -> None:
    """A float `viewport` or `cad_index` in the release is float in the npz, as np.savez of the
    release's value gives it; an integer stays an integer."""
    example = {"viewport": 3000, "cad_index": 2, "azimuth": 0.5, "px_original": 10.0}
    release = {"viewport": 3000.0, "cad_index": np.int32(2), "azimuth": 0.5, "px": np.float32(10)}
    arrays = annotation_arrays(example, release_types(release))
    assert {key: array.dtype for key, array in arrays.items()} == {
        "viewport": np.float64,
        "cad_index": np.int32,
        "azimuth": np.float64,
        "px_original": np.float32,
    }
    assert arrays["viewport"] == 3000.0 and arrays["cad_index"] == 2


def test_annotation_arrays_hold_the_example_values(
    source: Source, finished: tuple[Path, Report]
) -> None:
    out, _ = finished
    example = next(iter_pose_examples(source, "train", "pose3d", DEFAULTS))
    path = out / "annotations" / f"{example['category']}_train" / f"{example['name']}.npz"
    with np.load(path) as npz:
        for key, value in example.items():
            if key not in ("image", "category") and value is not None:
                assert npz[key].tolist() == value


def test_rerun_over_finished_folder_changes_nothing(
    source: Source, finished: tuple[Path, Report]
) -> None:
    out, report = finished
    before = folder_files(out)
    again = preprocess(source, out, "pose3d", progress=False)
    assert folder_files(out) == before
    assert again.summary() == report.summary()


class Interrupted(Exception):
    """Stands in for a crash or Ctrl-C in the middle of a run."""


def test_interrupted_run_completes_on_rerun(
    source: Source,
    finished: tuple[Path, Report],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_replace = converter.outputs.tool_folder.os.replace
    calls = 0

    def replace_then_crash(src: Any, dst: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 25:
            raise Interrupted
        real_replace(src, dst)

    monkeypatch.setattr(converter.outputs.tool_folder.os, "replace", replace_then_crash)
    with pytest.raises(Interrupted):
        preprocess(source, tmp_path, "pose3d", progress=False)
    monkeypatch.undo()
    for listed in (tmp_path / "lists").rglob("mesh01.txt"):
        folder = listed.parent.name
        for name in listed.read_text().split():
            assert (tmp_path / "images" / folder / f"{name}.JPEG").exists()
            assert (tmp_path / "annotations" / folder / f"{name}.npz").exists()
    preprocess(source, tmp_path, "pose3d", progress=False)
    assert folder_files(tmp_path) == folder_files(finished[0])


def test_other_settings_are_refused_over_an_existing_folder(
    source: Source, finished: tuple[Path, Report]
) -> None:
    out, _ = finished
    with pytest.raises(OutputMismatch, match="other settings"):
        preprocess(source, out, "pose6d", progress=False)
    with pytest.raises(OutputMismatch):
        preprocess(source, out, "pose3d", PoseOptions(height=480), progress=False)


@pytest.mark.parametrize(("num_proc", "threads"), [(2, None), (1, 1), (1, 3), (2, 2)])
def test_processes_and_threads_write_the_same_folder(
    source: Source, finished: tuple[Path, Report], tmp_path: Path, num_proc: int, threads: int
) -> None:
    report = preprocess(
        source, tmp_path, "pose3d", num_proc=num_proc, threads=threads, progress=False
    )
    assert folder_files(tmp_path) == folder_files(finished[0])
    assert report.summary() == finished[1].summary()


@pytest.fixture
def broken(sample_zip: Path, tmp_path: Path) -> Path:
    """The sample with every photo broken, and the annotation file of the third photo a run
    takes."""
    source = open_source(sample_zip)
    category, image_id = source.listed_ids("train", source.categories()[0])[2]
    changes = {name: b"\xff\xd8 not a JPEG" for name in members(sample_zip, ".JPEG")}
    changes[source.layout.annotation(category, image_id)] = b"PK not an npz"
    return edited(sample_zip, tmp_path / "broken.zip", changes)


def test_broken_files_are_passed_over_alike_on_threads(broken: Path, tmp_path: Path) -> None:
    """What photos drawn on threads pass over is logged in the photos' order, as when each is
    drawn in its turn."""
    outcomes = []
    for threads in (1, 3):
        source = open_source(broken, on_invalid="skip")
        out = tmp_path / f"threads-{threads}"
        report = preprocess(source, out, "pose3d", threads=threads, progress=False)
        outcomes.append((folder_files(out), report.summary(), source.invalid))
    assert outcomes[0] == outcomes[1]
    logged = " ".join(outcomes[0][2].members)
    assert "not a readable image" in logged and "not a readable npz" in logged


def test_a_broken_file_stops_a_run_alike_on_threads(broken: Path, tmp_path: Path) -> None:
    """The error raised does not depend on which thread drew which photo first."""
    errors = []
    for threads in (1, 3):
        out = tmp_path / f"threads-{threads}"
        with pytest.raises(DataError) as caught:
            preprocess(open_source(broken), out, "pose3d", threads=threads, progress=False)
        errors.append(str(caught.value))
    assert errors[0] == errors[1]


def test_a_photo_that_stops_a_run_leaves_the_photos_before_it_written(
    sample_zip: Path, tmp_path: Path
) -> None:
    """A task's files are written together once its photos are drawn, and also when one of
    them stops the run: nothing drawn before the error is lost."""
    source = open_source(sample_zip)
    category = source.categories()[0]
    first, second, third = (image_id for _, image_id in source.listed_ids("train", category)[:3])
    broken = edited(
        sample_zip,
        tmp_path / "broken.zip",
        {source.photo_member(category, third): b"\xff\xd8 not a JPEG"},
    )
    out = tmp_path / "out"
    with pytest.raises(DataError, match="not a readable image"):
        preprocess(open_source(broken), out, "pose3d", progress=False)
    options = layout_options("public")
    before = [
        object_name(source, category, image_id, record["index"])
        for image_id in (first, second)
        for record in select_objects(source, category, image_id, options)
    ]
    assert before
    written = sorted(path.stem for path in out.glob("images/*/*.JPEG"))
    assert written == sorted(before)
    assert sorted(path.stem for path in out.glob("annotations/*/*.npz")) == written


def broken_across_tasks(sample_zip: Path, out: Path, last_photo: bool) -> Path:
    """The sample with the annotation file of the second category's first photo broken and,
    with `last_photo`, the first category's last drawn photo too. A category's eight training
    photos make one task: reading the second task overlaps drawing the last photos of the first."""
    source = open_source(sample_zip)
    first, second = source.categories()[:2]
    changes = {source.layout.annotation(*source.listed_ids("train", second)[0]): b"PK not an npz"}
    if last_photo:
        options = layout_options("public")
        drawn = [
            pair
            for pair in source.listed_ids("train", first)
            if select_objects(source, *pair, options)
        ]
        changes[source.photo_member(*drawn[-1])] = b"\xff\xd8 not a JPEG"
    return edited(sample_zip, out, changes)


def test_a_broken_annotation_stops_a_run_once_the_task_before_is_written(
    sample_zip: Path, tmp_path: Path
) -> None:
    """A task's annotations are read ahead of its turn; the error they give is raised in its
    turn, once the task before has every file and its list, on any thread count."""
    broken = broken_across_tasks(sample_zip, tmp_path / "broken.zip", last_photo=False)
    first = open_source(broken).categories()[0]
    for threads in (1, 3):
        out = tmp_path / f"threads-{threads}"
        with pytest.raises(DataError, match="not a readable npz"):
            preprocess(open_source(broken), out, "pose3d", threads=threads, progress=False)
        names = (out / "lists" / f"{first}_train" / "mesh01.txt").read_text().split()
        assert names
        assert sorted(path.stem for path in out.glob(f"images/{first}_train/*.JPEG")) == sorted(
            names
        )


def test_what_a_task_read_ahead_passes_over_is_logged_in_its_turn(
    sample_zip: Path, tmp_path: Path
) -> None:
    """The first task's last photo is logged before the next task's broken annotation file,
    though that file is read while the photo is drawn."""
    broken = broken_across_tasks(sample_zip, tmp_path / "broken.zip", last_photo=True)
    logs = []
    for threads in (1, 3):
        source = open_source(broken, on_invalid="skip")
        preprocess(
            source, tmp_path / f"threads-{threads}", "pose3d", threads=threads, progress=False
        )
        logs.append(source.invalid.members)
    assert logs[0] == logs[1]
    assert ["not a readable image" in line for line in logs[0]] == [True, False]


def test_chosen_splits_and_categories(source: Source, tmp_path: Path) -> None:
    category = source.categories()[1]
    options = PoseOptions(categories=(category,))
    report = preprocess(source, tmp_path, "pose6d", options, splits=["val"], progress=False)
    assert sorted(p.name for p in (tmp_path / "lists").iterdir()) == [f"{category}_val"]
    assert report.photos == len(source.image_ids("validation", [category]))


def test_pose6d_objects_of_one_photo_share_their_canvas(source: Source) -> None:
    """pose6d places the whole photo, whatever the object: one canvas is encoded per photo."""
    by_photo: dict[str, list[bytes]] = {}
    for example in iter_pose_examples(source, "train", "pose6d", DEFAULTS):
        by_photo.setdefault(example["image_id"], []).append(example["image"]["bytes"])
    shared = [images for images in by_photo.values() if len(images) > 1]
    assert shared
    assert all(len(set(images)) == 1 for images in shared)


def test_command_line(sample_zip: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "pose6d"
    argv = ["preprocess", str(sample_zip), str(out), "--mode", "pose6d", "--splits", "val"]
    assert main([*argv, "--categories", "car", "--height", "480", "--width", "640"]) == 0
    assert "kept" in capsys.readouterr().out
    assert Image.open(next((out / "images" / "car_val").iterdir())).size == (640, 480)
    assert main(argv) == 1
    assert "other settings" in capsys.readouterr().err


def test_a_rerun_with_other_categories_adds_them(source: Source, tmp_path: Path) -> None:
    """Categories choose which photos are written, not their bytes: the stamp lets them differ."""
    first, second = source.categories()[:2]
    for category in (first, second):
        options = PoseOptions(categories=(category,))
        preprocess(source, tmp_path, "pose6d", options, splits=["val"], progress=False)
    assert sorted(p.name for p in (tmp_path / "lists").iterdir()) == [
        f"{first}_val",
        f"{second}_val",
    ]


def test_command_line_writes_the_experiment_layout(sample_zip: Path, tmp_path: Path) -> None:
    argv = ["preprocess", str(sample_zip), str(tmp_path), "--mode", "pose3d", "--splits", "val"]
    assert main([*argv, "--categories", "car", "--layout", "experiment"]) == 0
    names = (tmp_path / "val" / "lists" / "car" / "mesh01.txt").read_text().split("\n")
    assert sorted(path.stem for path in (tmp_path / "val" / "images" / "car").iterdir()) == sorted(
        names
    )
