"""The annotation camera model, vectorized over points, and the same camera as R, t, K.

The annotations give a viewpoint (azimuth, elevation, in-plane rotation theta), a distance, a
principal point and a viewport; `project` is that model as the release's tools draw it. Users
training 6D pose want the pinhole form instead: `camera_fields` states the same camera once as a
rotation, a translation and an intrinsic matrix (docs/format.md, "Camera fields").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from converter.pose.geometry import has_pose

# The annotation values the camera needs; an object missing one of them (or with distance <= 0)
# has no camera.
CAMERA_KEYS = ("azimuth", "elevation", "theta", "distance", "px", "py", "viewport")
CAMERA_FIELDS = ("rotation", "translation", "intrinsics")


def camera_centre(azimuth: float, elevation: float, distance: float) -> np.ndarray:
    ce = np.cos(elevation)
    return distance * np.array([ce * np.sin(azimuth), -ce * np.cos(azimuth), np.sin(elevation)])


def _rotation_rows(
    azimuth: Any, elevation: Any, theta: Any, cos: Callable[[Any], Any], sin: Callable[[Any], Any]
) -> list[list[Any]]:
    """Rz(theta) @ Rx(elevation - pi/2) @ Rz(-azimuth), multiplied out entry by entry, with the
    `cos` and `sin` of numbers (math) or of arrays (numpy): one formula for both."""
    ct, st = cos(theta), sin(theta)
    cx, sx = sin(elevation), -cos(elevation)  # the turn about x, by elevation - pi/2
    cz, sz = cos(azimuth), -sin(azimuth)  # the turn about z, by -azimuth
    return [
        [ct * cz - st * cx * sz, -ct * sz - st * cx * cz, st * sx],
        [st * cz + ct * cx * sz, ct * cx * cz - st * sz, -ct * sx],
        [sx * sz, sx * cz, cx],
    ]


def object_rotation(
    azimuth: float | np.ndarray, elevation: float | np.ndarray, theta: float | np.ndarray
) -> np.ndarray:
    """The viewpoint as one rotation matrix (a stack for arrays), as the metrics compare them.

    Written entry by entry rather than as three matrix products, whose building and multiplying
    took three times as long for one pose.
    """
    entries = _rotation_rows(azimuth, elevation, theta, np.cos, np.sin)
    shape = np.broadcast_shapes(np.shape(azimuth), np.shape(elevation), np.shape(theta))
    matrices = np.empty((*shape, 3, 3))
    for row, values in enumerate(entries):
        for column, value in enumerate(values):
            matrices[..., row, column] = value
    return matrices


def world_to_camera(azimuth: float | np.ndarray, elevation: float | np.ndarray) -> np.ndarray:
    """CAD-frame axes into the annotation camera's axes (it looks down -z, y up)."""
    return object_rotation(azimuth, elevation, 0.0)


def to_camera(points: np.ndarray, azimuth: float, elevation: float, distance: float) -> np.ndarray:
    """CAD-frame points (N, 3) in the camera frame, before the in-plane rotation; depth is -z."""
    rotation = world_to_camera(azimuth, elevation)
    return (np.asarray(points, dtype=np.float64) - camera_centre(azimuth, elevation, distance)) @ (
        rotation.T
    )


def project(
    points: np.ndarray,
    azimuth: float,
    elevation: float,
    theta: float,
    distance: float,
    px: float,
    py: float,
    viewport: float,
) -> np.ndarray:
    """Image coordinates (N, 2) of CAD-frame points (N, 3) under one pose."""
    cam = to_camera(points, azimuth, elevation, distance)
    depth = -cam[:, 2]
    u = viewport * cam[:, 0] / depth
    v = viewport * cam[:, 1] / depth
    ct, st = np.cos(theta), np.sin(theta)
    return np.stack([u * ct - v * st + px, -(u * st + v * ct) + py], axis=1)


def camera_rotation(azimuth: float, elevation: float, theta: float) -> list[list[float]]:
    """Object-to-camera rotation of one pose, camera looking down +z, x right, y down the image.

    The annotation camera looks down -z with y up. Turning its frame half a turn about x,
    diag(1, -1, -1) @ R, is the one change to the pinhole convention: the last two rows of
    `object_rotation` (the metrics' matrix) negated. Both give the same angle between any two
    viewpoints. Computed on Python numbers: every object of a run has its camera, and inside a
    run numpy's machinery for one pose took 60 to 74 us of CPU, this 13 (measured while
    preprocessing the benchmark workload).
    """
    first, second, third = _rotation_rows(
        float(azimuth), float(elevation), float(theta), math.cos, math.sin
    )
    return [first, [-value for value in second], [-value for value in third]]


def intrinsic_matrix(viewport: float, px: float, py: float) -> list[list[float]]:
    """The pinhole matrix: the viewport is the focal length in pixels, (px, py) the principal point."""
    focal = float(viewport)
    return [[focal, 0.0, float(px)], [0.0, focal, float(py)], [0.0, 0.0, 1.0]]


def has_camera(record: Mapping[str, Any]) -> bool:
    """True when the record holds every value of the camera and a positive distance."""
    return all(record.get(key) is not None for key in CAMERA_KEYS) and has_pose(record)


def camera_fields(record: Mapping[str, Any]) -> dict[str, list[Any] | None]:
    """`rotation` (3 x 3), `translation` (3) and `intrinsics` (3 x 3) of a record, as lists.

    The record's own distance and principal point are used, so a pose example gets the camera of
    its canvas. The camera sits on the line through the CAD origin, which projects at (px, py):
    the translation is therefore (0, 0, distance). All three are None without a camera.
    """
    if not has_camera(record):
        return dict.fromkeys(CAMERA_FIELDS)
    return {
        "rotation": camera_rotation(record["azimuth"], record["elevation"], record["theta"]),
        "translation": [0.0, 0.0, float(record["distance"])],
        "intrinsics": intrinsic_matrix(record["viewport"], record["px"], record["py"]),
    }
