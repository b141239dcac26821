"""Looking at and scoring the data: overlays, contact sheets, pose metrics, the counts of `inspect`.

Imports every layer below it; nothing below imports it.
"""
