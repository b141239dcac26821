"""`imagenet3d` and `python -m converter`: the command line, in a process set up for it."""

from __future__ import annotations

import os


def prepare_process() -> None:
    """Tell OpenBLAS, before numpy loads it, to start no threads of its own (unless the user
    set it): no command multiplies anything large, and each of its threads (one per further CPU)
    spins at start, 0.07 s of CPU on two CPUs (measured importing numpy), more on more."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def main() -> int:
    """Run the command line in a prepared process."""
    prepare_process()
    from converter.cli import main as command_line

    return command_line()


if __name__ == "__main__":
    raise SystemExit(main())
