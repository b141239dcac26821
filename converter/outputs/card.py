"""The dataset card of an export: YAML the Hub and `datasets` read, and a body people read."""

from __future__ import annotations

from pathlib import Path

import datasets
from datasets.info import DatasetInfosDict
from datasets.utils.metadata import MetadataConfigs
from huggingface_hub import DatasetCardData

from converter.core.files import write_atomic
from converter.core.release import CITATION, DESCRIPTION, HOMEPAGE, LICENSE, PRETTY_NAME, REPO_ID
from converter.outputs.schema import FIELD_DOCS, config_doc
from converter.pose.geometry import CanvasOptions

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
    MetadataConfigs(
        {
            config: {
                "data_files": [
                    {"split": split, "path": f"{config}/{split}-*.parquet"} for split in info.splits
                ],
                **({"default": True} if config == "raw" else {}),
            }
            for config, info in infos.items()
        }
    ).to_dataset_card_data(data)
    DatasetInfosDict(infos).to_dataset_card_data(data)
    return data


def card_body(infos: dict[str, datasets.DatasetInfo], canvas: CanvasOptions) -> str:
    """What each configuration holds, every field, how to load it, and how to cite it."""
    configs = "\n".join(
        f"- `{config}`: {config_doc(config, canvas)}; "
        + ", ".join(
            f"{split} {split_info.num_examples}" for split, split_info in info.splits.items()
        )
        + " examples."
        for config, info in infos.items()
    )
    fields = sorted({name for info in infos.values() for name in _field_names(info.features)})
    field_lines = "\n".join(f"- `{name}`: {FIELD_DOCS[name]}" for name in fields)
    return f"""# {PRETTY_NAME}

{DESCRIPTION}

Homepage: {HOMEPAGE}

## Configurations

{configs}

## Loading

```python
from datasets import load_dataset

raw = load_dataset("{REPO_ID}", "raw", split="train")
pose3d = load_dataset("{REPO_ID}", "pose3d", split="validation", streaming=True)
```

{camera_section()}
## Fields

{field_lines}

Missing annotation values are null, never made-up numbers.

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


def write_card(
    out: Path, infos: dict[str, datasets.DatasetInfo], canvas: CanvasOptions | None = None
) -> Path:
    """`out/README.md`, replaced in one step so a reader never sees half a card."""
    body = card_body(infos, canvas or CanvasOptions())
    text = f"---\n{card_data(infos).to_yaml()}\n---\n\n{body}"
    return write_atomic(out / "README.md", text.encode("utf-8"))


def camera_section() -> str:
    """How the camera fields and the cad configuration fit together, with code that uses them."""
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

row = load_dataset("{REPO_ID}", "pose6d", split="validation")[0]
cad = load_dataset("{REPO_ID}", "cad", split="train")
mesh = cad[list(zip(cad["category"], cad["cad_index"])).index((row["category"], row["cad_index"]))]
R, t, K = (np.array(row[key]) for key in ("rotation", "translation", "intrinsics"))
camera = np.array(mesh["vertices"]) @ R.T + t  # (N, 3), z > 0 in front of the camera
pixels = camera @ K.T
pixels = pixels[:, :2] / pixels[:, 2:]  # (N, 2) where each vertex lands on row["image"]
```
"""
