"""The sections of the dataset card that readers come for: how to load and train on the data,
what it is for and not for, its limits, and the terms it comes under.

Each takes the repository (and the configurations it holds) and returns Markdown. The code in
the "Use with PyTorch" and "Training on many nodes" sections is run by the tests as it stands.
"""

from __future__ import annotations

from converter.core.release import CITATION, DESCRIPTION, HOMEPAGE

PAPER = "https://arxiv.org/abs/2406.09613"
CODE = "https://github.com/wufeim/imagenet3d"
IMAGENET_TERMS = "https://image-net.org/download.php"


def introduction() -> str:
    return f"""# ImageNet3D

{DESCRIPTION}

- Paper: [ImageNet3D: Towards General-Purpose Object-Level 3D Understanding]({PAPER})
  (NeurIPS 2024 Datasets and Benchmarks)
- Authors' code: <{CODE}>
- Homepage: <{HOMEPAGE}>
"""


def loading(repo_id: str, first: str, second: str) -> str:
    return f"""## Loading

```python
from datasets import load_dataset

{first} = load_dataset("{repo_id}", "{first}", split="train")
{second} = load_dataset("{repo_id}", "{second}", split="train", streaming=True)
```

Nothing but `datasets` is needed: the configurations are Parquet files, no loading script.
"""


def pytorch(repo_id: str, pose: str) -> str:
    """Batches of canvases and rotations, the shapes a pose model trains on."""
    return f"""## Use with PyTorch

Every canvas of `{pose}` has the same size, so a batch stacks into one array. Choose the
columns you train on first (the others are then never read), and let `datasets` hand out
tensors: `with_format("torch")` (or `"numpy"`, `"jax"`, `"tf"`) gives images as
(B, H, W, 3) uint8 and rotations as (B, 3, 3).

```python
from datasets import load_dataset

poses = load_dataset("{repo_id}", "{pose}", split="train")
poses = poses.select_columns(["image", "rotation", "category"]).with_format("torch")
batch = poses[:8]
images, rotations = batch["image"], batch["rotation"]  # (8, H, W, 3) and (8, 3, 3)
```

The formatted dataset goes straight into `torch.utils.data.DataLoader(poses, batch_size=32,
num_workers=4, shuffle=True)`. To decode the JPEGs yourself (on the GPU, or with another
library), keep the stored bytes:

```python
from datasets import Image, load_dataset

encoded = load_dataset("{repo_id}", "{pose}", split="train")
encoded = encoded.cast_column("image", Image(decode=False))
jpeg = encoded[0]["image"]["bytes"]  # the canvas as stored, not decoded
```
"""


def many_nodes(repo_id: str, pose: str) -> str:
    """Streaming split over nodes and workers without idle ones: by row group, not by file."""
    return f"""## Training on many nodes

Each split is stored as Parquet shards (counted per split under "Configurations"), each made of
row groups. Streamed, a split is read shard by shard; on many nodes with several loader workers
each, there may be fewer shards than workers. `reshard()` (current `datasets` releases; the
code skips it on older ones) splits the stream by row group instead, and
`split_dataset_by_node` gives each node its own part:

```python
import os

from datasets import load_dataset
from datasets.distributed import split_dataset_by_node

stream = load_dataset("{repo_id}", "{pose}", split="train", streaming=True)
if hasattr(stream, "reshard"):
    stream = stream.reshard()  # one shard per row group
rank, world_size = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
stream = split_dataset_by_node(stream, rank=rank, world_size=world_size)
```

When the number of shards is a multiple of `world_size`, each node reads whole shards of its
own; otherwise every node reads every shard and keeps one example in `world_size`. The
DataLoader's workers then share a node's shards the same way.
"""


def uses_and_limits() -> str:
    return """## Intended uses

Research on object-level 3D understanding from single images: viewpoint and 6D pose
estimation, 3D-aware probing of vision models, open-vocabulary pose estimation, and
classification and detection with 3D annotations, on rigid objects of 200 categories.

## Out-of-scope uses

Commercial use (the license is non-commercial). Recognising, tracking or profiling people:
people appear in the photos, but they are not what is annotated. Safety-critical pose
estimation (robots, vehicles) without validation on data of that domain.

## Limitations and biases

The photos come from ImageNet-21k, gathered from the web: they over-represent the objects,
places and viewpoints photographers favour and post online. The 3D pose is the fit of one
representative CAD model per category (from Objaverse) by human annotators: shapes differ from
the object in the photo, and the annotators' accuracy varies; each object's `object_status`
says how much of it the annotators judged visible and usable, and `status_bad` objects are
left out of `pose3d` and `pose6d` by default. Objects annotated without a pose have null pose
fields.

## Personal information

ImageNet photos show people, some identifiable, and were collected without their consent. The
annotations describe objects only, never people, and the photos are released unchanged, as
ImageNet distributes them. Use them under ImageNet's terms, and do not try to identify anyone.
"""


def license_and_citation() -> str:
    return f"""## License

The annotations are released under CC BY-NC 4.0 (non-commercial use only). The photos come from
ImageNet: by using them you agree to ImageNet's terms of access ({IMAGENET_TERMS}), which allow
non-commercial research and educational use only.

## Citation

```bibtex
{CITATION}```
"""
