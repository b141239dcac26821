"""The one Hub a test session shares, and pointing `huggingface_hub` and `datasets` at it.

Both libraries read `HF_ENDPOINT` and their cache folders when first imported, so the Hub must
start before anything imports them: `tests/conftest.py` imports the fixtures (which start it)
first of all.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

from testbed.servers.hub import Hub

# A developer's own token, cache or offline switch must not reach the tests.
CLEARED = (
    "HF_TOKEN",
    "HUGGING_FACE_HUB_TOKEN",
    "HF_TOKEN_PATH",
    "HF_HUB_OFFLINE",
    "HF_DATASETS_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "HUGGINGFACE_CO_STAGING",
    "HF_HUB_CACHE",
    "HUGGINGFACE_HUB_CACHE",
    "HF_ASSETS_CACHE",
    "HF_XET_CACHE",
)

_session_hub: Hub | None = None


def start_session_hub() -> Hub:
    """Start the session Hub once, and point the HF libraries (and their caches) at it."""
    global _session_hub
    if _session_hub is not None:
        return _session_hub
    imported = sorted({"huggingface_hub", "datasets"} & sys.modules.keys())
    if imported:
        raise RuntimeError(
            f"{', '.join(imported)} was imported before the loopback Hub started, so it would talk "
            "to the real Hub: import tests.server_fixtures first in tests/conftest.py"
        )
    root = Path(tempfile.mkdtemp(prefix="imagenet3d-tests-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    _session_hub = Hub(root / "hub")
    atexit.register(_session_hub.close)
    for name in CLEARED:
        os.environ.pop(name, None)
    os.environ.update(
        {
            "HF_ENDPOINT": _session_hub.url,
            "HF_HUB_DISABLE_XET": "1",
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "HF_HOME": str(root / "hf_home"),
            "HF_DATASETS_CACHE": str(root / "datasets_cache"),
            "XDG_CACHE_HOME": str(root / "cache"),
        }
    )
    return _session_hub
