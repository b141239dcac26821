"""This tool's progress bars obey `datasets`' switch, in Python as on the command line."""

from __future__ import annotations

import datasets

from converter.core.progress import progress_bar


def test_disable_progress_bars_hides_ours_too() -> None:
    datasets.disable_progress_bars()
    try:
        with progress_bar(total=3, unit="photo") as bar:
            assert bar.disable
    finally:
        datasets.enable_progress_bars()
    with progress_bar(total=3, unit="photo") as bar:
        assert not bar.disable
