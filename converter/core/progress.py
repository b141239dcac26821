"""Progress bars that obey `datasets`' switch, without importing `datasets` to read it.

`HF_DATASETS_DISABLE_PROGRESS_BARS=1`, or `datasets.disable_progress_bars()` once `datasets` is
loaded, hides these bars as it hides the ones `datasets` draws while building a configuration:
one switch for every bar of a run. When `datasets` is loaded its own tqdm class draws the bar;
otherwise tqdm's own choice of a notebook's bar or a console's does (`tqdm.autonotebook`, as
`tqdm.auto` chooses but without its asyncio support, which no loop here needs and whose import
took 17 ms of every command's start), with the environment variable read as `datasets` reads it.
`huggingface_hub` draws bars of its own (uploads, downloads) under a switch of its own:
`bars_hidden` turns both off, so that one switch (or `-q`) hides every bar.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tqdm import tqdm

SWITCH = "HF_DATASETS_DISABLE_PROGRESS_BARS"
HUB_SWITCH = "HF_HUB_DISABLE_PROGRESS_BARS"
TRUE_WORDS = {"1", "ON", "YES", "TRUE"}  # the words `datasets.config` takes for true


def bars_switched_off() -> bool:
    """Whether `datasets`' switch hides bars: its own state once loaded, else the environment."""
    loaded = sys.modules.get("datasets.utils.tqdm")
    if loaded is not None:
        return loaded.are_progress_bars_disabled()
    return os.environ.get(SWITCH, "").upper() in TRUE_WORDS


def progress_bar(**kwargs: Any) -> tqdm:
    """A tqdm bar (`total`, `unit`, `desc`, ...) drawn unless `datasets`' switch is off."""
    loaded = sys.modules.get("datasets.utils.tqdm")
    if loaded is not None:
        return loaded.tqdm(**kwargs)
    return _chosen_tqdm()(
        **{**kwargs, "disable": bars_switched_off() or kwargs.get("disable", False)}
    )


def _chosen_tqdm() -> type[tqdm]:
    """tqdm's bar for where this runs, without the warning `tqdm.autonotebook` gives in a
    notebook (the one `tqdm.auto` silences too)."""
    from tqdm import TqdmExperimentalWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=TqdmExperimentalWarning)
        from tqdm.autonotebook import tqdm as chosen

    return chosen


@contextlib.contextmanager
def bars_hidden(hidden: bool = True) -> Iterator[None]:
    """While inside, when `hidden`, no bar of this tool, `datasets` or `huggingface_hub`.

    A library imported inside reads the switches from the environment; one already loaded is
    told directly. Both are put back as they were on the way out.
    """
    if not hidden:
        yield
        return
    with contextlib.ExitStack() as stack:
        for name in (SWITCH, HUB_SWITCH):
            stack.callback(_restore, name, os.environ.get(name))
            os.environ[name] = "1"
        loaded = sys.modules.get("datasets.utils.tqdm")
        if loaded is not None and not loaded.are_progress_bars_disabled():
            loaded.disable_progress_bars()
            stack.callback(loaded.enable_progress_bars)
        hub = sys.modules.get("huggingface_hub.utils.tqdm")
        if hub is not None:
            stack.enter_context(hub.disable_progress_bars())
        yield


def _restore(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value
