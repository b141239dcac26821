"""Parquet export: throughput per configuration, peak memory as the archive grows (1x, 4x and
16x), and the builder with two processes against one.

Every measurement runs in a fresh process, so its peak resident memory (VmHWM) is its own;
with two processes, the workers' peak is shown apart (the largest worker's ru_maxrss).

    .venv/bin/python -m bench.export [--photos 100]
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

from bench.common import in_fresh_process, memory_mib, print_header, workload_archive
from converter.outputs.configurations import IMAGE_CONFIGS
from converter.outputs.export import ExportOptions, export


def measure(archive: Path, config: str, num_proc: int) -> dict[str, float]:
    """Export one configuration of one archive, in this (fresh) process."""
    baseline = memory_mib()["VmRSS"]
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        infos = export(archive, Path(out), [config], ExportOptions(num_proc=num_proc or None))
        wall = time.perf_counter() - start
    examples = sum(split.num_examples for split in infos[config].splits.values())
    return {
        "examples": examples,
        "wall": wall,
        "peak": memory_mib()["VmHWM"],
        "baseline": baseline,
        "workers": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def row(label: str, config: str, procs: int, figures: dict[str, float]) -> str:
    return (
        f"{label:<14} {config:<7} {procs:>5} {figures['examples']:>8} {figures['wall']:>8.1f} "
        f"{figures['examples'] / figures['wall']:>10.1f} {figures['peak']:>9.0f} "
        f"{figures['peak'] - figures['baseline']:>9.0f} {figures['workers']:>11.0f}"
    )


def report(photos: int) -> None:
    sizes = {f"{n}x": workload_archive(n * photos) for n in (1, 4, 16)}
    print(f"workloads of 1x = {photos} photos, 4x and 16x that, shaped like the release")
    header = (
        f"{'archive':<14} {'config':<7} {'procs':>5} {'examples':>8} {'seconds':>8} "
        f"{'examples/s':>10} {'peak MiB':>9} {'+work MiB':>9} {'worker MiB':>11}"
    )
    print_header(header)
    for label, archive in sizes.items():
        for config in IMAGE_CONFIGS:
            figures = in_fresh_process("bench.export", str(archive), config, "1")
            print(row(label, config, 1, figures))
    figures = in_fresh_process("bench.export", str(sizes["4x"]), "pose3d", "2")
    print(row("4x", "pose3d", 2, figures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=100, help="photos of the 1x archive")
    parser.add_argument(
        "--measure", nargs=3, metavar=("ARCHIVE", "CONFIG", "PROCS"), help="internal"
    )
    args = parser.parse_args()
    if args.measure:
        archive, config, procs = args.measure
        print(json.dumps(measure(Path(archive), config, int(procs))))
        return
    report(args.photos)


if __name__ == "__main__":
    main()
