"""Opening the release in every form it comes in, and refusing what is broken or hostile."""

from __future__ import annotations

import os
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest

from converter.core.errors import DataError, SourceError
from converter.look.summary import summarize
from converter.outputs.examples import iter_pose_examples, iter_raw_examples
from converter.outputs.sources import open_release
from converter.pose.options import PoseOptions
from converter.read.source import Source, open_source
from tests.helpers import members, release_npz, replace_member


def test_zip_and_unpacked_folder_hold_the_same_release(sample_zip: Path, sample_dir: Path) -> None:
    from_zip, from_folder = open_source(sample_zip), open_source(sample_dir)
    assert from_zip.layout.kind == from_folder.layout.kind == "v1"
    assert summarize(from_zip).splits == summarize(from_folder).splits
    category, image_id = from_zip.image_ids("train")[0]
    assert from_zip.photo_bytes(category, image_id) == from_folder.photo_bytes(category, image_id)
    assert from_zip.objects(category, image_id) == from_folder.objects(category, image_id)


def test_both_splits_and_sorted_categories(sample_zip: Path) -> None:
    source = open_source(sample_zip)
    assert source.categories() == sorted(source.categories())
    assert len(source.categories()) >= 4
    assert source.image_ids("train") and source.image_ids("validation")
    assert not set(source.image_ids("train")) & set(source.image_ids("validation"))


def test_records_have_every_key_and_none_for_missing(sample_zip: Path) -> None:
    source = open_source(sample_zip)
    records = [
        obj
        for split in ("train", "validation")
        for pair in source.image_ids(split)
        for obj in source.objects(*pair)
    ]
    assert {len(obj) for obj in records} == {19}
    poseless = [obj for obj in records if obj["azimuth"] is None]
    assert poseless and all(obj["px"] is None and obj["principal"] is None for obj in poseless)
    assert all(obj["distance"] is not None and obj["ignore"] is not None for obj in records)


def test_a_file_whose_pickle_would_run_code_is_refused_and_runs_nothing(
    sample_zip: Path, tmp_path: Path
) -> None:
    witness = tmp_path / "pwned"

    class Payload:
        def __reduce__(self) -> tuple[object, ...]:
            return (os.system, (f"touch {witness}",))

    member = members(sample_zip, ".npz")[0]
    hostile = replace_member(
        sample_zip,
        tmp_path / "hostile.zip",
        member,
        release_npz(np.array([Payload()], dtype=object)),
    )
    source = open_source(hostile)
    category, image_id = member.rsplit("/", 2)[-2], Path(member).stem
    with pytest.raises(DataError, match="refused to load") as caught:
        source.objects(category, image_id)
    assert member in str(caught.value)
    assert not witness.exists()


def test_a_wrong_type_names_the_member_and_the_key(sample_zip: Path, tmp_path: Path) -> None:
    member = members(sample_zip, ".npz")[0]
    bad = {"class": "car", "bbox": np.array(["a", "b", "c", "d"]), "distance": 5.0, "ignore": 0}
    broken = replace_member(
        sample_zip, tmp_path / "bad.zip", member, release_npz(np.array([bad], dtype=object))
    )
    category, image_id = member.rsplit("/", 2)[-2], Path(member).stem
    with pytest.raises(DataError) as caught:
        open_source(broken).objects(category, image_id)
    assert caught.value.member == member and caught.value.key == "bbox"


def test_skipping_invalid_records_counts_them(sample_zip: Path, tmp_path: Path) -> None:
    member = members(sample_zip, ".npz")[0]
    category, image_id = member.rsplit("/", 2)[-2], Path(member).stem
    good = {"class": category, "distance": 0.0, "ignore": 0}
    bad = {"class": category, "azimuth": float("nan"), "distance": 5.0, "ignore": 0}
    broken = replace_member(
        sample_zip, tmp_path / "bad.zip", member, release_npz(np.array([good, bad], dtype=object))
    )
    source = open_source(broken, on_invalid="skip")
    assert [obj["index"] for obj in source.objects(category, image_id)] == [0]
    assert source.invalid.count == 1 and member in source.invalid.summary()


def test_a_record_whose_class_is_not_its_folder_is_an_error_naming_the_field(
    sample_zip: Path, tmp_path: Path
) -> None:
    member = members(sample_zip, ".npz")[0]
    category, image_id = member.rsplit("/", 2)[-2], Path(member).stem
    objects = [{"class": category, "distance": 5.0}, {"class": "zebra", "distance": 5.0}]
    broken = replace_member(
        sample_zip, tmp_path / "bad.zip", member, release_npz(np.array(objects, dtype=object))
    )
    with pytest.raises(DataError, match=f"^{member} \\[class\\]: object 1: class 'zebra' is not"):
        open_source(broken).objects(category, image_id)
    source = open_source(broken, on_invalid="skip")
    assert [obj["index"] for obj in source.objects(category, image_id)] == [0]
    assert source.invalid.count == 1


def test_a_truncated_zip_is_named(sample_zip: Path, tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(sample_zip.read_bytes()[: sample_zip.stat().st_size // 2])
    with pytest.raises(SourceError, match=r"truncated\.zip"):
        open_source(truncated)


def test_the_older_flat_layout_lands_in_train(sample_dir: Path, tmp_path: Path) -> None:
    flat = tmp_path / "imagenet3d.zip"
    v1 = next(sample_dir.iterdir())
    with zipfile.ZipFile(flat, "w") as archive:
        for kind in ("images", "annotations"):
            for path in sorted((v1 / kind).rglob("*.*")):
                archive.write(path, f"imagenet3d/{path.parent.name}/{path.name}")
    with pytest.warns(UserWarning, match="flat layout"):
        source = open_source(flat)
    assert source.layout.kind == "flat"
    assert source.image_ids("validation") == []
    assert len(source.image_ids("train")) == len(list((v1 / "images").rglob("*.JPEG")))


@pytest.mark.parametrize("config", ["raw", "pose3d"])
def test_a_corrupt_photo_is_named_or_skipped(config: str, sample_zip: Path, tmp_path: Path) -> None:
    member = members(sample_zip, ".JPEG")[0]
    with zipfile.ZipFile(sample_zip) as archive:
        truncated = archive.read(member)[:2000]
    broken = replace_member(sample_zip, tmp_path / "broken.zip", member, truncated)
    category, image_id = member.rsplit("/", 2)[-2], Path(member).stem
    pairs = [(category, image_id)]

    def examples(source: Source) -> list[dict]:
        if config == "raw":
            return list(iter_raw_examples(source, "train", pairs=pairs))
        return list(iter_pose_examples(source, "train", config, PoseOptions(), pairs=pairs))

    with pytest.raises(DataError, match=re.escape(member)):
        examples(open_source(broken))
    skipping = open_source(broken, on_invalid="skip")
    assert examples(skipping) == [] and skipping.invalid.count == 1


def test_a_v1_zip_under_another_top_folder_reads_the_same(
    sample_zip: Path, sample_dir: Path, tmp_path: Path
) -> None:
    renamed = tmp_path / "release.zip"
    with zipfile.ZipFile(renamed, "w") as archive:
        for path in sorted(sample_dir.rglob("*")):
            if path.is_file():
                parts = path.relative_to(sample_dir).parts
                archive.write(path, "/".join(("ImageNet3D-v1.0", *parts[1:])))
    source = open_source(renamed)
    assert source.layout.prefix == "ImageNet3D-v1.0/"
    assert summarize(source).splits == summarize(open_source(sample_zip)).splits


def test_the_word_sample_opens_the_generated_archive(sample_zip: Path) -> None:
    assert summarize(open_release("sample")).splits == summarize(open_source(sample_zip)).splits
