"""A configuration is one declaration: builder, export and card need nothing else to carry it."""

from __future__ import annotations

import operator
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import datasets
import pytest

from converter.core.fields import FIELDS, Field
from converter.outputs.configurations import (
    CONFIGURATIONS,
    Configuration,
    carrying,
    category_shards,
    configuration,
)
from converter.outputs.export import export
from converter.outputs.export_folder import CARD, read_stamp
from converter.pose.options import PoseOptions
from converter.read.source import Source, open_source

PHOTOS = Field("photos", "int32", "how many photos of the category the split lists", ())


def photo_counts(
    source: Source, split: str, categories: Sequence[str], options: PoseOptions
) -> Iterator[dict[str, Any]]:
    for category in categories:
        yield {"category": category, "photos": len(source.image_ids(split, [category]))}


TOY = Configuration(
    name="photo_counts",
    describe=lambda canvas: "one example per category: how many photos of it the split lists",
    fields=(*(field for field in FIELDS if field.name == "category"), PHOTOS),
    examples=photo_counts,
    shards=category_shards,
    key=operator.itemgetter("category"),
    naming="category",
    images=False,
)


def test_a_declared_configuration_is_exported_with_its_card(
    sample_zip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(CONFIGURATIONS, TOY.name, TOY)
    out = tmp_path / "out"
    infos = export(sample_zip, out, [TOY.name])
    assert list(infos) == [TOY.name]
    rows = datasets.load_dataset(str(out), TOY.name)
    source = open_source(sample_zip)
    for split in ("train", "validation"):
        names = rows[split].features["category"].names
        counted = {names[row["category"]]: row["photos"] for row in rows[split]}
        assert counted == {
            category: len(source.image_ids(split, [category])) for category in source.categories()
        }
    card = (out / CARD).read_text()
    assert f"### `{TOY.name}`" in card and TOY.describe(PoseOptions())[1:] in card
    assert f"- `photos`: {PHOTOS.meaning}" in card
    assert set(read_stamp(out / TOY.name)) >= {"categories", "shards"}
    assert "canvas" not in read_stamp(out / TOY.name)
    assert carrying("photos") == (TOY.name,)


def test_an_unknown_configuration_is_one_line_naming_the_declared_ones() -> None:
    with pytest.raises(ValueError, match="unknown configuration 'depth'; expected one of raw, "):
        configuration("depth")
