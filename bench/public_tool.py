"""The public preprocessing tool's algorithm, re-implemented from its published behaviour, as the
baseline every preprocessing speed figure is measured against.

Per kept object (`ignore` 0 and `distance` > 0) it decodes the photo with Pillow, resizes the whole
photo with `cv2.resize` (INTER_CUBIC), pads it with black, crops the canvas, saves it as JPEG at
Pillow's default quality (75) and `np.savez`es the object's values, copying the release's values
as they are; each category's list keeps the order of the release's split list. Its quirks are
kept on purpose (the box's y2 shifted by the bottom padding, a canvas one pixel short for odd
sizes): this is the tool as users run it, not as it should be. Two liberties, so that it runs on
every value form the test sample holds, where the tool itself stops with a TypeError: the box is
read as an array (the tool multiplies the stored value, a Python list included), and a number
stored as a size-1 array is read as that number (numpy 2 refuses `int()` of a (1, 1) array).

    python bench/public_tool.py SRC OUT --mode pose3d [--num-workers 2]

SRC is an unpacked release (the folder holding images/, annotations/ and lists/). It imports
nothing from this project, so its start-up is the tool's own. Like the tool, it loads the
annotations with `np.load(allow_pickle=True)`, which runs whatever a file's pickle names: point
it only at the benchmark's generated workload or a release you trust (docs/format.md,
'Annotation files').
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image


def canvas_and_values(
    photo: np.ndarray, obj: dict[str, Any], args: argparse.Namespace
) -> tuple[np.ndarray, dict[str, Any]]:
    """One object's canvas and the values the tool saves beside it."""
    height, width = photo.shape[:2]
    canvas_h, canvas_w = args.height, args.width
    if args.mode == "pose3d":
        rate = obj["distance"] / args.target_distance
    else:
        rate = min(canvas_h / height, canvas_w / width)
    resized = cv2.resize(
        photo, (int(width * rate), int(height * rate)), interpolation=cv2.INTER_CUBIC
    )
    if args.mode == "pose3d":
        cx, cy = int(obj["px"] * rate), int(obj["py"] * rate)
        px, py = canvas_w / 2, canvas_h / 2
    else:
        cx, cy = resized.shape[1] // 2, resized.shape[0] // 2
        px, py = obj["px"] * rate, obj["py"] * rate
    top = max(canvas_h // 2 - cy, 0)
    bottom = max(canvas_h // 2 + cy - resized.shape[0], 0)
    left = max(canvas_w // 2 - cx, 0)
    right = max(canvas_w // 2 + cx - resized.shape[1], 0)
    padded = np.pad(resized, ((top, bottom), (left, right), (0, 0)))
    cut_top = max(cy - canvas_h // 2, 0)
    cut_bottom = max(padded.shape[0] - cy - canvas_h // 2, 0)
    cut_left = max(cx - canvas_w // 2, 0)
    cut_right = max(padded.shape[1] - cx - canvas_w // 2, 0)
    canvas = padded[cut_top : cut_top + canvas_h, cut_left : cut_left + canvas_w]
    box = np.asarray(obj["bbox"]) * rate
    box[[0, 2]] += left - cut_left
    box[1] += top - cut_top
    box[3] += bottom - cut_top  # the tool's quirk: y2 moves by the bottom padding
    if args.mode == "pose6d":
        px, py = px + left - cut_left, py + top - cut_top
    values = {
        "bbox": box,
        "bbox_original": obj["bbox"],
        "principal": np.array([px, py]),
        "principal_original": obj["principal"],
        "px": px,
        "py": py,
        "px_original": obj["px"],
        "py_original": obj["py"],
        "distance": obj["distance"] / rate,
        "distance_original": obj["distance"],
        **{key: obj[key] for key in ("azimuth", "elevation", "theta")},
        **{key: obj[key] for key in ("cad_index", "focal", "viewport")},
        "padding_params": np.array([top, bottom, left, right, 0, 0]),
        "cropping_params": np.array([cut_top, cut_bottom, cut_left, cut_right, 0, 0]),
        "resize_rate": rate,
    }
    return canvas, values


def with_numbers(obj: dict[str, Any]) -> dict[str, Any]:
    """The object with each size-1 array read as its one number (see the liberties above)."""
    return {
        key: np.asarray(value).reshape(())
        if isinstance(value, np.ndarray) and value.size == 1
        else value
        for key, value in obj.items()
    }


def one_photo(
    category: str, image_id: str, folders: tuple[Path, Path], args: argparse.Namespace
) -> list[str]:
    """Every kept object of one photo, decoding the photo again for each, as the tool does."""
    source = Path(args.source)
    images, annotations = folders
    objects = np.load(source / "annotations" / category / f"{image_id}.npz", allow_pickle=True)
    names = []
    for index, obj in enumerate(objects["annotations"]):
        if obj["ignore"] > 0 or obj["distance"] <= 0.0:
            continue
        photo = Image.open(source / "images" / category / f"{image_id}.JPEG").convert("RGB")
        canvas, values = canvas_and_values(np.array(photo), with_numbers(obj), args)
        name = f"{image_id}_{index:02d}"
        np.savez(annotations / name, name=name, **values, **{"class": category})
        Image.fromarray(canvas).save(images / f"{name}.JPEG")
        names.append(name)
    return names


def one_list(task: tuple[str, str, argparse.Namespace]) -> int:
    """One category's split: its photos in list order, then its list of names."""
    category, split, args = task
    listed = Path(args.source) / "lists" / f"{category}_imagenet_{split}.txt"
    image_ids = listed.read_text().strip().split("\n") if listed.exists() else []
    out = Path(args.out)
    folders = [out / kind / f"{category}_{split}" for kind in ("images", "annotations", "lists")]
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    names = [
        name
        for image_id in image_ids
        if image_id
        for name in one_photo(category, image_id, (folders[0], folders[1]), args)
    ]
    (folders[2] / "mesh01.txt").write_text("\n".join(names))
    return len(names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="the unpacked release (images/, annotations/, lists/)")
    parser.add_argument("out")
    parser.add_argument("--mode", choices=("pose3d", "pose6d"), required=True)
    parser.add_argument("--height", type=int, default=640)
    parser.add_argument("--width", type=int, default=800)
    parser.add_argument("--target-distance", type=float, default=4.0)
    parser.add_argument("--num-workers", type=int, default=1)
    args = parser.parse_args()
    categories = sorted(os.listdir(Path(args.source) / "images"))
    tasks = [(category, split, args) for category in categories for split in ("train", "val")]
    if args.num_workers > 1:
        with multiprocessing.Pool(args.num_workers) as pool:
            kept = sum(pool.imap(one_list, tasks))
    else:
        kept = sum(map(one_list, tasks))
    print(f"{kept} objects written")


if __name__ == "__main__":
    main()
