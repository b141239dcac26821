"""Hostile and broken annotation files: load_npz_array gives the array or a DataError, nothing else.

A pickle may name only numpy's array, scalar and dtype constructors, and even those never see
the file's values unchecked (numpy's own `__setstate__` crashes the interpreter on some).
"""

from __future__ import annotations

import builtins
import functools
import importlib
import io
import os
import pickle
import pickletools
import struct
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy._core.multiarray import _reconstruct, scalar

from converter.core.errors import DataError
from converter.read.records import parse_objects
from converter.read.safe_npz import _unpickle, load_npz_array
from tests.helpers import RELEASE_LIKE, npy_bytes, npz_of_npy, release_npz, with_raw_value
from tests.hostile import peak_allocated

FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None)
MEMBER = "imagenet3d_v1/annotations/car/n02958343_1.npz"


class Reduce:
    """Pickles as `function(*args)`, then BUILD with `state` when one is given."""

    def __init__(self, function: Any, args: tuple[Any, ...], state: Any = None) -> None:
        self.reduced = (function, args) if state is None else (function, args, state)

    def __reduce__(self) -> tuple[Any, ...]:
        return self.reduced


def object_npz(stream: bytes) -> bytes:
    """An npz whose object array header is followed by the pickle `stream`."""
    header = npy_bytes(np.array([None], dtype=object))
    return npz_of_npy(header[: header.index(b"\n") + 1] + stream)


def pickled_npz(value: Any) -> bytes:
    """An npz whose object array header is followed by the pickle of `value`."""
    return object_npz(pickle.dumps(value, protocol=3))


def assert_refused(data: bytes) -> DataError:
    with pytest.raises(DataError) as caught:
        load_npz_array(data, MEMBER)
    assert caught.value.member == MEMBER
    return caught.value


def same(loaded: Any, expected: Any) -> bool:
    """Equal values of equal types, arrays by dtype, shape and content (NaN equal to NaN)."""
    if isinstance(expected, np.ndarray):
        return (
            isinstance(loaded, np.ndarray)
            and loaded.dtype == expected.dtype
            and loaded.shape == expected.shape
            and (
                all(same(a, b) for a, b in zip(loaded.ravel(), expected.ravel(), strict=True))
                if expected.dtype.hasobject
                else np.array_equal(loaded, expected, equal_nan=expected.dtype.kind in "fc")
            )
        )
    if type(loaded) is not type(expected):
        return False
    if isinstance(expected, dict):
        return loaded.keys() == expected.keys() and all(
            same(loaded[key], expected[key]) for key in expected
        )
    if isinstance(expected, (list, tuple)):
        return len(loaded) == len(expected) and all(
            same(a, b) for a, b in zip(loaded, expected, strict=True)
        )
    return loaded == expected or (loaded != loaded and expected != expected)


def test_the_release_shape_loads_as_numpy_would_load_it() -> None:
    data = release_npz(RELEASE_LIKE)
    expected = np.load(io.BytesIO(data), allow_pickle=True)["annotations"]
    assert same(load_npz_array(data, MEMBER), expected)


def test_a_plain_array_loads_without_pickle() -> None:
    data = release_npz(np.arange(6, dtype=">i4").reshape(2, 3))
    np.testing.assert_array_equal(load_npz_array(data, MEMBER), np.arange(6).reshape(2, 3))


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True),
    st.text(max_size=8),
    st.floats(width=32).map(np.float32),
    st.floats().map(np.float64),
    st.integers(0, 2**16 - 1).map(np.uint16),
    st.integers(-(2**63), 2**63 - 1).map(np.int64),
    st.booleans().map(np.bool_),
    st.text(max_size=8).map(np.str_),
)
arrays = st.builds(
    np.array,
    st.lists(st.floats(width=16), max_size=5),
    st.sampled_from(["<f8", ">f8", "<f4", "<f2"]),
) | st.builds(np.array, st.lists(st.text(max_size=3), max_size=3), st.sampled_from(["<U3", ">U3"]))
values = st.recursive(
    scalars | arrays,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=10,
)
objects = st.dictionaries(st.text(max_size=8), values, max_size=6)


@FUZZ
@given(st.lists(objects, max_size=4))
def test_valid_object_arrays_round_trip(items: list[dict[str, Any]]) -> None:
    array = np.empty(len(items), dtype=object)
    array[:] = items
    data = release_npz(array)
    assert same(
        load_npz_array(data, MEMBER), np.load(io.BytesIO(data), allow_pickle=True)["annotations"]
    )


# Values whose pickles, at one protocol or another, use every literal, container and memo opcode.
PLAIN_VALUES = [
    *(None, True, False, 0, 255, 256, 65535, 65536, -1, -(2**31), 2**31, 2**70, -(2**70), 2**2100),
    *(1.5, -0.0, float("inf"), "", "é\ud800\n\\", "x" * 300),
    *((), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4), [1], [1, 2], {"a": 1}, {"a": 1, "b": 2}),
]


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_every_opcode_argument_decodes_as_pickle_decodes_it(protocol: int) -> None:
    """The loader reads opcodes itself: each argument must mean what it means to pickle."""
    shared = ["shared"]
    # Past 256 memo entries, puts and gets take four-byte indices.
    value = [*PLAIN_VALUES, *([index] for index in range(300)), shared, shared]
    if protocol >= 3:
        value.append([b"", b"ab", b"x" * 300])
    data = pickle.dumps(value, protocol=protocol)
    assert same(_unpickle(data), pickle.loads(data))


def dtype_state(order: bytes) -> bytes:
    """The pickled state numpy gives a plain dtype of byte order `order`, as a tuple."""
    return b"(K\x03X\x01\x00\x00\x00" + order + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t"


def test_a_dtype_given_another_state_makes_the_scalars_after_it_as_numpy_does() -> None:
    """Two scalars of the same eight bytes through one dtype object, whose byte order a BUILD
    between them changes: a dtype's check, kept for its later scalars, must not outlive it."""
    data = struct.pack("<d", 1.5)
    stream = (
        b"\x80\x02(cnumpy.core.multiarray\nscalar\nq\x01"
        + b"cnumpy\ndtype\nX\x02\x00\x00\x00f8\x89\x88\x87Rq\x00"
        + dtype_state(b"<")
        + b"bC\x08"
        + data
        + b"\x86R"
        + b"h\x01h\x00"
        + dtype_state(b">")
        + b"bC\x08"
        + data
        + b"\x86Rl."
    )
    expected = pickle.loads(stream)
    assert expected[0] == 1.5 and expected[1] != 1.5
    assert same(_unpickle(stream), expected)


@pytest.mark.parametrize("opcode", [pickle.BINUNICODE8, pickle.BINBYTES8])
def test_eight_byte_sizes_are_read_and_checked(opcode: bytes) -> None:
    """Sizes no real pickle this small uses: the right one reads, a huge one is refused at once."""
    whole = opcode + (2).to_bytes(8, "little") + b"ab" + pickle.STOP
    assert same(_unpickle(whole), pickle.loads(whole))
    with pytest.raises(pickle.UnpicklingError, match="truncated"):
        _unpickle(opcode + (2**62).to_bytes(8, "little") + b"ab" + pickle.STOP)


DEEP_TUPLE = pickle.EMPTY_TUPLE + pickle.TUPLE1 * 1_000_000


@pytest.mark.parametrize(
    "stream",
    [
        pickle.EMPTY_DICT + DEEP_TUPLE + pickle.NONE + pickle.SETITEM + pickle.STOP,
        pickle.MARK + DEEP_TUPLE + pickle.NONE + pickle.DICT + pickle.STOP,
        pickle.SHORT_BINUNICODE + b"\x05numpy" + DEEP_TUPLE + pickle.STACK_GLOBAL + pickle.STOP,
    ],
    ids=["setitem", "dict", "global"],
)
def test_a_key_nested_a_million_deep_is_refused_before_it_is_hashed(stream: bytes) -> None:
    """Hashing such a tuple overflows the C stack: the whole interpreter would crash."""
    with pytest.raises(pickle.UnpicklingError, match=r"key of type tuple|global named by"):
        _unpickle(stream)


@pytest.mark.parametrize("key", ["class", "object_status", "bbox", "height", "a_new_key"])
@pytest.mark.parametrize(
    "opcodes",
    [
        pickle.EMPTY_TUPLE + pickle.TUPLE1 * 50_000,
        pickle.EMPTY_LIST * 50_000 + pickle.APPEND * 49_999,
    ],
    ids=["tuple", "list"],
)
def test_a_value_nested_too_deep_to_print_is_an_error_naming_its_key(
    key: str, opcodes: bytes
) -> None:
    """Neither the loader nor the record checks may recurse into it, even to print it."""
    refused: list[DataError] = []
    records = parse_objects(
        load_npz_array(with_raw_value(key, opcodes), MEMBER), "car", MEMBER, refused.append
    )
    assert [record["index"] for record in records] == [1]
    assert [error.key for error in refused] == [key]


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes_are_refused(data: bytes) -> None:
    assert_refused(data)


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_every_truncation_of_a_valid_file_is_refused(compression: int) -> None:
    whole = npz_of_npy(npy_bytes(RELEASE_LIKE), compression)
    for length in range(len(whole)):
        assert_refused(whole[:length])


def test_every_truncation_of_the_array_inside_is_refused() -> None:
    """Truncated pickles, repacked with a correct checksum so the unpickler meets them."""
    payload = npy_bytes(RELEASE_LIKE)
    for length in range(len(payload)):
        assert_refused(npz_of_npy(payload[:length]))


@FUZZ
@given(st.data())
def test_a_damaged_pickle_is_refused_or_loads(data: st.DataObject) -> None:
    payload = bytearray(npy_bytes(RELEASE_LIKE))
    start = payload.index(b"\n") + 1
    positions = st.integers(start, len(payload) - 1)
    for position, value in data.draw(st.lists(st.tuples(positions, st.integers(0, 255)))):
        payload[position] = value
    try:
        array = load_npz_array(npz_of_npy(bytes(payload)), MEMBER)
    except DataError as error:
        assert error.member == MEMBER
    else:
        assert isinstance(array, np.ndarray)


def test_damaged_pickles_never_crash_the_interpreter() -> None:
    """Thousands of damaged pickles in a child process, which a crash in numpy would kill."""
    script = f"""
import io, random, zipfile
import numpy as np
from converter.core.errors import DataError
from converter.read.safe_npz import load_npz_array
from tests.helpers import RELEASE_LIKE, npy_bytes, npz_of_npy
rng = random.Random(0)
payload = npy_bytes(RELEASE_LIKE)
start = payload.index(b"\\n") + 1
for _ in range(4000):
    damaged = bytearray(payload)
    for _ in range(rng.randint(1, 3)):
        damaged[rng.randrange(start, len(damaged))] = rng.randrange(256)
    try:
        load_npz_array(npz_of_npy(bytes(damaged)), {MEMBER!r})
    except DataError:
        pass
print("survived")
"""
    root = Path(__file__).resolve().parent.parent
    run = subprocess.run(
        [sys.executable, "-c", script], cwd=root, capture_output=True, text=True, check=False
    )
    assert (run.returncode, run.stdout.strip()) == (0, "survived"), run.stderr[-2000:]


def witness_payloads(witness: Path) -> list[Reduce]:
    """Globals a hostile file could name; each would create `witness` if it ran."""
    touch = f"touch {witness}"
    return [
        Reduce(os.system, (touch,)),
        Reduce(builtins.eval, (f"open({str(witness)!r}, 'w')",)),
        Reduce(builtins.exec, (f"open({str(witness)!r}, 'w')",)),
        Reduce(subprocess.Popen, (["touch", str(witness)],)),
        Reduce(subprocess.call, (["touch", str(witness)],)),
        Reduce(np.save, (str(witness), np.zeros(1))),
        Reduce(np.savetxt, (str(witness), np.zeros(1))),
        Reduce(np.load, (str(witness),)),
        Reduce(np.testing.assert_equal, (1, 1)),
        Reduce(functools.partial, (os.system, touch)),
        Reduce(builtins.getattr, (Reduce(builtins.__import__, ("os",)), "system")),
        Reduce(builtins.__import__, ("os",)),
        Reduce(importlib.import_module, ("os",)),
        Reduce(pickle.loads, (pickle.dumps(Reduce(os.system, (touch,))),)),
        Reduce(np.frombuffer, (b"\0" * 8,)),
        Reduce(np.ndarray, ((1,), object, b"A" * 8)),
    ]


@pytest.mark.parametrize("index", range(16))
def test_a_pickle_naming_any_other_global_is_refused_and_runs_nothing(
    index: int, tmp_path: Path
) -> None:
    witness = tmp_path / "ran"
    payload = witness_payloads(witness)[index]
    error = assert_refused(pickled_npz([payload]))
    assert error.key == "annotations"
    assert not witness.exists()


# States that numpy's own __setstate__ accepted and then crashed the interpreter on (numpy 2.4).
HOSTILE_STATES = [
    Reduce(_reconstruct, (np.ndarray, (0,), b"b"), (1, (51,), np.dtype(object), False, [1, 2])),
    Reduce(_reconstruct, (np.ndarray, (0,), b"b"), (1, (4,), np.dtype("f8"), False, b"short")),
    Reduce(_reconstruct, (np.ndarray, (2**40,), np.dtype(object))),
    Reduce(
        np.dtype,
        ("M8[s]", False, True),
        (3, "|", None, ("a",), {"b": (np.dtype("complex128"), 11)}, -1, 0, 63),
    ),
    Reduce(np.dtype, ("m8", False, True), (3, "=", None, None, None, 2**31, -1, 16)),
    Reduce(np.dtype, ("f8", False, False), (3, "<", None, ("a",), {"a": (np.dtype("O"), 4)})),
    Reduce(np.dtype, ("V8", False, True), ()),
]


@pytest.mark.parametrize("index", range(len(HOSTILE_STATES)))
def test_numpy_state_that_would_crash_numpy_is_refused(index: int) -> None:
    assert_refused(pickled_npz(HOSTILE_STATES[index]))


@pytest.mark.parametrize(
    ("array", "complaint"),
    [
        (np.zeros((2, 2), dtype="M8[s]"), None),
        (np.array(["status_good"]), None),
        (np.zeros(3, dtype=[("a", "f8"), ("b", "O")]), "refused dtype"),
        (np.zeros(2, dtype=("O", (2,))), None),
    ],
)
def test_wrong_dtypes_load_or_are_refused_but_never_crash(
    array: np.ndarray, complaint: str | None
) -> None:
    data = release_npz(array)
    if complaint is None:
        assert same(
            load_npz_array(data, MEMBER),
            np.load(io.BytesIO(data), allow_pickle=True)["annotations"],
        )
    else:
        assert complaint in str(assert_refused(data))


def test_an_inner_member_declaring_a_huge_size_is_refused_before_inflating() -> None:
    data = bytearray(npz_of_npy(npy_bytes(RELEASE_LIKE)))
    central = data.index(b"PK\x01\x02")
    data[central + 24 : central + 28] = (2**31).to_bytes(4, "little")
    assert "too large" in str(assert_refused(bytes(data)))


def test_an_array_header_declaring_a_huge_shape_is_refused_without_allocating() -> None:
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "|u1", "fortran_order": False, "shape": (2**20,)}
    )
    assert "shorter than its header" in str(assert_refused(npz_of_npy(header.getvalue())))


@pytest.mark.parametrize(
    ("offset", "value", "complaint"),
    [(8, 99, "compression method"), (6, 1, "encrypted")],
)
def test_unsupported_or_encrypted_inner_members_are_refused(
    offset: int, value: int, complaint: str
) -> None:
    """Offsets in the local header; the central header's are two bytes further on."""
    data = bytearray(npz_of_npy(npy_bytes(RELEASE_LIKE)))
    for header, shift in ((b"PK\x03\x04", 0), (b"PK\x01\x02", 2)):
        data[data.index(header) + offset + shift] |= value
    assert complaint in str(assert_refused(bytes(data)))


def test_corrupt_compressed_data_is_refused() -> None:
    data = bytearray(npz_of_npy(npy_bytes(RELEASE_LIKE), zipfile.ZIP_DEFLATED))
    start = data.index(b"annotations.npy") + len("annotations.npy")
    data[start : start + 16] = b"\xff" * 16
    assert_refused(bytes(data))


def text_with_code(code: int) -> bytes:
    """UTF-32 data of two characters, the first of which is `code`."""
    return code.to_bytes(4, "little") + "b".encode("utf-32-le")


@pytest.mark.parametrize("code", [0x110000, 0xFFFFFFFF])
def test_text_beyond_unicode_is_refused(code: int) -> None:
    """numpy would make str objects of these values, which no str may hold and which break later."""
    text = np.dtype("<U2")
    data = text_with_code(code)
    as_scalar = Reduce(scalar, (text, data))
    as_array = Reduce(_reconstruct, (np.ndarray, (0,), b"b"), (1, (1,), text, False, data))
    plain = npy_bytes(np.array(["ab"], dtype=text)).replace(text_with_code(ord("a")), data)
    for npz in (pickled_npz(as_scalar), pickled_npz(as_array), npz_of_npy(plain)):
        assert_refused(npz)


def shared(levels: int, pair: Any) -> Any:
    """A value that pickles in a few bytes a level but holds 2**levels parts once unfolded."""
    value: Any = []
    for _ in range(levels):
        value = pair(value)
    return value


@pytest.mark.parametrize(
    "value",
    [
        shared(30, lambda inner: [inner, inner]),
        shared(30, lambda inner: (inner, inner)),
        shared(30, lambda inner: {"a": inner, "b": inner}),
        shared(30, lambda inner: np.array([inner, inner, None], dtype=object)),
        ["x" * 1000] * 2000,
        [np.zeros(1000)] * 200,
    ],
    ids=["list", "tuple", "dict", "array", "text", "numbers"],
)
def test_shared_parts_are_counted_each_time_they_appear(value: Any) -> None:
    data = pickle.dumps(value, protocol=3)
    assert len(data) < 20_000
    with pytest.raises(pickle.UnpicklingError, match="shared parts counted each time"):
        _unpickle(data)


def test_parts_shared_within_the_budget_load() -> None:
    value = [[{"a": "x" * 10}] * 10] * 1000
    assert same(_unpickle(pickle.dumps(value, protocol=3)), value)


def array_built_after_it_was_placed() -> bytes:
    """An object array's pickle, with the empty array put in a list between its making and
    its BUILD."""
    whole = pickle.dumps(np.array([None], dtype=object), protocol=3)[:-1]
    made = whole.index(pickle.REDUCE) + 1
    put, rest = whole[made : made + 2], whole[made + 2 :]
    assert put[:1] == pickle.BINPUT
    get = pickle.BINGET + put[1:]
    return whole[:made] + put + pickle.EMPTY_LIST + get + pickle.APPEND + get + rest


PLACED = pickle.MEMOIZE + pickle.EMPTY_LIST + pickle.BINGET + b"\0" + pickle.APPEND
GET = pickle.BINGET + b"\0"
GROWN_LATER = {
    "list": pickle.EMPTY_LIST + PLACED + GET + pickle.NONE + pickle.APPEND,
    "dict": pickle.EMPTY_DICT
    + PLACED
    + GET
    + pickle.SHORT_BINUNICODE
    + b"\1a"
    + pickle.NONE
    + pickle.SETITEM,
    "itself": pickle.EMPTY_LIST + pickle.MEMOIZE + GET + pickle.APPEND,
    "array": array_built_after_it_was_placed(),
}


@pytest.mark.parametrize("stream", GROWN_LATER.values(), ids=GROWN_LATER.keys())
def test_a_container_changed_after_it_was_placed_is_refused(stream: bytes) -> None:
    """Adding to a container already inside another would let its weight lie."""
    with pytest.raises(pickle.UnpicklingError, match="placed in"):
        _unpickle(stream + pickle.STOP)


@pytest.mark.parametrize("key", [1, 2.5, None, True, b"a", (1,), np.float64(1)], ids=repr)
def test_dict_keys_other_than_text_are_refused(key: Any) -> None:
    with pytest.raises(pickle.UnpicklingError, match="dict key of type"):
        _unpickle(pickle.dumps({key: 1}, protocol=3))
    assert same(_unpickle(pickle.dumps({np.str_("a"): 1}, protocol=3)), {np.str_("a"): 1})


def with_memo_index(index: int) -> bytes:
    """An object array's pickle that also files its first object under memo `index`, never
    read back."""
    stream = pickle.dumps(np.array([None], dtype=object), protocol=3)
    puts = (pos for op, _, pos in pickletools.genops(stream) if op.name == "BINPUT")
    after = next(puts) + 2  # BINPUT and its one-byte index
    return stream[:after] + pickle.LONG_BINPUT + struct.pack("<I", index) + stream[after:]


def test_a_memo_index_in_the_billions_costs_no_memory() -> None:
    """Python's own unpickler makes its memo table twice as long as the largest index a stream
    files under: five bytes of opcode ask for 256 MiB at 2**24, 64 GiB at 2**32 - 1."""
    assert peak_allocated(functools.partial(pickle.loads, with_memo_index(1 << 24))) > 1 << 28
    for index in (1 << 24, (1 << 32) - 1):
        npz = object_npz(with_memo_index(index))
        assert peak_allocated(functools.partial(load_npz_array, npz, MEMBER)) < 1 << 20
        assert same(load_npz_array(npz, MEMBER), np.array([None], dtype=object))
