"""Runs cut short and resumed: Ctrl-C on a silent server, a reader that stops early, a rerun."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from converter.core.release import ARCHIVE_NAME
from converter.outputs.tool_folder import OutputMismatch, preprocess
from converter.pose.options import PoseOptions
from converter.read.source import open_source
from converter.sample import write_sample
from testbed.servers.fileserver import FileServer


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "converter", *args]


def test_ctrl_c_while_a_server_is_silent_is_one_line_and_status_130(
    file_server: FileServer, sample_zip: Path
) -> None:
    shutil.copy(sample_zip, file_server.files / ARCHIVE_NAME)
    file_server.faults.hang(count=100)
    url = f"{file_server.url}/{ARCHIVE_NAME}"
    environment = {**os.environ, "HF_HUB_DOWNLOAD_TIMEOUT": "60"}
    run = subprocess.Popen(
        command("inspect", url), stderr=subprocess.PIPE, text=True, env=environment
    )
    deadline = time.monotonic() + 20
    while file_server.faults.pending == 100 and time.monotonic() < deadline:
        time.sleep(0.05)  # until the size probe is waiting on the server
    run.send_signal(signal.SIGINT)
    _, error = run.communicate(timeout=20)
    assert run.returncode == 130
    assert error == "imagenet3d inspect: interrupted\n"


def test_a_reader_that_stops_early_ends_the_run_quietly(sample_zip: Path) -> None:
    no_bars = {**os.environ, "HF_DATASETS_DISABLE_PROGRESS_BARS": "1"}
    run = subprocess.Popen(
        command("inspect", str(sample_zip)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=no_bars,
    )
    run.stdout.close()  # as `| head` does once it has its lines; here before any is written
    error = run.stderr.read()
    run.wait(timeout=60)
    assert error == b""
    assert run.returncode == 141


def test_a_rerun_from_another_source_into_the_same_out_is_refused(
    sample_zip: Path, tmp_path: Path
) -> None:
    other = write_sample(tmp_path / "other.zip", seed=1)
    out = tmp_path / "out"
    chosen = {
        "options": PoseOptions(categories=("car",)),
        "splits": ["validation"],
        "progress": False,
    }
    preprocess(open_source(sample_zip), out, "pose6d", **chosen)
    with pytest.raises(
        OutputMismatch, match=re.escape(f"made from another source than {other}")
    ) as refused:
        preprocess(open_source(other), out, "pose6d", **chosen)
    assert str(refused.value).endswith("rerun with the source it was made from")
