"""The authors' experiment code, re-implemented from its published behaviour for the tests.

Two parts of the experiment repository (`wufeim/imagenet3d_exp`):

- its preprocessing script, which writes `<split>/{images,annotations,lists}/<category>/` from
  the unpacked release. Categories are the sorted folders of `images/`; for each category and
  split it makes the three folders, reads the split list (`.strip().split("\\n")`) and, for every
  object of every listed photo in order, passes over objects without an `object_status` or with
  `status_bad` (it never reads `ignore`), then those with `distance <= 0`. Every other object is
  put on the canvas by the public tool's own arithmetic (its `--center_and_resize` is pose3d, its
  default pose6d), on 512 x 512 unless told otherwise; the canvas is saved as a JPEG at Pillow's
  default quality and the values with `np.savez`, and the names go to `mesh01.txt`.
- the reading of its `IMAGENET3DPose` Dataset class: categories are the sorted folders of
  `<split>/images` (`cate` is the index among them), names the lines of each category's
  `mesh01.txt` (read the same way), and a sample is the RGB image as an array with `azimuth`,
  `elevation`, `theta` and `distance` as floats from the npz.

The per-object arithmetic is the same in both scripts, so it is taken from bench/public_tool.py,
with that file's two liberties (a box stored as a list, a number stored as a size-1 array). One
more: annotation files are read by this project's safe reader, not `np.load(allow_pickle=True)`,
which builds the same values.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from bench.public_tool import canvas_and_values, with_numbers
from converter.pose.geometry import Mode
from converter.read.safe_npz import load_npz_array

SPLITS = ("train", "val")
POSE_KEYS = ("azimuth", "elevation", "theta", "distance")


def kept_by_experiment(obj: dict[str, Any]) -> bool:
    """The script's two tests, in its order: a status other than bad, then a positive distance."""
    if "object_status" not in obj or obj["object_status"] == "status_bad":
        return False
    return bool(obj["distance"] > 0.0)


def experiment_preprocess(
    release: Path, out: Path, mode: Mode, height: int = 512, width: int = 512
) -> Path:
    """Write the experiment code's folder for `mode` from the unpacked release under `out`."""
    args = argparse.Namespace(mode=mode, height=height, width=width, target_distance=4.0)
    for category in sorted(os.listdir(release / "images")):
        for split in SPLITS:
            listed = release / "lists" / f"{category}_imagenet_{split}.txt"
            samples = listed.read_text().strip().split("\n")
            folders = [out / split / kind / category for kind in ("images", "annotations", "lists")]
            for folder in folders:
                folder.mkdir(parents=True, exist_ok=True)
            names = []
            for sample in samples:
                names += _one_photo(release, category, sample, folders, args)
            (folders[2] / "mesh01.txt").write_text("\n".join(names))
    return out


def _one_photo(
    release: Path, category: str, sample: str, folders: list[Path], args: argparse.Namespace
) -> list[str]:
    member = release / "annotations" / category / f"{sample}.npz"
    objects = load_npz_array(member.read_bytes(), str(member))
    names = []
    for index, obj in enumerate(objects):
        if not kept_by_experiment(obj):
            continue
        photo = Image.open(release / "images" / category / f"{sample}.JPEG").convert("RGB")
        canvas, values = canvas_and_values(np.array(photo), with_numbers(obj), args)
        name = f"{sample}_{index:02d}"
        np.savez(folders[1] / name, name=name, **values, **{"class": category})
        Image.fromarray(canvas).save(folders[0] / f"{name}.JPEG")
        names.append(name)
    return names


def dataset_samples(root: Path, mode: str) -> list[dict[str, Any]]:
    """Every sample the experiment Dataset class yields for split `mode` of the folder `root`."""
    images = root / mode / "images"
    samples = []
    for cate_idx, cate in enumerate(sorted(os.listdir(images))):
        listed = root / mode / "lists" / cate / "mesh01.txt"
        for name in listed.read_text().strip().split("\n"):
            image = np.array(Image.open(images / cate / f"{name}.JPEG").convert("RGB"))
            with np.load(root / mode / "annotations" / cate / f"{name}.npz") as annot:
                pose = {key: float(annot[key]) for key in POSE_KEYS}
            samples.append(
                {"name": name, "img": image, **pose, "cate": cate_idx, "cate_name": cate}
            )
    return samples
