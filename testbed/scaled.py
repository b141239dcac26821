"""Release-shaped archives at any scale, up to the real release's size, for scale benchmarks.

The release has about 200 categories and 70,000 photos holding 86,000 objects (docs/format.md,
'Release layout'). `write_scaled_release` writes that many categories and photos, and every
member kind (photos, annotation files, split lists, CAD meshes, folder entries) and value form
the sample has, but with photos of about 100 pixels a side: what grows with the release (member
count, central directory, names, rows, objects) grows as in the release, while the archive stays
small enough (under 1 GB at full size) to write in minutes. The sample's writer draws every
photo; each generated category borrows one of the sample categories' meshes and colours.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from converter.read.records import STATUSES
from converter.read.source import SPLITS
from converter.sample.writer import (
    CATEGORIES,
    VIEWPORT,
    ObjectPlan,
    PhotoPlan,
    Style,
    plan_object,
    slots,
    value_forms,
    write_archive,
)

# Photos of the release per category and split, on average: 70,000 photos in 200 categories,
# 80 % of them in train.
RELEASE_CATEGORY_COUNT = 200
RELEASE_TRAIN_PER_CATEGORY = 280
RELEASE_VAL_PER_CATEGORY = 70

_STYLE = Style(noise=8, shapes=3, quality=85, subsampling=2)
_SIZES = ((96, 72), (72, 96), (112, 84), (80, 80))
# Objects a photo holds, and how often: 1.23 on average, as the release's 86,000 in 70,000.
_OBJECT_COUNTS = ((1, 0.80), (2, 0.17), (3, 0.03))
# Every n-th object or photo carries one of the release's rarer cases.
_RARE_OBJECTS = {97: "no_pose", 89: "zero_distance", 83: "legacy"}
_RARE_PHOTOS = {499: "png", 199: "CMYK", 47: "L"}


@dataclass(frozen=True)
class Scale:
    """How big a generated release is: categories, and photos per category in each split."""

    categories: int = RELEASE_CATEGORY_COUNT
    train: int = RELEASE_TRAIN_PER_CATEGORY
    val: int = RELEASE_VAL_PER_CATEGORY

    @classmethod
    def of_release(cls, fraction: float) -> Scale:
        """The release's 200 categories with `fraction` of its photos in each (at least one)."""
        return cls(
            train=max(1, round(RELEASE_TRAIN_PER_CATEGORY * fraction)),
            val=max(1, round(RELEASE_VAL_PER_CATEGORY * fraction)),
        )

    @property
    def photos(self) -> int:
        return self.categories * (self.train + self.val)


def _category_names(count: int) -> list[str]:
    """Category names, each naming the sample category whose meshes it borrows, in turn."""
    shapes = list(CATEGORIES)
    return [f"{shapes[index % len(shapes)]}_{index:03d}" for index in range(count)]


def scaled_categories(count: int) -> list[str]:
    """The categories of an archive of `count`, sorted as every reader lists them."""
    return sorted(_category_names(count))


def _scaled_plans(rng: np.random.Generator, scale: Scale) -> list[PhotoPlan]:
    """Small photos, 1.23 objects each, every value form and rare case in turn."""
    counts, weights = zip(*_OBJECT_COUNTS, strict=True)
    plans: list[PhotoPlan] = []
    objects = 0
    for index, category in enumerate(_category_names(scale.categories)):
        shape = category.rpartition("_")[0]
        train, validation = SPLITS
        splits = [train] * scale.train + [validation] * scale.val
        for number, split in enumerate(splits):
            width, height = _SIZES[len(plans) % len(_SIZES)]
            items = []
            for centre in slots(rng, int(rng.choice(counts, p=weights)), width, height):
                items.append(_scaled_object(rng, shape, centre, min(width, height), objects))
                objects += 1
            rare = next((case for n, case in _RARE_PHOTOS.items() if len(plans) % n == n - 1), "")
            plans.append(
                PhotoPlan(
                    category=category,
                    image_id=f"n{index:08d}_{number + 1}",
                    split=split,
                    width=width,
                    height=height,
                    mode=rare if rare in ("L", "CMYK") else "RGB",
                    objects=tuple(items),
                    png=rare == "png",
                    shape=shape,
                )
            )
    return plans


def _scaled_object(
    rng: np.random.Generator, shape: str, centre: tuple[float, float], side: int, number: int
) -> ObjectPlan:
    """Object `number` of the archive, in the value forms and rare case its number gives."""
    case = next((case for n, case in _RARE_OBJECTS.items() if number % n == n - 1), "posed")
    status = None if case == "legacy" else STATUSES[number % len(STATUSES)]
    distance = VIEWPORT / (rng.uniform(0.45, 0.85) * side)
    kind = case if case in ("no_pose", "zero_distance") else "posed"
    item = plan_object(rng, shape, centre, distance, status, kind=kind)
    return replace(item, forms=value_forms(number))


def write_scaled_release(path: str | os.PathLike, scale: Scale = Scale(), seed: int = 0) -> Path:
    """A release-shaped archive of `scale`'s categories and photos; the same for the same seed."""
    plans = _scaled_plans(np.random.default_rng([seed, 3]), scale)
    crlf = plans[0].category
    return write_archive(path, plans, _STYLE, seed, crlf)
