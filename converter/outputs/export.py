"""Publishable Parquet: every configuration written by the builder itself, plus a dataset card.

The builder's own `download_and_prepare(file_format="parquet")` does the feature encoding
and the size-bounded sharding, so exported rows are the builder's rows by construction.
Each configuration is staged in a hidden folder and moved into place in one rename: a
folder under its final name is always complete, and a rerun redoes only what is missing.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import datasets
import pyarrow.parquet as pq

from converter.core.files import STAGING_PREFIX
from converter.outputs.card import write_card
from converter.outputs.schema import CONFIGS
from converter.pose.options import PoseOptions

logger = logging.getLogger(__name__)
_PREPARED = re.compile(r"-(?P<split>[a-z]+)(?:-(?P<index>\d{5})-of-(?P<count>\d{5}))?\.parquet$")


@dataclass
class ExportOptions:
    """How to build each configuration: the pose options and the writing limits."""

    pose: PoseOptions = field(default_factory=PoseOptions)
    max_shard_size: str | int = "500MB"
    num_proc: int | None = None
    token: str | bool | None = None


def shard_name(split: str, index: int, count: int) -> str:
    return f"{split}-{index:05d}-of-{count:05d}.parquet"


def export(
    source: str | os.PathLike[str] | None,
    out: Path,
    configs: Sequence[str] = CONFIGS,
    options: ExportOptions | None = None,
) -> dict[str, datasets.DatasetInfo]:
    """Write `out/<config>/<split>-NNNNN-of-NNNNN.parquet` for each config, then `out/README.md`."""
    options = options or ExportOptions()
    out.mkdir(parents=True, exist_ok=True)
    for config in configs:
        export_config(source, out, config, options)
    infos = {config: folder_info(out / config) for config in CONFIGS if (out / config).is_dir()}
    write_card(out, infos, options.pose)
    return infos


def export_config(
    source: str | os.PathLike[str] | None, out: Path, config: str, options: ExportOptions
) -> Path:
    """One configuration's shards, staged and moved into place; kept as is when already done."""
    final = out / config
    if final.is_dir():
        logger.info("%s: already complete in %s, kept", config, final)
        return final
    logger.info("%s: building", config)
    staging = out / f"{STAGING_PREFIX}{config}"
    shutil.rmtree(staging, ignore_errors=True)
    from converter.outputs.builder import ImageNet3D

    builder = ImageNet3D(
        config_name=config,
        data_dir=None if source is None else os.fspath(source),
        cache_dir=os.fspath(staging / "cache"),
        token=options.token,
        **options.pose.values(),
    )
    prepared = staging / "prepared"
    builder.download_and_prepare(
        output_dir=os.fspath(prepared),
        file_format="parquet",
        max_shard_size=options.max_shard_size,
        num_proc=options.num_proc,
    )
    shards = staging / config
    shards.mkdir()
    for path in sorted(prepared.glob("*.parquet")):
        match = _PREPARED.search(path.name)
        index, count = (int(match["index"]), int(match["count"])) if match["index"] else (0, 1)
        path.rename(shards / shard_name(match["split"], index, count))
    os.replace(shards, final)
    shutil.rmtree(staging)
    return final


def folder_info(folder: Path) -> datasets.DatasetInfo:
    """Features and split sizes read back from a configuration's shards alone."""
    files = sorted(folder.glob("*.parquet"))
    features = datasets.Features.from_arrow_schema(pq.read_schema(files[0]))
    splits = datasets.SplitDict()
    for split in dict.fromkeys(path.name.split("-")[0] for path in files):
        split_files = [path for path in files if path.name.startswith(f"{split}-")]
        splits.add(
            datasets.SplitInfo(
                name=split,
                num_examples=sum(pq.read_metadata(path).num_rows for path in split_files),
                num_bytes=sum(path.stat().st_size for path in split_files),
            )
        )
    return datasets.DatasetInfo(
        features=features,
        splits=splits,
        download_size=sum(path.stat().st_size for path in files),
        config_name=folder.name,
    )
