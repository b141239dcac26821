"""This tool's progress bars obey `datasets`' switch, in Python as on the command line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import datasets
import pytest

from converter.core.progress import SWITCH, progress_bar
from testbed.servers.hub import Hub


def test_disable_progress_bars_hides_ours_too() -> None:
    datasets.disable_progress_bars()
    try:
        with progress_bar(total=3, unit="photo") as bar:
            assert bar.disable
    finally:
        datasets.enable_progress_bars()
    with progress_bar(total=3, unit="photo") as bar:
        assert not bar.disable


TQDM_TIME = re.compile(r"\[\d+:\d\d")  # the elapsed time every tqdm bar shows: [00:00


def command_stderr(arguments: list[str], **env: str) -> str:
    """What a command run as a user runs it prints on stderr, where the bars go."""
    command = [sys.executable, "-m", "converter", *arguments]
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **env})
    assert result.returncode == 0, result.stderr
    return result.stderr


def commands(sample_zip: Path, exported: Path, out: Path, repo: str) -> list[list[str]]:
    """A push (upload bars of `huggingface_hub`) and an export (bars of `datasets`)."""
    return [
        ["push", str(exported), "--repo-id", repo],
        ["export", str(sample_zip), str(out), "--config", "cad"],
    ]


@pytest.mark.parametrize("hidden_by", ["switch", "-q", "nothing"])
def test_the_switch_and_quiet_hide_every_bar_of_every_command(
    hidden_by: str, hub: Hub, sample_zip: Path, exported: Path, hf_token: str, tmp_path: Path
) -> None:
    env = {"HF_TOKEN": hf_token, **({SWITCH: "1"} if hidden_by == "switch" else {})}
    flags = ["-q"] if hidden_by == "-q" else []
    for arguments in commands(sample_zip, exported, tmp_path / "out", "me/bars"):
        stderr = command_stderr([*arguments, *flags], **env)
        assert bool(TQDM_TIME.search(stderr)) == (hidden_by == "nothing"), stderr
        hub.reset()
