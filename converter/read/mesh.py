"""Triangle meshes in the OFF format the release uses for its CAD models (SPEC section 5).

The reader is strict on purpose: a mesh that is silently repaired would draw a wrong
silhouette, so every deviation from the format is reported with its line number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from converter.core.errors import DataError, described


@dataclass(frozen=True)
class Mesh:
    """Vertices (N, 3) float64 in CAD units and triangles (M, 3) int64, 0-based."""

    vertices: np.ndarray
    faces: np.ndarray


class CadSource(Protocol):
    """The part of converter.read.source.Source that load_cad needs."""

    def cad_bytes(self, category: str, cad_index: int) -> bytes: ...

    def cad_member(self, category: str, cad_index: int) -> str: ...


def read_off(data: bytes, member: str) -> Mesh:
    """Parse an OFF file; `member` names it in errors."""
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError as error:
        raise DataError(member, f"not an ASCII OFF file (byte {error.start})") from None
    lines = [
        (number, line.split())
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip()
    ]
    if not lines or lines[0][1] != ["OFF"]:
        raise DataError(member, "first line must be exactly 'OFF'")
    if len(lines) < 2:
        raise DataError(member, "counts line missing after 'OFF'")
    n_vertices, n_faces = _counts(lines[1], member)
    body = lines[2:]
    if len(body) != n_vertices + n_faces:
        raise DataError(
            member,
            f"declares {n_vertices} vertices and {n_faces} faces "
            f"({n_vertices + n_faces} lines) but has {len(body)} lines after the counts",
        )
    vertices = _vertices(body[:n_vertices], member)
    faces = _faces(body[n_vertices:], n_vertices, member)
    return Mesh(vertices, faces)


_WHOLE = re.compile(r"[+-]?\d+")
_REAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _whole(token: str) -> int:
    """An OFF integer; Python's `int` would also take forms like `1_0` that OFF does not have."""
    if not _WHOLE.fullmatch(token):
        raise ValueError(token)
    return int(token)


def _real(token: str) -> float:
    """An OFF decimal number; `float` would also take `1_0`, `nan` or `infinity`."""
    if not _REAL.fullmatch(token):
        raise ValueError(token)
    return float(token)


def _counts(line: tuple[int, list[str]], member: str) -> tuple[int, int]:
    number, tokens = line
    try:
        counts = [_whole(token) for token in tokens]
    except ValueError:
        counts = []
    if len(counts) != 3 or min(counts) < 0:
        raise DataError(
            member,
            f"line {number}: expected 'n_vertices n_faces n_edges', got {described(' '.join(tokens))}",
        )
    return counts[0], counts[1]


def _vertices(lines: list[tuple[int, list[str]]], member: str) -> np.ndarray:
    rows = []
    for number, tokens in lines:
        try:
            row = [_real(token) for token in tokens]
        except ValueError:
            row = []
        if len(row) != 3 or not all(np.isfinite(row)):
            raise DataError(
                member,
                f"line {number}: expected a vertex of 3 finite numbers, got {described(' '.join(tokens))}",
            )
        rows.append(row)
    return np.array(rows, dtype=np.float64).reshape(len(rows), 3)


def _faces(lines: list[tuple[int, list[str]]], n_vertices: int, member: str) -> np.ndarray:
    rows = []
    for number, tokens in lines:
        try:
            row = [_whole(token) for token in tokens]
        except ValueError:
            row = []
        if len(row) != 4 or row[0] != 3:
            raise DataError(
                member,
                f"line {number}: expected a triangle '3 i j k', got {described(' '.join(tokens))}",
            )
        if not all(0 <= index < n_vertices for index in row[1:]):
            raise DataError(
                member, f"line {number}: vertex index out of range 0..{n_vertices - 1}: {row[1:]}"
            )
        rows.append(row[1:])
    return np.array(rows, dtype=np.int64).reshape(len(rows), 3)


def write_off(mesh: Mesh) -> bytes:
    """OFF text that read_off reads back to the same numbers (shortest exact float repr)."""
    lines = ["OFF", f"{len(mesh.vertices)} {len(mesh.faces)} 0"]
    lines += [" ".join(repr(float(value)) for value in vertex) for vertex in mesh.vertices]
    lines += ["3 " + " ".join(str(int(index)) for index in face) for face in mesh.faces]
    return ("\n".join(lines) + "\n").encode("ascii")


def load_cad(source: CadSource, category: str, cad_index: int) -> Mesh:
    """The category's mesh number `cad_index` (1-based) from a source."""
    return read_off(source.cad_bytes(category, cad_index), source.cad_member(category, cad_index))
