"""Pose geometry: which objects are kept, where their photo lands on the canvas, the camera.

Pure arithmetic (`geometry`, `camera`) and the canvas pixels (`canvas`). Imports `core` and `read`.
"""
