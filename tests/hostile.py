"""Reading a hostile release: in a child process whose memory and time are bounded, or in this
one with the peak of Python's memory it took."""

from __future__ import annotations

import subprocess
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from converter.core.errors import DataError, SourceError
from converter.read.mesh import load_cad
from converter.read.source import SPLITS, open_source

# What a hostile case may cost: address space beyond what the child had after its imports,
# and wall time including those imports.
MEMORY = 1 << 30
SECONDS = 30
ROOT = Path(__file__).resolve().parent.parent
_BOUND = f"""
import resource
with open("/proc/self/status") as status:
    size = next(int(line.split()[1]) << 10 for line in status if line.startswith("VmSize:"))
resource.setrlimit(resource.RLIMIT_AS, (size + {MEMORY}, size + {MEMORY}))
"""


def first_error(spec: str) -> str:
    """Open `spec` and read every list, photo, annotation file and mesh: the first error's
    message, or an empty string if there was none."""
    try:
        source = open_source(spec)
        for split in SPLITS:
            for category, image_id in source.image_ids(split):
                source.photo_bytes(category, image_id)
                source.objects(category, image_id)
        for category in source.categories():
            for index in source.cad_indices(category):
                load_cad(source, category, index)
    except (DataError, SourceError) as error:
        return str(error)
    return ""


def run_bounded(case: str, setup: str = "from tests.hostile import first_error") -> str:
    """Run `setup`, then `case` with at most MEMORY more address space, in a child Python that
    must end within SECONDS: what it printed.

    The bound is on what the case adds, as the imports alone reserve more than a gigabyte of
    address space (numpy's and pyarrow's arenas) without using it.
    """
    script = f"{setup}\n{_BOUND}\n{case}"
    run = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=SECONDS,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout.strip()


def first_error_bounded(spec: Path | str) -> str:
    """`first_error` of `spec`, read in a bounded child process."""
    return run_bounded(f"print(first_error({str(spec)!r}))")


def peak_allocated(call: Callable[[], Any]) -> int:
    """The most memory Python's allocators held at once while `call` ran."""
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
