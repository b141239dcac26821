"""Procedural CAD meshes for the generated archives: boxes, tubes, ellipsoids and tori per category.

Shaped enough like an aeroplane, a bicycle, a car and a chair that an overlay reads as one, and
small enough (hundreds of faces) to draw on every sample photo.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from converter.read.mesh import Mesh


def _merge(parts: list[Mesh]) -> Mesh:
    offsets = np.cumsum([0] + [len(part.vertices) for part in parts[:-1]])
    return Mesh(
        np.concatenate([part.vertices for part in parts]),
        np.concatenate([part.faces + offset for part, offset in zip(parts, offsets, strict=True)]),
    )


def _band(first: int, second: int, n: int) -> list[tuple[int, int, int]]:
    """Triangles joining two closed rings of n vertices that start at `first` and `second`."""
    faces = []
    for i in range(n):
        j = (i + 1) % n
        faces += [(first + i, second + i, second + j), (first + i, second + j, first + j)]
    return faces


def _fan(centre: int, ring: int, n: int) -> list[tuple[int, int, int]]:
    return [(centre, ring + i, ring + (i + 1) % n) for i in range(n)]


def _circle(n: int) -> np.ndarray:
    angles = 2 * np.pi * np.arange(n) / n
    return np.stack([np.cos(angles), np.sin(angles)], axis=1)


def _box(centre: tuple[float, float, float], size: tuple[float, float, float]) -> Mesh:
    corners = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)]) / 2
    quads = ((0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3))
    faces = [tri for a, b, c, d in quads for tri in ((a, b, c), (a, c, d))]
    return Mesh(np.asarray(centre) + corners * np.asarray(size), np.array(faces))


def _tube(start: tuple, end: tuple, radius: float, segments: int) -> Mesh:
    """A closed cylinder between two points."""
    start, end = np.asarray(start, dtype=float), np.asarray(end, dtype=float)
    axis = (end - start) / np.linalg.norm(end - start)
    helper = np.array([1.0, 0, 0]) if abs(axis[0]) < 0.9 else np.array([0, 1.0, 0])
    u = np.cross(axis, helper)
    u /= np.linalg.norm(u)
    ring = radius * (_circle(segments) @ np.stack([u, np.cross(axis, u)]))
    vertices = np.concatenate([start + ring, end + ring, [start, end]])
    n = segments
    faces = _band(0, n, n) + _fan(2 * n, 0, n) + _fan(2 * n + 1, n, n)
    return Mesh(vertices, np.array(faces))


def _ellipsoid(centre: tuple, radii: tuple, rings: int, segments: int) -> Mesh:
    polar = np.pi * np.arange(1, rings) / rings
    circle = _circle(segments)
    unit = [np.column_stack([np.sin(p) * circle, np.full(segments, np.cos(p))]) for p in polar] + [
        np.array([[0, 0, 1.0], [0, 0, -1.0]])
    ]
    vertices = np.asarray(centre) + np.concatenate(unit) * np.asarray(radii)
    top, bottom = (rings - 1) * segments, (rings - 1) * segments + 1
    faces = _fan(top, 0, segments) + _fan(bottom, (rings - 2) * segments, segments)
    for r in range(rings - 2):
        faces += _band(r * segments, (r + 1) * segments, segments)
    return Mesh(vertices, np.array(faces))


def _wheel(centre: tuple, major: float, minor: float, segments: int, sides: int) -> Mesh:
    """A torus in the y-z plane (a bicycle wheel, axle along x)."""
    tube = _circle(sides)
    rings = []
    for cos_a, sin_a in _circle(segments):
        radial = np.array([0.0, cos_a, sin_a])
        rings.append(
            (major + minor * tube[:, :1]) * radial + minor * tube[:, 1:] * np.array([1.0, 0, 0])
        )
    faces = []
    for s in range(segments):
        faces += _band(s * sides, ((s + 1) % segments) * sides, sides)
    return Mesh(np.asarray(centre) + np.concatenate(rings), np.array(faces))


def _car_wheels() -> list[Mesh]:
    return [
        _tube((0.17 * side, y, 0.1), (0.23 * side, y, 0.1), 0.1, 14)
        for side in (-1, 1)
        for y in (-0.32, 0.32)
    ]


def _normalized(mesh: Mesh) -> Mesh:
    """Centred on its bounding box, largest extent 1: object size in pixels ~ viewport / distance."""
    low, high = mesh.vertices.min(axis=0), mesh.vertices.max(axis=0)
    vertices = (mesh.vertices - (low + high) / 2) / (high - low).max()
    return Mesh(vertices, mesh.faces.astype(np.int64))


@cache
def category_meshes(category: str) -> tuple[Mesh, ...]:
    """The CAD meshes of a category, cad_index 1, 2, ... (front towards -y, z up)."""
    if category == "aeroplane":
        engines = [_tube((x, -0.12, -0.05), (x, 0.05, -0.05), 0.035, 10) for x in (-0.25, 0.25)]
        parts = [
            [
                _ellipsoid((0, 0, 0), (0.07, 0.5, 0.07), 8, 12),
                _box((0, -0.02, 0), (1.0, 0.16, 0.02)),
                _box((0, 0.43, 0.09), (0.015, 0.1, 0.16)),
                _box((0, 0.44, 0.02), (0.34, 0.07, 0.015)),
                *engines,
            ]
        ]
    elif category == "bicycle":
        joints = {"rear": (0, 0.33, 0.2), "seat": (0, 0.08, 0.5), "crank": (0, 0.02, 0.2)}
        joints |= {"head": (0, -0.22, 0.52), "front": (0, -0.33, 0.2), "bar": (0, -0.24, 0.6)}
        bars = [("rear", "seat"), ("seat", "crank"), ("crank", "rear"), ("seat", "head")]
        bars += [("head", "crank"), ("head", "front"), ("head", "bar")]
        parts = [
            [
                _wheel((0, 0.33, 0.2), 0.19, 0.035, 20, 6),
                _wheel((0, -0.33, 0.2), 0.19, 0.035, 20, 6),
                *[_tube(joints[a], joints[b], 0.025, 6) for a, b in bars],
                _tube((-0.2, -0.24, 0.6), (0.2, -0.24, 0.6), 0.025, 6),
                _box((0, 0.1, 0.52), (0.08, 0.16, 0.03)),
            ]
        ]
    elif category == "car":
        parts = [
            [_box((0, 0, 0.2), (0.42, 1.0, 0.2)), _box((0, 0.06, 0.38), (0.36, 0.5, 0.16))],
            [_box((0, 0.05, 0.33), (0.44, 0.9, 0.46)), _box((0, -0.45, 0.2), (0.42, 0.2, 0.2))],
        ]
        parts = [body + _car_wheels() for body in parts]
    elif category == "chair":
        legs = [
            _tube((x, y, 0), (x, y, 0.43), 0.025, 10) for x in (-0.19, 0.19) for y in (-0.19, 0.19)
        ]
        parts = [
            [
                _box((0, 0, 0.45), (0.45, 0.45, 0.05)),
                _box((0, 0.2, 0.75), (0.45, 0.05, 0.55)),
                _ellipsoid((0, 0, 0.48), (0.2, 0.2, 0.03), 6, 12),
                *legs,
            ]
        ]
    else:
        raise KeyError(f"no procedural mesh for category {category!r}")
    return tuple(_normalized(_merge(mesh_parts)) for mesh_parts in parts)
