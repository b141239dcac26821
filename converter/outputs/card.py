"""The dataset card of an export: YAML the Hub and `datasets` read, and a body people read."""

from __future__ import annotations

from pathlib import Path

import datasets
from datasets.info import DatasetInfosDict
from datasets.utils.metadata import MetadataConfigs
from huggingface_hub import DatasetCardData

from converter.core.fields import FIELD_DOCS
from converter.core.files import write_atomic
from converter.core.release import CITATION, DESCRIPTION, HOMEPAGE, LICENSE, PRETTY_NAME, REPO_ID
from converter.outputs.schema import config_doc
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


def card_body(infos: dict[str, datasets.DatasetInfo], canvas: PoseOptions) -> str:
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
    out: Path, infos: dict[str, datasets.DatasetInfo], canvas: PoseOptions | None = None
) -> Path:
    """`out/README.md`, replaced in one step so a reader never sees half a card."""
    body = card_body(infos, canvas or PoseOptions())
    text = f"---\n{card_data(infos).to_yaml()}\n---\n\n{body}"
    return write_atomic(out / "README.md", text.encode("utf-8"))
