"""Pythons with nothing but `datasets`, Pillow, OpenCV and simplejpeg (the project's
dependencies that `datasets` does not bring), as a user who never installed this project has.

Each is built once beside the checkout (pip installs from its cache, half a minute) and reused
by later runs; a marker file written last, naming the packages, tells a finished environment
from a broken or outdated one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOADER = Path(__file__).parent / "clean_load.py"


def clean_python(datasets_version: str) -> Path:
    """The Python of `.venv-datasets-<version>`, built on first use."""
    env = ROOT / f".venv-datasets-{datasets_version}"
    python = env / "bin" / "python"
    ready = env / "installed"
    packages = [
        f"datasets=={datasets_version}",
        f"pillow=={version('pillow')}",
        f"opencv-python-headless=={version('opencv-python-headless')}",
        f"simplejpeg=={version('simplejpeg')}",
    ]
    marker = " ".join(packages)
    if not ready.exists() or ready.read_text() != marker:
        subprocess.run([sys.executable, "-m", "venv", "--clear", env], check=True)
        subprocess.run([python, "-m", "pip", "install", "-q", *packages], check=True)
        ready.write_text(marker)
    return python


def run_clean(python: Path, *arguments: str, project: bool = False) -> subprocess.CompletedProcess:
    """`clean_load.py` in a clean Python with its own `datasets` cache.

    Isolated (`-I`): neither this checkout nor the caller's PYTHONPATH is importable, unless
    `project` puts the checkout on the path, as an installed project would be.
    """
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "HF_DATASETS_CACHE": cache}
        flags = ["-P"] if project else ["-I"]
        if project:
            env["PYTHONPATH"] = str(ROOT)
        return subprocess.run(
            [python, *flags, LOADER, *arguments], capture_output=True, text=True, env=env
        )


def load_names(python: Path, *arguments: str, project: bool = False) -> dict[str, list[str]]:
    """Example names per split that a clean Python loads (see `clean_load.py`)."""
    result = run_clean(python, *arguments, project=project)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])
