"""Run every benchmark and write their figures to bench/RESULTS.md.

.venv/bin/python bench/run.py
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = {
    "`imagenet3d preprocess` against the public tool's algorithm, whole commands": [
        "bench.preprocess"
    ],
    "Where one process of `imagenet3d preprocess` spends its CPU time": ["bench.ledger"],
    "Parquet export: throughput, memory at 1x, 4x and 16x, two processes": ["bench.export"],
    "Streaming from the loopback Hub against downloading the archive": ["bench.streaming"],
    "Start-up: imagenet3d --help against importing numpy and Pillow": ["bench.startup"],
    "Scale: the commands at 1 %, 10 % and 100 % of the release's size": ["bench.scale"],
}


def machine() -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, {memory:.0f} GiB, "
        f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}"
    )


def run(command: list[str]) -> str:
    """A benchmark's printed table (its own verdict lines included), whatever its exit code."""
    done = subprocess.run(
        [sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr}")
    return done.stdout.rstrip()


def main() -> None:
    sections = [f"# Benchmark results\n\nMeasured by `python bench/run.py` on {machine()}.\n"]
    for title, command in BENCHMARKS.items():
        print(f"running {' '.join(command)} ...", flush=True)
        sections.append(
            f"## {title}\n\n`python -m {' '.join(command)}`\n\n```\n{run(command)}\n```\n"
        )
    (ROOT / "bench" / "RESULTS.md").write_text("\n".join(sections))
    print(f"written {ROOT / 'bench' / 'RESULTS.md'}")


if __name__ == "__main__":
    main()
