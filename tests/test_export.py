"""Exported Parquet loads with plain `datasets`, equals the builder, and survives interruption."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import datasets
import pytest

from converter.outputs.export import export
from converter.outputs.schema import CAD_CONFIG, IMAGE_CONFIGS
from converter.read.source import SPLITS
from tests.edits import folder_files
from tests.test_builder import converter_rows, stored_rows


def test_the_layout_is_one_folder_of_shards_per_config(exported: Path) -> None:
    shards = [
        f"{config}/{split}-00000-of-00001.parquet" for config in IMAGE_CONFIGS for split in SPLITS
    ]
    meshes = f"{CAD_CONFIG}/train-00000-of-00001.parquet"
    assert sorted(folder_files(exported)) == sorted(["README.md", *shards, meshes])


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
    card = (exported / "README.md").read_text()
    assert "license: cc-by-nc-4.0" in card and "ma2024imagenet3d" in card
    assert "- `resize_rate`:" in card and "- `objects`:" in card
    assert "num_examples" in card and "extra_gated_prompt" in card


def test_the_same_input_gives_byte_identical_shards(
    exported: Path, sample_zip: Path, tmp_path: Path
) -> None:
    export(sample_zip, tmp_path / "again")
    assert folder_files(tmp_path / "again") == folder_files(exported)


def test_an_interrupted_export_leaves_nothing_complete_looking_and_a_rerun_finishes(
    exported: Path, sample_zip: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    command = [sys.executable, "-m", "converter", "export", str(sample_zip), str(out)]
    run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not (out / ".partial-pose3d").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    run.kill()
    run.wait()
    assert not (out / "pose3d").exists() and not (out / "README.md").exists()
    export(sample_zip, out)
    assert folder_files(out) == folder_files(exported)
