"""The `imagenet3d` command line as a user types it."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import fields
from importlib.metadata import version
from pathlib import Path

import datasets
import pytest

import converter
from converter.cli import build_parser, main, option_flag
from converter.core.release import CITATION
from converter.look.draw import legend
from converter.look.metrics import ground_truth
from converter.outputs.builder import ImageNet3D, ImageNet3DConfig
from converter.pose.options import PoseOptions
from converter.read.source import open_source
from testbed.servers.fileserver import FileServer
from tests.helpers import replace_member


def inspect(source: str, capsys: pytest.CaptureFixture[str]) -> list[str]:
    assert main(["inspect", source]) == 0
    return capsys.readouterr().out.splitlines()[1:]


def test_sample_then_inspect_prints_the_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = tmp_path / "s.zip"
    assert main(["sample", str(archive)]) == 0
    capsys.readouterr()
    lines = inspect(str(archive), capsys)
    assert lines[0] == "layout:     v1"
    assert any(line.startswith("train: 32 photos, 50 objects, 2 without pose") for line in lines)
    assert any(line.startswith("validation: 12 photos") for line in lines)
    assert lines[-1] == "photos in both splits: 0"


def test_inspect_names_a_photo_listed_in_both_splits(
    sample_zip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lists = "imagenet3d_v1/lists"
    with zipfile.ZipFile(sample_zip) as archive:
        leaked = archive.read(f"{lists}/car_imagenet_train.txt").split()[0]
        val_ids = archive.read(f"{lists}/car_imagenet_val.txt")
    leaky = replace_member(
        sample_zip, tmp_path / "leak.zip", f"{lists}/car_imagenet_val.txt", val_ids + b"\n" + leaked
    )
    lines = inspect(str(leaky), capsys)
    assert lines[-1] == f"photos in both splits: 1, first car/{leaked.decode()}"


def test_zip_folder_and_served_zip_print_the_same_counts(
    sample_zip: Path,
    sample_dir: Path,
    file_server: FileServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    shutil.copy(sample_zip, file_server.files / "s.zip")
    reports = [
        inspect(str(sample_zip), capsys),
        inspect(str(sample_dir), capsys),
        inspect(f"{file_server.url}/s.zip", capsys),
    ]
    assert reports[0] == reports[1] == reports[2]


def test_a_broken_source_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bad.zip").write_bytes(b"not a zip")
    assert main(["inspect", str(tmp_path / "bad.zip")]) == 1
    assert "bad.zip: not a readable zip archive" in capsys.readouterr().err


@pytest.mark.parametrize(
    "command", ["sample", "inspect", "preprocess", "export", "push", "visualize", "evaluate"]
)
def test_every_command_explains_itself(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args([command, "--help"])
    assert done.value.code == 0
    assert len(capsys.readouterr().out.splitlines()) > 5


def command_parser(command: str) -> argparse.ArgumentParser:
    """The parser of one subcommand, as `imagenet3d COMMAND --help` shows it."""
    (commands,) = (
        action
        for action in build_parser()._actions
        if isinstance(action, argparse._SubParsersAction)
    )
    return commands.choices[command]


@pytest.mark.parametrize("command", ["preprocess", "export"])
def test_pose_flags_are_the_builder_config_keywords(command: str) -> None:
    """Each builder keyword is a flag of the same name, its help showing the keyword's default:
    `jpeg_quality`, --jpeg-quality. A flag not given is None: the command's default applies
    (PoseOptions' own, or with `preprocess` the layout's authors')."""
    builder_keywords = {option.name for option in fields(datasets.BuilderConfig)}
    keywords = [o.name for o in fields(ImageNet3DConfig) if o.name not in builder_keywords]
    flags = {action.dest: action for action in command_parser(command)._actions}
    defaults = ImageNet3DConfig()
    pose_keywords = {option.name for option in fields(PoseOptions)}
    assert pose_keywords | {"on_invalid"} == set(keywords)
    for keyword in keywords:
        assert flags[keyword].option_strings == ["--" + keyword.replace("_", "-")]
    for keyword in pose_keywords:
        assert flags[keyword].default is None
        default = getattr(defaults, keyword)
        assert default is None or f"(default {default})" in flags[keyword].help
    assert flags["on_invalid"].default == defaults.on_invalid


@pytest.mark.parametrize("command", ["preprocess", "export"])
def test_workers_default_to_the_cpus_this_process_may_use(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert command_parser(command).get_default("num_proc") == cpus
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert f"(default {cpus}: the CPUs this process may use)" in help_text


@pytest.mark.parametrize("quality", ["0", "101"])
def test_a_jpeg_quality_outside_1_to_100_is_one_line(
    quality: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["preprocess", "sample", str(tmp_path), "--mode", "pose3d", "--jpeg-quality", quality]
    assert main(argv) == 1
    assert capsys.readouterr().err == (
        f"imagenet3d preprocess: jpeg_quality must be within 1..100, got {quality}\n"
    )
    assert not any(tmp_path.iterdir())


def test_the_builder_refuses_the_same_jpeg_quality(sample_zip: Path) -> None:
    with pytest.raises(ValueError, match=r"jpeg_quality must be within 1\.\.100, got 0"):
        ImageNet3D(config_name="pose3d", data_dir=str(sample_zip), jpeg_quality=0)


def test_evaluate_skips_invalid_records_when_asked(
    sample_zip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = min(ground_truth(open_source(sample_zip), "validation"))
    predictions = tmp_path / "predictions.jsonl"
    predictions.write_text(json.dumps({"name": name, "azimuth": 0, "elevation": 0, "theta": 0}))
    argv = ["evaluate", str(predictions), "--source", str(sample_zip), "--on-invalid", "skip"]
    assert main(argv) == 0
    assert "overall" in capsys.readouterr().out


def imagenet3d(
    *argv: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """The installed `imagenet3d` command, run as a user runs it, in its own process."""
    command = Path(sys.executable).with_name("imagenet3d")
    return subprocess.run(
        [command, *argv], capture_output=True, text=True, env=env, cwd=cwd, check=True
    )


def test_version() -> None:
    assert imagenet3d("--version").stdout == f"imagenet3d {converter.__version__}\n"


def test_progress_bars_follow_the_datasets_switch(sample_zip: Path, tmp_path: Path) -> None:
    argv = ["preprocess", str(sample_zip), "--mode", "pose6d", "--splits", "val"]
    shown = imagenet3d(*argv[:2], str(tmp_path / "shown"), *argv[2:])
    assert "pose6d: 100%" in shown.stderr
    env = {**os.environ, "HF_DATASETS_DISABLE_PROGRESS_BARS": "1"}
    hidden = imagenet3d(*argv[:2], str(tmp_path / "hidden"), *argv[2:], env=env)
    assert "%" not in hidden.stderr
    assert hidden.stdout == shown.stdout


def test_quiet_and_verbose_set_what_is_told(
    sample_zip: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["inspect", str(sample_zip), "-v"]) == 0
    assert f"reading {sample_zip} (v1 layout)" in capsys.readouterr().err
    assert main(["inspect", str(sample_zip), "-q"]) == 0
    assert "reading" not in capsys.readouterr().err


def test_visualize_help_says_what_the_colours_mean(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["visualize", "--help"])
    assert "bluish green status_good" in " ".join(capsys.readouterr().out.split())


def test_the_readme_cites_the_dataset_as_its_card_does() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    assert f"```bibtex\n{CITATION}```" in readme


def test_the_installed_version_is_the_one_the_tool_prints(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.split() == ["imagenet3d", version("imagenet3d-hf")]


def test_the_readme_names_every_option_and_colour_as_the_tool_does() -> None:
    readme = " ".join((Path(__file__).parent.parent / "README.md").read_text().split())
    for option in fields(PoseOptions):
        assert f"`{option.name}`" in readme
        assert f"`{option_flag(option.name)}`" in readme
    assert legend() in readme
