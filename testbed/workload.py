"""The benchmark workload: an archive of any number of photos with the release's distribution of
photo sizes, object counts, distances and statuses, drawn by the sample's writer.

Benchmarks only, so it lives beside the loopback servers, outside the installed package.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from converter.read.records import STATUSES
from converter.read.source import SPLITS
from converter.sample.writer import CATEGORIES, PhotoPlan, Style, plan_object, slots, write_archive

_WORKLOAD_STYLE = Style(noise=18, shapes=12, quality=92, subsampling=2)
_SIZE_CLASSES = ((0.7, (500, 375), 2.4), (0.2, (1000, 750), 1.3), (0.1, (2000, 1500), 0.7))
_WORKLOAD_STATUS_WEIGHTS = (0.6, 0.25, 0.1, 0.05)


def _workload_plans(rng: np.random.Generator, photos: int) -> list[PhotoPlan]:
    """Sizes 70/20/10 %, 1.3 objects a photo, pose3d scale 0.5..5 with a median near 2."""
    plans = []
    shares = [share for share, _, _ in _SIZE_CLASSES]
    for i in range(photos):
        category = list(CATEGORIES)[i % len(CATEGORIES)]
        _, (long_side, short_side), scale = _SIZE_CLASSES[rng.choice(len(shares), p=shares)]
        long_side, short_side = (
            round(side * rng.uniform(0.92, 1.08)) for side in (long_side, short_side)
        )
        width, height = (short_side, long_side) if rng.random() < 0.3 else (long_side, short_side)
        u = rng.random()
        n = 1 if u < 0.75 else 2 if u < 0.95 else 3
        objects = tuple(
            plan_object(
                rng,
                category,
                centre,
                4 * float(np.clip(scale * rng.lognormal(0, 0.3), 0.5, 5.0)),
                str(rng.choice(STATUSES, p=_WORKLOAD_STATUS_WEIGHTS)),
            )
            for centre in slots(rng, n, width, height)
        )
        mode = str(rng.choice(["RGB", "L", "CMYK"], p=[0.975, 0.02, 0.005]))
        plans.append(
            PhotoPlan(
                category=category,
                image_id=f"{CATEGORIES[category]}_{i // len(CATEGORIES) + 1}",
                split=SPLITS[1] if rng.random() < 0.2 else SPLITS[0],
                width=width,
                height=height,
                mode=mode,
                objects=objects,
            )
        )
    return plans


def write_workload(path: str | os.PathLike, photos: int, seed: int = 0) -> Path:
    """A benchmark archive of `photos` photos shaped like the release."""
    plans = _workload_plans(np.random.default_rng([seed, 0]), photos)
    return write_archive(path, plans, _WORKLOAD_STYLE, seed)
