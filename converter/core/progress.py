"""Progress bars that obey `datasets`' switch, without importing `datasets` to read it.

`HF_DATASETS_DISABLE_PROGRESS_BARS=1`, or `datasets.disable_progress_bars()` once `datasets` is
loaded, hides these bars as it hides the ones `datasets` draws while building a configuration:
one switch for every bar of a run. When `datasets` is loaded its own tqdm class draws the bar;
otherwise plain `tqdm.auto` does, with the environment variable read as `datasets` reads it.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tqdm import tqdm

SWITCH = "HF_DATASETS_DISABLE_PROGRESS_BARS"
TRUE_WORDS = {"1", "ON", "YES", "TRUE"}  # the words `datasets.config` takes for true


def progress_bar(**kwargs: Any) -> tqdm:
    """A tqdm bar (`total`, `unit`, `desc`, ...) drawn unless `datasets`' switch is off."""
    loaded = sys.modules.get("datasets.utils.tqdm")
    if loaded is not None:
        return loaded.tqdm(**kwargs)
    from tqdm.auto import tqdm as auto_tqdm

    disabled = os.environ.get(SWITCH, "").upper() in TRUE_WORDS
    return auto_tqdm(**{**kwargs, "disable": disabled or kwargs.get("disable", False)})
