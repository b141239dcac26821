"""The `imagenet3d` command line as a user types it."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from converter.cli import build_parser, main
from converter.testing.servers.fileserver import FileServer
from tests.edits import replace_member


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
