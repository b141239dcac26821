"""The annotation camera model of SPEC section 5, vectorized over points."""

from __future__ import annotations

import numpy as np


def _matrices(c: np.ndarray, entries: list[np.ndarray]) -> np.ndarray:
    return np.stack(entries, axis=-1).reshape(*np.shape(c), 3, 3)


def rot_z(angle: float | np.ndarray) -> np.ndarray:
    """Rotation about z; an array of angles gives a stack of matrices (..., 3, 3)."""
    c, s = np.cos(angle), np.sin(angle)
    zero, one = np.zeros_like(c), np.ones_like(c)
    return _matrices(c, [c, -s, zero, s, c, zero, zero, zero, one])


def rot_x(angle: float | np.ndarray) -> np.ndarray:
    """Rotation about x; an array of angles gives a stack of matrices (..., 3, 3)."""
    c, s = np.cos(angle), np.sin(angle)
    zero, one = np.zeros_like(c), np.ones_like(c)
    return _matrices(c, [one, zero, zero, zero, c, -s, zero, s, c])


def world_to_camera(azimuth: float | np.ndarray, elevation: float | np.ndarray) -> np.ndarray:
    """R of step 2: world axes into camera axes (camera looks down -z)."""
    return rot_x(-(np.pi / 2 - elevation)) @ rot_z(-azimuth)


def camera_centre(azimuth: float, elevation: float, distance: float) -> np.ndarray:
    ce = np.cos(elevation)
    return distance * np.array([ce * np.sin(azimuth), -ce * np.cos(azimuth), np.sin(elevation)])


def object_rotation(
    azimuth: float | np.ndarray, elevation: float | np.ndarray, theta: float | np.ndarray
) -> np.ndarray:
    """The viewpoint as one rotation matrix (a stack for arrays), as the metrics compare them."""
    return rot_z(theta) @ world_to_camera(azimuth, elevation)


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
