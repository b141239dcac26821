"""Worker processes: how many a run starts by default, and how they end with it.

By default a run uses every CPU this process may run on, with processes or threads. Ctrl-C and
SIGTERM end a whole run, worker processes included, with one line and the shell's exit status
(128 plus the signal's number: 130 and 143).

The terminal sends Ctrl-C to every process of the job; SIGTERM often reaches the main process
alone. Workers ignore Ctrl-C and keep SIGTERM's default action, so the main process alone reacts:
it ends its workers first (a worker left running would act on a half-shut-down pool and print its
errors), then raises `KeyboardInterrupt` for either signal, so that every file being written is
abandoned as on any error. If shutting down takes longer than `GRACE` seconds (or a second signal
comes), the run ends at once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
WORDS = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated"}
GRACE = 3.0
_JOIN_SECONDS = 1.0


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity, which containers and `taskset` narrow),
    else the machine's count."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def threads_per_process(num_proc: int) -> int:
    """The threads each of `num_proc` processes may keep busy: the usable CPUs shared out."""
    return max(1, usable_cpus() // max(1, num_proc))


class Stop:
    """The first stop signal a run received, and the one line that reports it."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.pid = os.getpid()
        self.signal: int | None = None
        self._reported = False
        # Reentrant: a second signal's handler may run in the main thread while it writes.
        self._reporting = threading.RLock()

    @property
    def status(self) -> int:
        return 128 + (self.signal or signal.SIGINT)

    def report(self) -> int:
        """Write the run's one line (once, whoever asks first) and give its exit status.

        The line is one write, and a later asker (the grace deadline, about to end the process)
        waits until it is written: ending the run then never cuts the line short.
        """
        with self._reporting:
            if not self._reported:
                self._reported = True
                word = WORDS.get(self.signal or signal.SIGINT, "stopped")
                sys.stderr.write(f"{self.prefix}: {word}\n")
                sys.stderr.flush()
        return self.status

    def received(self, signum: int, frame: FrameType | None) -> None:
        """The main process's handler: the first signal ends the workers and raises, a second
        ends the run now. In a worker forked just before it could set its own handlers (a pool
        ended as soon as it started, say), it does what the worker's would: Ctrl-C is ignored and
        SIGTERM ends the worker, which a pool waits for."""
        if os.getpid() != self.pid:
            if signum == signal.SIGTERM:
                signal.signal(signum, signal.SIG_DFL)
                os.kill(os.getpid(), signum)
            return
        if self.signal is not None:
            self._end_now()
        self.signal = signum
        deadline = threading.Timer(GRACE, self._end_now)
        deadline.daemon = True
        deadline.start()
        end_workers()
        raise KeyboardInterrupt

    def _end_now(self) -> None:
        end_workers(kill=True)
        os._exit(self.report())


_running: Stop | None = None


@contextlib.contextmanager
def stopping(prefix: str) -> Iterator[Stop]:
    """Within the block, Ctrl-C and SIGTERM stop the run as described above; `prefix` begins the
    line reporting it. Outside the main thread (where handlers cannot be set) nothing changes."""
    global _running
    stop = Stop(prefix)
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = {signum: signal.signal(signum, stop.received) for signum in STOP_SIGNALS}
    _running = stop
    try:
        yield stop
    finally:
        _running = None
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if stop.signal is not None:
            end_workers()


def become_worker() -> None:
    """In a worker: ignore Ctrl-C and die on SIGTERM. A forked worker does so as it is born (a
    signal that reached it before is ignored by the inherited handler); a worker started as a
    fresh interpreter, only once its imports are done."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _forked() -> None:
    """A process forked during a run (a `datasets` pool worker or manager) is a worker."""
    if _running is not None:
        become_worker()


def end_workers(*, kill: bool = False) -> None:
    """End every worker process this one started (through `multiprocessing` or `multiprocess`,
    which `datasets` uses), and wait a moment for each."""
    modules = [sys.modules.get(name) for name in ("multiprocessing", "multiprocess")]
    children = [child for module in modules if module for child in module.active_children()]
    for child in children:
        if kill:
            child.kill()
        else:
            child.terminate()
    for child in children:
        child.join(_JOIN_SECONDS)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked)
