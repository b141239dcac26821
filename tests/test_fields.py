"""One field table: the parser, the sample writer, the features and the card all read it."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import datasets
import pytest

from converter.core.fields import (
    CAD,
    FIELD_DOCS,
    FIELDS,
    OBJECT,
    POSE,
    RAW,
    RECORD_KEYS,
    RELEASE_KEYS,
    fields_in,
)
from converter.outputs.configurations import carrying
from converter.outputs.schema import cad_features, feature_of, pose_features, raw_features
from converter.pose.camera import CAMERA_FIELDS
from converter.read.safe_npz import load_npz_array
from converter.read.source import Source


def release_dicts(sample_zip: Path) -> list[dict]:
    """Every object dict of the sample's annotation files, as the release stores them."""
    with zipfile.ZipFile(sample_zip) as archive:
        members = [name for name in archive.namelist() if name.endswith(".npz")]
        return [
            obj
            for member in members
            for obj in load_npz_array(archive.read(member), member).tolist()
        ]


def test_each_name_is_declared_once() -> None:
    names = [field.name for field in FIELDS]
    assert len(names) == len(set(names))


def test_the_sample_writes_the_release_keys_the_parser_reads(
    sample_zip: Path, source: Source
) -> None:
    """Every key of the table is written; any other key ends up in a record's `extra`."""
    keys = set().union(*(obj.keys() for obj in release_dicts(sample_zip)))
    assert set(RELEASE_KEYS) <= keys
    extras = {
        key
        for split in ("train", "validation")
        for pair in source.image_ids(split)
        for record in source.objects(*pair)
        if record["extra"]
        for key in json.loads(record["extra"])
    }
    assert keys - set(RELEASE_KEYS) == extras


def test_records_carry_the_tables_object_fields(source: Source) -> None:
    category, image_id = source.image_ids("train")[0]
    for record in source.objects(category, image_id):
        assert tuple(record) == RECORD_KEYS


def test_features_and_card_docs_come_from_the_table() -> None:
    raw, pose, cad = raw_features(["car"]), pose_features(["car"]), cad_features(["car"])
    assert list(raw) == [field.name for field in FIELDS if RAW in field.places]
    parsed = [key for key in raw["objects"].feature if key not in CAMERA_FIELDS]
    assert tuple(parsed) == RECORD_KEYS
    assert list(pose) == [field.name for field in FIELDS if "pose3d" in carrying(field.name)]
    assert list(cad) == [field.name for field in FIELDS if "cad" in carrying(field.name)]
    assert set(raw) | set(raw["objects"].feature) | set(pose) | set(cad) == set(FIELD_DOCS)


def test_the_camera_fields_are_computed_not_parsed() -> None:
    computed = tuple(field.name for field in FIELDS if field.computed)
    assert computed == CAMERA_FIELDS
    assert not set(computed) & set(RECORD_KEYS)


def test_configs_say_where_a_field_appears() -> None:
    assert carrying("bbox") == ("raw", "pose3d", "pose6d")
    assert carrying("ignore") == ("raw",)
    assert carrying("resize_rate") == ("pose3d", "pose6d")


def test_list_types_nest_outermost_first() -> None:
    matrix = feature_of("float64[3][3]", [])
    triples = feature_of("int32[][3]", [])
    assert matrix == datasets.Sequence(
        datasets.Sequence(datasets.Value("float64"), length=3), length=3
    )
    assert triples == datasets.Sequence(datasets.Sequence(datasets.Value("int32"), length=3))


def documented_columns(place: str) -> list[str]:
    """The column names docs/format.md, 'Columns of each configuration', lists for one place."""
    text = (Path(__file__).resolve().parent.parent / "docs" / "format.md").read_text()
    section = text.split("## Columns of each configuration")[1]
    bullets = next(block for block in section.split("\n\n") if block.startswith("- "))
    entries = [" ".join(entry.split()) for entry in bullets[2:].split("\n- ")]
    heads = {RAW: "`raw`, one row", OBJECT: "`raw`'s `objects`", POSE: "`pose3d` and", CAD: "`cad`"}
    entry = next(entry for entry in entries if entry.startswith(heads[place]))
    listed = re.sub(r"\([^)]*\)", "", entry.split(":", 1)[1])  # without the remarks in brackets
    return re.findall(r"`([a-z_0-9]+)`", listed)


@pytest.mark.parametrize("place", [RAW, OBJECT, POSE, CAD])
def test_the_documented_columns_are_the_tables(place: str) -> None:
    assert documented_columns(place) == [field.name for field in fields_in(place)]
