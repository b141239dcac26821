"""Commands that build no `datasets` objects start without loading the heavy libraries."""

from __future__ import annotations

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
