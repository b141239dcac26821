"""Commands that build no `datasets` objects start without loading the heavy libraries."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("datasets", "pandas", "pyarrow", "fsspec", "huggingface_hub")
# Runs one command in a fresh interpreter, then prints which heavy modules it loaded.
RUN_AND_LIST = f"""
import sys
from converter.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(sorted(name for name in {HEAVY!r} if name in sys.modules))
"""


def loaded_by(argv: list[str], cwd: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-c", RUN_AND_LIST, *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=True,
    )
    return result.stdout.splitlines()[-1]


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["sample", "new.zip"],
        ["inspect", "{zip}"],
        ["preprocess", "{zip}", "out", "--mode", "pose6d", "--splits", "val"],
        ["visualize", "{zip}", "overlays", "--per-category", "1"],
        ["evaluate", "predictions.jsonl", "--source", "{zip}"],
    ],
    ids=lambda argv: argv[0],
)
def test_light_commands_load_no_heavy_library(
    argv: list[str], sample_zip: Path, tmp_path: Path
) -> None:
    (tmp_path / "predictions.jsonl").write_text("")
    argv = [arg.format(zip=sample_zip) for arg in argv]
    assert loaded_by(argv, tmp_path) == "[]"


# Runs the command's entry point, then prints what OpenBLAS was told and how many threads run.
ENTRY_AND_THREADS = """
import os, sys
from converter.__main__ import main
sys.argv = ["imagenet3d", "--version"]
try:
    main()
except SystemExit:
    pass
print(os.environ["OPENBLAS_NUM_THREADS"], len(os.listdir(f"/proc/{os.getpid()}/task")))
"""


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="counts threads in /proc")
@pytest.mark.parametrize(("given", "told"), [({}, "1"), ({"OPENBLAS_NUM_THREADS": "3"}, "3")])
def test_the_command_starts_no_openblas_threads_unless_told(
    given: dict[str, str], told: str
) -> None:
    """numpy is loaded by the command, yet only its own thread runs; a user's setting stands."""
    environment = {key: value for key, value in os.environ.items() if "BLAS" not in key}
    result = subprocess.run(
        [sys.executable, "-c", ENTRY_AND_THREADS],
        capture_output=True,
        text=True,
        env={**environment, **given},
        check=True,
    )
    setting, threads = result.stdout.split()[-2:]
    assert setting == told
    if not given:
        assert threads == "1"
