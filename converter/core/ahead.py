"""Work done ahead on threads and handed back in order.

Decoding, resampling and encoding run in C libraries that let go of Python's lock, so threads
of one process can keep several CPUs busy on different photos while the main thread reads the
next ones and makes the last ones' files; the order of the results stays the order of the
items, so what a run writes does not depend on how many threads it has.
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


def ahead(
    items: Iterable[Item], work: Callable[[Item], Result], threads: int
) -> Iterator[tuple[Item, Future[Result]]]:
    """Each item, in order, with the future of `work(item)`: its result, or the error it raised.

    With `threads` above 1, up to ITEMS_PER_THREAD times that many items are taken ahead and
    worked on by as many threads while the caller handles an earlier one; items are taken from
    `items` in the caller's thread, as the work needs them. With 1, each item is worked on in
    the caller's thread as it is handed back. Stopping early (an error, Ctrl-C) cancels what
    has not started and waits for what has.
    """
    if threads <= 1:
        for item in items:
            yield item, _done(work, item)
        return
    with ThreadPoolExecutor(threads, thread_name_prefix="ahead") as pool:
        pending: collections.deque[tuple[Item, Future[Result]]] = collections.deque()
        try:
            for item in items:
                pending.append((item, pool.submit(work, item)))
                if len(pending) > ITEMS_PER_THREAD * threads:
                    yield pending.popleft()
            while pending:
                yield pending.popleft()
        finally:
            for _, future in pending:
                future.cancel()


def _done(work: Callable[[Item], Result], item: Item) -> Future[Result]:
    """`work(item)` run now, as a finished future."""
    future: Future[Result] = Future()
    try:
        future.set_result(work(item))
    except Exception as error:  # handed to the caller, who decides, as from a thread
        future.set_exception(error)
    return future
