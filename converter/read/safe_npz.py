"""Load the release's pickled annotation arrays without ever running foreign code.

The release stores each photo's objects as a pickled object array inside an `.npz`.
`np.load(allow_pickle=True)` would execute whatever a hostile file asks for, so the pickle
stream is interpreted here by a small machine that knows plain containers and literals, and
numpy's array, scalar and dtype constructors only. Python's own unpickler is not used even
with a restricted lookup: it applies item assignment and `__setstate__` to whatever object a
stream names, numpy's `ndarray.__setstate__` and `dtype.__setstate__` crash the interpreter on
some malformed states, and it sizes its memo table by the largest index a stream files under
(the five bytes filing a value under 2**24 take 256 MiB). Here every numpy value is checked
first, then built through numpy's ordinary calls (docs/format.md, 'Annotation files'), and the
memo holds only what is filed.

What is cheap to write may be costly to use: a kilobyte of pickle can share one list a billion
times over, or fill a dict with keys of one hash. The machine weighs what it builds as it builds
it and refuses, early, anything far beyond a real annotation file (the bounds below).
"""

from __future__ import annotations

import functools
import io
import math
import pickle
import re
import struct
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from converter.core.errors import DataError, described
from converter.read.archive import ZIP_ERRORS, check_member, check_size, read_member

ARRAY_KEY = "annotations"
# An annotation file holds the few objects of one photo: one to three kilobytes in the sample,
# about 800 bytes an object. 1 MiB would hold over a thousand objects; larger is refused before
# it is inflated. The size bounds the total work of a file: the opcodes it makes the machine run
# (a second at most) and the objects they make (under 100 MB, an empty dict a byte).
MAX_ANNOTATION_BYTES = 1 << 20
# What the machine may build, counted as the items of every container plus the characters of
# every text and the bytes of every array, a shared part counted each time it appears: what
# converting the result (to arrays, to JSON) costs. An object weighs about 250; sharing lets a
# kilobyte of pickle describe 2**30 items, which this refuses long before.
MAX_WEIGHT = 1 << 20
# An object has about 17 keys. Keys are text, whose hashes Python salts per process, so a file
# cannot choose keys that collide (numbers hash to themselves: 120,000 multiples of 2**61 - 1
# fill one slot and cost minutes); the bound keeps even unlucky dicts small.
MAX_DICT_KEYS = 256

_HEADER_READERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}
# The dtypes numpy pickles for plain numbers, text and objects: no records, no sub-arrays.
_PLAIN_DTYPE = re.compile(r"[biufc]\d{1,2}|O8?|[SU]\d{1,6}")
_BYTE_ORDERS = ("<", ">", "|", "=")
# The codecs of numpy's text by byte order: they refuse values beyond Unicode and, with
# "surrogatepass", let through the surrogates a numpy str may hold.
_UTF32 = {
    "<": "utf-32-le",
    ">": "utf-32-be",
    "=": "utf-32-le" if sys.byteorder == "little" else "utf-32-be",
}

# The dict keys a pickle may use: text, whose hash cannot recurse nor be made to collide.
_KEY_TYPES = (str, np.str_)
# What `_Budget` weighs by length, and the containers it weighs by their content.
_TEXTS = (str, bytes)
_CONTAINERS = (list, dict, tuple, np.ndarray)
# What a malformed stream makes the machine raise: a truncated or undecodable argument, a
# stack or memo that lacks what an opcode takes, a call with wrong arguments.
_MALFORMED = (pickle.UnpicklingError, ValueError, TypeError, IndexError, KeyError, EOFError)


@dataclass
class _DtypeSpec:
    """What `numpy.dtype(...)` stands for while unpickling: its arguments, checked when used.

    A pickle names one dtype object for all its scalars of that type, so the check is made once
    and kept until a BUILD gives the dtype another state.
    """

    spec: Any
    state: Any = None
    _dtype: np.dtype | None = field(default=None, init=False, repr=False, compare=False)

    def set_state(self, state: Any) -> None:
        self.state, self._dtype = state, None

    def checked(self) -> np.dtype:
        """The plain dtype these arguments describe, or UnpicklingError."""
        if self._dtype is None:
            self._dtype = self._check()
        return self._dtype

    def _check(self) -> np.dtype:
        state = (3, "|", None, None, None) if self.state is None else self.state
        plain = (
            isinstance(state, tuple)
            and len(state) >= 5
            and isinstance(state[1], str)
            and state[2] is state[3] is state[4] is None
        )
        order = state[1] if plain else None
        if not (isinstance(self.spec, str) and order in _BYTE_ORDERS):
            raise pickle.UnpicklingError(f"refused dtype {described(self.spec)}")
        return _plain_dtype(self.spec, order)


@functools.lru_cache(maxsize=256)
def _plain_dtype(spec: str, order: str) -> np.dtype:
    """The dtype of a plain type code and byte order; cached, as every scalar pickles its own."""
    if not _PLAIN_DTYPE.fullmatch(spec):
        raise pickle.UnpicklingError(f"refused dtype {described(spec)}")
    dtype = np.dtype(spec)
    return dtype.newbyteorder(order) if order in ("<", ">") else dtype


def _checked_dtype(spec: Any) -> np.dtype:
    if not isinstance(spec, _DtypeSpec):
        raise pickle.UnpicklingError(f"expected a dtype, got {type(spec).__name__}")
    return spec.checked()


def _valid_text(dtype: np.dtype, data: bytes) -> bool:
    """numpy makes a str of any 32-bit value, even one beyond Unicode, which no str may hold."""
    if dtype.kind != "U":
        return True
    try:
        data.decode(_UTF32[dtype.byteorder], "surrogatepass")
    except UnicodeDecodeError:
        return False
    return True


def _dtype(spec: Any, align: Any = False, copy: Any = False) -> _DtypeSpec:
    return _DtypeSpec(spec)


# numpy's own maker of a scalar from its dtype and bytes, which its pickles name (numpy moved it
# between versions, so it is taken from a pickle's recipe): called only once both are checked,
# it copies the bytes, in an eighth of the time of viewing them as an array.
_NUMPY_SCALAR = np.float64(0).__reduce__()[0]

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
    return _NUMPY_SCALAR(dtype, data)


_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _dtype,
    **{
        (module, name): function
        for module in ("numpy.core.multiarray", "numpy._core.multiarray")
        for name, function in (("_reconstruct", _reconstruct), ("scalar", _scalar))
    },
}


def _global(module: Any, name: Any) -> Any:
    if type(module) is not str or type(name) is not str:
        raise pickle.UnpicklingError(
            f"refused a global named by {described(module)}, {described(name)}"
        )
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
        raise pickle.UnpicklingError(f"malformed array shape {described(shape)}")
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
        target.set_state(state)
    elif isinstance(target, np.ndarray):
        _set_array_state(target, state)
    else:
        raise pickle.UnpicklingError(f"cannot set the state of a {type(target).__name__}")


def _line(data: bytes, start: int) -> tuple[bytes, int]:
    """The bytes from `start` to the next newline, and the position after the newline."""
    end = data.find(b"\n", start)
    if end < 0:
        raise pickle.UnpicklingError("no newline found")
    return data[start:end], end + 1


def _int_text(line: bytes) -> int:
    """INT's decimal text, in which protocol 0 writes True as `01` and False as `00`."""
    if line in (b"00", b"01"):
        return line == b"01"
    return int(line)


def _since_mark(stack: list[Any], marks: list[int]) -> list[Any]:
    start = marks.pop()
    items = stack[start:]
    del stack[start:]
    return items


def _added_to(stack: list[Any], kind: type) -> Any:
    """The container under construction on top of the stack, which must be a `kind`."""
    if type(stack[-1]) is not kind:
        raise pickle.UnpicklingError(f"cannot add items to a {type(stack[-1]).__name__}")
    return stack[-1]


def _key(key: Any) -> Any:
    """A dict key of the kind the release uses: text. Hashing a structure can recurse without
    bound (a tuple nested a million deep) and overflow the C stack, which no exception catches;
    numbers can be chosen to collide."""
    if type(key) not in _KEY_TYPES:
        raise pickle.UnpicklingError(f"dict key of type {type(key).__name__}")
    return key


def _pairs(items: list[Any]) -> dict[Any, Any]:
    if len(items) > 2 * MAX_DICT_KEYS:
        raise pickle.UnpicklingError(f"a dict with more than {MAX_DICT_KEYS} keys")
    return dict(zip(map(_key, items[::2]), items[1::2], strict=True))


class _Budget:
    """The weight of what the machine builds (see MAX_WEIGHT), counted through shared parts.

    A container placed into another is sealed: adding to it later is refused, so each weight,
    taken when a container grows, stays true. Real pickles build every container whole before
    using it; only a structure that contains itself does otherwise, and the release has none.
    Tuples, which cannot change, are weighed only when placed: most are a numpy constructor's
    arguments, used once, and weighing each as it is made would slow the loader by a third.
    """

    def __init__(self) -> None:
        self.weights: dict[int, int] = {}
        self.sealed: set[int] = set()
        # Every weighed container stays alive, so no other object takes its id meanwhile.
        self.kept: list[Any] = []

    def made(self, container: Any, items: list[Any] | tuple[Any, ...]) -> Any:
        """`container`, just made of `items`, weighed."""
        self._weigh(container, 0, items)
        return container

    def grow(self, container: Any, items: list[Any] | tuple[Any, ...]) -> None:
        """Let `items` be added to `container`, which must still be open."""
        key = id(container)
        if key in map(id, items):
            raise pickle.UnpicklingError(f"a {type(container).__name__} placed in itself")
        if key in self.sealed:
            raise pickle.UnpicklingError(
                f"a {type(container).__name__} changed after it was placed in another"
            )
        self._weigh(container, self.weights.get(key, 0), items)

    def _weigh(self, container: Any, weight: int, items: list[Any] | tuple[Any, ...]) -> None:
        weight += len(items)
        for item in items:
            if isinstance(item, _TEXTS):
                weight += len(item)
            elif isinstance(item, _CONTAINERS):
                weight += self.placed(item)
        if weight > MAX_WEIGHT:
            raise pickle.UnpicklingError(
                f"builds more than {MAX_WEIGHT} items and characters (shared parts counted "
                "each time they appear)"
            )
        key = id(container)
        if key not in self.weights:
            self.kept.append(container)
        self.weights[key] = weight

    def placed(self, item: Any) -> int:
        """A container's weight, now that it is placed in another (or returned) and so sealed."""
        key = id(item)
        self.sealed.add(key)
        if type(item) is tuple and key not in self.weights:
            self._weigh_tuple(item)
        return self.weights.get(key, 0)

    def _weigh_tuple(self, root: tuple[Any, ...]) -> None:
        """Weigh a tuple after the tuples inside it, without recursion: they may nest a
        million deep."""
        pending = [root]
        while pending:
            top = pending[-1]
            inner = [item for item in top if type(item) is tuple and id(item) not in self.weights]
            if inner:
                pending.extend(inner)
                continue
            pending.pop()
            if id(top) not in self.weights:
                self._weigh(top, 0, top)


def _add_pairs(budget: _Budget, target: dict[Any, Any], items: list[Any]) -> None:
    """SETITEM(S): the key and value pairs `items` added to an open dict."""
    pairs = _pairs(items)
    if len(target) + len(pairs) > MAX_DICT_KEYS:
        raise pickle.UnpicklingError(f"a dict with more than {MAX_DICT_KEYS} keys")
    budget.grow(target, items)
    target.update(pairs)


def _signed(chunk: bytes) -> int:
    return int.from_bytes(chunk, "little", signed=True)


def _utf8(chunk: bytes) -> str:
    return chunk.decode("utf-8", "surrogatepass")


# The opcodes' bytes, compared as ints by `_unpickle`.
_MEMOIZE = pickle.MEMOIZE[0]
_BINPUT = pickle.BINPUT[0]
_BINGET = pickle.BINGET[0]
_BININT1 = pickle.BININT1[0]
_SHORT_BINUNICODE = pickle.SHORT_BINUNICODE[0]
_SHORT_BINBYTES = pickle.SHORT_BINBYTES[0]
_MARK = pickle.MARK[0]
_TUPLE = pickle.TUPLE[0]
_LIST = pickle.LIST[0]
_DICT = pickle.DICT[0]
_APPEND = pickle.APPEND[0]
_APPENDS = pickle.APPENDS[0]
_SETITEM = pickle.SETITEM[0]
_SETITEMS = pickle.SETITEMS[0]
_GLOBAL = pickle.GLOBAL[0]
_STACK_GLOBAL = pickle.STACK_GLOBAL[0]
_REDUCE = pickle.REDUCE[0]
_BUILD = pickle.BUILD[0]
_STOP = pickle.STOP[0]
_CONSTANTS = {pickle.NONE[0]: None, pickle.NEWTRUE[0]: True, pickle.NEWFALSE[0]: False}
_EMPTY = {pickle.EMPTY_LIST[0]: list, pickle.EMPTY_DICT[0]: dict, pickle.EMPTY_TUPLE[0]: tuple}
_SMALL_TUPLES = {pickle.TUPLE1[0]: 1, pickle.TUPLE2[0]: 2, pickle.TUPLE3[0]: 3}
# Literals whose argument is a little-endian size, of 1, 4 or 8 bytes, then that many bytes
# (the short strings and bytes, the most frequent, have branches of their own). A negative
# LONG4 size reads as one larger than any payload, so it is refused as truncated.
_SIZED: dict[int, tuple[int, Callable[[bytes], Any]]] = {
    pickle.BINUNICODE[0]: (4, _utf8),
    pickle.BINUNICODE8[0]: (8, _utf8),
    pickle.BINBYTES[0]: (4, bytes),
    pickle.BINBYTES8[0]: (8, bytes),
    pickle.LONG1[0]: (1, _signed),
    pickle.LONG4[0]: (4, _signed),
}
# Literals whose argument has a fixed size, and how it decodes.
_FIXED: dict[int, tuple[int, Callable[[bytes], Any]]] = {
    pickle.BININT[0]: (4, _signed),
    pickle.BININT2[0]: (2, lambda chunk: int.from_bytes(chunk, "little")),
    pickle.BINFLOAT[0]: (8, lambda chunk: struct.unpack(">d", chunk)[0]),
}
# Protocol 0's literals, a line of text each.
_TEXT: dict[int, Callable[[bytes], Any]] = {
    pickle.INT[0]: _int_text,
    pickle.LONG[0]: lambda line: int(line.removesuffix(b"L")),
    pickle.FLOAT[0]: float,
    pickle.UNICODE[0]: lambda line: line.decode("raw-unicode-escape"),
}
# Memo puts and gets by an explicit index: its size in bytes, or None for a line of text.
_PUTS = {pickle.LONG_BINPUT[0]: 4, pickle.PUT[0]: None}
_GETS = {pickle.LONG_BINGET[0]: 4, pickle.GET[0]: None}
# Opcodes whose argument is skipped: the protocol, and a frame's size (a hint for buffering).
_SKIPPED = {pickle.PROTO[0]: 1, pickle.FRAME[0]: 8}
# Every opcode's name, to say which one is refused.
_NAMES = {
    value[0]: name
    for name, value in vars(pickle).items()
    if name.isupper() and isinstance(value, bytes) and len(value) == 1
}
_TRUNCATED = "pickle data was truncated"


def _index(data: bytes, pos: int, size: int | None) -> tuple[int, int]:
    """A memo index of `size` little-endian bytes, or a line of decimal text when None."""
    if size is None:
        line, pos = _line(data, pos)
        return int(line), pos
    end = pos + size
    if end > len(data):
        raise pickle.UnpicklingError(_TRUNCATED)
    return int.from_bytes(data[pos:end], "little"), end


def _unpickle(data: bytes) -> Any:
    """Run a pickle's opcodes on plain containers, literals and the numpy stand-ins only.

    One loop reads each opcode and its argument in place, testing first the opcodes numpy's
    pickles are mostly made of: a function call per opcode would cost more than its work.
    Every argument's end is checked against the data's before it is sliced, so a damaged size
    neither reads past the end nor allocates more than the data holds.
    """
    stack: list[Any] = []
    push = stack.append
    budget = _Budget()
    marks: list[int] = []
    memo: dict[int, Any] = {}
    pos, end = 0, len(data)
    while pos < end:
        code = data[pos]
        pos += 1
        if code == _MEMOIZE:
            memo[len(memo)] = stack[-1]
        elif code == _BINGET:
            push(memo[data[pos]])
            pos += 1
        elif code == _BINPUT:
            memo[data[pos]] = stack[-1]
            pos += 1
        elif code in _CONSTANTS:
            push(_CONSTANTS[code])
        elif code in _SMALL_TUPLES:
            start = len(stack) - _SMALL_TUPLES[code]
            if start < 0:
                raise pickle.UnpicklingError("stack underflow")
            stack[start:] = [tuple(stack[start:])]
        elif code == _BININT1:
            push(data[pos])
            pos += 1
        elif code == _REDUCE:
            args, function = stack.pop(), stack.pop()
            if not (function is _scalar or function is _dtype or function is _reconstruct):
                raise pickle.UnpicklingError("REDUCE of something other than a numpy constructor")
            if type(args) is not tuple:
                raise pickle.UnpicklingError("REDUCE without a tuple of arguments")
            push(function(*args))
        elif code == _SHORT_BINUNICODE:
            start = pos + 1
            pos = start + data[pos]
            if pos > end:
                raise pickle.UnpicklingError(_TRUNCATED)
            push(data[start:pos].decode("utf-8", "surrogatepass"))
        elif code == _SHORT_BINBYTES:
            start = pos + 1
            pos = start + data[pos]
            if pos > end:
                raise pickle.UnpicklingError(_TRUNCATED)
            push(data[start:pos])
        elif code == _MARK:
            marks.append(len(stack))
        elif code == _TUPLE:
            push(tuple(_since_mark(stack, marks)))
        elif code == _BUILD:
            state = stack.pop()
            _build(stack[-1], state)
            if isinstance(stack[-1], np.ndarray):
                # Weighed by its data (the state is checked by now): its items, or its bytes.
                budget.grow(stack[-1], state[-1:])
        elif code in _FIXED:
            size, decode = _FIXED[code]
            start, pos = pos, pos + size
            if pos > end:
                raise pickle.UnpicklingError(_TRUNCATED)
            push(decode(data[start:pos]))
        elif code in _SIZED:
            prefix, decode = _SIZED[code]
            start = pos + prefix
            pos = start + int.from_bytes(data[pos:start], "little")
            if pos > end:
                raise pickle.UnpicklingError(_TRUNCATED)
            push(decode(data[start:pos]))
        elif code == _STACK_GLOBAL:
            name, module = stack.pop(), stack.pop()
            push(_global(module, name))
        elif code in _EMPTY:
            push(_EMPTY[code]())
        elif code == _SETITEMS:
            items = _since_mark(stack, marks)
            _add_pairs(budget, _added_to(stack, dict), items)
        elif code == _SETITEM:
            items = stack[-2:]
            del stack[-2:]
            _add_pairs(budget, _added_to(stack, dict), items)
        elif code == _APPENDS:
            items = _since_mark(stack, marks)
            budget.grow(_added_to(stack, list), items)
            stack[-1].extend(items)
        elif code == _APPEND:
            items = [stack.pop()]
            budget.grow(_added_to(stack, list), items)
            stack[-1].append(items[0])
        elif code == _LIST:
            items = _since_mark(stack, marks)
            push(budget.made(items, items))
        elif code == _DICT:
            items = _since_mark(stack, marks)
            push(budget.made(_pairs(items), items))
        elif code in _SKIPPED:
            pos += _SKIPPED[code]
        elif code in _PUTS:
            index, pos = _index(data, pos, _PUTS[code])
            memo[index] = stack[-1]
        elif code in _GETS:
            index, pos = _index(data, pos, _GETS[code])
            push(memo[index])
        elif code in _TEXT:
            line, pos = _line(data, pos)
            push(_TEXT[code](line))
        elif code == _GLOBAL:
            module, pos = _line(data, pos)
            name, pos = _line(data, pos)
            push(_global(module.decode("utf-8"), name.decode("utf-8")))
        elif code == _STOP:
            result = stack.pop()
            budget.placed(result)
            return result
        else:
            raise pickle.UnpicklingError(f"opcode {_NAMES.get(code, hex(code))} is not allowed")
    raise pickle.UnpicklingError("pickle data ends before its STOP opcode")


def _header_size(data: bytes) -> int:
    """How long an `.npy` header says it is: magic, version, then a length of 2 or 4 bytes."""
    length_size = 2 if data[6:7] == b"\x01" else 4
    return 8 + length_size + int.from_bytes(data[8 : 8 + length_size], "little")


@functools.lru_cache(maxsize=64)
def _npy_header(header: bytes) -> tuple[tuple[int, ...], np.dtype]:
    """The shape and dtype an `.npy` header declares; cached, as the annotation files' repeat."""
    stream = io.BytesIO(header)
    version = np.lib.format.read_magic(stream)
    if version not in _HEADER_READERS:
        raise ValueError(f"unsupported npy format version {version}")
    shape, _, dtype = _HEADER_READERS[version](stream)
    return shape, dtype


def _read_npy(data: bytes) -> np.ndarray:
    """One `.npy` payload: plain arrays through numpy, object arrays through `_unpickle`."""
    header = data[: _header_size(data)]
    shape, dtype = _npy_header(header)
    count = math.prod(shape)
    if count > MAX_WEIGHT:  # items of no bytes (`|S0`) cost nothing to store, time to visit
        raise ValueError(f"array header declares {count} elements (limit {MAX_WEIGHT})")
    if not dtype.hasobject:
        if count * dtype.itemsize > len(data) - len(header):
            raise ValueError(f"array data is shorter than its header's shape {shape} of {dtype}")
        array = np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)
        if not _valid_text(dtype, array.tobytes()):
            raise ValueError("text array holds values that are not characters")
        return array
    array = _unpickle(data[len(header) :])
    if not isinstance(array, np.ndarray) or array.shape != shape:
        raise pickle.UnpicklingError("object payload is not the array its header declares")
    return array


def load_npz_array(data: bytes, member: str, key: str = ARRAY_KEY) -> np.ndarray:
    """The array `key` of an `.npz` given as bytes; any problem is a DataError naming `member`.

    The file's size bounds what opening it costs: a zip directory of many empty entries is
    parsed whole, about 100 bytes of it an entry.
    """
    check_size(member, len(data), MAX_ANNOTATION_BYTES)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as npz:
            info = npz.getinfo(f"{key}.npy")
            check_member(info, member, MAX_ANNOTATION_BYTES, key)
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
