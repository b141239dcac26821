"""Exported Parquet loads with plain `datasets`, equals the builder, says how it was built, and
survives interruption, reruns and a second export into the same folder."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import datasets
import pyarrow.parquet as pq
import pytest
from filelock import FileLock

from converter.cli import main
from converter.outputs.configurations import CONFIGS, IMAGE_CONFIGS, MESHES
from converter.outputs.export import ExportOptions, export
from converter.outputs.export_folder import CARD, LOCK, STAMP, NotAnExport, leftovers
from converter.outputs.sources import open_release
from converter.outputs.tool_folder import OutputMismatch
from converter.pose.options import PoseOptions
from converter.read.source import SPLITS, open_source
from tests.helpers import converter_rows, edited, folder_files, members, stored_rows


def card(out: Path) -> str:
    return (out / CARD).read_text()


def export_command(*arguments: str) -> list[str]:
    """The export command in one process, as `exported` was built (shards are cut per worker)."""
    return [sys.executable, "-m", "converter", "export", *arguments, "--num-proc", "1"]


def broken_annotation(sample_zip: Path, tmp_path: Path) -> tuple[Path, str]:
    """The sample with one annotation file that is not an npz at all."""
    member = members(sample_zip, ".npz")[0]
    return edited(sample_zip, tmp_path / "broken.zip", {member: b"not an npz"}), member


def test_the_layout_is_one_folder_of_shards_and_a_stamp_per_config(exported: Path) -> None:
    shards = [
        f"{config}/{split}-00000-of-00001.parquet" for config in IMAGE_CONFIGS for split in SPLITS
    ]
    meshes = f"{MESHES}/train-00000-of-00001.parquet"
    stamps = [f"{config}/{STAMP}" for config in CONFIGS]
    assert sorted(folder_files(exported)) == sorted([LOCK, CARD, *shards, meshes, *stamps])


@pytest.mark.parametrize("config", IMAGE_CONFIGS)
def test_plain_datasets_loads_each_config_as_the_builder_made_it(
    config: str, exported: Path, sample_zip: Path
) -> None:
    loaded = datasets.load_dataset(str(exported), config)
    for split in SPLITS:
        assert stored_rows(loaded[split]) == converter_rows(sample_zip, config, split)


def test_raw_is_the_default_config(exported: Path) -> None:
    assert "objects" in datasets.load_dataset(str(exported), split="train").features


def test_the_card_documents_counts_fields_and_citation(exported: Path) -> None:
    text = card(exported)
    assert "license: cc-by-nc-4.0" in text and "ma2024imagenet3d" in text
    assert "- `resize_rate`:" in text and "- `objects`:" in text
    assert "num_examples" in text and "extra_gated_prompt" in text


def test_the_card_states_this_exports_figures_and_options(exported: Path) -> None:
    """The 4-category sample's card says 4 categories, not the release's 200."""
    this_export = card(exported).split("## Configurations")[1].split("## Loading")[0]
    assert "Objects of 4 categories: aeroplane, bicycle, car, chair." in this_export
    assert "200" not in this_export
    assert "Examples: train 32 (1 shard), validation 12 (1 shard)." in this_export  # raw photos
    assert "canvas 640 x 800; target distance 4.0" in this_export
    assert "statuses status_good, status_partially, status_barely; JPEG quality 75" in this_export
    assert "Built from `imagenet3d_v1.zip`" in this_export


def test_a_category_subset_is_what_the_card_counts(sample_zip: Path, tmp_path: Path) -> None:
    options = ExportOptions(pose=PoseOptions(categories=("chair", "car")))
    infos = export(sample_zip, tmp_path / "out", ["pose3d"], options)
    this_export = card(tmp_path / "out").split("## Loading")[0]
    assert "Objects of 2 categories: car, chair." in this_export
    assert "categories: car, chair;" in this_export
    counts = infos["pose3d"].splits
    assert f"Examples: train {counts['train'].num_examples} (1 shard), validation" in this_export


def test_the_same_input_gives_byte_identical_shards(
    exported: Path, sample_zip: Path, tmp_path: Path
) -> None:
    export(sample_zip, tmp_path / "again")
    assert folder_files(tmp_path / "again") == folder_files(exported)


def test_a_rerun_with_other_options_refuses_then_rebuilds_with_overwrite(
    exported: Path, sample_zip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The card never claims a canvas the Parquet images do not have."""
    out = tmp_path / "out"
    shutil.copytree(exported, out)
    command = ["export", str(sample_zip), str(out), "--config", "pose3d"]
    assert main([*command, "--height", "320", "--width", "400"]) == 1
    assert capsys.readouterr().err == (
        f"imagenet3d export: {out}/pose3d was exported with other options or from another "
        "source (canvas differ); rerun with --overwrite to rebuild it, or choose another "
        "output folder\n"
    )
    assert card(out) == card(exported)
    smaller = ExportOptions(pose=PoseOptions(height=320, width=400))
    export(sample_zip, out, ["pose3d"], smaller, overwrite=True)
    assert "canvas 320 x 400" in card(out) and "centre of a 320 x 400 canvas" in card(out)
    assert datasets.load_dataset(str(out), "pose3d", split="train")[0]["image"].size == (400, 320)
    assert (
        folder_files(out)["raw/train-00000-of-00001.parquet"]
        == folder_files(exported)["raw/train-00000-of-00001.parquet"]
    )


def test_another_source_is_refused_and_the_same_one_elsewhere_is_kept(
    exported: Path, sample_zip: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    shutil.copytree(exported, out)
    export(shutil.copy(sample_zip, tmp_path / "moved.zip"), out, ["raw"])
    assert folder_files(out) == folder_files(exported)
    other, _ = broken_annotation(sample_zip, tmp_path)
    with pytest.raises(OutputMismatch, match="source differ"):
        export(open_release(other, on_invalid="skip"), out, ["raw"])


def test_a_folder_that_is_not_an_export_is_refused_in_one_line(
    sample_zip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`mixed/raw/` written by something else."""
    (tmp_path / "mixed" / "raw").mkdir(parents=True)
    (tmp_path / "mixed" / "raw" / "notes.txt").write_text("mine\n")
    assert main(["export", str(sample_zip), str(tmp_path / "mixed"), "--config", "raw"]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "mixed/raw is not a configuration written by" in error
    assert (tmp_path / "mixed" / "raw" / "notes.txt").read_text() == "mine\n"
    with pytest.raises(NotAnExport):
        export(sample_zip, tmp_path / "mixed", ["pose3d"], overwrite=True)


def test_on_invalid_skip_is_honoured_and_reported(
    sample_zip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken, member = broken_annotation(sample_zip, tmp_path)
    command = ["export", str(broken), str(tmp_path / "out"), "--config", "raw"]
    assert main(command) == 1
    error = capsys.readouterr().err  # progress bars, then the one line
    assert error.splitlines()[-1].startswith(f"imagenet3d export: {member}: not a readable npz")
    assert "Traceback" not in error
    assert main([*command, "--on-invalid", "skip"]) == 0
    assert f"1 invalid records skipped, first: {member}" in capsys.readouterr().err
    assert datasets.load_dataset(str(tmp_path / "out"), "raw", split="train").num_rows == 32


def test_a_split_without_photos_is_left_out_and_the_rest_loads(
    sample_zip: Path, tmp_path: Path
) -> None:
    with zipfile.ZipFile(sample_zip) as archive:
        lists = [name for name in archive.namelist() if name.endswith("_val.txt")]
    no_validation = edited(sample_zip, tmp_path / "noval.zip", dict.fromkeys(lists, b""))
    export(no_validation, tmp_path / "out", ["raw"])
    loaded = datasets.load_dataset(str(tmp_path / "out"), "raw")
    assert list(loaded) == ["train"] and loaded["train"].num_rows == 32
    assert "split: validation" not in card(tmp_path / "out")
    assert (
        "validation" not in card(tmp_path / "out").split("## Configurations")[1].split("## Load")[0]
    )


def test_leftovers_of_a_crash_are_cleared_by_the_next_run(
    exported: Path, sample_zip: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    shutil.copytree(exported, out)
    (out / ".partial-raw" / "prepared").mkdir(parents=True)
    (out / f".{CARD}.0123abcd.partial").write_text("half a card")
    (out / "pose3d" / ".export.json.89abcdef.partial").write_text("half a stamp")
    export(sample_zip, out)
    assert leftovers(out) == []
    assert folder_files(out) == folder_files(exported)


def test_an_interrupted_export_leaves_nothing_complete_looking_and_a_rerun_finishes(
    exported: Path, sample_zip: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run = subprocess.Popen(
        export_command(str(sample_zip), str(out)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not (out / ".partial-pose3d").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    run.kill()
    run.wait()
    assert not (out / "pose3d").exists() and not (out / CARD).exists()
    export(sample_zip, out)
    assert folder_files(out) == folder_files(exported)


def test_a_second_export_into_the_same_folder_waits_for_the_first(
    exported: Path, sample_zip: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with FileLock(out / LOCK):
        second = subprocess.Popen(
            export_command(str(sample_zip), str(out), "--config", "raw"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert second.stderr is not None
        assert (
            second.stderr.readline()
            == f"{out}: another export is writing here; waiting for it to finish\n"
        )
        assert not (out / "raw").exists()
    assert second.wait(timeout=120) == 0
    stamp = json.loads((out / "raw" / STAMP).read_text())
    assert stamp["shards"] == json.loads((exported / "raw" / STAMP).read_text())["shards"]


def test_two_exports_started_together_both_finish_with_one_result(
    exported: Path, sample_zip: Path, tmp_path: Path
) -> None:
    """Two runs into one OUT at once: each whole or waiting, never failing."""
    out = tmp_path / "out"
    command = export_command(str(sample_zip), str(out), "--config", "raw")
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    runs = [subprocess.Popen(command, **quiet) for _ in range(2)]
    assert [run.wait(timeout=120) for run in runs] == [0, 0]
    assert leftovers(out) == []
    raw = "raw/train-00000-of-00001.parquet"
    assert folder_files(out)[raw] == folder_files(exported)[raw]


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` with its content: equal trees mean nothing was written."""
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in folder.rglob("*")
        if path.is_file()
    }


@pytest.mark.parametrize(
    "typo", [["--categories", "bycicle"], ["--max-shard-size", "10XB"], ["--rows-per-group", "0"]]
)
def test_a_typo_in_an_option_leaves_out_absent_or_exactly_as_it_was(
    typo: list[str],
    sample_zip: Path,
    exported: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    absent = tmp_path / "absent"
    assert main(["export", str(sample_zip), str(absent), *typo]) == 1
    assert not absent.exists()
    existing = shutil.copytree(exported, tmp_path / "existing")
    before = tree(existing)
    assert main(["export", str(sample_zip), str(existing), "--overwrite", *typo]) == 1
    assert tree(existing) == before
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 2 and errors[0] == errors[1]


def test_a_wrong_category_is_named_with_the_nearest_and_every_category(
    sample_zip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", str(sample_zip), str(tmp_path / "out"), "--categories", "bycicle"]) == 1
    assert capsys.readouterr().err == (
        f"imagenet3d export: {sample_zip}: no such categories: 'bycicle' (did you mean "
        "'bicycle'?); the categories are aeroplane, bicycle, car, chair\n"
    )


def test_max_shard_size_is_honoured_to_within_one_row_group_and_the_shards_are_reported(
    sample_zip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    limits = ["--max-shard-size", "150KB", "--rows-per-group", "4"]
    assert main(["export", str(sample_zip), str(tmp_path), "--config", "pose3d", *limits]) == 0
    shards = {split: sorted((tmp_path / "pose3d").glob(f"{split}-*.parquet")) for split in SPLITS}
    assert capsys.readouterr().out.splitlines()[0] == (
        f"pose3d: train 41 examples in {len(shards['train'])} shards, "
        f"validation 14 examples in {len(shards['validation'])} shards"
    )
    assert len(shards["train"]) > 2
    for shard in shards["train"] + shards["validation"]:
        metadata = pq.read_metadata(shard)
        groups = [metadata.row_group(index) for index in range(metadata.num_row_groups)]
        assert all(group.num_rows <= 4 for group in groups)
        before_last = sum(group.total_byte_size for group in groups[:-1])
        assert before_last <= 150_000  # the bound is crossed by the last row group at most


@pytest.mark.parametrize(
    ("mesh", "data", "cause"),
    [
        ("99999999999.off", b"OFF\n0 0 0\n", "mesh number '99999999999' is beyond any cad_index"),
        (f"{'9' * 5000}.off", b"OFF\n0 0 0\n", "is beyond any cad_index"),
        ("03.off", b"OFF\n0 0 " + b"9" * 5000 + b"\n", "line 2: expected 'n_vertices n_faces"),
        ("03.off", b"OFF\n1 0 0\n0 1e300 0\n", "line 3: expected a vertex of 3 finite numbers"),
    ],
    ids=["number-beyond-int32", "number-of-5000-digits", "count-of-5000-digits", "beyond-float32"],
)
def test_a_mesh_beyond_its_columns_is_named_and_skipped_when_asked(
    mesh: str,
    data: bytes,
    cause: str,
    sample_zip: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    member = f"imagenet3d_v1/CAD/car/{mesh}"
    hostile = edited(sample_zip, tmp_path / "hostile.zip", {member: data})
    command = ["export", str(hostile), str(tmp_path / "out"), "--config", MESHES]
    assert main(command) == 1
    error = capsys.readouterr().err.splitlines()[-1]
    assert error.startswith(f"imagenet3d export: {member}") and cause in error
    assert main([*command, "--on-invalid", "skip"]) == 0
    assert "1 invalid records skipped" in capsys.readouterr().err
    source = open_source(sample_zip)
    meshes = sum(len(source.cad_indices(category)) for category in source.categories())
    assert datasets.load_dataset(str(tmp_path / "out"), MESHES, split="train").num_rows == meshes
