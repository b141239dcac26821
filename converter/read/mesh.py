"""Triangle meshes in the OFF format of the release's CAD models (docs/format.md, 'CAD meshes').

The reader is strict on purpose: a mesh that is silently repaired would draw a wrong
silhouette, so every deviation from the format is reported with its line number.
"""

from __future__ import annotations

import io
import itertools
import re
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from converter.core.errors import DataError, described
from converter.read.archive import check_size


@dataclass(frozen=True)
class Mesh:
    """Vertices (N, 3) float64 in CAD units and triangles (M, 3) int64, 0-based."""

    vertices: np.ndarray
    faces: np.ndarray


class CadSource(Protocol):
    """The part of converter.read.source.Source that load_cad needs."""

    def cad_bytes(self, category: str, cad_index: int) -> bytes: ...

    def cad_member(self, category: str, cad_index: int) -> str: ...


# The largest CAD file read. A mesh for drawing a silhouette has thousands of vertices, some
# hundreds of kilobytes of text; 16 MiB holds about 150,000 vertices of 16-decimal numbers with
# their faces, and parses in seconds at worst (a bound on time as much as on memory).
MAX_MESH_BYTES = 16 << 20
# The `cad` configuration stores vertices as float32: a larger value would become infinity.
MAX_COORDINATE = float(np.finfo(np.float32).max)

# Counts and vertex indices: 18 digits hold any int64 (and more than any mesh has), so a line of
# thousands of digits is refused by its form instead of reaching `int`.
_WHOLE = r"[+-]?\d{1,18}"
# An OFF decimal number: unlike `float`, no `1_0`, `nan` or `infinity`; no two ways to match
# one text, so a long token cannot make the expression backtrack.
_REAL = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_COUNTS = re.compile(rf"({_WHOLE})\s+({_WHOLE})\s+({_WHOLE})")
_VERTEX = re.compile(rf"({_REAL})\s+({_REAL})\s+({_REAL})")
_FACE = re.compile(rf"({_WHOLE})\s+({_WHOLE})\s+({_WHOLE})\s+({_WHOLE})")


def read_off(data: bytes, member: str) -> Mesh:
    """Parse an OFF file; `member` names it in errors.

    The counts are checked against the number of lines before any is parsed; lines are then
    parsed one at a time into arrays of those sizes, so a file is never held split in pieces.
    """
    check_size(member, len(data), MAX_MESH_BYTES)
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError as error:
        raise DataError(member, f"not an ASCII OFF file (byte {error.start})") from None
    lines = _lines(text)
    if next(lines, (0, ""))[1] != "OFF":
        raise DataError(member, "first line must be exactly 'OFF'")
    counts = next(lines, None)
    if counts is None:
        raise DataError(member, "counts line missing after 'OFF'")
    n_vertices, n_faces = _counts(*counts, member)
    found = sum(1 for _ in lines)
    if found != n_vertices + n_faces:
        raise DataError(
            member,
            f"declares {n_vertices} vertices and {n_faces} faces "
            f"({n_vertices + n_faces} lines) but has {found} lines after the counts",
        )
    body = itertools.islice(_lines(text), 2, None)
    vertices, vertex_lines = _vertices(itertools.islice(body, n_vertices), n_vertices, member)
    faces, face_lines = _faces(body, n_faces, member)
    problem = mesh_problem(vertices, faces)
    if problem:
        part, row, what = problem
        number = (vertex_lines if part == "vertices" else face_lines)[row]
        raise DataError(member, f"line {number}: {what}")
    return Mesh(vertices, faces)


def mesh_problem(vertices: np.ndarray, faces: np.ndarray) -> tuple[str, int, str] | None:
    """The first value of a mesh that its column cannot hold or that points nowhere, as
    (`vertices` or `faces`, row, what is wrong); None for a sound mesh.

    One rule for a mesh read from the release and one read back from an export: a coordinate
    must be finite within float32, a face's indices must name vertices of the mesh.
    """
    fits = np.all(np.abs(vertices) <= MAX_COORDINATE, axis=1)  # NaN compares false
    if not fits.all():
        row = int(fits.argmin())
        return "vertices", row, "expected a vertex of 3 finite numbers that float32 holds"
    inside = np.all((faces >= 0) & (faces < len(vertices)), axis=1)
    if not inside.all():
        row = int(inside.argmin())
        span = f"0..{len(vertices) - 1}"
        return "faces", row, f"vertex index out of range {span}: {faces[row].tolist()}"
    return None


def checked_mesh(vertices: Any, faces: Any, member: str) -> Mesh:
    """A mesh from arrays read elsewhere (a row of the `cad` configuration), held to the rule
    of `mesh_problem`; `member` names it in errors."""
    try:
        points = np.asarray(vertices, dtype=np.float64).reshape(-1, 3)
        triangles = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    except (ValueError, TypeError, OverflowError):
        raise DataError(member, "vertices and faces must be (N, 3) arrays of numbers") from None
    problem = mesh_problem(points, triangles)
    if problem:
        part, row, what = problem
        raise DataError(member, f"row {row}: {what}", key=part)
    return Mesh(points, triangles)


def _lines(text: str) -> Iterator[tuple[int, str]]:
    """The number and text of each line that is not blank, one line at a time."""
    for number, line in enumerate(io.StringIO(text, newline=None), start=1):
        if not line.isspace():
            yield number, line.strip()


def _refused(member: str, number: int, expected: str, line: str) -> DataError:
    return DataError(
        member, f"line {number}: expected {expected}, got {described(' '.join(line.split()))}"
    )


def _counts(number: int, line: str, member: str) -> tuple[int, int]:
    match = _COUNTS.fullmatch(line)
    counts = [int(count) for count in match.groups()] if match else []
    if not counts or min(counts) < 0:
        raise _refused(member, number, "'n_vertices n_faces n_edges'", line)
    return counts[0], counts[1]


def _vertices(
    lines: Iterable[tuple[int, str]], count: int, member: str
) -> tuple[np.ndarray, array[int]]:
    """The (count, 3) vertices and the line number of each."""
    values, numbers = array("d"), array("q")
    for number, line in lines:
        match = _VERTEX.fullmatch(line)
        if not match:
            raise _refused(member, number, "a vertex of 3 finite numbers", line)
        values.extend(map(float, match.groups()))
        numbers.append(number)
    return np.frombuffer(values, dtype=np.float64).reshape(count, 3), numbers


def _faces(
    lines: Iterable[tuple[int, str]], count: int, member: str
) -> tuple[np.ndarray, array[int]]:
    """The (count, 3) triangles and the line number of each."""
    values, numbers = array("q"), array("q")
    for number, line in lines:
        match = _FACE.fullmatch(line)
        corners, *row = map(int, match.groups()) if match else (0,)
        if corners != 3:
            raise _refused(member, number, "a triangle '3 i j k'", line)
        values.extend(row)
        numbers.append(number)
    return np.frombuffer(values, dtype=np.int64).reshape(count, 3), numbers


def write_off(mesh: Mesh) -> bytes:
    """OFF text that read_off reads back to the same numbers (shortest exact float repr)."""
    lines = ["OFF", f"{len(mesh.vertices)} {len(mesh.faces)} 0"]
    lines += [" ".join(repr(float(value)) for value in vertex) for vertex in mesh.vertices]
    lines += ["3 " + " ".join(str(int(index)) for index in face) for face in mesh.faces]
    return ("\n".join(lines) + "\n").encode("ascii")


def load_cad(source: CadSource, category: str, cad_index: int) -> Mesh:
    """The category's mesh number `cad_index` (1-based) from a source."""
    return read_off(source.cad_bytes(category, cad_index), source.cad_member(category, cad_index))
