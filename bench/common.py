"""What every benchmark shares: cached archives, memory readings, and fresh-process measuring."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from converter.sample import SAMPLE_VERSION, cached_sample
from testbed.workload import write_workload

CACHE = Path(tempfile.gettempdir()) / "imagenet3d-bench"
ROOT = Path(__file__).resolve().parent.parent


def sample_archive() -> Path:
    """The built-in sample (seed 0), as `imagenet3d ... sample` uses it."""
    return cached_sample(seed=0)


def workload_archive(photos: int) -> Path:
    """A workload of `photos` photos shaped like the release (seed 0), generated once."""
    path = CACHE / f"workload-v{SAMPLE_VERSION}-{photos}-seed0.zip"
    if not path.exists():
        write_workload(path, photos, seed=0)
    return path


def memory_mib() -> dict[str, float]:
    """Resident memory now and at its peak (VmRSS, VmHWM): unlike ru_maxrss, which Linux carries
    over from the parent through exec, VmHWM belongs to this process image alone."""
    status = Path("/proc/self/status").read_text().splitlines()
    fields = dict(line.split(":", 1) for line in status if line.startswith(("VmRSS", "VmHWM")))
    return {key: int(value.split()[0]) / 1024 for key, value in fields.items()}


def print_header(header: str) -> None:
    """A table's column names, underlined to their width."""
    print(header)
    print("-" * len(header))


def in_fresh_process(module: str, *args: str) -> dict[str, float]:
    """Run `python -m module --measure ARGS` and read the JSON line it prints last."""
    command = [sys.executable, "-m", module, "--measure", *args]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def file_creation_ms(folder: Path, count: int = 200, size: int = 60_000) -> float:
    """The median milliseconds to create, write and close one `size`-byte file in a new folder
    under `folder`: on a virtual machine's disk this moves by a factor of twenty from one minute
    to the next, and a preprocessing run pays it twice per object."""
    data = os.urandom(size)
    with tempfile.TemporaryDirectory(dir=folder, prefix="creation-") as scratch:
        times = []
        for index in range(count):
            start = time.perf_counter()
            Path(scratch, f"{index}.bin").write_bytes(data)
            times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000
