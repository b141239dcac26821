"""Publishable Parquet: every configuration written by the builder itself, plus a dataset card.

The builder's own `download_and_prepare(file_format="parquet")` does the feature encoding
and the size-bounded sharding, so exported rows are the builder's rows by construction.
Each configuration is staged in a hidden folder with its stamp (`export.json`: the options
and source that built it) and moved into place in one rename: a folder under its final name
is always complete. A rerun keeps a configuration whose stamp matches, and rebuilds one built
otherwise only when told to (`overwrite`). The card is then written from the folder alone.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import datasets
import pyarrow.parquet as pq

import converter
from converter.core.files import STAGING_PREFIX, write_atomic
from converter.outputs.builder import ImageNet3D
from converter.outputs.card import write_card
from converter.outputs.export_folder import (
    STAMP,
    check_exportable,
    clear_leftovers,
    locked,
    read_stamp,
)
from converter.outputs.preprocess import OutputMismatch
from converter.outputs.schema import CONFIGS
from converter.pose.geometry import MODES
from converter.pose.options import PoseOptions
from converter.read.source import Source
from converter.sample import open_release

logger = logging.getLogger(__name__)
_PREPARED = re.compile(r"-(?P<split>[a-z]+)(?:-(?P<index>\d{5})-of-(?P<count>\d{5}))?\.parquet$")


@dataclass
class ExportOptions:
    """How to build each configuration: the pose options and the writing limits."""

    pose: PoseOptions = field(default_factory=PoseOptions)
    max_shard_size: str | int = "500MB"
    num_proc: int | None = None
    token: str | bool | None = None

    def settings(self, name: str) -> dict[str, Any]:
        """The options that decide configuration `name`'s rows, as its stamp records them."""
        pose = self.pose
        settings: dict[str, Any] = {"categories": sorted(pose.categories or []) or None}
        if name in MODES:
            canvas = {key: getattr(pose, key) for key in ("height", "width", "target_distance")}
            settings |= {
                "canvas": {**canvas, "statuses": list(pose.statuses)},
                "quality": pose.jpeg_quality,
            }
        return settings


def source_name(source: Source) -> dict[str, Any]:
    """How the card names the source: a local file's name and size, a folder's name, a URL."""
    path = Path(source.label)
    if path.is_file():
        return {"name": path.name, "size": path.stat().st_size}
    return {"name": path.name if path.is_dir() else source.label}


def shard_name(split: str, index: int, count: int) -> str:
    return f"{split}-{index:05d}-of-{count:05d}.parquet"


def export(
    source: Source | str | os.PathLike[str] | None,
    out: Path,
    configs: Sequence[str] = CONFIGS,
    options: ExportOptions | None = None,
    *,
    overwrite: bool = False,
) -> dict[str, datasets.DatasetInfo]:
    """Write `out/<config>/<split>-NNNNN-of-NNNNN.parquet` for each config, then `out/README.md`.

    The builder reads the source the way it was opened: records it skips (`on_invalid="skip"`)
    are added to `source.invalid`. Returns the configurations the card lists.
    """
    options = options or ExportOptions()
    if not isinstance(source, Source):
        source = open_release(source, options.token)
    check_exportable(out)
    out.mkdir(parents=True, exist_ok=True)
    with locked(out):
        clear_leftovers(out)
        for config in configs:
            export_config(source, out, config, options, overwrite=overwrite)
        return write_card(out)


def _stamp(source: Source, config: str, options: ExportOptions) -> dict[str, Any]:
    return {
        "config": config,
        "source": source.store.fingerprint(),
        "source_name": source_name(source),
        **options.settings(config),
        "exporter": f"imagenet3d-hf {converter.__version__}",
    }


def export_config(
    source: Source, out: Path, config: str, options: ExportOptions, *, overwrite: bool = False
) -> None:
    """One configuration's shards and stamp, staged and moved into place.

    Kept as it is when its stamp matches this run's; one built from other options or another
    source is rebuilt only with `overwrite`, so data and card never tell different stories.
    """
    final = out / config
    stamp = _stamp(source, config, options)
    if final.exists():
        changed = _changed(read_stamp(final), stamp)
        if not changed:
            logger.info("%s: already built in %s, kept", config, final)
            return
        if not overwrite:
            raise OutputMismatch(
                f"{final} was exported with other options or from another source "
                f"({', '.join(changed)} differ); rerun with --overwrite to rebuild it, "
                "or choose another output folder"
            )
    logger.info("%s: building", config)
    staging = out / f"{STAGING_PREFIX}{config}"
    shards = _build(source, staging, config, options)
    stamp["shards"] = sorted(path.name for path in shards.iterdir())
    write_atomic(shards / STAMP, (json.dumps(stamp, indent=2, sort_keys=True) + "\n").encode())
    if final.exists():
        final.rename(staging / "replaced")
    os.replace(shards, final)
    shutil.rmtree(staging)


def _changed(found: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    """The stamp entries in which two builds differ (the same data under another name is equal)."""
    keys = (found.keys() | wanted.keys()) - {"shards", "source_name"}
    return sorted(key for key in keys if found.get(key) != wanted.get(key))


def _build(source: Source, staging: Path, config: str, options: ExportOptions) -> Path:
    """Run the builder into `staging` and name its non-empty shards as the Hub expects."""
    builder = ImageNet3D(
        config_name=config,
        data_dir=source.label,
        cache_dir=os.fspath(staging / "cache"),
        token=options.token,
        on_invalid=source.on_invalid,
        **options.pose.values(),
    )
    prepared = staging / "prepared"
    try:
        builder.download_and_prepare(
            output_dir=os.fspath(prepared),
            file_format="parquet",
            max_shard_size=options.max_shard_size,
            num_proc=options.num_proc,
        )
    except datasets.exceptions.DatasetGenerationError as error:
        # The builder's own one-line errors (DataError, SourceError, ...) come out as they are,
        # from this process or from a worker.
        raise builder.worker_error() or error.__cause__ or error from None
    shards = staging / config
    shards.mkdir()
    for path in sorted(prepared.glob("*.parquet")):
        match = _PREPARED.search(path.name)
        index, count = (int(match["index"]), int(match["count"])) if match["index"] else (0, 1)
        if pq.read_metadata(path).num_rows:  # `datasets` cannot load an empty split: leave it out
            path.rename(shards / shard_name(match["split"], index, count))
    source.invalid.merge(builder.invalid)
    return shards
