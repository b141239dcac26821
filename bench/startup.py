"""Start-up: `imagenet3d --help` against importing numpy and Pillow, the floor of any command.

.venv/bin/python -m bench.startup

Each command runs RUNS times in a fresh process; the median wall time is printed for both, with
their ratio and whether it is within TARGET.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = 5
TARGET = 2.0
COMMANDS = {
    "python -c 'import numpy, PIL.Image'": [sys.executable, "-c", "import numpy, PIL.Image"],
    "imagenet3d --help": [str(Path(sys.executable).with_name("imagenet3d")), "--help"],
}


def median_seconds(command: list[str]) -> float:
    """Median wall time of RUNS fresh runs, after one unmeasured run warms the file cache."""
    subprocess.run(command, capture_output=True, check=True)
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    medians = {label: median_seconds(command) for label, command in COMMANDS.items()}
    for label, seconds in medians.items():
        print(f"{label:<36} {seconds * 1000:7.0f} ms  (median of {RUNS})")
    floor, help_ = medians.values()
    ratio = help_ / floor
    verdict = "within" if ratio <= TARGET else "NOT within"
    print(f"imagenet3d --help takes {ratio:.2f}x the imports: {verdict} the {TARGET:g}x target")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
