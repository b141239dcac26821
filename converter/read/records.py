"""Turn the release's per-object dicts into typed, checked records.

Every record has every key of `RECORD_KEYS` (from the field table, `converter.core.fields`); a
value the annotators did not give is None, never a made-up number. Keys the release may add
later are not dropped: they are carried through, JSON-encoded, in `extra`. Each value may come
in any of the forms the release's tools wrote (docs/format.md, 'Value forms'): Python or numpy
scalars, 0-d arrays, size-1 arrays, a vector as one row or one column, a bool `ignore`, a whole
float for a count.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from converter.core.errors import DataError, described
from converter.core.fields import RECORD_KEYS

STATUSES = ("status_good", "status_partially", "status_barely", "status_bad")
DENSITIES = ("dense_no", "dense_yes")

# Pixels, distances and angles of real photos stay far below this; a larger finite value is an
# annotation error that would only overflow later, in the geometry (or in an int32 column).
MAX_MAGNITUDE = 1e6
# Nesting deeper than this in an unknown key is refused rather than followed (a pickle can
# make a list that contains itself).
MAX_NESTING = 32


class _Invalid(Exception):
    """A value failed its check; the caller adds member and key."""


def _plain(value: Any) -> Any:
    """numpy scalars and 0-d arrays as the Python value they hold."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    return value.item() if isinstance(value, np.generic) else value


def _alone(value: Any) -> Any:
    """One number as the release's tools stored it: a numpy scalar, a 0-d array or a size-1
    array of shape (1,) or (1, 1) (MATLAB-style records), as the Python value it holds."""
    if (
        isinstance(value, np.ndarray)
        and value.size == 1
        and value.ndim <= 2
        and value.dtype.kind in "biuf"
    ):
        value = value.reshape(())
    return _plain(value)


def _number(value: Any) -> float:
    value = _alone(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Invalid(f"expected a number, got {type(value).__name__}")
    try:
        number = float(value)
    except OverflowError:
        raise _Invalid(
            f"expected a finite number, got a {value.bit_length()}-bit integer"
        ) from None
    if not math.isfinite(number):
        raise _Invalid(f"expected a finite number, got {number}")
    if abs(number) > MAX_MAGNITUDE:
        raise _Invalid(f"{number} is beyond any photo, distance or angle (limit {MAX_MAGNITUDE:g})")
    return number


def _integer(value: Any) -> int:
    number = _number(value)
    if number != int(number):
        raise _Invalid(f"expected a whole number, got {number}")
    return int(number)


def _positive_integer(value: Any) -> int:
    number = _integer(value)
    if number < 1:
        raise _Invalid(f"expected a positive whole number, got {number}")
    return number


def _vector(size: int) -> Callable[[Any], list[float]]:
    def parse(value: Any) -> list[float]:
        try:
            array = np.asarray(value)
        except (ValueError, TypeError, RecursionError):
            raise _Invalid(
                f"expected {size} numbers, got a ragged {type(value).__name__}"
            ) from None
        if array.dtype == object or array.dtype.kind not in "iuf" or not _is_line(array, size):
            raise _Invalid(f"expected {size} numbers, got {array.dtype} of shape {array.shape}")
        return [_number(item) for item in array.reshape(size).tolist()]

    return parse


def _is_line(array: np.ndarray, size: int) -> bool:
    """A vector, or a matrix of one row or one column, of `size` numbers."""
    return array.shape in ((size,), (1, size), (size, 1))


_four_numbers = _vector(4)


def _box(value: Any) -> list[float]:
    x1, y1, x2, y2 = _four_numbers(value)
    if x2 < x1 or y2 < y1:
        raise _Invalid(f"inverted box {[x1, y1, x2, y2]}")
    return [x1, y1, x2, y2]


def _word(allowed: tuple[str, ...]) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        value = _plain(value)
        if not isinstance(value, str) or value not in allowed:
            raise _Invalid(f"expected one of {', '.join(allowed)}, got {described(value)}")
        return str(value)

    return parse


def _text(value: Any) -> str:
    value = _plain(value)
    if not isinstance(value, str) or not value:
        raise _Invalid(f"expected a name, got {described(value)}")
    return value


def _flag(value: Any) -> bool:
    """`ignore`: the public tool only compares it with 0, so a bool means what 0 and 1 mean."""
    value = _alone(value)
    if isinstance(value, bool):
        return value
    number = _integer(value)
    if number not in (0, 1):
        raise _Invalid(f"expected 0 or 1, got {number}")
    return bool(number)


_PARSERS: dict[str, Callable[[Any], Any]] = {
    "class": _text,
    "bbox": _box,
    "height": _positive_integer,
    "width": _positive_integer,
    "azimuth": _number,
    "elevation": _number,
    "theta": _number,
    "distance": _number,
    "px": _number,
    "py": _number,
    "principal": _vector(2),
    "focal": _number,
    "viewport": _positive_integer,
    "cad_index": _positive_integer,
    "object_status": _word(STATUSES),
    "dense": _word(DENSITIES),
    "ignore": _flag,
}


def _jsonable(value: Any, depth: int = 0) -> Any:
    if depth > MAX_NESTING:
        raise _Invalid(f"nested more than {MAX_NESTING} levels deep")
    value = _plain(value)
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item, depth + 1) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item, depth + 1) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN or infinity
    return value if isinstance(value, (str, int, float, bool, type(None))) else repr(value)


def parse_object(raw: Any, index: int, category: str, member: str) -> dict[str, Any]:
    """One checked record from the release's dict for object `index` of `member`."""
    if not isinstance(raw, Mapping):
        raise DataError(member, f"object {index} is a {type(raw).__name__}, not a dict")
    values = {
        key: None if raw.get(key) is None else _checked(parse, raw[key], index, member, key)
        for key, parse in _PARSERS.items()
    }
    _fill_principal(values)
    unknown = {
        str(key): _checked(_jsonable, raw[key], index, member, str(key))
        for key in raw
        if key not in _PARSERS
    }
    named = values.pop("class")
    if named is not None and named != category:
        raise DataError(
            member,
            f"object {index}: class {described(named)} is not its folder's category {category!r}",
            key="class",
        )
    values["category"] = category
    values["index"] = index
    values["extra"] = json.dumps(unknown, sort_keys=True) if unknown else None
    return {key: values[key] for key in RECORD_KEYS}


def _checked(parse: Callable[[Any], Any], value: Any, index: int, member: str, key: str) -> Any:
    try:
        return parse(value)
    except _Invalid as error:
        raise DataError(member, f"object {index}: {error}", key=key) from None


def _fill_principal(values: dict[str, Any]) -> None:
    """`principal` repeats `px, py`; either side may be the only one present."""
    if values["principal"] is None and values["px"] is not None and values["py"] is not None:
        values["principal"] = [values["px"], values["py"]]
    if values["principal"] is not None:
        values["px"] = values["principal"][0] if values["px"] is None else values["px"]
        values["py"] = values["principal"][1] if values["py"] is None else values["py"]


def _reraise(error: DataError) -> None:
    raise error


def parse_objects(
    array: Any,
    category: str,
    member: str,
    tolerate: Callable[[DataError], None] = _reraise,
) -> list[dict[str, Any]]:
    """The valid records of one annotation array, in the release's order.

    Each invalid object goes to `tolerate`, which raises it or notes it and lets the
    photo's other objects through with their original indices.
    """
    if not isinstance(array, np.ndarray) or array.ndim != 1:
        raise DataError(member, "expected a 1-D array of objects", key="annotations")
    records = []
    for index, raw in enumerate(array):
        try:
            records.append(parse_object(raw, index, category, member))
        except DataError as error:
            tolerate(error)
    return records
