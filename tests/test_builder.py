"""The `datasets` builder yields exactly what the converter produces, in every way it is run."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from converter.look.metrics import ground_truth
from converter.outputs.configurations import CONFIGS, IMAGE_CONFIGS
from converter.outputs.schema import features_for
from converter.pose.options import PoseOptions
from converter.read.source import SPLITS, open_source
from imagenet3d import ImageNet3D
from tests.clean_env import ROOT, load_names, run_clean
from tests.helpers import converter_rows, example_names, stored_rows

SCRIPT = Path(__file__).resolve().parent.parent / "imagenet3d.py"


def prepared(sample_zip: Path, tmp_path: Path, config: str, **kwargs: Any) -> ImageNet3D:
    builder = ImageNet3D(config_name=config, data_dir=str(sample_zip), cache_dir=str(tmp_path))
    builder.download_and_prepare(**kwargs)
    return builder


@pytest.mark.parametrize("config", IMAGE_CONFIGS)
def test_prepared_rows_equal_the_converters(config: str, sample_zip: Path, tmp_path: Path) -> None:
    builder = prepared(sample_zip, tmp_path, config)
    for split in SPLITS:
        assert stored_rows(builder.as_dataset(split)) == converter_rows(sample_zip, config, split)


@pytest.mark.parametrize("config", IMAGE_CONFIGS)
def test_streamed_rows_equal_the_converters(config: str, sample_zip: Path, tmp_path: Path) -> None:
    builder = ImageNet3D(config_name=config, data_dir=str(sample_zip), cache_dir=str(tmp_path))
    streamed = builder.as_streaming_dataset(split="validation")
    expected = converter_rows(sample_zip, config, "validation")
    assert sorted(stored_rows(streamed), key=str) == sorted(expected, key=str)


def test_val_names_the_validation_split(sample_zip: Path, tmp_path: Path) -> None:
    """docs/format.md, 'Release layout': the release's word is accepted wherever a split is."""
    builder = prepared(sample_zip, tmp_path, "raw")
    assert stored_rows(builder.as_dataset("val")) == stored_rows(builder.as_dataset("validation"))
    streamed = builder.as_streaming_dataset("val")
    assert len(stored_rows(streamed)) == builder.info.splits["validation"].num_examples


def test_two_processes_prepare_the_same_rows(sample_zip: Path, tmp_path: Path) -> None:
    one = prepared(sample_zip, tmp_path / "one", "pose3d")
    two = prepared(sample_zip, tmp_path / "two", "pose3d", num_proc=2)
    for split in SPLITS:
        assert stored_rows(two.as_dataset(split)) == stored_rows(one.as_dataset(split))


def test_config_keywords_reach_the_canvas(sample_zip: Path, tmp_path: Path) -> None:
    builder = ImageNet3D(
        config_name="pose6d",
        data_dir=str(sample_zip),
        cache_dir=str(tmp_path),
        height=101,
        width=77,
        categories=("car",),
    )
    builder.download_and_prepare()
    rows = builder.as_dataset("train")
    assert rows[0]["image"].size == (77, 101)
    assert set(rows["category"]) == {rows.features["category"].str2int("car")}
    assert rows.features["category"].num_classes == len(open_source(sample_zip).categories())


def test_a_kept_rule_keyword_chooses_the_examples(sample_zip: Path, tmp_path: Path) -> None:
    """docs/format.md, 'The kept rule': the experiment code's rule leaves out the validation
    object without a status, which this project's rule keeps."""
    names = {}
    for rule in ("project", "experiment"):
        builder = ImageNet3D(
            config_name="pose6d", data_dir=str(sample_zip), cache_dir=str(tmp_path), kept_rule=rule
        )
        names[rule] = {row["name"] for row in builder.as_streaming_dataset("validation")}
    truth = ground_truth(open_source(sample_zip), "validation", PoseOptions(kept_rule="experiment"))
    assert names["experiment"] == set(truth)
    assert len(names["project"] - names["experiment"]) == 1


@pytest.mark.parametrize("config", CONFIGS)
def test_the_release_declares_its_features_once_opened(config: str, tmp_path: Path) -> None:
    """docs/format.md, 'Categories': no other archive's categories stand in for the release's."""
    builder = ImageNet3D(config_name=config, cache_dir=str(tmp_path))
    assert builder.info.features is None
    assert Path(builder.cache_dir).relative_to(tmp_path).parts == ("imagenet3d", config, "1.0.0")


@pytest.mark.parametrize("config", CONFIGS)
def test_a_given_source_declares_its_categories_at_once(
    config: str, sample_zip: Path, tmp_path: Path
) -> None:
    builder = ImageNet3D(config_name=config, data_dir=str(sample_zip), cache_dir=str(tmp_path))
    categories = open_source(sample_zip).categories()
    assert builder.info.features == features_for(config, categories)


def test_an_open_source_is_read_as_it_is(sample_zip: Path, tmp_path: Path) -> None:
    """The command's source serves the builder: one index of the archive per process."""
    source = open_source(sample_zip)
    builder = ImageNet3D(
        config_name="raw", data_dir=str(sample_zip), cache_dir=str(tmp_path), source=source
    )
    builder.download_and_prepare()
    assert builder._source is source
    labels = builder.as_dataset("train").features["category"].names
    assert labels == source.categories()


def test_datasets_3_6_knows_the_features_before_preparing(
    datasets3_python: Path, sample_zip: Path, tmp_path: Path
) -> None:
    script = (
        "import datasets, sys; "
        "builder = datasets.load_dataset_builder("
        "sys.argv[1], 'pose3d', data_dir=sys.argv[2], trust_remote_code=True); "
        "print(builder.info.features['category'].names, builder.info.version)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_DATASETS_CACHE": str(tmp_path)}
    result = subprocess.run(
        [datasets3_python, "-P", "-c", script, str(SCRIPT), str(sample_zip)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    categories = open_source(sample_zip).categories()
    assert result.stdout.splitlines()[-1] == f"{categories} 1.0.0"


@pytest.mark.parametrize("config", ["raw", "pose3d"])
def test_datasets_3_6_runs_the_loading_script(
    config: str, sample_zip: Path, datasets3_python: Path
) -> None:
    """Users of 3.x who installed this project run the script from its checkout."""
    script = (datasets3_python, str(SCRIPT), config)
    loaded = load_names(*script, "load", str(sample_zip), project=True)
    streamed = load_names(*script, "stream", str(sample_zip), project=True)
    for split in SPLITS:
        expected = example_names(sample_zip, config, split)
        assert loaded[split] == expected
        assert sorted(streamed[split]) == sorted(expected)


def test_datasets_3_6_without_the_project_names_the_package_to_install(
    datasets3_python: Path,
) -> None:
    """The script's `# From:` hint: 3.x asks for `imagenet3d-hf`, never the unrelated `converter`."""
    failed = run_clean(datasets3_python, str(SCRIPT), "raw", "load")
    assert failed.returncode != 0
    assert "pip install imagenet3d-hf" in failed.stderr
    assert "pip install converter" not in failed.stderr
