"""The dataset card of an export, written from the export folder alone.

The YAML front matter is what the Hub and `datasets` read (configurations, their files and
features, license, gating, the Hub's metadata); the body is what people read. Every figure
about the export (categories, examples and shards per split, canvas, quality, statuses,
source) is read from the shards and the stamps beside them, so the card describes exactly the
data next to it. Pushed, the card is merged over the repository's (see `card_parts`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import datasets
from datasets.info import DatasetInfosDict
from datasets.utils.metadata import MetadataConfigs
from huggingface_hub import DatasetCard, DatasetCardData

from converter.core.fields import inner_fields
from converter.core.files import write_atomic
from converter.core.release import LICENSE, PRETTY_NAME, REPO_ID
from converter.outputs.card_parts import END, START, CardParts, parse_card, section
from converter.outputs.card_prose import (
    introduction,
    license_and_citation,
    loading,
    many_nodes,
    pytorch,
    uses_and_limits,
)
from converter.outputs.configurations import CONFIGURATIONS, DEFAULT, MESHES, posed_configs
from converter.outputs.export_folder import (
    CARD,
    NotAnExport,
    categories_present,
    filled_configs,
    folder_info,
    shards_per_split,
)
from converter.pose.options import PoseOptions

GATED_PROMPT = (
    "ImageNet3D is released under CC BY-NC 4.0 for non-commercial research. Its photos come "
    "from ImageNet: by requesting access you also agree to ImageNet's terms of access."
)
# The Hub's size buckets (`size_categories`), by the examples of the largest configuration.
SIZE_BUCKETS = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"))


def own_metadata(infos: dict[str, datasets.DatasetInfo]) -> dict[str, Any]:
    """The front-matter keys this tool writes (besides the configurations'): a push replaces
    them and keeps any other key the maintainers added."""
    return {
        "pretty_name": PRETTY_NAME,
        "license": LICENSE,
        "task_categories": ["image-classification", "object-detection"],
        "tags": ["3d", "pose-estimation", "viewpoint-estimation", "imagenet"],
        "size_categories": [size_category(infos)],
        "source_datasets": ["extended|imagenet-21k"],
        "annotations_creators": ["expert-generated"],
        "extra_gated_prompt": GATED_PROMPT,
        "extra_gated_fields": {
            "I agree to use this dataset for non-commercial research only": "checkbox"
        },
    }


def size_category(infos: dict[str, datasets.DatasetInfo]) -> str:
    examples = max(
        (sum(split.num_examples or 0 for split in info.splits.values()) for info in infos.values()),
        default=0,
    )
    return next((name for bound, name in SIZE_BUCKETS if examples < bound), "100K<n<1M")


OWN_KEYS = set(own_metadata({}))


def front_matter(parts: CardParts) -> DatasetCardData:
    """The maintainers' keys, this tool's, then the configurations (`DEFAULT` the default)."""
    data = DatasetCardData(**{**parts.metadata, **own_metadata(parts.infos)})
    default = DEFAULT if DEFAULT in parts.entries else next(iter(parts.entries), None)
    entries = {
        config: {key: value for key, value in entry.items() if key != "default"}
        | ({"default": True} if config == default else {})
        for config, entry in parts.entries.items()
    }
    MetadataConfigs(entries).to_dataset_card_data(data)
    DatasetInfosDict(parts.infos).to_dataset_card_data(data)
    return data


def _options(stamp: dict[str, Any]) -> str:
    """How a configuration was built, in words."""
    parts = ["categories: " + (", ".join(stamp["categories"]) if stamp["categories"] else "all")]
    if "canvas" in stamp:
        canvas = stamp["canvas"]
        parts += [
            f"canvas {canvas['height']} x {canvas['width']}",
            f"target distance {canvas['target_distance']}",
            f"kept rule {canvas['kept_rule']}, statuses {', '.join(canvas['statuses'])}",
            f"JPEG quality {stamp['quality']}",
        ]
    return "; ".join(parts)


def _source(stamp: dict[str, Any]) -> str:
    """The source in words: its name, size when known, the start of its content digest, and
    what was cut from its URL before it was recorded."""
    named = stamp["source_name"]
    size = f", {named['size']:,} bytes" if "size" in named else ""
    removed = f"; {', '.join(named['removed'])} removed" if named.get("removed") else ""
    return f"`{named['name']}` ({stamp['source'][:12]}{size}{removed})"


def _canvas(stamp: dict[str, Any]) -> PoseOptions:
    """The canvas a stamp records (the default one for configurations without a canvas)."""
    return PoseOptions(**stamp.get("canvas", {}))


def config_section(
    config: str, info: datasets.DatasetInfo, stamp: dict[str, Any], categories: list[str]
) -> str:
    """A configuration's own part of the body: what an example is, how many, how it was built."""
    shards = shards_per_split(stamp)
    counts = ", ".join(
        f"{split.name} {split.num_examples:,} ({_plural(shards[split.name], 'shard')})"
        for split in info.splits.values()
    )
    doc = CONFIGURATIONS[config].describe(_canvas(stamp))
    text = (
        f"### `{config}`\n\n{doc[0].upper()}{doc[1:]}. "
        f"Objects of {len(categories)} categories: {', '.join(categories)}. Examples: {counts}. "
        f"Built from {_source(stamp)} with {_options(stamp)}, by {stamp['exporter']}."
    )
    return section(config, text)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def folder_parts(out: Path) -> CardParts:
    """The card parts of export folder `out`: its configurations with any example.

    A configuration without any example is left out: `datasets` cannot load an empty split.
    """
    stamps = filled_configs(out)
    if not stamps:
        raise NotAnExport(f"{out} holds no configuration with any example")
    infos = {config: folder_info(out / config, stamp) for config, stamp in stamps.items()}
    entries = {
        config: {
            "data_files": [
                {"split": split, "path": f"{config}/{split}-*.parquet"} for split in info.splits
            ]
        }
        for config, info in infos.items()
    }
    sections = {
        config: config_section(
            config, info, stamps[config], categories_present(out / config, stamps[config], info)
        )
        for config, info in infos.items()
    }
    return CardParts(entries, infos, sections)


def card_body(parts: CardParts, repo_id: str) -> str:
    """The generated part (between its markers) and the maintainers' text around it."""
    infos = parts.infos
    first, *others = parts.entries
    second = others[0] if others else first
    pose = next(iter(_posed(infos)), None)
    docs = _field_docs(infos)
    field_lines = "\n".join(f"- `{name}`: {docs[name]}" for name in sorted(docs))
    generated = "\n".join(
        [
            introduction(),
            "## Configurations\n",
            *parts.sections.values(),
            loading(repo_id, first, second),
            pytorch(repo_id, pose) if pose else "",
            many_nodes(repo_id, pose) if pose else "",
            camera_section(infos, repo_id),
            f"## Fields\n\n{field_lines}\n\nMissing annotation values are null, never made-up "
            "numbers.\n",
            uses_and_limits(),
            license_and_citation(),
        ]
    )
    generated = re.sub(r"\n{3,}", "\n\n", generated)
    around = [parts.above, f"{START}\n{generated}{END}", parts.below]
    return "\n\n".join(text for text in around if text) + "\n"


def _posed(infos: dict[str, datasets.DatasetInfo]) -> list[str]:
    """The listed configurations whose rows are posed objects on a canvas, as declared."""
    return [config for config in posed_configs() if config in infos]


def _field_docs(infos: dict[str, datasets.DatasetInfo]) -> dict[str, str]:
    """What each field of the listed configurations means, nested ones included."""
    return {
        field.name: field.meaning
        for config in infos
        if config in CONFIGURATIONS
        for column in CONFIGURATIONS[config].fields
        for field in (column, *inner_fields(column))
    }


def render(parts: CardParts, repo_id: str) -> str:
    """The whole card: front matter and body."""
    return f"---\n{front_matter(parts).to_yaml()}\n---\n\n{card_body(parts, repo_id)}"


def card_text(
    out: Path, repo_id: str = REPO_ID, existing: str | None = None
) -> tuple[str, dict[str, datasets.DatasetInfo]]:
    """The card of export folder `out` for repository `repo_id`, merged over the `existing` card
    of that repository if it has one; and the configurations of `out` it lists."""
    parts = folder_parts(out)
    merged = parts.merged_over(parse_card(existing, OWN_KEYS)) if existing else parts
    return render(merged, repo_id), parts.infos


def write_card(out: Path) -> dict[str, datasets.DatasetInfo]:
    """The card `out/CARD`, replaced in one step so a reader never sees half a card."""
    text, infos = card_text(out)
    write_atomic(out / CARD, text.encode("utf-8"))
    return infos


def listed_configs(out: Path) -> list[str]:
    """The configurations the card of `out` lists, or NotAnExport when there is no such card."""
    path = out / CARD
    if not path.is_file():
        raise NotAnExport(
            f"{out} is not an export folder (no {CARD}); write one with `imagenet3d export`"
        )
    try:
        configs = DatasetCard.load(path).data.get("configs") or []
        return [entry["config_name"] for entry in configs]
    except (OSError, ValueError, TypeError, KeyError) as error:
        raise NotAnExport(f"{path}: not the card of an export ({error})") from None


def camera_section(infos: dict[str, datasets.DatasetInfo], repo_id: str) -> str:
    """How the camera fields and the meshes fit together, with code that uses them.

    Shown when the export has the meshes and a posed configuration, which the code needs; of
    those, the last declared (pose6d, the whole photo) is the example.
    """
    posed = _posed(infos)
    if MESHES not in infos or not posed:
        return ""
    pose = posed[-1]
    return f"""## Camera and CAD meshes

Every posed object carries its camera as `rotation` R (object to camera), `translation` t (CAD
units) and `intrinsics` K (pixels of the example's own image: the photo in `raw`, the canvas in
`pose3d` and `pose6d`): `K @ (R @ v + t)`, divided by its third entry, is where the CAD vertex
`v` appears. The camera frame is the usual pinhole one: x right, y down the image, z forward
(in front of the camera z > 0). From the annotation:
`R = diag(1, -1, -1) @ Rz(theta) @ Rx(elevation - pi/2) @ Rz(-azimuth)` (the PASCAL3D+
viewpoint rotation, as the pose metrics compare it, turned half a turn about x because the
annotation camera looks down -z with y up; the flip leaves every angle between two viewpoints
unchanged), `t = (0, 0, distance)`, and `K = [[viewport, 0, px], [0, viewport, py], [0, 0, 1]]`;
a positive `theta` turns the object counter-clockwise in the image, and `focal` is not used.
In `pose3d` and `pose6d` the example's own `distance`, `px` and `py` are used, as the public
preprocessing tool defines them: exact at the object's centre, a perspective approximation
elsewhere (the resized photo's own camera has focal `viewport * resize_rate` and translation
`(0, 0, distance_original)`). Objects without a pose have null camera fields.

The `{MESHES}` configuration holds the release's CAD meshes, one row per mesh: `category` (the same
labels as the other configurations), `cad_index` (as the annotations number it), `vertices`
(float32, N x 3), `faces` (int32, M x 3, 0-based) and `mesh_file`. Its single split is `train`:
the meshes belong to neither image split but serve both, and one split named `train` is what
`load_dataset` returns and the dataset viewer shows without further options.

A mesh posed in camera coordinates and projected, with `datasets` and numpy alone:

```python
import numpy as np
from datasets import load_dataset

row = load_dataset("{repo_id}", "{pose}", split="train")[0]
cad = load_dataset("{repo_id}", "{MESHES}", split="train")
mesh = cad[list(zip(cad["category"], cad["cad_index"])).index((row["category"], row["cad_index"]))]
R, t, K = (np.array(row[key]) for key in ("rotation", "translation", "intrinsics"))
camera = np.array(mesh["vertices"]) @ R.T + t  # (N, 3), z > 0 in front of the camera
pixels = camera @ K.T
pixels = pixels[:, :2] / pixels[:, 2:]  # (N, 2) where each vertex lands on row["image"]
```
"""
