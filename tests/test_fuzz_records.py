"""Random annotation dicts: parse_objects gives a typed record or a DataError naming the key."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from converter.core.errors import DataError
from converter.read.records import DENSITIES, MAX_MAGNITUDE, RECORD_KEYS, STATUSES, parse_objects

FUZZ = settings(max_examples=200, deadline=None, derandomize=True, database=None)
MEMBER = "imagenet3d_v1/annotations/car/n02958343_7.npz"
FLOAT_KEYS = ("azimuth", "elevation", "theta", "distance", "px", "py", "focal")
COUNT_KEYS = ("height", "width", "viewport", "cad_index")
KNOWN_KEYS = (
    *FLOAT_KEYS,
    *COUNT_KEYS,
    "class",
    "bbox",
    "principal",
    "object_status",
    "dense",
    "ignore",
)

finite = st.floats(-MAX_MAGNITUDE, MAX_MAGNITUDE)
counts = st.integers(1, int(MAX_MAGNITUDE))
junk = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**80), 2**80),
        st.floats(),
        st.text(max_size=12),
        st.binary(max_size=8),
        st.floats().map(np.float64),
        st.floats(width=32).map(np.float32),
        st.integers(0, 2**16 - 1).map(np.uint16),
        st.integers(-(2**63), 2**63 - 1).map(np.int64),
        st.booleans().map(np.bool_),
        st.sampled_from([*STATUSES, *DENSITIES]).map(np.str_),
        hnp.arrays(
            st.sampled_from(["f8", ">f4", "i8", "u2", "?", "U3", "S2", "c16", "O"]),
            hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=5),
        ),
    ),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=8,
)


def box(values: tuple[float, float, float, float]) -> list[float]:
    x1, x2 = sorted(values[::2])
    y1, y2 = sorted(values[1::2])
    return [x1, y1, x2, y2]


def stored(numbers: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """One number in each form the release's tools wrote: Python or numpy scalar, 0-d array,
    size-1 array of shape (1,) or (1, 1)."""
    return st.one_of(
        numbers,
        numbers.map(np.asarray),
        numbers.map(lambda number: np.array([number])),
        numbers.map(lambda number: np.array([[number]])),
    )


def alone(value: Any) -> Any:
    """The one number a stored form holds."""
    return np.asarray(value).reshape(()).item()


def line(size: int) -> st.SearchStrategy[np.ndarray]:
    """`size` numbers as a vector, a row or a column."""
    shapes = st.sampled_from([(size,), (1, size), (size, 1)])
    return st.tuples(st.lists(finite, min_size=size, max_size=size), shapes).map(
        lambda parts: np.reshape(parts[0], parts[1])
    )


whole_floats = counts.map(float)
VALID: dict[str, st.SearchStrategy[Any]] = {
    **dict.fromkeys(FLOAT_KEYS, stored(finite | finite.map(np.float64) | st.integers(-1000, 1000))),
    **dict.fromkeys(COUNT_KEYS, stored(counts | counts.map(np.int64) | whole_floats)),
    "height": stored(st.integers(1, 2**16 - 1).map(np.uint16)),
    "class": st.just("car") | st.just("car").map(np.str_) | st.just("car").map(np.asarray),
    "bbox": st.tuples(finite, finite, finite, finite).map(box).map(np.array),
    "principal": line(2),
    "object_status": st.sampled_from(STATUSES) | st.sampled_from(STATUSES).map(np.asarray),
    "dense": st.sampled_from(DENSITIES),
    "ignore": stored(st.sampled_from([0, 1, np.int64(1), np.uint8(0), 1.0, True, np.bool_(False)])),
}
extra_keys = st.text(max_size=8).filter(lambda key: key not in KNOWN_KEYS)


def with_extra_keys(
    known: st.SearchStrategy[dict[str, Any]], keys: st.SearchStrategy[Any]
) -> st.SearchStrategy[dict[Any, Any]]:
    """Objects with the known keys drawn from `known` and a few keys the schema does not have."""
    extra = st.dictionaries(keys, junk, max_size=3)
    return st.tuples(known, extra).map(lambda parts: {**parts[0], **parts[1]})


valid_objects = with_extra_keys(st.fixed_dictionaries({}, optional=VALID), extra_keys)
any_objects = with_extra_keys(
    st.fixed_dictionaries({}, optional={key: VALID[key] | junk for key in VALID}),
    extra_keys | st.integers(),
)


def as_array(objects: list[Any]) -> np.ndarray:
    array = np.empty(len(objects), dtype=object)
    array[:] = objects
    return array


def assert_well_typed(record: dict[str, Any]) -> None:
    """Every key present, each None or of the type the schema columns take."""
    assert tuple(record) == RECORD_KEYS
    assert type(record["index"]) is int and type(record["category"]) is str
    for key in FLOAT_KEYS:
        assert record[key] is None or (type(record[key]) is float and math.isfinite(record[key]))
    for key in COUNT_KEYS:
        assert record[key] is None or (type(record[key]) is int and 1 <= record[key] < 2**31)
    for key, size in (("bbox", 4), ("principal", 2)):
        value = record[key]
        assert value is None or (
            type(value) is list
            and len(value) == size
            and all(type(item) is float and math.isfinite(item) for item in value)
        )
    assert record["object_status"] in (None, *STATUSES)
    assert record["dense"] in (None, *DENSITIES)
    assert record["ignore"] in (None, True, False) and type(record["ignore"]) in (type(None), bool)
    assert record["extra"] is None or isinstance(json.loads(record["extra"]), dict)


@FUZZ
@given(valid_objects)
def test_valid_values_come_through_as_plain_python(raw: dict[str, Any]) -> None:
    (record,) = parse_objects(as_array([raw]), "car", MEMBER)
    assert_well_typed(record)
    for key in FLOAT_KEYS:
        assert record[key] == (None if key not in raw else float(alone(raw[key]))) or (
            key in ("px", "py") and key not in raw and "principal" in raw
        )
    for key in COUNT_KEYS:
        assert record[key] == (int(alone(raw[key])) if key in raw else None)
    for key in ("bbox", "principal"):
        if key in raw:
            assert record[key] == np.ravel(raw[key]).astype(float).tolist()
    assert record["category"] == "car"
    assert record["object_status"] == raw.get("object_status")
    assert record["ignore"] == (bool(alone(raw["ignore"])) if "ignore" in raw else None)
    unknown = {key: value for key, value in raw.items() if key not in KNOWN_KEYS}
    assert (
        record["extra"] is None if not unknown else set(json.loads(record["extra"])) == set(unknown)
    )


@FUZZ
@given(any_objects)
def test_any_value_gives_a_typed_record_or_an_error_naming_the_key(raw: dict[Any, Any]) -> None:
    try:
        records = parse_objects(as_array([raw]), "car", MEMBER)
    except DataError as error:
        assert error.member == MEMBER
        assert error.key in {str(key) for key in raw}
        assert MEMBER in str(error) and f"[{error.key}]" in str(error)
    else:
        assert_well_typed(records[0])


@FUZZ
@given(st.lists(any_objects | junk, max_size=5))
def test_skipped_objects_are_counted_and_the_others_keep_their_index(objects: list[Any]) -> None:
    errors: list[DataError] = []
    records = parse_objects(as_array(objects), "car", MEMBER, errors.append)
    assert len(records) + len(errors) == len(objects)
    assert all(error.member == MEMBER for error in errors)
    assert [record["index"] for record in records] == sorted(record["index"] for record in records)
    for record in records:
        assert_well_typed(record)


@pytest.mark.parametrize(
    "bbox", [[10.0, 20.0, 5.0, 40.0], [10.0, 20.0, 30.0, 19.999], [1.0, 1.0, -1.0, -1.0]]
)
def test_an_inverted_box_is_refused(bbox: list[float]) -> None:
    with pytest.raises(DataError, match="inverted box") as caught:
        parse_objects(as_array([{"bbox": np.array(bbox)}]), "car", MEMBER)
    assert caught.value.key == "bbox"


@FUZZ
@given(st.integers(1, 4000), st.integers(1, 4000), st.tuples(finite, finite, finite, finite))
def test_a_box_reaching_outside_the_photo_is_kept_as_annotated(
    width: int, height: int, corners: tuple[float, float, float, float]
) -> None:
    """Annotators' boxes may cross the photo's edge; the record keeps them, unclipped."""
    bbox = box(corners)
    raw = {"bbox": np.array(bbox), "width": np.uint16(min(width, 65535)), "height": height}
    (record,) = parse_objects(as_array([raw]), "car", MEMBER)
    assert record["bbox"] == bbox


ESCAPED_BEFORE = [
    ("azimuth", 10**400),
    ("height", 2**40),
    ("viewport", 2**31),
    ("cad_index", np.uint64(2**63)),
    ("bbox", [1.0, [2.0, 3.0], 4.0, 5.0]),
    ("object_status", np.array(["status_good", "status_bad"])),
    ("dense", ["dense_no"]),
    ("distance", float("nan")),
    ("theta", np.float32("inf")),
    ("ignore", 2),
    ("class", b"car"),
]


@pytest.mark.parametrize(
    ("key", "value"), [pytest.param(*case, id=case[0]) for case in ESCAPED_BEFORE]
)
def test_values_that_once_escaped_as_library_errors_are_data_errors(key: str, value: Any) -> None:
    with pytest.raises(DataError) as caught:
        parse_objects(as_array([{key: value}]), "car", MEMBER)
    assert (caught.value.member, caught.value.key) == (MEMBER, key)


def test_unknown_keys_are_carried_as_json_whatever_they_hold() -> None:
    raw = {"note": np.array([b"x", 1j, None], dtype=object), "when": np.zeros(2, "M8[s]")}
    (record,) = parse_objects(as_array([raw]), "car", MEMBER)
    assert set(json.loads(record["extra"])) == {"note", "when"}


def test_an_unknown_key_holding_itself_is_refused() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(DataError, match="nested") as caught:
        parse_objects(as_array([{"loop": loop}]), "car", MEMBER)
    assert caught.value.key == "loop"


@pytest.mark.parametrize(
    ("key", "stored", "value"),
    [
        ("ignore", True, True),
        ("ignore", np.bool_(False), False),
        ("ignore", np.array([[True]]), True),
        ("distance", np.array([4.5]), 4.5),
        ("distance", np.array([[4.5]]), 4.5),
        ("distance", np.asarray(4.5), 4.5),
        ("height", np.array([[375.0]]), 375),
        ("viewport", 3000.0, 3000),
        ("cad_index", np.asarray(2.0), 2),
        ("principal", np.array([[10.0, 20.0]]), [10.0, 20.0]),
        ("principal", np.array([[10.0], [20.0]]), [10.0, 20.0]),
        ("class", np.asarray("car"), "car"),
    ],
)
def test_each_form_the_release_tools_wrote_reads_as_its_value(
    key: str, stored: Any, value: Any
) -> None:
    (record,) = parse_objects(as_array([{key: stored}]), "car", MEMBER)
    assert record[key if key != "class" else "category"] == value


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("cad_index", 2.5),
        ("viewport", np.asarray(2999.5)),
        ("distance", np.array([1.0, 2.0])),
        ("distance", np.array([[[1.0]]])),
        ("principal", np.array([[1.0, 2.0], [3.0, 4.0]])),
        ("ignore", np.array([2])),
        ("azimuth", np.array([True])),
    ],
)
def test_forms_that_hold_no_single_right_value_are_refused(key: str, value: Any) -> None:
    with pytest.raises(DataError) as caught:
        parse_objects(as_array([{key: value}]), "car", MEMBER)
    assert (caught.value.member, caught.value.key) == (MEMBER, key)
