"""Pose preprocessing as users run it: `imagenet3d preprocess` against the public tool's algorithm.

Both are whole commands in fresh processes (start-up and every file written included), one after
the other on the same unpacked workload, one process each and then two. Wall time is what a user
waits; CPU time (the children's rusage, workers included) is what the work costs, and is less
disturbed by other jobs on a shared machine. Both are per kept object. Beside them:

- the floor: what no implementation can skip (decode each photo once, resample the canvases,
  encode them as JPEG), with the fastest codecs at hand (libjpeg-turbo's decoder through
  simplejpeg, OpenCV's encoder), timed alone in a fresh process over photos and records read
  beforehand, three ways: on OpenCV's threads, on one thread, and with photos drawn on a
  thread per CPU (OpenCV on one) as one process of `imagenet3d preprocess` draws them. Threads
  shorten the wall time and cost CPU time, so the floor on each clock is the lowest of the
  three;
- our command with its drawing left out (`bench.undrawn`): what a run costs beside the floor;
- the Parquet export of the same pose configuration, as a whole command, in examples per second.

Each command runs `--repeat` times, the two tools taking turns (every other round in the reverse
order), and each figure in the table is the median of its runs: on a shared machine the same
command varies by a tenth or more from run to run, and creating a file on this machine's disk
cost from 0.04 to 0.99 ms, by folder and by minute (measured), while each object makes two. The
ratios judged are paired: each round's ratio of two commands run in it one after the other (the
floor's, the lowest of that round's three ways), and their median, printed with their range. A
machine that slows for a minute slows both commands of a pair, so a pair's ratio moves less than
either command's time; a ratio of medians may pair one tool's run from a slow round with the
other's from a quick one. The ratio of the medians is printed beside it. The commands
write under the temporary folder (TMPDIR), where what creating a file costs is printed at the
start and at the end. Every run writes a folder of its own, removed only at the end, so that no
command pays for deleting another's files.

    .venv/bin/python -m bench.preprocess [--photos 1200] [--modes pose3d pose6d] [--repeat 5]
"""

from __future__ import annotations

import argparse
import compileall
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from bench.common import (
    CACHE,
    ROOT,
    file_creation_ms,
    in_fresh_process,
    print_header,
    workload_archive,
)
from bench.public_tool import canvas_and_values, with_numbers
from converter.core.ahead import ahead
from converter.core.workers import threads_per_process
from converter.outputs.examples import Canvases, draw_canvases, select_objects
from converter.outputs.tool_folder import layout_options
from converter.pose.canvas import (
    decode_photo,
    read_header,
    render,
    resample_on_one_thread,
)
from converter.pose.geometry import MODES, Mode, placement
from converter.read.source import SPLITS, Source, open_source

# At least this many times faster per object than the public algorithm, by processes.
TARGET_OVER_PUBLIC = {1: 2.0, 2: 1.8}
TARGET_OVER_FLOOR = 1.3  # at most this many times the floor's time per object
TARGET_SIZE = 1.05  # at most this many times the bytes the public tool writes
# Each canvas against the public algorithm's, before JPEG encoding: the most its mean difference
# and any one difference may be, in levels (the tests' tolerance, on the sample).
CANVAS_MEAN, CANVAS_MAX = 0.5, 8
# The options `imagenet3d preprocess` runs with by default, for the floor and the canvas check.
OPTIONS = layout_options("public")


@dataclass(frozen=True)
class Run:
    """One whole command: its objects written, seconds of wall and CPU, and bytes written; for
    the median of several runs, how far their CPU times spread (largest over smallest)."""

    label: str
    objects: int
    wall: float
    cpu: float
    written: int
    spread: float = 1.0

    def per_object(self, seconds: float) -> float:
        return seconds / self.objects * 1000

    def on(self, clock: str) -> float:
        """Milliseconds per object on `clock` (wall or cpu)."""
        return self.per_object(getattr(self, clock))

    def row(self, mode: str, procs: int) -> str:
        return (
            f"{mode:<7} {procs:>5}  {self.label:<24} {self.objects:>7} {self.wall:>7.1f} "
            f"{self.cpu:>7.1f} {self.per_object(self.wall):>11.2f} "
            f"{self.per_object(self.cpu):>10.2f} {self.written / 1e6:>10.1f} "
            f"{self.spread:>9.2f}x"
        )


Measure = Callable[[Path, Path, Mode, int], Run]


HEADER = (
    f"{'mode':<7} {'procs':>5}  {'command':<24} {'objects':>7} {'wall s':>7} {'cpu s':>7} "
    f"{'wall ms/obj':>11} {'cpu ms/obj':>10} {'MB written':>10} {'cpu spread':>10}"
)


def unpacked(archive: Path) -> Path:
    """The archive unpacked once beside it (the public tool reads a folder); its release root."""
    target = CACHE / archive.stem
    if not target.exists():
        staging = Path(tempfile.mkdtemp(dir=CACHE, prefix=".unpacking-"))
        with zipfile.ZipFile(archive) as source:
            source.extractall(staging)
        staging.rename(target)
    return next(path for path in target.iterdir() if (path / "images").is_dir())


def imagenet3d(*args: str) -> list[str]:
    """The `imagenet3d` command as installed beside this Python."""
    script = Path(sys.executable).with_name("imagenet3d")
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "converter", *args]


def run_command(command: list[str]) -> tuple[str, float, float]:
    """Run `command` in a fresh process: its output, and its (and its workers') wall and CPU
    seconds; a failure stops the benchmark with the command's own last words."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return done.stdout, wall, cpu


def timed(label: str, command: list[str], out: Path, count: str) -> Run:
    """Run `command` writing into the new folder `out`; count its `count` files afterwards."""
    _, wall, cpu = run_command(command)
    files = [path for path in out.rglob("*") if path.is_file()]
    objects = sum(path.name.endswith(count) for path in files)
    written = sum(path.stat().st_size for path in files)
    return Run(label, objects, wall, cpu, written)


def public_tool(release: Path, out: Path, mode: Mode, procs: int) -> Run:
    script = ROOT / "bench" / "public_tool.py"
    command = [sys.executable, str(script), str(release), str(out), "--mode", mode]
    return timed("public tool", [*command, "--num-workers", str(procs)], out, ".npz")


def ours(release: Path, out: Path, mode: Mode, procs: int) -> Run:
    command = imagenet3d("preprocess", str(release), str(out), "--mode", mode)
    return timed("imagenet3d preprocess", [*command, "--num-proc", str(procs)], out, ".npz")


def undrawn(release: Path, out: Path, mode: Mode, procs: int) -> Run:
    """Our command with every canvas one fixed JPEG (`bench.undrawn`): all but the drawing."""
    command = [sys.executable, "-m", "bench.undrawn", str(release), str(out), "--mode", mode]
    return timed("preprocess, not drawing", [*command, "--num-proc", str(procs)], out, ".npz")


def parquet_export(release: Path, out: Path, mode: Mode) -> Run:
    """The export writes no file per example: its objects are counted from its printed counts."""
    command = imagenet3d("export", str(release), str(out), "--config", mode, "--num-proc", "1")
    stdout, wall, cpu = run_command(command)
    line = next(line for line in stdout.splitlines() if line.startswith(f"{mode}:"))
    objects = sum(int(word) for word in line.replace(",", " ").split() if word.isdigit())
    written = sum(path.stat().st_size for path in out.rglob("*") if path.is_file())
    return Run("imagenet3d export", objects, wall, cpu, written)


# The ways the floor runs (`floor`), with their labels.
FLOOR_WAYS = {
    "opencv": "floor, OpenCV threads",
    "one": "floor, one thread",
    "photos": "floor, photo threads",
}


def floor_on(way: str) -> Measure:
    """The floor run one of FLOOR_WAYS, measured in a fresh process (`floor`); the measure's
    `out` and `procs` are not used."""

    def measure(release: Path, out: Path, mode: Mode, procs: int) -> Run:
        bare = in_fresh_process("bench.preprocess", str(release), mode, way)
        return Run(FLOOR_WAYS[way], int(bare["objects"]), bare["wall"], bare["cpu"], 0)

    return measure


def lowest_floor(runs: Sequence[Run]) -> Run:
    """The floor on each clock: the lowest of the ways of running it."""
    wall, cpu = min(run.wall for run in runs), min(run.cpu for run in runs)
    return Run("floor", runs[0].objects, wall, cpu, 0)


def median_run(runs: list[Run]) -> Run:
    """One command's runs as one: the median of their wall and of their CPU times."""
    first = runs[0]
    if any((run.objects, run.written) != (first.objects, first.written) for run in runs):
        raise SystemExit(f"{first.label}: runs wrote different outputs")
    wall = statistics.median(run.wall for run in runs)
    cpus = [run.cpu for run in runs]
    spread = max(cpus) / min(cpus)
    return Run(first.label, first.objects, wall, statistics.median(cpus), first.written, spread)


def kept_photos(source: Source) -> Iterator[tuple[str, str, list[dict[str, Any]]]]:
    """Each photo with objects kept under OPTIONS: its category, id and kept records."""
    for split in SPLITS:
        for category, image_id in source.image_ids(split):
            kept = select_objects(source, category, image_id, OPTIONS)
            if kept:
                yield category, image_id, kept


def floor(release: Path, mode: Mode, way: str) -> dict[str, float]:
    """In this (fresh) process: decode each photo once, resample its canvases, encode them, the
    `way` of FLOOR_WAYS, with the command's own `draw_canvases` (pose6d objects of one photo
    share their canvas, so each distinct placement is drawn once). Photos and kept records are
    read first and not timed.
    """
    if way != "opencv":
        resample_on_one_thread()
    threads = threads_per_process(1) if way == "photos" else 1  # as one process of ours
    source = open_source(release)
    work = [(source.photo_bytes(*photo[:2]), photo[2]) for photo in kept_photos(source)]
    objects = sum(len(kept) for _, kept in work)

    def draw(item: tuple[bytes, list[dict[str, Any]]]) -> Canvases:
        return draw_canvases(item[0], "photo", item[1], mode, OPTIONS)

    cpu_start, wall_start = time.process_time(), time.perf_counter()
    for _, drawn in ahead(work, draw, threads):
        drawn.result()
    cpu, wall = time.process_time() - cpu_start, time.perf_counter() - wall_start
    return {"objects": objects, "wall": wall, "cpu": cpu}


def canvas_differences(release: Path, mode: Mode) -> tuple[int, float, int]:
    """Every kept object's canvas against the public algorithm's, before JPEG encoding: how
    many, the largest mean difference of one canvas and the largest difference of a pixel.

    The public side decodes with Pillow and resizes the whole photo (`bench/public_tool.py`);
    ours is the canvas `imagenet3d preprocess` encodes (in OpenCV's channel order).
    """
    source = open_source(release)
    args = argparse.Namespace(
        mode=mode,
        height=OPTIONS.height,
        width=OPTIONS.width,
        target_distance=OPTIONS.target_distance,
    )
    count, worst_mean, worst = 0, 0.0, 0
    for category, image_id, kept in kept_photos(source):
        data = source.photo_bytes(category, image_id)
        header = read_header(data, image_id)
        photo = decode_photo(header)
        rgb = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
        released = source.annotation_array(category, image_id)
        for record in kept:
            ours = render(photo, placement(mode, record, header.size, OPTIONS), OPTIONS)
            theirs, _ = canvas_and_values(rgb, with_numbers(released[record["index"]]), args)
            difference = np.abs(ours[..., ::-1].astype(np.int16) - theirs.astype(np.int16))
            count += 1
            worst_mean = max(worst_mean, float(difference.mean()))
            worst = max(worst, int(difference.max()))
    return count, worst_mean, worst


def print_room(public: Run, base: Run, clock: str) -> None:
    """How far the public tool is above the floor on `clock`, and how much time per object the
    target over the public tool leaves for everything but decoding, resampling and encoding."""
    ceiling = per_object_ratio(public, base, clock)
    allowed = public.on(clock) / TARGET_OVER_PUBLIC[1]
    room = allowed - base.on(clock)
    print(
        f"  {clock}: public tool over the floor {ceiling:.2f}x; {TARGET_OVER_PUBLIC[1]:.1f}x "
        f"faster than it leaves {room:.2f} ms per object above the floor"
    )


def print_parts(mine: Run, rest: Run, base: Run, clock: str) -> None:
    """Our command's time per object on `clock` as its two parts: everything but the drawing
    (`undrawn`), and what is left, set beside the floor, which is the drawing alone."""
    whole, beside = mine.on(clock), rest.on(clock)
    print(
        f"  {clock}: ours {whole:.2f} ms per object: {beside:.2f} not drawing "
        f"({beside / whole:.0%}), {whole - beside:.2f} drawing against the floor's "
        f"{base.on(clock):.2f}"
    )


def verdict(
    name: str, achieved: float, target: float, at_least: bool, unit: str = "x"
) -> tuple[str, bool]:
    met = achieved >= target if at_least else achieved <= target
    bound = "at least" if at_least else "at most"
    figures = f"{achieved:5.2f}{unit} ({bound} {target:.2f}{unit})"
    return f"{name:<48} {figures} {'met' if met else 'NOT met'}", met


def per_object_ratio(slow: Run, fast: Run, clock: str) -> float:
    """How many times `fast` is faster than `slow` per object, on the `clock` (wall or cpu)."""
    return slow.on(clock) / fast.on(clock)


# Each round runs these in this order: (what, processes).
ROUND: list[tuple[Measure, int]] = [
    (public_tool, 1),
    (ours, 1),
    (public_tool, 2),
    (ours, 2),
    (undrawn, 1),
    *((floor_on(way), 1) for way in FLOOR_WAYS),
]


def measured(release: Path, scratch: Path, mode: Mode, repeat: int) -> list[list[Run]]:
    """`repeat` rounds of ROUND, each run writing a new folder under `scratch`: each slot's runs,
    in the order of the rounds.

    Every other round runs ROUND backwards: on a machine that speeds up or slows down in the
    course of a round (this shared host did, by a quarter within minutes), the commands run
    early and those run late then swap places, and no command is favoured by its slot.
    """
    runs: list[list[Run]] = [[] for _ in ROUND]
    for round_index in range(repeat):
        slots = list(enumerate(ROUND))
        for slot, (measure, procs) in slots[::-1] if round_index % 2 else slots:
            out = scratch / f"{mode}-{round_index}-{slot}"
            runs[slot].append(measure(release, out, mode, procs))
    return runs


@dataclass(frozen=True)
class Paired:
    """How many times faster `fast` is than `slow` per object, on one clock, round by round (see
    the module's docstring): the median of the rounds' ratios and their range, and for
    comparison the ratio of the two commands' medians."""

    median: float
    low: float
    high: float
    of_medians: float

    @classmethod
    def of(cls, slow: Sequence[Run], fast: Sequence[Run], clock: str, of_medians: float) -> Paired:
        ratios = [
            per_object_ratio(one, other, clock) for one, other in zip(slow, fast, strict=True)
        ]
        return cls(statistics.median(ratios), min(ratios), max(ratios), of_medians)

    def verdict(self, name: str, target: float, at_least: bool) -> tuple[str, bool]:
        """Print the ratio with its rounds' range beside `name`; judge its median."""
        print(
            f"  {name} {self.median:.2f}x (rounds {self.low:.2f}x to {self.high:.2f}x; "
            f"ratio of medians {self.of_medians:.2f}x)"
        )
        return verdict(name, self.median, target, at_least)


def compare_mode(release: Path, scratch: Path, mode: Mode, repeat: int) -> list[tuple[str, bool]]:
    """Print one mode's rows; its verdicts against the public tool, the floor and sizes."""
    rounds = measured(release, scratch, mode, repeat)
    public_runs_1, our_runs_1, public_runs_2, our_runs_2, _, *floor_runs = rounds
    theirs_1, mine_1, theirs_2, mine_2, rest, *floors = (median_run(runs) for runs in rounds)
    base = lowest_floor(floors)
    base_rounds = [lowest_floor(ways) for ways in zip(*floor_runs, strict=True)]
    verdicts = []
    for procs, theirs, mine, their_rounds, my_rounds in (
        (1, theirs_1, mine_1, public_runs_1, our_runs_1),
        (2, theirs_2, mine_2, public_runs_2, our_runs_2),
    ):
        print(theirs.row(mode, procs))
        print(mine.row(mode, procs))
        if theirs.objects != mine.objects:
            print(f"  objects differ: {theirs.objects} against {mine.objects}")
        for clock in ("wall", "cpu"):
            name = f"{mode}, {procs} proc, {clock}: ours faster than public by"
            ratio = Paired.of(their_rounds, my_rounds, clock, per_object_ratio(theirs, mine, clock))
            verdicts.append(ratio.verdict(name, TARGET_OVER_PUBLIC[procs], at_least=True))
        if procs == 1:
            name = f"{mode}: bytes written, ours over public's"
            size = mine.written / theirs.written
            verdicts.append(verdict(name, size, TARGET_SIZE, at_least=False))
    for run in floors:
        print(run.row(mode, 1))
    print(rest.row(mode, 1))
    for clock in ("wall", "cpu"):
        print_room(theirs_1, base, clock)
        print_parts(mine_1, rest, base, clock)
    for clock in ("wall", "cpu"):
        name = f"{mode}, 1 proc, {clock}: ours over the floor"
        ratio = Paired.of(our_runs_1, base_rounds, clock, per_object_ratio(mine_1, base, clock))
        verdicts.append(ratio.verdict(name, TARGET_OVER_FLOOR, at_least=False))
    count, worst_mean, worst = canvas_differences(release, mode)
    print(f"  canvases against the public algorithm's, before JPEG, {count} objects:")
    print(f"  largest mean difference {worst_mean:.3f}, largest difference {worst} levels")
    verdicts.append(
        verdict(
            f"{mode}: largest canvas mean difference", worst_mean, CANVAS_MEAN, False, " levels"
        )
    )
    verdicts.append(
        verdict(f"{mode}: largest pixel difference", worst, CANVAS_MAX, False, " levels")
    )
    exported = parquet_export(release, scratch / f"{mode}-export", mode)
    print(exported.row(mode, 1))
    speeds = [run.objects / run.wall for run in (exported, mine_1)]
    print(f"  export {speeds[0]:.0f} examples/s against preprocess {speeds[1]:.0f} examples/s")
    return verdicts


def print_disk(scratch: Path, when: str) -> None:
    """What creating a file costs where the commands write (see `file_creation_ms`)."""
    print(
        f"creating a 60 kB file where the commands write, {when}: {file_creation_ms(scratch):.3f} ms"
    )


def report(photos: int, modes: list[Mode], repeat: int) -> bool:
    """Print the table and the verdicts; True when every target is met."""
    # Our modules compiled as an installed package's are (pip compiles what it installs): in a
    # checkout where bytecode may not be written (PYTHONDONTWRITEBYTECODE), every run would
    # compile them again, 0.1 s of CPU the public tool's imports never pay.
    compileall.compile_dir(ROOT / "converter", quiet=1)
    archive = workload_archive(photos)
    release = unpacked(archive)
    print(f"workload: {photos} photos shaped like the release, unpacked at {release}")
    print(f"{repeat} rounds, the tools taking turns, every other round backwards")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="imagenet3d-bench-") as scratch:
        print_disk(Path(scratch), "at start")
        print_header(HEADER)
        verdicts = [
            line for mode in modes for line in compare_mode(release, Path(scratch), mode, repeat)
        ]
        print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print_disk(Path(scratch), "at end")
    print()
    for line, _ in verdicts:
        print(line)
    return all(met for _, met in verdicts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=1200, help="workload photos (default 1200)")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--repeat", type=int, default=5, help="runs of each command (default 5)")
    parser.add_argument(
        "--measure", nargs=3, metavar=("RELEASE", "MODE", "WAY"), help="internal: floor"
    )
    args = parser.parse_args()
    if args.measure:
        release, mode, way = args.measure
        print(json.dumps(floor(Path(release), mode, way)))
        return 0
    return 0 if report(args.photos, args.modes, args.repeat) else 1


if __name__ == "__main__":
    raise SystemExit(main())
