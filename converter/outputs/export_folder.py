"""An export folder read back: how each configuration was built, what it holds, whether it is whole.

Layout: `OUT/<config>/<split>-NNNNN-of-NNNNN.parquet` beside `OUT/<config>/export.json` (the
options and source that built the configuration, and its shards), and the card `OUT/README.md`.
The card, a rerun of `export` and `push` all read these facts from the folder itself, so none
of them can describe data the folder does not hold.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import datasets
import pyarrow.parquet as pq
from filelock import FileLock, Timeout

from converter.core.files import PARTIAL_SUFFIX, STAGING_PREFIX
from converter.outputs.schema import CONFIGS

STAMP = "export.json"
CARD = "README.md"
LOCK = ".export.lock"


class NotAnExport(ValueError):
    """A folder `export` did not write, or one it has not finished."""


def read_stamp(folder: Path) -> dict[str, Any]:
    """How a configuration folder was built, or NotAnExport naming the folder."""
    try:
        stamp = json.loads((folder / STAMP).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        stamp = None
    if not isinstance(stamp, dict) or not isinstance(stamp.get("shards"), list):
        raise NotAnExport(
            f"{folder} is not a configuration written by `imagenet3d export` "
            f"(no readable {STAMP}); move it away or choose another output folder"
        )
    return stamp


def stamped_configs(out: Path) -> dict[str, dict[str, Any]]:
    """Every finished configuration of `out` with its stamp, in configuration order."""
    return {config: read_stamp(out / config) for config in CONFIGS if (out / config).is_dir()}


def filled_configs(out: Path) -> dict[str, dict[str, Any]]:
    """The finished configurations of `out` with any example (`datasets` cannot load an empty
    split), with their stamps."""
    return {config: stamp for config, stamp in stamped_configs(out).items() if stamp["shards"]}


def shards_per_split(stamp: dict[str, Any]) -> dict[str, int]:
    """How many shards each split of a configuration has, from the names its stamp lists."""
    counts: dict[str, int] = {}
    for name in stamp["shards"]:
        split = name.split("-")[0]
        counts[split] = counts.get(split, 0) + 1
    return counts


def check_exportable(out: Path) -> None:
    """Refuse an output folder holding things `export` did not write where it would write."""
    if out.exists() and not out.is_dir():
        raise NotAnExport(f"{out} is a file, not an export folder")
    configs = stamped_configs(out) if out.is_dir() else {}
    if (out / CARD).exists() and not configs:
        raise NotAnExport(
            f"{out} has a {CARD} but no exported configuration: it is not an export folder; "
            "choose another output folder"
        )


def leftovers(out: Path) -> list[Path]:
    """Staging folders and half-written files an interrupted run left in `out`."""
    staged = [path for path in out.iterdir() if path.name.startswith(STAGING_PREFIX)]
    partial = [path for path in out.rglob(f"*{PARTIAL_SUFFIX}") if path.is_file()]
    return sorted(set(staged + partial))


def clear_leftovers(out: Path) -> None:
    """Remove what an interrupted run left; only safe while holding the folder's lock."""
    for path in leftovers(out):
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


@contextlib.contextmanager
def locked(out: Path, *, wait: bool = True) -> Iterator[None]:
    """Hold `out`'s lock: one export (or push) at a time works on a folder.

    When another process holds it, say so on stderr and wait for it (or, with `wait=False`,
    refuse at once).
    """
    lock = FileLock(out / LOCK)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if not wait:
            raise NotAnExport(
                f"{out} is being written by another `imagenet3d export`; wait for it to finish"
            ) from None
        print(f"{out}: another export is writing here; waiting for it to finish", file=sys.stderr)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def folder_info(folder: Path, stamp: dict[str, Any]) -> datasets.DatasetInfo:
    """Features and split sizes of a configuration, read back from its stamped shards."""
    files = [folder / name for name in stamp["shards"]]
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
        features=datasets.Features.from_arrow_schema(pq.read_schema(files[0])) if files else None,
        splits=splits,
        download_size=sum(path.stat().st_size for path in files),
        config_name=folder.name,
    )


def categories_present(
    folder: Path, stamp: dict[str, Any], info: datasets.DatasetInfo
) -> list[str]:
    """The names of the categories that rows of the configuration really have."""
    label = (info.features or {}).get("category")
    if not isinstance(label, datasets.ClassLabel):
        return []
    found: set[int] = set()
    for name in stamp["shards"]:
        found.update(pq.read_table(folder / name, columns=["category"])["category"].to_pylist())
    return [label.int2str(index) for index in sorted(found)]


def check_complete(out: Path, listed: list[str]) -> dict[str, dict[str, Any]]:
    """Stamps of a whole export whose card lists `listed`, else NotAnExport saying what is wrong."""
    left = leftovers(out)
    if left:
        raise NotAnExport(
            f"{out} holds leftovers of an interrupted or running export ({left[0].name}); "
            "run `imagenet3d export` into it again to finish it"
        )
    configs = filled_configs(out)
    if set(configs) != set(listed):
        raise NotAnExport(
            f"{out}/{CARD} lists configurations {', '.join(listed) or 'none'} but the folder holds "
            f"{', '.join(configs) or 'none'}; run `imagenet3d export` into it again"
        )
    for config, stamp in configs.items():
        missing = [name for name in stamp["shards"] if not (out / config / name).is_file()]
        if missing:
            raise NotAnExport(f"{out / config} lacks {missing[0]}, listed in its {STAMP}")
    return configs
