"""The commands at 1 %, 10 % and 100 % of the real release's size: time per photo and per object,
peak memory, bytes read to stream the first example, and the shards written.

Each archive has the release's 200 categories and a fraction of its 70,000 photos (small photos:
what grows with the release is the member count, the names, the rows and the objects). Every
command runs in a fresh process with one worker (`--num-proc 1`), so its peak resident memory
(VmHWM) and CPU time are its own, without progress bars. Pose canvases are 160 x 200 pixels.
Streaming reads the archive from the loopback range server.

    .venv/bin/python -m bench.scale [--fractions 0.01 0.1 1]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from bench.common import CACHE, ROOT, memory_mib, print_header
from testbed.scaled import Scale, write_scaled_release

# Canvases as small as the photos: what grows with the release is measured, not the cost of a
# large canvas (bench.preprocess measures that).
CANVAS = ("--height", "160", "--width", "200")
ONE = ("--num-proc", "1")
COMMANDS = {
    "inspect": ["inspect", "{archive}"],
    "export raw": ["export", "{archive}", "{out}", "--config", "raw", *ONE],
    "export pose3d": ["export", "{archive}", "{out}", "--config", "pose3d", *ONE, *CANVAS],
    "preprocess pose3d": ["preprocess", "{archive}", "{out}", "--mode", "pose3d", *ONE, *CANVAS],
}
STREAM = "stream 1st example"
INDEXES = ("zipfile", "ZipIndex")
TIME_GROWTH = 1.25  # at most: time per photo at 100 % over that at 10 %
MEMORY_GROWTH_MIB = 150  # at most: peak memory at 100 % less that at 10 %
FIRST_EXAMPLE_EXTRA = 1 << 20  # at most: bytes read for the first example beyond the directory
_COUNTS = re.compile(r"^(?P<split>\w+): (?P<photos>\d+) photos, (?P<objects>\d+) objects", re.M)


def scaled_archive(fraction: float) -> Path:
    """The release-shaped archive of `fraction` of the release's photos (seed 0), written once."""
    scale = Scale.of_release(fraction)
    path = CACHE / f"scaled-{scale.categories}x{scale.train}+{scale.val}-seed0.zip"
    return path if path.exists() else write_scaled_release(path, scale)


def _usage() -> dict[str, float]:
    """This process's CPU seconds (its workers' too) and peak resident memory."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime
    return {"cpu": cpu, "peak": memory_mib()["VmHWM"]}


def measure_command(argv: list[str]) -> dict[str, float]:
    """Run one `imagenet3d` command in this (fresh) process."""
    from converter.cli import main

    start = time.perf_counter()
    status = main(argv)
    if status:
        raise SystemExit(f"imagenet3d {' '.join(argv)} exited with {status}")
    return {"wall": time.perf_counter() - start, **_usage()}


def measure_stream(archive: Path) -> dict[str, float]:
    """Stream the first `raw` example of the archive from the loopback range server."""
    from imagenet3d import ImageNet3D
    from testbed.servers.fileserver import FileServer

    with FileServer(archive.parent) as server:
        start = time.perf_counter()
        builder = ImageNet3D(config_name="raw", data_dir=f"{server.url}/{archive.name}")
        next(iter(builder.as_streaming_dataset(split="train")))
        wall = time.perf_counter() - start
        served = server.traffic.bytes_served
    return {"wall": wall, "bytes": served, **_usage()}


def measure_index(kind: str, archive: Path) -> dict[str, float]:
    """Memory kept, and at the peak, by opening the archive's index (zipfile's, or ours)."""
    from converter.read.zip_index import ZipIndex

    before = memory_mib()["VmRSS"]
    start = time.perf_counter()
    with archive.open("rb") as file:
        index = zipfile.ZipFile(file) if kind == "zipfile" else ZipIndex(file)
        wall = time.perf_counter() - start
        now = memory_mib()
        del index
    return {"wall": wall, "kept": now["VmRSS"] - before, "peak": now["VmHWM"] - before}


def central_directory_bytes(archive: Path) -> int:
    with zipfile.ZipFile(archive) as opened:
        return opened.start_dir and archive.stat().st_size - opened.start_dir


def in_fresh_process(*args: str) -> tuple[dict[str, float], str]:
    """Run `python -m bench.scale --measure ARGS`: its figures, and what the command printed."""
    command = [sys.executable, "-m", "bench.scale", "--measure", *args]
    env = {**os.environ, "HF_DATASETS_DISABLE_PROGRESS_BARS": "1"}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}")
    *printed, last = done.stdout.strip().splitlines()
    return json.loads(last), "\n".join(printed)


def shards(out: Path) -> str:
    """The Parquet shards an export wrote, per split: how many, and their sizes in MB."""
    found: dict[str, list[int]] = {}
    for path in sorted(out.glob("*/*.parquet")):
        found.setdefault(path.name.split("-")[0], []).append(path.stat().st_size)
    return "; ".join(
        f"{split} {len(sizes)} x {min(sizes) / 1e6:.0f}-{max(sizes) / 1e6:.0f} MB"
        for split, sizes in found.items()
    )


def run_scale(fraction: float) -> dict[str, dict[str, float | str]]:
    """Every command at one scale: figures per command."""
    archive = scaled_archive(fraction)
    results: dict[str, dict[str, float | str]] = {}
    counts: dict[str, int] = {}
    for name, template in COMMANDS.items():
        out = Path(tempfile.mkdtemp(prefix="imagenet3d-scale-", dir=CACHE))
        argv = [part.format(archive=archive, out=out / "out") for part in template]
        figures, printed = in_fresh_process(*argv)
        if name == "inspect":
            for match in _COUNTS.finditer(printed):
                counts["photos"] = counts.get("photos", 0) + int(match["photos"])
                counts["objects"] = counts.get("objects", 0) + int(match["objects"])
        results[name] = {**figures, "shards": shards(out / "out") if "export" in name else ""}
        shutil.rmtree(out)
    figures, _ = in_fresh_process("stream", str(archive))
    results[STREAM] = {**figures, "shards": ""}
    for figures in results.values():
        figures.update(counts)
    results[STREAM]["directory"] = central_directory_bytes(archive)
    results[STREAM]["archive"] = archive.stat().st_size
    results[STREAM]["indexes"] = {
        kind: in_fresh_process("index", kind, str(archive))[0] for kind in INDEXES
    }
    return results


def print_scale(fraction: float, results: dict[str, dict[str, float | str]]) -> None:
    first = results["inspect"]
    stream = results[STREAM]
    print(
        f"\n{fraction:.0%} of the release: {first['photos']} photos, {first['objects']} objects, "
        f"archive {stream['archive'] / 1e6:.0f} MB, central directory "
        f"{stream['directory'] / 1e6:.2f} MB; load average {_load()}"
    )
    header = (
        f"{'command':<19} {'wall s':>7} {'cpu s':>7} {'ms/photo':>9} {'ms/object':>9} "
        f"{'cpu ms/photo':>12} {'peak MiB':>8}  shards"
    )
    print_header(header)
    for name, figures in results.items():
        photos, objects = figures["photos"], figures["objects"]
        print(
            f"{name:<19} {figures['wall']:>7.1f} {figures['cpu']:>7.1f} "
            f"{1000 * figures['wall'] / photos:>9.3f} {1000 * figures['wall'] / objects:>9.3f} "
            f"{1000 * figures['cpu'] / photos:>12.3f} {figures['peak']:>8.0f}  {figures['shards']}"
        )
    extra = stream["bytes"] - stream["directory"]
    print(
        f"first example: {stream['bytes'] / 1e6:.2f} MB read, the central directory and "
        f"{extra / 1e6:.3f} MB more"
    )
    for kind, figures in stream["indexes"].items():
        print(
            f"index by {kind:<8}: {figures['wall']:.2f} s, keeps {figures['kept']:.0f} MiB, "
            f"{figures['peak']:.0f} MiB at the peak"
        )


def verdicts(small: dict, large: dict) -> list[str]:
    """How each cost grows from the 10 % archive to the full one, against the targets."""
    lines = []
    for name in large:
        ratio = _per_photo(large[name], "cpu") / _per_photo(small[name], "cpu")
        wall = _per_photo(large[name], "wall") / _per_photo(small[name], "wall")
        growth = large[name]["peak"] - small[name]["peak"]
        lines.append(
            f"{name:<19} cpu per photo x{ratio:.2f}, wall per photo x{wall:.2f} "
            f"(at most x{TIME_GROWTH}) {_met(ratio <= TIME_GROWTH)}; peak memory "
            f"{growth:+.0f} MiB (at most {MEMORY_GROWTH_MIB}) {_met(growth < MEMORY_GROWTH_MIB)}"
        )
    extra = large[STREAM]["bytes"] - large[STREAM]["directory"]
    lines.append(
        f"first example beyond the central directory: {extra / 1e6:.3f} MB (at most "
        f"{FIRST_EXAMPLE_EXTRA / 1e6:.3f}) {_met(extra <= FIRST_EXAMPLE_EXTRA)}"
    )
    return lines


def _per_photo(figures: dict, kind: str) -> float:
    return figures[kind] / figures["photos"]


def _met(met: bool) -> str:
    return "met" if met else "NOT met"


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.01, 0.1, 1.0])
    parser.add_argument("--measure", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        what, *rest = args.measure
        if what == "stream":
            figures = measure_stream(Path(rest[0]))
        elif what == "index":
            figures = measure_index(rest[0], Path(rest[1]))
        else:
            figures = measure_command(args.measure)
        print(json.dumps(figures))
        return
    CACHE.mkdir(parents=True, exist_ok=True)
    print(f"load average at start: {_load()}")
    measured = {}
    for fraction in args.fractions:
        measured[fraction] = run_scale(fraction)
        print_scale(fraction, measured[fraction])
    print(f"\nload average at end: {_load()}")
    if {0.1, 1.0} <= measured.keys():
        print("\nfrom 10 % to 100 % of the release:")
        print("\n".join(verdicts(measured[0.1], measured[1.0])))


if __name__ == "__main__":
    main()
