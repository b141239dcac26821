"""The `datasets` builder of ImageNet3D: raw photos, pose3d crops, pose6d canvases and CAD meshes.

The loading script `imagenet3d.py` at the repository root exposes this class; the Parquet export
runs it too, so the script, the command line and the exports agree by construction. The archive
is read in place by range requests, never downloaded whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import datasets

from converter.core.release import CITATION, DESCRIPTION, HOMEPAGE, LICENSE
from converter.outputs.examples import (
    Pair,
    iter_cad_examples,
    iter_pose_examples,
    iter_raw_examples,
)
from converter.outputs.schema import CAD_CONFIG, CONFIGS, config_doc, features_for
from converter.pose.options import PoseOptions
from converter.read.source import SPLIT_ALIASES, SPLITS, InvalidLog, OnInvalid, Source
from converter.sample import open_release

VERSION = datasets.Version("1.0.0")


@dataclass
class ImageNet3DConfig(datasets.BuilderConfig, PoseOptions):
    """A configuration (`raw`, `pose3d`, `pose6d`, `cad`): the pose options, and what to do with an
    invalid record (`on_invalid`), as its keywords."""

    on_invalid: OnInvalid = "raise"

    def __post_init__(self) -> None:
        datasets.BuilderConfig.__post_init__(self)
        PoseOptions.__post_init__(self)

    def options(self) -> PoseOptions:
        """The pose options, checked again: `datasets` sets keywords after `__post_init__`."""
        return PoseOptions(**self.values())


class ImageNet3D(datasets.GeneratorBasedBuilder):
    """ImageNet3D: 3D viewpoint, distance and box of objects in ImageNet photos."""

    VERSION = VERSION
    BUILDER_CONFIG_CLASS = ImageNet3DConfig
    BUILDER_CONFIGS: ClassVar[list[ImageNet3DConfig]] = [
        ImageNet3DConfig(
            name=config, version=VERSION, description=config_doc(config, PoseOptions())
        )
        for config in CONFIGS
    ]
    DEFAULT_CONFIG_NAME = "raw"

    def __init__(
        self,
        *args: Any,
        dataset_name: str = "imagenet3d",
        source: Source | None = None,
        **kwargs: Any,
    ) -> None:
        """Named `imagenet3d` (in cache folders too), not after this module, `builder`.

        `source`, a source already open (the one named by `data_dir`), is read as it is rather
        than opened again, so that a process holds one index of the archive.
        """
        self._source = source
        super().__init__(*args, dataset_name=dataset_name, **kwargs)

    def _info(self) -> datasets.DatasetInfo:
        """The features labelled with the given source's categories; None for the Hub's release
        until it is opened (docs/format.md, 'Categories').

        Bad option keywords are refused here, before any work.
        """
        self.config.options()
        source = self._given_source()
        return datasets.DatasetInfo(
            features=None
            if source is None
            else features_for(self.config.name, source.categories()),
            description=DESCRIPTION,
            homepage=HOMEPAGE,
            license=LICENSE,
            citation=CITATION,
        )

    def as_dataset(self, split: Any = None, **kwargs: Any) -> Any:
        """As `datasets` does, taking the release's word `val` for the validation split."""
        return super().as_dataset(split=_split_name(split), **kwargs)

    def as_streaming_dataset(self, split: Any = None, **kwargs: Any) -> Any:
        """As `datasets` does, taking the release's word `val` for the validation split."""
        return super().as_streaming_dataset(split=_split_name(split), **kwargs)

    @property
    def invalid(self) -> InvalidLog:
        """Records skipped (`on_invalid="skip"`) while this process generated examples."""
        return self._source.invalid if self._source is not None else InvalidLog()

    def _given_source(self) -> Source | None:
        """The source `data_dir` names, opened once (its central directory alone for a zip).

        The release on the Hub, used when no `data_dir` is given, is opened only when examples
        are asked for, with the download configuration's token.
        """
        if self._source is None and self.config.data_dir:
            self._source = open_release(self.config.data_dir, self.token, self.config.on_invalid)
        return self._source

    def _open(self, dl_manager: datasets.DownloadManager) -> Source:
        if self._source is None:
            token = dl_manager.download_config.token
            self._source = open_release(None, token, self.config.on_invalid)
        return self._source

    def _split_generators(
        self, dl_manager: datasets.DownloadManager
    ) -> list[datasets.SplitGenerator]:
        """One shard per category, photos in archive order so remote reads stay close.

        The category labels are all of the source's categories, also when a subset is
        chosen, so that a label means the same category in every subset.
        """
        source = self._open(dl_manager)
        categories = list(self.config.categories or source.categories())
        self.info.features = features_for(self.config.name, source.categories())
        if self.config.name == CAD_CONFIG:
            return [_cad_split(source, categories)]
        return [
            datasets.SplitGenerator(
                name=split,
                gen_kwargs={
                    "source": source,
                    "split": split,
                    "shards": _shards(source, split, categories),
                },
            )
            for split in SPLITS
        ]

    def _generate_examples(
        self,
        source: Source,
        split: str,
        shards: list[list[Pair]] | None = None,
        categories: list[str] | None = None,
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        if self.config.name == CAD_CONFIG:
            for example in iter_cad_examples(source, categories):
                yield f"{example['category']}/{example['cad_index']:02d}", example
            return
        pairs = [pair for shard in shards for pair in shard]
        if self.config.name == "raw":
            for example in iter_raw_examples(source, split, pairs=pairs):
                yield f"{example['category']}/{example['image_id']}", example
            return
        for example in iter_pose_examples(
            source,
            split,
            self.config.name,
            self.config.options(),
            pairs=pairs,
        ):
            yield example["name"], example


def _shards(source: Source, split: str, categories: list[str]) -> list[list[Pair]]:
    shards = [source.image_ids(split, [category]) for category in categories]
    ordered = [sorted(shard, key=lambda pair: source.position(*pair)) for shard in shards if shard]
    return ordered or [[]]


def _cad_split(source: Source, categories: list[str]) -> datasets.SplitGenerator:
    """The meshes serve both splits of the images, so they form one split, named `train`.

    `train` is the split every `datasets` tool and the Hub viewer expect when there is one.
    """
    return datasets.SplitGenerator(
        name=datasets.Split.TRAIN,
        gen_kwargs={"source": source, "split": "train", "categories": categories},
    )


def _split_name(split: Any) -> Any:
    """Our name for a split given by its release word (`val`); any other split as it is."""
    return SPLIT_ALIASES.get(split, split) if isinstance(split, str) else split
