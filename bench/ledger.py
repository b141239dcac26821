"""Where `imagenet3d preprocess` spends its CPU time per object, part by part.

The command runs in this process on the preprocess benchmark's workload, writing to a temporary
folder, with the process held to one CPU: it then draws its photos in its own thread (so that a
part's time is the CPU time of the one thread running it) and OpenCV resamples on one thread.
Each part named in PARTS is wrapped, and a call is charged to the outermost wrapped part it runs
in: the annotation read inside `select_objects`, say, is charged to it. What no part holds (the
loop, the command's start after its imports) is `everything else`. The first three parts are the
floor's own work (bench.preprocess); the rest is what a command adds to it. The imports are
those of the command's own modules and OpenCV, timed before the benchmark's own are loaded, in a
process prepared as the command's entry point prepares it.

    .venv/bin/python -m bench.ledger [--photos 1200] [--modes pose3d pose6d]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from converter.__main__ import prepare_process  # loads neither numpy nor OpenCV

prepare_process()  # as the command's entry point does, before numpy loads
started = time.process_time()
import cv2  # noqa: E402, F401  (imported by the command: its import is measured here)

import converter.cli  # noqa: E402
from converter.outputs import examples, tool_folder  # noqa: E402
from converter.pose.geometry import MODES, Mode  # noqa: E402
from converter.read.source import Source  # noqa: E402

IMPORTS = time.process_time() - started

from bench.common import print_header, workload_archive  # noqa: E402
from bench.preprocess import unpacked  # noqa: E402

# (owner, function name, part); the owner is where the command looks the name up.
PARTS: list[tuple[Any, str, str]] = [
    (examples, "decode_photo", "decoding the photo"),
    (examples, "render", "resampling the canvas"),
    (examples, "encode_jpeg", "encoding the JPEG"),
    (examples, "read_header", "reading the photo's header"),
    (tool_folder, "select_objects", "reading and checking the annotation"),
    (tool_folder, "write_atomic", "writing the files"),
    (examples, "camera_fields", "the camera fields"),
    (tool_folder, "plain_npz", "the .npz buffer"),
    (Source, "photo_bytes", "reading the photo's bytes"),
    (tool_folder, "annotation_arrays", "the annotation arrays"),
]
FLOOR_PARTS = 3


class Ledger:
    """CPU seconds by part, each call charged to the outermost wrapped part running."""

    def __init__(self) -> None:
        self.seconds: Counter[str] = Counter()
        self.running = False

    def charged(self, part: str, function: Callable[..., Any]) -> Callable[..., Any]:
        """`function`, its CPU time added to `part` unless an outer wrapped part is running."""

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if self.running:
                return function(*args, **kwargs)
            self.running = True
            start = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[part] += time.process_time() - start
                self.running = False

        return wrapper


def measure(mode: Mode, photos: int, scratch: Path) -> tuple[Counter[str], float, int]:
    """Each part's CPU seconds, the whole command's, and the objects it wrote under `scratch`.

    Outputs are removed only after every mode has run: on ext4 without a journal, files made
    soon after thousands were removed cost several times more (bench/RESULTS.md).
    """
    release = unpacked(workload_archive(photos))
    ledger = Ledger()
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in PARTS]
    for (owner, name, function), (*_, part) in zip(originals, PARTS, strict=True):
        setattr(owner, name, ledger.charged(part, function))
    out = scratch / mode
    try:
        start = time.process_time()
        command = ["preprocess", str(release), str(out), "--mode", mode, "--num-proc", "1", "-q"]
        with contextlib.redirect_stdout(io.StringIO()):  # its one-line summary
            converter.cli.main(command)
        total = time.process_time() - start
        objects = sum(1 for _ in out.rglob("*.npz"))
    finally:
        for owner, name, function in originals:
            setattr(owner, name, function)
    return ledger.seconds, total, objects


def report(mode: Mode, photos: int, scratch: Path) -> None:
    """One mode's parts in CPU milliseconds per object and as shares of the whole process."""
    ledger, total, objects = measure(mode, photos, scratch)
    parts = [part for _, _, part in PARTS]
    rows = [(part, ledger[part]) for part in parts]
    rows.append(("everything else", total - sum(ledger.values())))
    rows.append(("imports (once, before the command)", IMPORTS))
    whole = total + IMPORTS
    print(f"{mode}: {objects} objects, {whole:.2f} s of CPU, imports included")
    for index, (part, seconds) in enumerate(rows):
        if index == FLOOR_PARTS:
            floor = sum(seconds for _, seconds in rows[:FLOOR_PARTS])
            print(f"  {'the floor parts together':<40} {floor / objects * 1000:>9.3f}")
        print(f"  {part:<40} {seconds / objects * 1000:>9.3f} {seconds / whole:>7.1%}")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=1200, help="workload photos (default 1200)")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    args = parser.parse_args()
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    print_header(f"  {'part':<40} {'ms/object':>9} {'share':>7}")
    with tempfile.TemporaryDirectory(prefix="imagenet3d-ledger-") as scratch:
        for mode in args.modes:
            report(mode, args.photos, Path(scratch))


if __name__ == "__main__":
    main()
