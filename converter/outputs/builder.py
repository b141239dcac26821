"""The `datasets` builder of ImageNet3D: raw photos, pose3d crops, pose6d canvases and CAD meshes.

The loading script `imagenet3d.py` at the repository root exposes this class; the Parquet export
runs it too, so the script, the command line and the exports agree by construction. The archive
is read in place by range requests, never downloaded whole.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets
from datasets.utils.py_utils import classproperty

from converter.core.errors import AccessError, DataError, NetworkError, SourceError
from converter.core.release import CITATION, DESCRIPTION, HOMEPAGE, LICENSE
from converter.outputs.configurations import CONFIGURATIONS, DEFAULT, Configuration
from converter.outputs.schema import columns
from converter.outputs.sources import open_release
from converter.pose.options import PoseOptions
from converter.read.source import InvalidLog, OnInvalid, Source, aliased_split

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


def builder_config(declared: Configuration) -> ImageNet3DConfig:
    """The builder's configuration of a declared one, described on the default canvas."""
    return ImageNet3DConfig(
        name=declared.name, version=VERSION, description=declared.describe(PoseOptions())
    )


class ImageNet3D(datasets.GeneratorBasedBuilder):
    """ImageNet3D: 3D viewpoint, distance and box of objects in ImageNet photos."""

    VERSION = VERSION
    BUILDER_CONFIG_CLASS = ImageNet3DConfig
    DEFAULT_CONFIG_NAME = DEFAULT

    @classproperty
    @classmethod
    def BUILDER_CONFIGS(cls) -> list[ImageNet3DConfig]:
        """One per declared configuration, read when asked, so that every declaration is seen."""
        return [builder_config(declared) for declared in CONFIGURATIONS.values()]

    @classproperty
    @classmethod
    def builder_configs(cls) -> dict[str, ImageNet3DConfig]:
        """As `datasets` has it, but not cached: the declarations are the one record."""
        return {config.name: config for config in cls.BUILDER_CONFIGS}

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
        self._main_pid = os.getpid()

    @property
    def declared(self) -> Configuration:
        """The declaration of this builder's configuration."""
        return CONFIGURATIONS[self.config.name]

    def _info(self) -> datasets.DatasetInfo:
        """The features labelled with the given source's categories; None for the Hub's release
        until it is opened (docs/format.md, 'Categories').

        Bad option keywords are refused here, before any work.
        """
        self.config.options()
        source = self._given_source()
        return datasets.DatasetInfo(
            features=None if source is None else columns(self.declared.fields, source.categories()),
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
        """Records skipped (`on_invalid="skip"`) while generating examples, in this process and
        in the worker processes of `num_proc`."""
        log = InvalidLog()
        if self._source is not None:
            log.merge(self._source.invalid)
        log.merge(self.worker_skips())
        return log

    def worker_skips(self) -> InvalidLog:
        """Records skipped in the worker processes of `num_proc` alone."""
        log = InvalidLog()
        for report in self._worker_reports():
            log.merge(InvalidLog(**report["skipped"]))
        return log

    def _given_source(self) -> Source | None:
        """The source `data_dir` names, opened once (its central directory alone for a zip).

        The release on the Hub, used when no `data_dir` is given, is opened only when examples
        are asked for, with the download configuration's token.
        """
        if self._source is None and self.config.data_dir:
            self._source = open_release(self.config.data_dir, self.token, self.config.on_invalid)
        return self._source

    def worker_error(self) -> Exception | None:
        """The first one-line error (a bad record, an unreadable file) that stopped a worker
        process: `datasets` hands back only the text of its traceback."""
        for report in self._worker_reports():
            if report["error"] is not None:
                return _rebuilt(report["error"])
        return None

    def _worker_reports(self) -> list[dict[str, Any]]:
        folder = self._worker_folder()
        return [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))]

    def _worker_folder(self) -> Path:
        return Path(self._cache_dir_root) / "worker-reports"

    def _hand_back(self, source: Source, error: Exception | None = None) -> None:
        """In a worker process, leave what it skipped and what stopped it where the main
        process reads them."""
        if os.getpid() == self._main_pid or not (source.invalid.count or error):
            return
        report = {
            "skipped": {"count": source.invalid.count, "members": source.invalid.members},
            "error": None if error is None else _described(error),
        }
        folder = self._worker_folder()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{os.getpid()}-{uuid.uuid4().hex}.json"
        path.write_text(json.dumps(report))

    def _open(self, dl_manager: datasets.DownloadManager) -> Source:
        if self._source is None:
            token = dl_manager.download_config.token
            self._source = open_release(None, token, self.config.on_invalid)
        return self._source

    def _split_generators(
        self, dl_manager: datasets.DownloadManager
    ) -> list[datasets.SplitGenerator]:
        """The declared splits, each in the declared shards of the chosen categories.

        The category labels are all of the source's categories, also when a subset is
        chosen, so that a label means the same category in every subset.
        """
        source = self._open(dl_manager)
        categories = list(self.config.categories or source.categories())
        self.info.features = columns(self.declared.fields, source.categories())
        return [
            datasets.SplitGenerator(
                name=split,
                gen_kwargs={
                    "source": source,
                    "split": split,
                    "shards": self.declared.shards(source, split, categories),
                },
            )
            for split in self.declared.splits
        ]

    def _generate_examples(
        self, source: Source, split: str, shards: list[list[Any]]
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """The examples of one job; a worker hands back what it skipped, or the error that
        stopped it."""
        try:
            yield from self._keyed_examples(source, split, shards)
        except ONE_LINE_ERRORS as error:
            self._hand_back(source, error)
            raise
        self._hand_back(source)

    def _keyed_examples(
        self, source: Source, split: str, shards: list[list[Any]]
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        work = [item for shard in shards for item in shard]
        declared = self.declared
        for example in declared.examples(source, split, work, self.config.options()):
            yield declared.key(example), example


ONE_LINE_ERRORS = (DataError, SourceError, AccessError, NetworkError)


def _described(error: Exception) -> dict[str, Any]:
    """A one-line error as plain values, to pass between processes without pickle."""
    if isinstance(error, DataError):
        return {
            "kind": "DataError",
            "member": error.member,
            "reason": error.reason,
            "key": error.key,
        }
    return {"kind": type(error).__name__, "message": str(error)}


def _rebuilt(described: dict[str, Any]) -> Exception:
    """The error `_described` wrote, as its own kind (an unknown kind as a SourceError)."""
    if described["kind"] == "DataError":
        return DataError(described["member"], described["reason"], described["key"])
    kinds = {kind.__name__: kind for kind in ONE_LINE_ERRORS}
    return kinds.get(described["kind"], SourceError)(described["message"])


def _split_name(split: Any) -> Any:
    """Our name for a split given by its release word (`val`); any other split as it is."""
    return aliased_split(split) if isinstance(split, str) else split
