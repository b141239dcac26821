"""Files for tests: broken or hostile variants of the sample archive, and folder snapshots."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

from converter.read.safe_npz import load_npz_array


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


def reclassed(annotation: bytes, category: str) -> bytes:
    """An annotation file whose objects all name `category` as their class, as a file in that
    category's folder must (docs/format.md, 'One annotation file')."""
    objects = load_npz_array(annotation, "annotation")
    for record in objects:
        record["class"] = category
    return release_npz(objects)


def folder_files(root: Path) -> dict[str, bytes]:
    """Every file under `root` by its posix path: two runs' outputs compare as dicts."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def zip_bytes(files: dict[str, bytes], method: int = zipfile.ZIP_STORED) -> bytes:
    """A zip of `files`, written by zipfile."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def end_record(entries: int, directory: bytes, offset: int) -> bytes:
    """A zip's end record declaring `entries` members in `directory`, found at `offset`."""
    counts = entries.to_bytes(2, "little") * 2
    return (
        b"PK\x05\x06"
        + bytes(4)
        + counts
        + len(directory).to_bytes(4, "little")
        + (offset.to_bytes(4, "little") + bytes(2))
    )


def overlapping(outer: str, inner: str, data: bytes) -> bytes:
    """A zip of two members sharing bytes: member `outer` is stored and holds member `inner`'s
    local header and deflated data, which the directory also lists as a member of its own. The
    "better zip bomb" chains such members over one deflate stream."""
    inside = zip_bytes({inner: data}, zipfile.ZIP_DEFLATED)
    inner_entry = inside[inside.index(b"PK\x01\x02") : inside.index(b"PK\x05\x06")]
    around = zip_bytes({outer: inside[: inside.index(b"PK\x01\x02")]})
    start = around.index(b"PK\x01\x02")
    shift = 30 + len(outer.encode())  # the outer member's local header, without extra field
    moved = inner_entry[:42] + shift.to_bytes(4, "little") + inner_entry[46:]
    directory = around[start : around.index(b"PK\x05\x06")] + moved
    return around[:start] + directory + end_record(2, directory, start)


def declaring(entries: int, files: dict[str, bytes]) -> bytes:
    """A zip of `files` whose end record declares `entries` members, whatever it holds."""
    data = zip_bytes(files)
    start, end = data.index(b"PK\x01\x02"), data.index(b"PK\x05\x06")
    return data[:end] + end_record(entries, data[start:end], start)
