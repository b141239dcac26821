"""Every configuration declared once: what its examples are, their columns, how they are made.

The builder, the schema, the export, the card and `visualize` read these declarations rather
than asking a configuration's name, as `datasets`' packaged builders (`imagefolder`) declare what
differs and leave the work to one base class. A new configuration is one more `Configuration`
in `CONFIGURATIONS`; only the pose geometry tells its two modes apart.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from converter.core.errors import check_choice
from converter.core.fields import CAD, POSE, RAW, Field, fields_in, inner_fields
from converter.outputs.examples import (
    Pair,
    iter_cad_examples,
    iter_pose_examples,
    iter_raw_examples,
)
from converter.pose.geometry import Mode
from converter.pose.options import PoseOptions
from converter.read.source import SPLITS, Source

Example = dict[str, Any]
# The examples of one split made from a list of work items (photos or categories), with options.
Examples = Callable[[Source, str, Sequence[Any], PoseOptions], Iterator[Example]]
# A split's work items for the chosen categories, in shards that processes can share out.
Shards = Callable[[Source, str, Sequence[str]], list[list[Any]]]


@dataclass(frozen=True)
class Configuration:
    """One configuration: its name, what an example is, its columns, how examples are made."""

    name: str
    describe: Callable[[PoseOptions], str]  # what one example is, on the canvas given
    fields: tuple[Field, ...]  # its columns, in order
    examples: Examples
    shards: Shards
    key: Callable[[Example], str]  # an example's key, unique within its split
    naming: str  # the column that names an example (the file names of its overlays)
    records: tuple[str, ...] = ("categories",)  # the options its rows depend on, as stamped
    images: bool = True  # its examples are pictures that `visualize` can draw on
    splits: tuple[str, ...] = SPLITS
    mode: Mode | None = None  # the pose geometry that places its objects on a canvas

    @property
    def field_names(self) -> tuple[str, ...]:
        """Its column names and those of the records nested in a column (raw's `objects`)."""
        return tuple(
            name
            for column in self.fields
            for name in (column.name, *(inner.name for inner in inner_fields(column)))
        )


def photo_shards(source: Source, split: str, categories: Sequence[str]) -> list[list[Pair]]:
    """One shard per category, photos in archive order so remote reads stay close."""
    shards = [source.image_ids(split, [category]) for category in categories]
    ordered = [sorted(shard, key=lambda pair: source.position(*pair)) for shard in shards if shard]
    return ordered or [[]]


def category_shards(source: Source, split: str, categories: Sequence[str]) -> list[list[str]]:
    """One shard per category, for examples made per category (the meshes)."""
    return [[category] for category in categories] or [[]]


def _raw_examples(
    source: Source, split: str, pairs: Sequence[Pair], options: PoseOptions
) -> Iterator[Example]:
    return iter_raw_examples(source, split, pairs=pairs)


def _pose_examples(
    mode: Mode, source: Source, split: str, pairs: Sequence[Pair], options: PoseOptions
) -> Iterator[Example]:
    return iter_pose_examples(source, split, mode, options, pairs=pairs)


def _cad_examples(
    source: Source, split: str, categories: Sequence[str], options: PoseOptions
) -> Iterator[Example]:
    return iter_cad_examples(source, categories)


def _pose(mode: Mode, describe: Callable[[str], str]) -> Configuration:
    """A pose configuration: one canvas per kept object, placed by the geometry of `mode`."""
    return Configuration(
        name=mode,
        describe=lambda canvas: describe(f"{canvas.height} x {canvas.width}"),
        fields=fields_in(POSE),
        examples=functools.partial(_pose_examples, mode),
        shards=photo_shards,
        key=operator.itemgetter("name"),
        naming="name",
        records=("categories", "canvas", "quality"),
        mode=mode,
    )


RAW_PHOTOS = Configuration(
    name="raw",
    describe=lambda canvas: (
        "one example per photo, the photo as released (converted to RGB) with all its objects"
    ),
    fields=fields_in(RAW),
    examples=_raw_examples,
    shards=photo_shards,
    key=lambda example: f"{example['category']}/{example['image_id']}",
    naming="image_id",
)
POSE3D = _pose(
    "pose3d",
    lambda size: (
        "one example per usable object: the photo scaled so that the object sits at "
        f"the target distance, object centre at the centre of a {size} canvas"
    ),
)
POSE6D = _pose(
    "pose6d",
    lambda size: (
        f"one example per usable object: the whole photo fitted on a {size} canvas, camera kept"
    ),
)
CAD_MESHES = Configuration(
    name="cad",
    describe=lambda canvas: (
        "one example per CAD mesh of the release, in a single `train` split "
        "(the meshes serve both splits of the other configurations)"
    ),
    fields=fields_in(CAD),
    examples=_cad_examples,
    shards=category_shards,
    key=lambda example: f"{example['category']}/{example['cad_index']:02d}",
    naming="mesh_file",
    images=False,
    # `train` is the split every `datasets` tool and the Hub viewer expect when there is one.
    splits=("train",),
)

CONFIGURATIONS: dict[str, Configuration] = {
    declared.name: declared for declared in (RAW_PHOTOS, POSE3D, POSE6D, CAD_MESHES)
}
DEFAULT = RAW_PHOTOS.name  # the configuration `load_dataset` and the Hub show when none is named
MESHES = CAD_MESHES.name  # the configuration whose rows are the CAD meshes the overlays draw


def configuration(name: str) -> Configuration:
    """The declaration of configuration `name`, or one line naming the declared ones."""
    check_choice("configuration", name, tuple(CONFIGURATIONS))
    return CONFIGURATIONS[name]


def image_configuration(name: str) -> Configuration:
    """The declaration of a configuration with images (one that `visualize` can draw)."""
    check_choice("configuration", name, image_configs())
    return CONFIGURATIONS[name]


def image_configs() -> tuple[str, ...]:
    """The declared configurations whose examples are pictures."""
    return tuple(name for name, declared in CONFIGURATIONS.items() if declared.images)


def posed_configs() -> tuple[str, ...]:
    """The declared configurations whose examples are objects the pose geometry placed."""
    return tuple(name for name, declared in CONFIGURATIONS.items() if declared.mode is not None)


CONFIGS = tuple(CONFIGURATIONS)  # as declared here (command-line choices)
IMAGE_CONFIGS = image_configs()


def carrying(field: str) -> tuple[str, ...]:
    """The configurations whose examples carry `field`, as a column or inside one."""
    return tuple(name for name, declared in CONFIGURATIONS.items() if field in declared.field_names)
