"""Make broken or hostile variants of the sample archive, one member at a time."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np


def members(archive: Path, suffix: str) -> list[str]:
    with zipfile.ZipFile(archive) as source:
        return sorted(name for name in source.namelist() if name.endswith(suffix))


def edited(archive: Path, out: Path, changes: dict[str, bytes | None], method: int = -1) -> Path:
    """A copy of `archive` with members replaced, added (bytes) or removed (None).

    Changed members are written with compression `method` (-1: stored as the original was).
    """
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            if info.filename not in changes:
                target.writestr(info, source.read(info))
        for name, data in changes.items():
            if data is not None:
                compression = zipfile.ZIP_STORED if method == -1 else method
                target.writestr(name, data, compress_type=compression)
    return out


def replace_member(archive: Path, out: Path, name: str, data: bytes) -> Path:
    """A copy of `archive` in which member `name` holds `data`."""
    return edited(archive, out, {name: data})


def npz_bytes(annotations: object) -> bytes:
    """An annotation file as the release writes it: an object array saved with np.savez."""
    buffer = io.BytesIO()
    np.savez(buffer, annotations=annotations)
    return buffer.getvalue()
