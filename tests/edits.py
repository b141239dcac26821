"""Make broken or hostile variants of the sample archive, one member at a time."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np


def members(archive: Path, suffix: str) -> list[str]:
    with zipfile.ZipFile(archive) as source:
        return sorted(name for name in source.namelist() if name.endswith(suffix))


def replace_member(archive: Path, out: Path, name: str, data: bytes) -> Path:
    """A copy of `archive` in which member `name` holds `data`."""
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            target.writestr(info, data if info.filename == name else source.read(info))
    return out


def npz_bytes(annotations: object) -> bytes:
    """An annotation file as the release writes it: an object array saved with np.savez."""
    buffer = io.BytesIO()
    np.savez(buffer, annotations=annotations)
    return buffer.getvalue()
