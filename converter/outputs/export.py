"""Publishable Parquet: every configuration written by the builder itself, plus a dataset card.

The builder's own `download_and_prepare(file_format="parquet")` does the feature encoding
and the size-bounded sharding, so exported rows are the builder's rows by construction.
Each configuration is staged in a hidden folder with its stamp (`export.json`: the options
and source that built it, and each shard's size and digest) and moved into place in one
rename: a folder under its final name is always complete. A rerun keeps a configuration whose
stamp matches and whose shards are still the files stamped; it rebuilds a damaged one, and
one built otherwise only when told to (`overwrite`, which rebuilds every configuration named).
The card is then written from the folder alone.
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
from datasets.utils.py_utils import convert_file_size_to_int

import converter
from converter.core.files import STAGING_PREFIX, write_atomic
from converter.core.locations import recorded_location
from converter.outputs.builder import ImageNet3D
from converter.outputs.card import write_card
from converter.outputs.configurations import CONFIGURATIONS, configuration
from converter.outputs.export_folder import (
    STAMP,
    check_exportable,
    clear_leftovers,
    damage,
    locked,
    read_stamp,
    shard_record,
)
from converter.outputs.sources import open_release
from converter.outputs.tool_folder import OutputMismatch
from converter.pose.options import PoseOptions
from converter.read.source import Source

logger = logging.getLogger(__name__)
_PREPARED = re.compile(r"-(?P<split>[a-z]+)(?:-(?P<index>\d{5})-of-(?P<count>\d{5}))?\.parquet$")


@dataclass
class ExportOptions:
    """How to build each configuration: the pose options and the writing limits.

    `datasets` writes a split in row groups of `rows_per_group` rows (its own choice when None:
    100 for the image configurations) and starts a new shard once one passes `max_shard_size`
    (a number of bytes, or one with a unit: "500MB"), so a shard exceeds it by less than one
    row group. Every value is checked here, before anything is written.
    """

    pose: PoseOptions = field(default_factory=PoseOptions)
    max_shard_size: str | int = "500MB"
    rows_per_group: int | None = None
    num_proc: int | None = None
    token: str | bool | None = None

    def __post_init__(self) -> None:
        self.max_shard_size = shard_size(self.max_shard_size)
        if self.rows_per_group is not None and self.rows_per_group < 1:
            raise ValueError(f"rows_per_group must be at least 1, got {self.rows_per_group}")
        if self.num_proc is not None and self.num_proc < 1:
            raise ValueError(f"num_proc must be at least 1, got {self.num_proc}")

    def settings(self, name: str) -> dict[str, Any]:
        """The options that decide configuration `name`'s rows, as its stamp records them."""
        pose = self.pose
        canvas = {key: getattr(pose, key) for key in ("height", "width", "target_distance")}
        recorded = {
            "categories": sorted(pose.categories or []) or None,
            "canvas": {
                **canvas,
                "kept_rule": pose.kept_rule,
                "statuses": list(pose.kept_statuses),
            },
            "quality": pose.jpeg_quality,
        }
        return {key: recorded[key] for key in configuration(name).records}


def shard_size(size: str | int) -> int:
    """A shard size bound in bytes, read as `datasets` reads one ("500MB" is 500 * 10**6)."""
    if isinstance(size, str) and size.strip().isdigit():
        size = int(size)
    try:
        value = convert_file_size_to_int(size)
    except (ValueError, TypeError):
        value = 0
    if not isinstance(value, int) or value < 1:
        raise ValueError(
            f"max_shard_size {size!r} is not a size: give bytes, or a number with a unit "
            "(KB, MB, GB, or KiB, MiB, GiB), e.g. 500MB"
        )
    return value


def source_name(source: Source) -> dict[str, Any]:
    """How the card names the source: a local file's name and size, a folder's name, or a URL
    as `recorded_location` makes it publishable (with what it cut from it)."""
    path = Path(source.label)
    if path.is_file():
        return {"name": path.name, "size": path.stat().st_size}
    if path.is_dir():
        return {"name": path.name}
    name, removed = recorded_location(source.label)
    return {"name": name, "removed": removed} if removed else {"name": name}


def shard_name(split: str, index: int, count: int) -> str:
    return f"{split}-{index:05d}-of-{count:05d}.parquet"


def export(
    source: Source | str | os.PathLike[str] | None,
    out: Path,
    configs: Sequence[str] | None = None,
    options: ExportOptions | None = None,
    *,
    overwrite: bool = False,
) -> dict[str, datasets.DatasetInfo]:
    """Write `out/<config>/<split>-NNNNN-of-NNNNN.parquet` for each config, then the card.

    The builder reads `source` itself (one index of the archive per process): records it skips
    (`on_invalid="skip"`) are noted in `source.invalid`. `configs` defaults to every declared
    configuration. Configurations, categories and options are checked before anything is
    written: a bad one leaves `out` as it was. Returns the configurations the card lists.
    """
    options = options or ExportOptions()
    configs = list(CONFIGURATIONS) if configs is None else configs
    for config in configs:
        configuration(config)
    if not isinstance(source, Source):
        source = open_release(source, options.token)
    source.check_categories(options.pose.categories)
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
        "on_invalid": source.on_invalid,
        **options.settings(config),
        "exporter": f"imagenet3d-hf {converter.__version__}",
    }


def export_config(
    source: Source, out: Path, config: str, options: ExportOptions, *, overwrite: bool = False
) -> None:
    """One configuration's shards and stamp, staged and moved into place.

    Kept as it is when its stamp matches this run's and its shards are the files stamped; a
    damaged one is rebuilt, saying which file was damaged. One built from other options or
    another source is rebuilt only with `overwrite`, so data and card never tell different
    stories; `overwrite` rebuilds it in any case.
    """
    final = out / config
    stamp = _stamp(source, config, options)
    if final.exists() and not overwrite:
        found = read_stamp(final)
        changed = _changed(found, stamp)
        if changed:
            raise OutputMismatch(
                f"{final} was exported with other options or from another source "
                f"({', '.join(changed)} differ); rerun with --overwrite to rebuild it, "
                "or choose another output folder"
            )
        problem = damage(final, found)
        if not problem:
            logger.info("%s: already built in %s, kept", config, final)
            return
        logger.warning("%s: %s; rebuilding it", config, problem)
    logger.info("%s: building", config)
    staging = out / f"{STAGING_PREFIX}{config}"
    shards = _build(source, staging, config, options)
    stamp["shards"] = {path.name: shard_record(path) for path in sorted(shards.iterdir())}
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
        source=source,
        writer_batch_size=options.rows_per_group,
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
    source.invalid.merge(builder.worker_skips())  # this process's skips are in it already
    shards = staging / config
    shards.mkdir()
    for path in sorted(prepared.glob("*.parquet")):
        match = _PREPARED.search(path.name)
        index, count = (int(match["index"]), int(match["count"])) if match["index"] else (0, 1)
        if pq.read_metadata(path).num_rows:  # `datasets` cannot load an empty split: leave it out
            path.rename(shards / shard_name(match["split"], index, count))
    return shards
