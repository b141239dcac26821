"""Ctrl-C and SIGTERM during runs with worker processes, or with one process drawing on threads:
one line, the shell's status (130 and 143), no process left behind, and a rerun that finishes
the job.

Each run is a real `imagenet3d` command in its own process group, as a shell job is, sent the
real signal once its workers are running (or its threads have written a photo): Ctrl-C the way a
terminal sends it (to every process of the group), SIGTERM the way `kill PID` does (to the main
process alone).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from testbed.workload import write_workload
from tests.helpers import folder_files

pytestmark = pytest.mark.skipif(
    not Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").exists(),
    reason="reads a process's children from /proc",
)
WORKERS_SEEN_TIMEOUT = 120
END_TIMEOUT = 10  # "within a few seconds", with room for a loaded test machine
# What each command prints when it is done.
FINISHED = {"export": "pose3d: train", "preprocess": "kept"}
COMMANDS = {
    "export": ["export", "--config", "pose3d"],
    "preprocess": ["preprocess", "--mode", "pose3d"],
}


@pytest.fixture(scope="module")
def workload(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Enough photos that a two-process run is still working when the signal comes."""
    return write_workload(tmp_path_factory.mktemp("workload") / "workload.zip", 240)


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        return [int(word) for word in path.read_text().split()]
    except OSError:
        return []


def live_members(group: int) -> list[str]:
    """Command lines of the group's processes that still run (zombies excepted)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError):
            continue
        state, _, process_group = stat[stat.rindex(")") + 2 :].split()[:3]
        if int(process_group) == group and state != "Z":
            found.append(command)
    return found


def imagenet3d(command: str, source: Path, out: Path, num_proc: int = 2) -> list[str]:
    arguments = [*COMMANDS[command][:1], str(source), str(out), *COMMANDS[command][1:]]
    return [sys.executable, "-m", "converter", *arguments, "--num-proc", str(num_proc), "-q"]


def quiet_env() -> dict[str, str]:
    return {**os.environ, "HF_DATASETS_DISABLE_PROGRESS_BARS": "1"}


def workers_run(pid: int) -> bool:
    return len(children(pid)) >= 2


def signalled_run(
    arguments: list[str],
    signum: int,
    whole_group: bool,
    working: Callable[[int], bool] = workers_run,
) -> tuple[int, str, float, int]:
    """Start the command, signal it once it is `working` (by default, once its workers run);
    its status, stderr, seconds to end and process group."""
    run = subprocess.Popen(
        arguments,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=quiet_env(),
    )
    started = time.monotonic()
    while not working(run.pid) and run.poll() is None:
        assert time.monotonic() - started < WORKERS_SEEN_TIMEOUT, "never started working"
        time.sleep(0.02)
    assert run.poll() is None, "the run ended before it could be signalled"
    time.sleep(0.05)
    sent = time.monotonic()
    if whole_group:
        os.killpg(run.pid, signum)
    else:
        os.kill(run.pid, signum)
    try:
        _, stderr = run.communicate(timeout=END_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(run.pid, signal.SIGKILL)
        run.communicate()
        pytest.fail(f"still running {END_TIMEOUT} s after the signal")
    return run.returncode, stderr.decode(), time.monotonic() - sent, run.pid


def assert_group_ends(group: int) -> None:
    """Every process of the run's group is gone within a few seconds of the main one."""
    deadline = time.monotonic() + END_TIMEOUT
    while live_members(group) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert live_members(group) == []


# Ctrl-C to the whole group as a terminal sends it, SIGTERM to the main process as `kill` does.
SIGNALS = pytest.mark.parametrize(
    ("signum", "whole_group", "status", "word"),
    [(signal.SIGINT, True, 130, "interrupted"), (signal.SIGTERM, False, 143, "terminated")],
    ids=["ctrl-c", "sigterm"],
)


def stopped_then_rerun(
    command: str,
    arguments: list[str],
    signal_given: tuple[int, bool, int, str],
    working: Callable[[int], bool] = workers_run,
) -> str:
    """Signal the run of `command` once it is `working`: its one line, status, and no process
    left; then the rerun's output, which must end well."""
    signum, whole_group, status, word = signal_given
    returncode, stderr, seconds, group = signalled_run(arguments, signum, whole_group, working)
    assert (returncode, stderr) == (status, f"imagenet3d {command}: {word}\n")
    assert seconds < END_TIMEOUT
    assert_group_ends(group)
    rerun = subprocess.run(arguments, capture_output=True, text=True, env=quiet_env())
    assert rerun.returncode == 0, rerun.stderr
    return rerun.stdout


@pytest.mark.parametrize("command", COMMANDS)
@SIGNALS
def test_a_signal_ends_the_run_and_every_worker_and_the_rerun_finishes(
    workload: Path,
    tmp_path: Path,
    command: str,
    signum: int,
    whole_group: bool,
    status: int,
    word: str,
) -> None:
    arguments = imagenet3d(command, workload, tmp_path / "out")
    rerun = stopped_then_rerun(command, arguments, (signum, whole_group, status, word))
    assert FINISHED[command] in rerun


@SIGNALS
def test_a_signal_ends_one_process_drawing_on_threads_and_leaves_no_wrong_file(
    workload: Path,
    tmp_path: Path,
    signum: int,
    whole_group: bool,
    status: int,
    word: str,
) -> None:
    out = tmp_path / "out"
    arguments = imagenet3d("preprocess", workload, out, num_proc=1)

    def writing(_: int) -> bool:
        return any((out / "images").rglob("*.JPEG"))

    stopped_then_rerun("preprocess", arguments, (signum, whole_group, status, word), writing)
    clean = tmp_path / "clean"
    subprocess.run(
        imagenet3d("preprocess", workload, clean, num_proc=1), env=quiet_env(), check=True
    )
    assert folder_files(out) == folder_files(clean)


def test_a_signal_that_python_swallowed_in_a_finalizer_still_ends_the_run_as_stopped(
    tmp_path: Path,
) -> None:
    # The signal comes while a finalizer runs: its KeyboardInterrupt is ignored there, the run
    # goes on and finishes, and must still end with the signal's line and status.
    workload = write_workload(tmp_path / "workload.zip", 6)
    script = """
import signal, sys
import converter.outputs.tool_folder as tool_folder
from converter.cli import main

class SignalledWhileFinalized:
    def __del__(self):
        signal.raise_signal(signal.SIGTERM)
        [].append(0)  # the handler runs here, and Python ignores what it raises

lists = []

def write_listing(*args):
    if not lists:  # one signal, while the first list is written
        SignalledWhileFinalized()
    lists.append(args)
    listing(*args)

listing, tool_folder.write_listing = tool_folder.write_listing, write_listing
sys.exit(main(sys.argv[1:]))
"""
    arguments = [str(workload), str(tmp_path / "out"), "--mode", "pose3d", "--num-proc", "1"]
    run = subprocess.run(
        [sys.executable, "-c", script, "preprocess", *arguments, "-q"],
        capture_output=True,
        text=True,
        env=quiet_env(),
        timeout=END_TIMEOUT * 6,
    )
    assert "KeyboardInterrupt" in run.stderr  # Python's report of the error it ignored
    assert (run.returncode, run.stderr.splitlines()[-1]) == (
        143,
        "imagenet3d preprocess: terminated",
    )
