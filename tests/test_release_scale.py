"""The release's breadth: 200 categories reach the labels, the card and the builder's features
(docs/format.md, 'Categories'), and the archive index finds every member by its name."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from datasets import Features
from datasets.info import DatasetInfosDict
from huggingface_hub import DatasetCard

from converter.outputs.export import ExportOptions, export
from converter.outputs.export_folder import CARD
from converter.outputs.schema import features_for
from converter.read.source import open_source
from converter.read.zip_index import ZipIndex
from imagenet3d import ImageNet3D
from testbed.scaled import Scale, scaled_categories, write_scaled_release

CATEGORIES = 200


@pytest.fixture(scope="module")
def broad_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The release's 200 categories, one photo in each split of each."""
    folder = tmp_path_factory.mktemp("broad")
    return write_scaled_release(folder / "imagenet3d_v1.zip", Scale(CATEGORIES, train=1, val=1))


def test_the_builder_declares_every_category_of_its_source(broad_zip: Path, tmp_path: Path) -> None:
    builder = ImageNet3D(config_name="pose3d", data_dir=str(broad_zip), cache_dir=str(tmp_path))
    categories = scaled_categories(CATEGORIES)
    assert builder.info.features["category"].names == categories
    assert builder.info.features == features_for("pose3d", categories)


def test_the_export_labels_and_card_carry_every_category(broad_zip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    export(broad_zip, out, ["raw"], ExportOptions(num_proc=1))
    categories = scaled_categories(CATEGORIES)
    for shard in (out / "raw").glob("*.parquet"):
        features = Features.from_arrow_schema(pq.read_schema(shard))
        assert features["category"].names == categories
    card = DatasetCard.load(out / CARD)
    infos = DatasetInfosDict.from_dataset_card_data(card.data)
    assert infos["raw"].features["category"].names == categories
    assert f"Objects of {CATEGORIES} categories: {', '.join(categories)}." in card.text


def test_every_member_kind_is_found_through_the_index(broad_zip: Path) -> None:
    source = open_source(broad_zip)
    assert source.categories() == scaled_categories(CATEGORIES)
    for category in source.categories()[:8]:
        assert source.cad_indices(category) == list(range(1, len(source.cad_indices(category)) + 1))
        (image_id,) = [image_id for _, image_id in source.image_ids("validation", [category])]
        assert source.photo_bytes(category, image_id)[:2] in (b"\xff\xd8", b"\x89P")
        assert source.objects(category, image_id)


def test_the_index_keeps_the_last_of_a_repeated_name_and_no_folders(tmp_path: Path) -> None:
    path = tmp_path / "repeated.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("top/", b"")
        archive.writestr("top/b.txt", b"first")
        archive.writestr("top/a.txt", b"a")
        with pytest.warns(UserWarning, match="Duplicate name"):
            archive.writestr("top/b.txt", b"second")
    with path.open("rb") as file:
        index = ZipIndex(file)
        assert list(index.names) == ["top/a.txt", "top/b.txt"]
        assert index.find("top/") is None
        with zipfile.ZipFile(path) as opened:
            assert (
                index.header_offset[index.find("top/b.txt")]
                == opened.getinfo("top/b.txt").header_offset
            )
