"""Where an export is, when a command reads rows instead of the release: a folder written by
`export`, or the Hub dataset it was pushed to (`owner/name` or `hf://datasets/owner/name`)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from converter.outputs.export_folder import is_export_folder

# A Hub repository id, `owner/name`, as opposed to a path that exists or a URL.
_REPO_ID = re.compile(r"[\w.-]+/[\w.-]+")
HUB_DATASETS = "hf://datasets/"


def export_location(location: str | os.PathLike[str]) -> str:
    """The folder or repository id `datasets.load_dataset` takes for `location`."""
    where = os.fspath(location)
    return where.removeprefix(HUB_DATASETS) if where.startswith(HUB_DATASETS) else where


def is_export(location: str | os.PathLike[str]) -> bool:
    """True for a folder written by `export` (`is_export_folder`) or a Hub dataset:
    a repo id, or `hf://datasets/<repo id>` with no file after it (a file is the release zip)."""
    path = Path(location)
    if path.is_dir():
        return is_export_folder(path)
    where = os.fspath(location)
    if where.startswith(HUB_DATASETS):
        return _REPO_ID.fullmatch(export_location(where)) is not None
    return not path.exists() and _REPO_ID.fullmatch(where) is not None
