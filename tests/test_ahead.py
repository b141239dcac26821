"""Work done ahead on threads comes back in the items' order, errors included."""

from __future__ import annotations

import threading
import time

import pytest

from converter.core.ahead import ITEMS_PER_THREAD, ahead


def square_slowly(number: int) -> int:
    """Early items take longest, so threads finish them out of order."""
    time.sleep((5 - number % 5) / 1000)
    if number == 7:
        raise ValueError("seven")
    return number * number


@pytest.mark.parametrize("threads", [1, 2, 4])
def test_results_come_in_the_items_order_with_each_error_in_its_place(threads: int) -> None:
    handed = []
    for number, future in ahead(range(12), square_slowly, threads):
        if number == 7:
            with pytest.raises(ValueError, match="seven"):
                future.result()
        else:
            handed.append((number, future.result()))
    assert handed == [(n, n * n) for n in range(12) if n != 7]


def test_one_thread_works_in_the_callers_thread() -> None:
    def where(_: int) -> threading.Thread:
        return threading.current_thread()

    assert {future.result() for _, future in ahead(range(3), where, 1)} == {
        threading.current_thread()
    }


def test_the_caller_works_on_an_item_no_thread_has_started_while_it_waits() -> None:
    # The one other thread starts the first item before any other is handed out, and is held
    # on it until the caller has worked on an item.
    first_started, caller_worked = threading.Event(), threading.Event()

    def items() -> object:
        yield 0
        assert first_started.wait(timeout=10)
        yield from range(1, 12)

    def work(number: int) -> str:
        if threading.current_thread() is threading.main_thread():
            caller_worked.set()
        elif number == 0:
            first_started.set()
            assert caller_worked.wait(timeout=10)
        return threading.current_thread().name

    workers = [future.result() for _, future in ahead(items(), work, 2)]
    assert workers[0].startswith("ahead")
    assert threading.main_thread().name in workers


def test_items_are_taken_only_as_the_threads_need_them() -> None:
    taken = []

    def items() -> object:
        for number in range(100):
            taken.append(number)
            yield number

    results = ahead(items(), square_slowly, 2)
    first, future = next(results)
    assert (first, future.result()) == (0, 0)
    results.close()
    assert len(taken) <= 2 * ITEMS_PER_THREAD + 1
