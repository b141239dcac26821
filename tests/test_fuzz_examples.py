"""Odd and broken photos through the example producers: a correct example, or a DataError naming
the photo (on_invalid="raise"), or a counted skip (on_invalid="skip"); never another exception."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, cast

import datasets
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import ExifTags, Image

from converter.core.errors import DataError
from converter.outputs.examples import iter_pose_examples, iter_raw_examples
from converter.pose.geometry import Mode
from converter.pose.options import PoseOptions
from converter.read.archive import MAX_MEMBER_BYTES, Store
from converter.read.source import OnInvalid, Source, open_source
from tests.helpers import release_npz

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
OPTIONS = PoseOptions(height=48, width=64)
KINDS = ("raw", "pose3d", "pose6d")


class Patched:
    """A store whose members `changes` hold other bytes: one broken photo, no archive rewrite."""

    def __init__(self, store: Store, changes: dict[str, bytes]) -> None:
        self.store, self.changes = store, changes

    def names(self) -> list[str]:
        return self.store.names()

    def read(self, name: str, limit: int = MAX_MEMBER_BYTES) -> bytes:
        return self.changes[name] if name in self.changes else self.store.read(name, limit)

    def position(self, name: str) -> int:
        return self.store.position(name)


def photo_with_objects(sample_zip: Path) -> tuple[Source, str, str]:
    """The sample, and the first training photo that makes pose examples."""
    source = open_source(sample_zip)
    for category, image_id in source.image_ids("train"):
        if list(
            iter_pose_examples(source, "train", "pose3d", OPTIONS, pairs=[(category, image_id)])
        ):
            return source, category, image_id
    raise AssertionError("the sample has no photo with a kept object")


def patched(
    sample_zip: Path, photo: bytes, on_invalid: OnInvalid, annotation: bytes | None = None
) -> tuple[Source, tuple[str, str]]:
    source, category, image_id = photo_with_objects(sample_zip)
    changes = {source.photo_member(category, image_id): photo}
    if annotation is not None:
        changes[source.layout.annotation(category, image_id)] = annotation
    store = Patched(source.store, changes)
    return Source(store, "patched sample", on_invalid=on_invalid), (category, image_id)


def examples(source: Source, pair: tuple[str, str], kind: str) -> list[dict[str, Any]]:
    if kind == "raw":
        return list(iter_raw_examples(source, "train", pairs=[pair]))
    mode = cast(Mode, kind)
    return list(iter_pose_examples(source, "train", mode, OPTIONS, pairs=[pair]))


def decoded(example: dict[str, Any]) -> Image.Image:
    image = Image.open(io.BytesIO(example["image"]["bytes"]))
    image.load()
    return image


def assert_named_or_counted(sample_zip: Path, photo: bytes) -> None:
    """Whatever the photo holds: valid examples, or the photo named / counted, for every kind."""
    for kind in KINDS:
        raising, pair = patched(sample_zip, photo, "raise")
        member = raising.photo_member(*pair)
        try:
            made = examples(raising, pair, kind)
        except DataError as error:
            assert error.member == member
            skipping, _ = patched(sample_zip, photo, "skip")
            assert examples(skipping, pair, kind) == [] and skipping.invalid.count == 1
            assert member in skipping.invalid.summary()
            continue
        for example in made:
            image = decoded(example)
            assert image.mode == "RGB"
            if kind == "raw":
                assert image.size == (example["width"], example["height"])
            else:
                assert image.size == (OPTIONS.width, OPTIONS.height)


def image_bytes(size: tuple[int, int], fmt: str, mode: str = "RGB") -> bytes:
    pixels = np.random.default_rng(1).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).convert(mode).save(buffer, format=fmt)
    return buffer.getvalue()


def annotated_size(sample_zip: Path) -> tuple[int, int]:
    source, category, image_id = photo_with_objects(sample_zip)
    record = source.objects(category, image_id)[0]
    return record["width"], record["height"]


@pytest.mark.parametrize(
    ("fmt", "mode"),
    [
        ("PNG", "RGB"),
        ("PNG", "RGBA"),
        ("PNG", "I;16"),
        ("GIF", "P"),
        ("BMP", "RGB"),
        ("TIFF", "CMYK"),
        ("JPEG", "L"),
        ("JPEG", "CMYK"),
    ],
)
def test_a_photo_in_another_format_or_colour_mode_becomes_rgb(
    sample_zip: Path, fmt: str, mode: str
) -> None:
    photo = image_bytes(annotated_size(sample_zip), fmt, mode)
    assert_named_or_counted(sample_zip, photo)
    source, pair = patched(sample_zip, photo, "raise")
    (raw,) = examples(source, pair, "raw")
    assert raw["image"]["path"].endswith(".png") and decoded(raw).size == annotated_size(sample_zip)
    assert examples(source, pair, "pose6d")


def test_a_photo_turned_by_its_exif_orientation_decodes_in_stored_pixels(sample_zip: Path) -> None:
    """Boxes are in stored pixels; `datasets` would turn a JPEG carrying this tag as it decodes."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # turn 90 degrees clockwise to view
    buffer = io.BytesIO()
    Image.open(io.BytesIO(image_bytes(annotated_size(sample_zip), "JPEG"))).save(
        buffer, format="JPEG", exif=exif
    )
    source, pair = patched(sample_zip, buffer.getvalue(), "raise")
    for kind in KINDS:
        for example in examples(source, pair, kind):
            image = datasets.Image().decode_example(example["image"])
            expected = (OPTIONS.width, OPTIONS.height)
            if kind == "raw":
                expected = annotated_size(sample_zip)
            assert image.size == expected


@FUZZ
@given(photo=st.binary(max_size=600))
def test_random_bytes_as_a_photo_are_named_or_counted(sample_zip: Path, photo: bytes) -> None:
    assert_named_or_counted(sample_zip, photo)


@FUZZ
@given(data=st.data(), fmt=st.sampled_from(["JPEG", "PNG"]))
def test_a_damaged_photo_is_named_or_counted(
    sample_zip: Path, data: st.DataObject, fmt: str
) -> None:
    photo = bytearray(image_bytes(annotated_size(sample_zip), fmt))
    if data.draw(st.booleans()):
        del photo[data.draw(st.integers(1, len(photo) - 1)) :]
    for _ in range(data.draw(st.integers(0, 4))):
        photo[data.draw(st.integers(0, len(photo) - 1))] = data.draw(st.integers(0, 255))
    assert_named_or_counted(sample_zip, bytes(photo))


def one_pixel_object(height: int, width: int) -> bytes:
    item = {
        "bbox": np.array([0.0, 0.0, 1.0, 1.0]),
        "height": height,
        "width": width,
    }
    pose = {"azimuth": 0.3, "elevation": 0.1, "theta": 0.0, "distance": 8.0, "px": 0.5, "py": 0.5}
    return release_npz(np.array([{**item, **pose, "ignore": 0, "object_status": "status_good"}]))


def test_a_one_pixel_photo_annotated_as_such_makes_examples(sample_zip: Path) -> None:
    photo = image_bytes((1, 1), "JPEG")
    source, pair = patched(sample_zip, photo, "raise", one_pixel_object(1, 1))
    (raw,) = examples(source, pair, "raw")
    assert (raw["width"], raw["height"]) == (1, 1) and decoded(raw).size == (1, 1)
    for kind in ("pose3d", "pose6d"):
        (pose,) = examples(source, pair, kind)
        assert decoded(pose).size == (OPTIONS.width, OPTIONS.height)
        assert (pose["width_original"], pose["height_original"]) == (1, 1)


@pytest.mark.parametrize("kind", KINDS)
def test_a_photo_smaller_than_annotated_is_named_or_counted(sample_zip: Path, kind: str) -> None:
    source, pair = patched(sample_zip, image_bytes((1, 1), "JPEG"), "skip")
    assert examples(source, pair, kind) == [] and source.invalid.count == 1


def jpeg_without_scan(sample_zip: Path) -> bytes:
    """A JPEG whose start-of-scan marker became end-of-image: a header and no pixel data."""
    photo = bytearray(image_bytes(annotated_size(sample_zip), "JPEG"))
    photo[photo.index(b"\xff\xda") + 1] = 0xD9
    return bytes(photo)


@pytest.mark.parametrize("kind", ["raw", "pose6d"])
def test_a_jpeg_without_pixel_data_is_named_or_counted(sample_zip: Path, kind: str) -> None:
    source, pair = patched(sample_zip, jpeg_without_scan(sample_zip), "skip")
    assert examples(source, pair, kind) == [] and source.invalid.count == 1


@pytest.mark.parametrize(
    "changes", [{"distance": 1e300, "px": 1e10}, {"bbox": np.array([0.0, 0.0, 1e308, 1e308])}]
)
def test_absurd_but_finite_annotations_are_named_or_counted(
    sample_zip: Path, changes: dict[str, Any]
) -> None:
    item = {"class": "car", "bbox": np.array([1.0, 1.0, 5.0, 5.0]), "distance": 8.0, "ignore": 0}
    pose = {"azimuth": 0.3, "elevation": 0.1, "theta": 0.0, "px": 3.0, "py": 3.0}
    annotation = release_npz(np.array([{**item, **pose, **changes}]))
    source, pair = patched(
        sample_zip, image_bytes(annotated_size(sample_zip), "JPEG"), "skip", annotation
    )
    made = examples(source, pair, "pose3d")
    assert made == [] and source.invalid.count == 1
