"""Load the release's pickled annotation arrays without ever running foreign code.

The release stores each photo's objects as a pickled object array inside an `.npz`.
`np.load(allow_pickle=True)` would execute whatever a hostile file asks for, so the pickle
stream is interpreted here by a small machine that knows plain containers and literals, and
numpy's array, scalar and dtype constructors only. Python's own unpickler is not used even
with a restricted lookup: it applies item assignment and `__setstate__` to whatever object a
stream names, and numpy's `ndarray.__setstate__` and `dtype.__setstate__` crash the
interpreter on some malformed states. Here every numpy value is checked first, then built
through numpy's ordinary calls.
"""

from __future__ import annotations

import io
import math
import pickle
import pickletools
import re
import sys
import zipfile
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np

from converter.archive import ZIP_ERRORS, check_member, read_member
from converter.errors import DataError

ARRAY_KEY = "annotations"
# An annotation array holds the few objects of one photo: kilobytes. Far larger is refused
# before it is inflated.
MAX_ARRAY_BYTES = 16 << 20

_HEADER_READERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}
# The dtypes numpy pickles for plain numbers, text and objects: no records, no sub-arrays.
_PLAIN_DTYPE = re.compile(r"[biufc]\d{1,2}|O8?|[SU]\d{1,6}")
_BYTE_ORDERS = ("<", ">", "|", "=")

_LITERALS = {
    "INT",
    "BININT",
    "BININT1",
    "BININT2",
    "LONG",
    "LONG1",
    "LONG4",
    "FLOAT",
    "BINFLOAT",
    "UNICODE",
    "SHORT_BINUNICODE",
    "BINUNICODE",
    "BINUNICODE8",
    "SHORT_BINBYTES",
    "BINBYTES",
    "BINBYTES8",
}
_CONSTANTS = {"NONE": None, "NEWTRUE": True, "NEWFALSE": False}
_EMPTY = {"EMPTY_LIST": list, "EMPTY_DICT": dict, "EMPTY_TUPLE": tuple}
_SMALL_TUPLES = {"TUPLE1": 1, "TUPLE2": 2, "TUPLE3": 3}
_MEMO_PUTS = {"PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"}
_MEMO_GETS = {"GET", "BINGET", "LONG_BINGET"}
# What a malformed stream makes the machine raise: bad opcodes and lengths (ValueError from
# pickletools), a stack or memo that lacks what an opcode takes, a call with wrong arguments.
_MALFORMED = (pickle.UnpicklingError, ValueError, TypeError, IndexError, KeyError, EOFError)


@dataclass
class _DtypeSpec:
    """What `numpy.dtype(...)` stands for while unpickling: its arguments, checked when used."""

    spec: Any
    state: Any = None

    def checked(self) -> np.dtype:
        """The plain dtype these arguments describe, or UnpicklingError."""
        state = (3, "|", None, None, None) if self.state is None else self.state
        plain = (
            isinstance(state, tuple)
            and len(state) >= 5
            and isinstance(state[1], str)
            and all(item is None for item in state[2:5])
        )
        order = state[1] if plain else None
        if not (
            isinstance(self.spec, str)
            and _PLAIN_DTYPE.fullmatch(self.spec)
            and order in _BYTE_ORDERS
        ):
            raise pickle.UnpicklingError(f"refused dtype {self.spec!r}")
        dtype = np.dtype(self.spec)
        return dtype.newbyteorder(order) if order in ("<", ">") else dtype


def _checked_dtype(spec: Any) -> np.dtype:
    if not isinstance(spec, _DtypeSpec):
        raise pickle.UnpicklingError(f"expected a dtype, got {type(spec).__name__}")
    return spec.checked()


def _valid_text(dtype: np.dtype, data: bytes) -> bool:
    """numpy makes a str of any 32-bit value, even one beyond Unicode, which no str may hold."""
    if dtype.kind != "U":
        return True
    codes = np.frombuffer(data, np.dtype("u4").newbyteorder(dtype.byteorder))
    return not codes.size or int(codes.max()) <= sys.maxunicode


def _dtype(spec: Any, align: Any = False, copy: Any = False) -> _DtypeSpec:
    return _DtypeSpec(spec)


# What the pickle's `numpy.ndarray` resolves to: only a marker for `_reconstruct`, never called.
_NDARRAY = object()


def _reconstruct(subtype: Any, shape: Any, dtype: Any) -> np.ndarray:
    """An empty array for the BUILD that follows, as numpy's own `_reconstruct` makes."""
    if subtype is not _NDARRAY:
        raise pickle.UnpicklingError("_reconstruct of something other than numpy.ndarray")
    return np.empty(0, np.int8)


def _scalar(spec: Any, data: Any) -> np.generic:
    dtype = _checked_dtype(spec)
    if (
        dtype.hasobject
        or not isinstance(data, bytes)
        or len(data) != dtype.itemsize
        or not _valid_text(dtype, data)
    ):
        raise pickle.UnpicklingError(f"malformed {dtype} scalar")
    return np.ndarray((), dtype, buffer=data)[()]


_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _dtype,
    **{
        (module, name): function
        for module in ("numpy.core.multiarray", "numpy._core.multiarray")
        for name, function in (("_reconstruct", _reconstruct), ("scalar", _scalar))
    },
}
_CALLABLE = (_dtype, _reconstruct, _scalar)


def _global(module: Any, name: Any) -> Any:
    if (module, name) not in _GLOBALS:
        raise pickle.UnpicklingError(f"refused to load {module}.{name}")
    return _GLOBALS[module, name]


def _set_array_state(array: np.ndarray, state: Any) -> None:
    """numpy's BUILD of an array, once shape, dtype and data are known to agree."""
    if not (isinstance(state, tuple) and len(state) == 5):
        raise pickle.UnpicklingError("malformed array state")
    _, shape, spec, fortran, data = state
    dtype = _checked_dtype(spec)
    if not (
        isinstance(shape, tuple)
        and len(shape) <= 32
        and all(type(size) is int and size >= 0 for size in shape)
        and isinstance(fortran, bool)
    ):
        raise pickle.UnpicklingError(f"malformed array shape {shape!r}")
    count = math.prod(shape)
    if dtype.hasobject:
        whole = type(data) is list and len(data) == count
    else:
        whole = (
            isinstance(data, bytes)
            and len(data) == count * dtype.itemsize
            and _valid_text(dtype, data)
        )
    if not whole:
        raise pickle.UnpicklingError(f"malformed {dtype} data for shape {shape}")
    array.__setstate__((1, shape, dtype, fortran, data))


def _build(target: Any, state: Any) -> None:
    if isinstance(target, _DtypeSpec):
        target.state = state
    elif isinstance(target, np.ndarray):
        _set_array_state(target, state)
    else:
        raise pickle.UnpicklingError(f"cannot set the state of a {type(target).__name__}")


def _added_to(stack: list[Any], kind: type) -> Any:
    """The container under construction on top of the stack, which must be a `kind`."""
    if type(stack[-1]) is not kind:
        raise pickle.UnpicklingError(f"cannot add items to a {type(stack[-1]).__name__}")
    return stack[-1]


def _pairs(items: list[Any]) -> dict[Any, Any]:
    return dict(zip(items[::2], items[1::2], strict=True))


def _unpickle(stream: BinaryIO) -> Any:
    """Run a pickle's opcodes on plain containers, literals and the numpy stand-ins only."""
    stack: list[Any] = []
    marks: list[int] = []
    memo: dict[int, Any] = {}

    def since_mark() -> list[Any]:
        start = marks.pop()
        items = stack[start:]
        del stack[start:]
        return items

    for opcode, arg, _ in pickletools.genops(stream):
        op = opcode.name
        if op in _LITERALS:
            stack.append(arg)
        elif op in _CONSTANTS:
            stack.append(_CONSTANTS[op])
        elif op in _EMPTY:
            stack.append(_EMPTY[op]())
        elif op in ("PROTO", "FRAME"):
            continue
        elif op == "MARK":
            marks.append(len(stack))
        elif op in _MEMO_PUTS:
            memo[len(memo) if arg is None else arg] = stack[-1]
        elif op in _MEMO_GETS:
            stack.append(memo[arg])
        elif op == "TUPLE":
            stack.append(tuple(since_mark()))
        elif op in _SMALL_TUPLES:
            items = [stack.pop() for _ in range(_SMALL_TUPLES[op])]
            stack.append(tuple(reversed(items)))
        elif op == "LIST":
            stack.append(since_mark())
        elif op == "DICT":
            stack.append(_pairs(since_mark()))
        elif op == "APPEND":
            value = stack.pop()
            _added_to(stack, list).append(value)
        elif op == "APPENDS":
            items = since_mark()
            _added_to(stack, list).extend(items)
        elif op == "SETITEM":
            value, key = stack.pop(), stack.pop()
            _added_to(stack, dict)[key] = value
        elif op == "SETITEMS":
            items = _pairs(since_mark())
            _added_to(stack, dict).update(items)
        elif op == "GLOBAL":
            stack.append(_global(*arg.split(" ")))
        elif op == "STACK_GLOBAL":
            name, module = stack.pop(), stack.pop()
            stack.append(_global(module, name))
        elif op == "REDUCE":
            args, function = stack.pop(), stack.pop()
            if not any(function is known for known in _CALLABLE) or type(args) is not tuple:
                raise pickle.UnpicklingError("REDUCE of something other than a numpy constructor")
            stack.append(function(*args))
        elif op == "BUILD":
            state = stack.pop()
            _build(stack[-1], state)
        elif op == "STOP":
            return stack.pop()
        else:
            raise pickle.UnpicklingError(f"opcode {op} is not allowed")
    raise pickle.UnpicklingError("no STOP opcode")


def _read_npy(data: bytes) -> np.ndarray:
    """One `.npy` payload: plain arrays through numpy, object arrays through `_unpickle`."""
    stream = io.BytesIO(data)
    version = np.lib.format.read_magic(stream)
    if version not in _HEADER_READERS:
        raise ValueError(f"unsupported npy format version {version}")
    shape, _, dtype = _HEADER_READERS[version](stream)
    if not dtype.hasobject:
        if math.prod(shape) * dtype.itemsize > len(data) - stream.tell():
            raise ValueError(f"array data is shorter than its header's shape {shape} of {dtype}")
        stream.seek(0)
        array = np.lib.format.read_array(stream, allow_pickle=False)
        if not _valid_text(dtype, array.tobytes()):
            raise ValueError("text array holds values that are not characters")
        return array
    array = _unpickle(stream)
    if not isinstance(array, np.ndarray) or array.shape != shape:
        raise pickle.UnpicklingError("object payload is not the array its header declares")
    return array


def load_npz_array(data: bytes, member: str, key: str = ARRAY_KEY) -> np.ndarray:
    """The array `key` of an `.npz` given as bytes; any problem is a DataError naming `member`."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as npz:
            info = npz.getinfo(f"{key}.npy")
            check_member(info, member, MAX_ARRAY_BYTES, key)
            payload = read_member(npz, info)
    except KeyError:
        raise DataError(member, "no such array in the npz", key=key) from None
    except DataError:
        raise
    except ZIP_ERRORS as error:
        raise DataError(member, f"not a readable npz file ({error})") from None
    try:
        return _read_npy(payload)
    except _MALFORMED as error:
        raise DataError(member, f"unsafe or malformed pickled data ({error})", key=key) from None
