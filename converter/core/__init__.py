"""The bottom layer: errors users can act on, whole-or-nothing file writes, facts of the release.

Nothing here imports another layer of `converter`.
"""
