"""Work done ahead on threads and handed back in order.

Decoding, resampling and encoding run in C libraries that let go of Python's lock, so threads
of one process can keep several CPUs busy on different photos while the main thread reads the
next ones and makes the last ones' files, and draws one itself rather than wait; the order of
the results stays the order of the items, so what a run writes does not depend on how many
threads it has.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

# How many items per thread are taken ahead of the one the caller handles. Photos differ in
# size by tens of times: with one item per thread, a thread that finished a small photo waited
# for the caller, itself waiting for a large one. Four per thread took 10 to 13% off the wall
# time of one process on two CPUs, for the same CPU time (preprocess, 1,200 photos, four
# interleaved rounds); eight or sixteen, 2% more, within the noise.
ITEMS_PER_THREAD = 4

Item = TypeVar("Item")
Result = TypeVar("Result")
Pending = collections.deque[tuple[Item, Future[Result]]]


def ahead(
    items: Iterable[Item], work: Callable[[Item], Result], threads: int
) -> Iterator[tuple[Item, Future[Result]]]:
    """Each item, in order, with the future of `work(item)`: its result, or the error it raised.

    `threads` threads work, the caller's among them: up to ITEMS_PER_THREAD times that many items
    are taken ahead and worked on by `threads - 1` others, and whenever the caller wants an item
    not yet done it works on the newest item none has started. A thread per CPU beside a caller
    that also has work of its own (reading and writing files) would leave three threads taking
    turns on two CPUs and at Python's lock: one process of `preprocess` on two CPUs took 2.4 to
    8.6% less wall time and 1.6 to 4.4% less CPU time with the caller working than beside two
    threads (1,200 photos; per-round ratios, medians of two sets of ten interleaved rounds a mode).
    Items are taken from `items` in the caller's thread, as the work needs them. Stopping early (an
    error, Ctrl-C) cancels what has not started and waits for what has.
    """
    if threads <= 1:
        for item in items:
            yield item, _done(work, item)
        return
    with ThreadPoolExecutor(threads - 1, thread_name_prefix="ahead") as pool:
        pending: Pending[Item, Result] = collections.deque()
        try:
            for item in items:
                pending.append((item, pool.submit(work, item)))
                if len(pending) > ITEMS_PER_THREAD * threads:
                    yield _first_done(pending, work)
            while pending:
                yield _first_done(pending, work)
        finally:
            for _, future in pending:
                future.cancel()


def _first_done(
    pending: Pending[Item, Result], work: Callable[[Item], Result]
) -> tuple[Item, Future[Result]]:
    """The first pending item, taken off; until it is done, the caller works on the newest item
    no thread has started (the first item itself, last)."""
    while not pending[0][1].done() and _work_on_newest(pending, work):
        pass
    return pending.popleft()


def _work_on_newest(pending: Pending[Item, Result], work: Callable[[Item], Result]) -> bool:
    """Work on the newest pending item no thread has started, in this thread; False if none."""
    for index in range(len(pending) - 1, -1, -1):
        item, future = pending[index]
        if future.cancel():  # only a future no thread has started can be cancelled
            pending[index] = item, _done(work, item)
            return True
    return False


def _done(work: Callable[[Item], Result], item: Item) -> Future[Result]:
    """`work(item)` run now, as a finished future."""
    future: Future[Result] = Future()
    try:
        future.set_result(work(item))
    except Exception as error:  # handed to the caller, who decides, as from a thread
        future.set_exception(error)
    return future
