"""The dataset card of an export, written from the export folder alone.

The YAML front matter is what the Hub and `datasets` read (configurations, their files and
features, license, gating); the body is what people read. Every figure about the export
(categories, examples per split, canvas, quality, statuses, source) is read from the shards
and the stamps beside them, so the card describes exactly the data next to it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import datasets
from datasets.info import DatasetInfosDict
from datasets.utils.metadata import MetadataConfigs
from huggingface_hub import DatasetCard, DatasetCardData

from converter.core.fields import FIELD_DOCS
from converter.core.files import write_atomic
from converter.core.release import CITATION, DESCRIPTION, HOMEPAGE, LICENSE, PRETTY_NAME, REPO_ID
from converter.outputs.export_folder import (
    CARD,
    NotAnExport,
    categories_present,
    filled_configs,
    folder_info,
)
from converter.outputs.schema import CAD_CONFIG, config_doc
from converter.pose.options import PoseOptions

GATED_PROMPT = (
    "ImageNet3D is released under CC BY-NC 4.0 for non-commercial research. Its photos come "
    "from ImageNet: by requesting access you also agree to ImageNet's terms of access."
)


def card_data(infos: dict[str, datasets.DatasetInfo]) -> DatasetCardData:
    """Front matter: configs with their data files (raw the default), infos, license, gating."""
    data = DatasetCardData(
        pretty_name=PRETTY_NAME,
        license=LICENSE,
        task_categories=["image-classification", "object-detection"],
        tags=["3d", "pose-estimation", "viewpoint-estimation", "imagenet"],
        extra_gated_prompt=GATED_PROMPT,
        extra_gated_fields={
            "I agree to use this dataset for non-commercial research only": "checkbox"
        },
    )
    default = "raw" if "raw" in infos else next(iter(infos), None)
    MetadataConfigs(
        {
            config: {
                "data_files": [
                    {"split": split, "path": f"{config}/{split}-*.parquet"} for split in info.splits
                ],
                **({"default": True} if config == default else {}),
            }
            for config, info in infos.items()
        }
    ).to_dataset_card_data(data)
    DatasetInfosDict(infos).to_dataset_card_data(data)
    return data


def _options(stamp: dict[str, Any]) -> str:
    """How a configuration was built, in words."""
    parts = ["categories: " + (", ".join(stamp["categories"]) if stamp["categories"] else "all")]
    if "canvas" in stamp:
        canvas = stamp["canvas"]
        parts += [
            f"canvas {canvas['height']} x {canvas['width']}",
            f"target distance {canvas['target_distance']}",
            f"statuses {', '.join(canvas['statuses'])}",
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


def _configuration(config: str, info: datasets.DatasetInfo, stamp: dict[str, Any]) -> str:
    counts = ", ".join(f"{split.name} {split.num_examples:,}" for split in info.splits.values())
    return (
        f"- `{config}`: {config_doc(config, _canvas(stamp))}. Examples: {counts}. "
        f"Built from {_source(stamp)} with {_options(stamp)}."
    )


def card_body(
    infos: dict[str, datasets.DatasetInfo],
    stamps: dict[str, dict[str, Any]],
    categories: list[str],
    repo_id: str = REPO_ID,
) -> str:
    """What this export holds and how it was built, every field, how to load it, how to cite it."""
    configs = "\n".join(_configuration(name, info, stamps[name]) for name, info in infos.items())
    fields = sorted({name for info in infos.values() for name in _field_names(info.features)})
    field_lines = "\n".join(f"- `{name}`: {FIELD_DOCS[name]}" for name in fields)
    first, *others = infos
    second = others[0] if others else first
    return f"""# {PRETTY_NAME}

## This export

Objects of {len(categories)} categories: {", ".join(categories)}.

{configs}

Built by {stamps[first]["exporter"]}.

## Loading

```python
from datasets import load_dataset

{first} = load_dataset("{repo_id}", "{first}", split="train")
{second} = load_dataset("{repo_id}", "{second}", split="train", streaming=True)
```

Nothing but `datasets` is needed: the configurations are Parquet files, no loading script.

{camera_section(infos, repo_id)}
## Fields

{field_lines}

Missing annotation values are null, never made-up numbers.

## The full release

{DESCRIPTION} Homepage: {HOMEPAGE}

## License

CC BY-NC 4.0. The photos come from ImageNet; users must also follow ImageNet's terms of access.

## Citation

```bibtex
{CITATION}```
"""


def _field_names(features: datasets.Features) -> list[str]:
    names = list(features)
    objects = features.get("objects")
    if objects is not None:
        inner = objects[0] if isinstance(objects, list) else objects.feature
        names.extend(inner)
    return names


def card_text(out: Path, repo_id: str = REPO_ID) -> tuple[str, dict[str, datasets.DatasetInfo]]:
    """The card of export folder `out` for repository `repo_id`, and the configurations it lists.

    A configuration without any example is left out: `datasets` cannot load an empty split.
    """
    stamps = filled_configs(out)
    if not stamps:
        raise NotAnExport(f"{out} holds no configuration with any example")
    infos = {config: folder_info(out / config, stamp) for config, stamp in stamps.items()}
    categories = sorted(
        {
            name
            for config, info in infos.items()
            for name in categories_present(out / config, stamps[config], info)
        }
    )
    body = card_body(infos, stamps, categories, repo_id)
    return f"---\n{card_data(infos).to_yaml()}\n---\n\n{body}", infos


def write_card(out: Path) -> dict[str, datasets.DatasetInfo]:
    """`out/README.md`, replaced in one step so a reader never sees half a card."""
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
    """How the camera fields and the cad configuration fit together, with code that uses them.

    Shown when the export has the meshes and a pose configuration, which the code needs.
    """
    pose = next((config for config in ("pose6d", "pose3d") if config in infos), None)
    if CAD_CONFIG not in infos or pose is None:
        return ""
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

The `cad` configuration holds the release's CAD meshes, one row per mesh: `category` (the same
labels as the other configurations), `cad_index` (as the annotations number it), `vertices`
(float32, N x 3), `faces` (int32, M x 3, 0-based) and `mesh_file`. Its single split is `train`:
the meshes belong to neither image split but serve both, and one split named `train` is what
`load_dataset` returns and the dataset viewer shows without further options.

A mesh posed in camera coordinates and projected, with `datasets` and numpy alone:

```python
import numpy as np
from datasets import load_dataset

row = load_dataset("{repo_id}", "{pose}", split="train")[0]
cad = load_dataset("{repo_id}", "cad", split="train")
mesh = cad[list(zip(cad["category"], cad["cad_index"])).index((row["category"], row["cad_index"]))]
R, t, K = (np.array(row[key]) for key in ("rotation", "translation", "intrinsics"))
camera = np.array(mesh["vertices"]) @ R.T + t  # (N, 3), z > 0 in front of the camera
pixels = camera @ K.T
pixels = pixels[:, :2] / pixels[:, 2:]  # (N, 2) where each vertex lands on row["image"]
```
"""
