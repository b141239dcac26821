"""An export folder read back: how each configuration was built, what it holds, whether it is whole.

Layout: `OUT/<config>/<split>-NNNNN-of-NNNNN.parquet` beside `OUT/<config>/export.json` (the
options and source that built the configuration, and each shard's size and SHA-256), and the
card `OUT/README.md`.
The card, a rerun of `export` and `push` all read these facts from the folder itself, so none
of them can describe data the folder does not hold. Telling an export folder from others
(`is_export_folder`) loads no `datasets` nor pyarrow: the commands that draw from one start light.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock, Timeout

from converter.core.files import STAGING_PREFIX, is_temporary
from converter.outputs.configurations import CONFIGURATIONS

if TYPE_CHECKING:
    import datasets

STAMP = "export.json"
CARD = "README.md"
LOCK = ".export.lock"
# The names `export` gives what it writes directly in OUT: a folder holding any of them was
# written by `export`, and only these (and temporary files beside them) are ever removed.


class NotAnExport(ValueError):
    """A folder `export` did not write, or one it has not finished."""


def read_stamp(folder: Path) -> dict[str, Any]:
    """How a configuration folder was built, or NotAnExport naming the folder."""
    try:
        stamp = json.loads((folder / STAMP).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        stamp = None
    if not isinstance(stamp, dict) or not isinstance(stamp.get("shards"), (dict, list)):
        raise NotAnExport(
            f"{folder} is not a configuration written by `imagenet3d export` "
            f"(no readable {STAMP}); move it away or choose another output folder"
        )
    return stamp


def stamped_configs(out: Path) -> dict[str, dict[str, Any]]:
    """Every finished configuration of `out` with its stamp, in configuration order."""
    return {
        config: read_stamp(out / config) for config in CONFIGURATIONS if (out / config).is_dir()
    }


def filled_configs(out: Path) -> dict[str, dict[str, Any]]:
    """The finished configurations of `out` with any example (`datasets` cannot load an empty
    split), with their stamps."""
    return {config: stamp for config, stamp in stamped_configs(out).items() if stamp["shards"]}


def is_export_folder(path: Path) -> bool:
    """True for a folder `export` wrote: its card beside finished configurations with examples."""
    try:
        return path.is_dir() and (path / CARD).is_file() and bool(filled_configs(path))
    except NotAnExport:
        return False


def shards_per_split(stamp: dict[str, Any]) -> dict[str, int]:
    """How many shards each split of a configuration has, from the names its stamp lists."""
    counts: dict[str, int] = {}
    for name in stamp["shards"]:
        split = name.split("-")[0]
        counts[split] = counts.get(split, 0) + 1
    return counts


def check_exportable(out: Path) -> None:
    """Refuse an output folder `export` did not write: a file, or a folder that is not empty
    and holds nothing `export` writes (its cleanup must never reach a user's own files)."""
    if out.exists() and not out.is_dir():
        raise NotAnExport(f"{out} is a file, not an export folder")
    if not out.is_dir():
        return
    configs = stamped_configs(out)
    if (out / CARD).exists() and not configs:
        raise NotAnExport(
            f"{out} has a {CARD} but no exported configuration: it is not an export folder; "
            "choose another output folder"
        )
    entries = sorted(path.name for path in out.iterdir())
    if entries and not any((out / name).exists() for name in own_names()):
        raise NotAnExport(
            f"{out} is not empty ({entries[0]}) and was not written by `imagenet3d export`; "
            "choose an empty or new output folder"
        )


def _staged_names() -> list[str]:
    """The staging folder of each declared configuration."""
    return [f"{STAGING_PREFIX}{config}" for config in CONFIGURATIONS]


def own_names() -> list[str]:
    """Every name `export` gives to what it writes in an output folder."""
    return [CARD, LOCK, *CONFIGURATIONS, *_staged_names()]


def leftovers(out: Path) -> list[Path]:
    """What an interrupted run left in `out`: its staging folders, and the temporary files of
    the card and stamps. Only names `export` itself gives; any other file is the user's."""
    staged = [out / name for name in _staged_names() if (out / name).is_dir()]
    folders = [out, *(out / config for config in CONFIGURATIONS if (out / config).is_dir())]
    temporary = [path for folder in folders for path in folder.iterdir() if is_temporary(path)]
    return sorted(staged + temporary)


def clear_leftovers(out: Path) -> None:
    """Remove what an interrupted run left; only safe while holding the folder's lock."""
    for path in leftovers(out):
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def shard_record(path: Path) -> dict[str, Any]:
    """What the stamp keeps of a shard to know it later for the same file: size and SHA-256."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return {"size": path.stat().st_size, "sha256": digest.hexdigest()}


def damage(folder: Path, stamp: dict[str, Any]) -> str | None:
    """What is wrong with a configuration's shards (missing, or not the file its stamp
    recorded), naming the first damaged one; None when every shard is whole."""
    shards = stamp["shards"]
    if not isinstance(shards, dict):
        return f"{folder / STAMP} records no shard sizes and digests"
    for name, recorded in shards.items():
        path = folder / name
        if not path.is_file():
            return f"{path} is missing"
        if not isinstance(recorded, dict) or shard_record(path) != recorded:
            return f"{path} is not the file {STAMP} recorded (size or SHA-256 differ)"
    return None


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
    import datasets
    import pyarrow.parquet as pq

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
    import datasets
    import pyarrow.parquet as pq

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
        problem = damage(out / config, stamp)
        if problem:
            raise NotAnExport(f"{problem}; run `imagenet3d export` into {out} again to rebuild it")
    return configs
