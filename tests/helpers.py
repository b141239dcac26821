"""Files for tests: broken or hostile variants of the sample archive, and folder snapshots."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np


def members(archive: Path, suffix: str) -> list[str]:
    with zipfile.ZipFile(archive) as source:
        return sorted(name for name in source.namelist() if name.endswith(suffix))


def edited(
    archive: Path, out: Path, changes: dict[str, bytes], method: int = zipfile.ZIP_STORED
) -> Path:
    """A copy of `archive` with members replaced or added, written with compression `method`."""
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            if info.filename not in changes:
                target.writestr(info, source.read(info))
        for name, data in changes.items():
            target.writestr(name, data, compress_type=method)
    return out


def replace_member(archive: Path, out: Path, name: str, data: bytes) -> Path:
    """A copy of `archive` in which member `name` holds `data`."""
    return edited(archive, out, {name: data})


def release_npz(annotations: object) -> bytes:
    """An annotation file as the release writes it: an object array saved with np.savez."""
    buffer = io.BytesIO()
    np.savez(buffer, annotations=annotations)
    return buffer.getvalue()


def folder_files(root: Path) -> dict[str, bytes]:
    """Every file under `root` by its posix path: two runs' outputs compare as dicts."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }
