"""Helpers the tests share: edited archives, folder snapshots, object records, the public
tool's canvases done the slow way, the builder's rows and hand-made annotation files."""

from __future__ import annotations

import hashlib
import io
import math
import pickle
import zipfile
from pathlib import Path
from typing import Any

import cv2
import datasets
import numpy as np
from PIL import Image

from converter.look.metrics import ground_truth
from converter.outputs.examples import iter_pose_examples, iter_raw_examples
from converter.outputs.schema import features_for
from converter.pose.geometry import Mode
from converter.pose.options import PoseOptions
from converter.read.mesh import load_cad
from converter.read.safe_npz import load_npz_array
from converter.read.source import Source, open_source


def members(archive: Path, suffix: str) -> list[str]:
    with zipfile.ZipFile(archive) as source:
        return sorted(name for name in source.namelist() if name.endswith(suffix))


def edited(
    archive: Path, out: Path, changes: dict[str, bytes], method: int = zipfile.ZIP_STORED
) -> Path:
    """A copy of `archive` with members replaced or added, written with compression `method`."""
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            if info.filename not in changes:
                target.writestr(info, source.read(info))
        for name, data in changes.items():
            target.writestr(name, data, compress_type=method)
    return out


def replace_member(archive: Path, out: Path, name: str, data: bytes) -> Path:
    """A copy of `archive` in which member `name` holds `data`."""
    return edited(archive, out, {name: data})


def release_npz(annotations: object) -> bytes:
    """An annotation file as the release writes it: an object array saved with np.savez."""
    buffer = io.BytesIO()
    np.savez(buffer, annotations=annotations)
    return buffer.getvalue()


def folder_files(root: Path) -> dict[str, bytes]:
    """Every file under `root` by its posix path: two runs' outputs compare as dicts."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def zip_bytes(files: dict[str, bytes], method: int = zipfile.ZIP_STORED) -> bytes:
    """A zip of `files`, written by zipfile."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def end_record(entries: int, directory: bytes, offset: int) -> bytes:
    """A zip's end record declaring `entries` members in `directory`, found at `offset`."""
    counts = entries.to_bytes(2, "little") * 2
    return (
        b"PK\x05\x06"
        + bytes(4)
        + counts
        + len(directory).to_bytes(4, "little")
        + (offset.to_bytes(4, "little") + bytes(2))
    )


def overlapping(outer: str, inner: str, data: bytes) -> bytes:
    """A zip of two members sharing bytes: member `outer` is stored and holds member `inner`'s
    local header and deflated data, which the directory also lists as a member of its own. The
    "better zip bomb" chains such members over one deflate stream."""
    inside = zip_bytes({inner: data}, zipfile.ZIP_DEFLATED)
    inner_entry = inside[inside.index(b"PK\x01\x02") : inside.index(b"PK\x05\x06")]
    around = zip_bytes({outer: inside[: inside.index(b"PK\x01\x02")]})
    start = around.index(b"PK\x01\x02")
    shift = 30 + len(outer.encode())  # the outer member's local header, without extra field
    moved = inner_entry[:42] + shift.to_bytes(4, "little") + inner_entry[46:]
    directory = around[start : around.index(b"PK\x05\x06")] + moved
    return around[:start] + directory + end_record(2, directory, start)


def declaring(entries: int, files: dict[str, bytes]) -> bytes:
    """A zip of `files` whose end record declares `entries` members, whatever it holds."""
    data = zip_bytes(files)
    start, end = data.index(b"PK\x01\x02"), data.index(b"PK\x05\x06")
    return data[:end] + end_record(entries, data[start:end], start)


# ---- object records


def record(**changes: Any) -> dict[str, Any]:
    """A kept object of a 500 x 375 photo, as converter.read.records makes them."""
    values = {
        "index": 0,
        "category": "bed",
        "bbox": [100.0, 80.0, 400.0, 300.0],
        "height": 375,
        "width": 500,
        "azimuth": 0.5,
        "elevation": 0.2,
        "theta": -0.1,
        "distance": 8.0,
        "px": 250.0,
        "py": 187.5,
        "principal": [250.0, 187.5],
        "focal": 1.0,
        "viewport": 3000,
        "cad_index": 1,
        "object_status": "status_good",
        "dense": "dense_no",
        "ignore": False,
        "extra": None,
    }
    return {**values, **changes}


# ---- the public tool's canvas and numbers, the slow way (docs/format.md)


# Canvases may differ from the public algorithm's, before JPEG encoding, by this much (levels).
MEAN_TOLERANCE, MAX_TOLERANCE = 0.5, 8


def reference_numbers(
    mode: Mode, record: dict[str, Any], size: tuple[int, int], options: PoseOptions
) -> tuple[float, int, int, tuple[int, int]]:
    """Scale s, centre point (cx, cy) and resized size, as docs/format.md writes them."""
    w, h = size
    if mode == "pose3d":
        s = record["distance"] / options.target_distance
        cx, cy = int(record["px"] * s), int(record["py"] * s)
    else:
        s = min(options.height / h, options.width / w)
        cx, cy = int(w * s) // 2, int(h * s) // 2
    return s, cx, cy, (int(w * s), int(h * s))


def reference_example(
    data: bytes, mode: Mode, record: dict[str, Any], options: PoseOptions
) -> tuple[Image.Image, dict[str, Any]]:
    """One object the public tool's way: decode the photo, then its canvas and new numbers."""
    photo = Image.open(io.BytesIO(data)).convert("RGB")
    return cut_canvas(photo, mode, record, options), reference_fields(
        mode, record, photo.size, options
    )


def reference_canvas(
    data: bytes, mode: Mode, record: dict[str, Any], options: PoseOptions
) -> Image.Image:
    return reference_example(data, mode, record, options)[0]


def cut_canvas(
    photo: Image.Image, mode: Mode, record: dict[str, Any], options: PoseOptions
) -> Image.Image:
    """Resize the whole photo with OpenCV's bicubic, pad with black, cut the canvas out."""
    _, cx, cy, size = reference_numbers(mode, record, photo.size, options)
    half_w, half_h = options.width // 2, options.height // 2
    top, left = max(half_h - cy, 0), max(half_w - cx, 0)
    bottom, right = max(half_h + cy - size[1], 0), max(half_w + cx - size[0], 0)
    padded = Image.new("RGB", (size[0] + left + right, size[1] + top + bottom))
    if min(size) > 0:
        resized = cv2.resize(np.asarray(photo), size, interpolation=cv2.INTER_CUBIC)
        padded.paste(Image.fromarray(resized), (left, top))
    crop_top, crop_left = max(cy - half_h, 0), max(cx - half_w, 0)
    return padded.crop((crop_left, crop_top, crop_left + options.width, crop_top + options.height))


def reference_fields(
    mode: Mode, record: dict[str, Any], size: tuple[int, int], options: PoseOptions
) -> dict[str, Any]:
    """The new numbers of one object, as docs/format.md writes them."""
    s, cx, cy, (rw, rh) = reference_numbers(mode, record, size, options)
    H, W = options.height, options.width
    shift_x, shift_y = W // 2 - cx, H // 2 - cy
    x1, y1, x2, y2 = record["bbox"]
    if mode == "pose3d":
        px, py, distance = W / 2, H / 2, options.target_distance
    else:
        px = record["px"] * s + shift_x
        py = record["py"] * s + shift_y
        distance = record["distance"] / s
    top, bottom = max(H // 2 - cy, 0), max(H // 2 + cy - rh, 0)
    left, right = max(W // 2 - cx, 0), max(W // 2 + cx - rw, 0)
    wp, hp = rw + left + right, rh + top + bottom
    return {
        "bbox": [x1 * s + shift_x, y1 * s + shift_y, x2 * s + shift_x, y2 * s + shift_y],
        "px": px,
        "py": py,
        "principal": [px, py],
        "distance": distance,
        "bbox_original": record["bbox"],
        "px_original": record["px"],
        "py_original": record["py"],
        "principal_original": [record["px"], record["py"]],
        "distance_original": record["distance"],
        "resize_rate": s,
        "padding_params": [top, bottom, left, right, 0, 0],
        "cropping_params": [
            max(cy - H // 2, 0),
            max(hp - cy - H // 2, 0),
            max(cx - W // 2, 0),
            max(wp - cx - W // 2, 0),
            0,
            0,
        ],
    }


def canvas_image(canvas: np.ndarray) -> Image.Image:
    """A canvas (in OpenCV's channel order) as the RGB image the reference cuts."""
    return Image.fromarray(canvas[..., ::-1])


def differences(a: Image.Image, b: Image.Image) -> np.ndarray:
    return np.abs(np.asarray(a, dtype=np.int16) - np.asarray(b, dtype=np.int16))


def assert_close(canvas: Image.Image, reference: Image.Image) -> None:
    """Within the tolerance on average and on every pixel."""
    difference = differences(canvas, reference)
    assert difference.mean() <= MEAN_TOLERANCE and difference.max() <= MAX_TOLERANCE


# ---- rows as the converter makes them and as `datasets` stores them


def converter_rows(source_path: Path, config: str, split: str) -> list[dict[str, Any]]:
    """What the converter itself makes of a split, encoded as the builder stores it."""
    source = open_source(source_path)
    features = features_for(config, source.categories())
    examples = (
        iter_raw_examples(source, split)
        if config == "raw"
        else iter_pose_examples(source, split, config, PoseOptions())
    )
    return [features.encode_example(example) for example in examples]


def stored_rows(dataset: datasets.Dataset | datasets.IterableDataset) -> list[dict[str, Any]]:
    """Rows with images left as their stored bytes, so equality means identical pixels."""
    return list(dataset.cast_column("image", datasets.Image(decode=False)))


def mesh_names(sample_zip: Path) -> list[str]:
    """What `clean_load.py` prints for each mesh of the source: its file and arrays' digest."""
    source = open_source(sample_zip)
    names = []
    for category in source.categories():
        for index in source.cad_indices(category):
            mesh = load_cad(source, category, index)
            arrays = (
                mesh.vertices.astype(np.float32).tobytes() + mesh.faces.astype(np.int32).tobytes()
            )
            names.append(f"CAD/{category}/{index:02d}.off {hashlib.sha256(arrays).hexdigest()}")
    return names


def example_names(sample_zip: Path, config: str, split: str) -> list[str]:
    return [row.get("name") or row["image_id"] for row in converter_rows(sample_zip, config, split)]


# ---- annotation files built byte by byte


RELEASE_LIKE = np.array(
    [
        {
            "class": np.str_("car"),
            "bbox": np.array([10.0, 20.0, 110.0, 90.0]),
            "height": np.uint16(375),
            "width": np.uint16(500),
            "azimuth": np.float64(0.5),
            "distance": np.float64(6.0),
            "principal": np.array([60.0, 55.0]),
            "viewport": np.int64(3000),
            "object_status": "status_good",
            "ignore": np.int64(0),
        },
        {"class": "car", "distance": np.float64(0.0), "ignore": 1},
    ],
    dtype=object,
)


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def npz_of_npy(payload: bytes, compression: int = zipfile.ZIP_STORED) -> bytes:
    """An npz holding `payload` as its annotations array, with a correct checksum."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as npz:
        npz.writestr("annotations.npy", payload)
    return buffer.getvalue()


def with_raw_value(key: str, opcodes: bytes) -> bytes:
    """A release-like annotation file whose first object's `key` is what `opcodes` push."""
    placeholder = "value of the test"
    objects = RELEASE_LIKE.copy()
    objects[0] = {**objects[0], key: placeholder}
    as_pickled = pickle.BINUNICODE + len(placeholder).to_bytes(4, "little") + placeholder.encode()
    payload = pickle.dumps(objects, protocol=3).replace(as_pickled, opcodes)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "|O", "fortran_order": False, "shape": objects.shape}
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as npz:
        npz.writestr("annotations.npy", header.getvalue() + payload)
    return buffer.getvalue()


# ---- rotations


def logm_angle(rotation: np.ndarray) -> float:
    """||logm(R)||_F / sqrt(2), with logm taken through R's eigen decomposition."""
    values, vectors = np.linalg.eig(rotation)
    logarithm = vectors @ np.diag(np.log(values.astype(complex))) @ np.linalg.inv(vectors)
    return float(np.linalg.norm(logarithm) / math.sqrt(2))


# ---- a photo listed under several categories


def reclassed(annotation: bytes, category: str) -> bytes:
    """An annotation file whose objects all name `category` as their class, as a file in that
    category's folder must (docs/format.md, 'One annotation file')."""
    objects = load_npz_array(annotation, "annotation")
    for record in objects:
        record["class"] = category
    return release_npz(objects)


def with_photo_copied(sample_zip: Path, out: Path, image_id: str, copies: dict[str, str]) -> Path:
    """The sample with aeroplane's validation photo `image_id` also listed under other categories,
    its objects of the category of each folder they are copied to.

    `copies` maps a category to the image id the copy has there.
    """
    root = "imagenet3d_v1"
    changes = {}
    with zipfile.ZipFile(sample_zip) as archive:
        photo = archive.read(f"{root}/images/aeroplane/{image_id}.JPEG")
        annotation = f"{root}/annotations/aeroplane/{image_id}.npz"
        data = archive.read(annotation)
        for category, copy_id in copies.items():
            changes[f"{root}/images/{category}/{copy_id}.JPEG"] = photo
            changes[f"{root}/annotations/{category}/{copy_id}.npz"] = reclassed(data, category)
            listed = f"{root}/lists/{category}_imagenet_val.txt"
            changes[listed] = archive.read(listed) + f"\n{copy_id}\n".encode()
    return edited(sample_zip, out, changes)


def an_aeroplane_photo(source: Source) -> str:
    """A validation photo of aeroplane with kept objects."""
    truth = ground_truth(source, "validation")
    return next(n.rpartition("_")[0] for n, t in truth.items() if t["category"] == "aeroplane")
