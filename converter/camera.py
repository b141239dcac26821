"""The annotation camera model of SPEC section 5, vectorized over points."""

from __future__ import annotations

import numpy as np


def rot_z(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def rot_x(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def world_to_camera(azimuth: float, elevation: float) -> np.ndarray:
    """R of step 2: world axes into camera axes (camera looks down -z)."""
    return rot_x(-(np.pi / 2 - elevation)) @ rot_z(-azimuth)


def camera_centre(azimuth: float, elevation: float, distance: float) -> np.ndarray:
    ce = np.cos(elevation)
    return distance * np.array([ce * np.sin(azimuth), -ce * np.cos(azimuth), np.sin(elevation)])


def object_rotation(azimuth: float, elevation: float, theta: float) -> np.ndarray:
    """The viewpoint as one rotation matrix, as the metrics compare them."""
    return rot_z(theta) @ world_to_camera(azimuth, elevation)


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
    rotation = world_to_camera(azimuth, elevation)
    cam = (np.asarray(points, dtype=np.float64) - camera_centre(azimuth, elevation, distance)) @ (
        rotation.T
    )
    depth = -cam[:, 2]
    u = viewport * cam[:, 0] / depth
    v = viewport * cam[:, 1] / depth
    ct, st = np.cos(theta), np.sin(theta)
    return np.stack([u * ct - v * st + px, -(u * st + v * ct) + py], axis=1)
