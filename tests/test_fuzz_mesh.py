"""Random and damaged OFF files: read_off gives a well-formed mesh or a DataError naming it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from converter.core.errors import DataError
from converter.read.mesh import MAX_COORDINATE, MAX_MESH_BYTES, Mesh, read_off, write_off

FUZZ = settings(max_examples=200, deadline=None, derandomize=True, database=None)
MEMBER = "imagenet3d_v1/CAD/chair/03.off"
# Tokens that are wrong somewhere in an OFF file: not numbers, not finite, not whole, out of range.
BAD_TOKENS = ["nan", "inf", "-inf", "1e400", "-1", "3.5", "x", "4", "999999999999", "0x1", "3 3"]


@st.composite
def meshes(draw: st.DrawFn) -> Mesh:
    count = draw(st.integers(0, 8))
    coordinates = st.floats(-MAX_COORDINATE, MAX_COORDINATE)  # what the float32 column holds
    vertices = draw(
        st.lists(st.tuples(coordinates, coordinates, coordinates), min_size=count, max_size=count)
    )
    corners = st.integers(0, count - 1) if count else st.nothing()
    faces = draw(st.lists(st.tuples(corners, corners, corners), max_size=8)) if count else []
    return Mesh(
        np.array(vertices, dtype=np.float64).reshape(count, 3),
        np.array(faces, dtype=np.int64).reshape(len(faces), 3),
    )


def assert_well_formed(mesh: Mesh) -> None:
    assert mesh.vertices.dtype == np.float64 and mesh.vertices.shape[1:] == (3,)
    assert mesh.faces.dtype == np.int64 and mesh.faces.shape[1:] == (3,)
    assert np.isfinite(mesh.vertices).all()
    assert ((mesh.faces >= 0) & (mesh.faces < len(mesh.vertices))).all()


def read_or_refuse(data: bytes) -> Mesh | None:
    try:
        mesh = read_off(data, MEMBER)
    except DataError as error:
        assert error.member == MEMBER and str(error).startswith(f"{MEMBER}: ")
        return None
    assert_well_formed(mesh)
    return mesh


@FUZZ
@given(meshes())
def test_what_write_off_writes_reads_back_exactly(mesh: Mesh) -> None:
    again = read_off(write_off(mesh), MEMBER)
    np.testing.assert_array_equal(again.vertices, mesh.vertices)
    np.testing.assert_array_equal(again.faces, mesh.faces)


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes_give_a_mesh_or_a_named_error(data: bytes) -> None:
    read_or_refuse(data)


@FUZZ
@given(st.text(alphabet="OF0123456789 .-e+\n\tnaix", max_size=120))
def test_random_off_like_text_gives_a_mesh_or_a_named_error(text: str) -> None:
    read_or_refuse(("OFF\n" + text).encode())


@FUZZ
@given(meshes(), st.data())
def test_a_damaged_file_is_refused_or_still_well_formed(mesh: Mesh, data: st.DataObject) -> None:
    lines = write_off(mesh).decode().splitlines()
    for _ in range(data.draw(st.integers(1, 3))):
        if not lines:
            break
        row = data.draw(st.integers(0, len(lines) - 1))
        tokens = lines[row].split() or [""]
        column = data.draw(st.integers(0, len(tokens) - 1))
        action = data.draw(st.sampled_from(["replace", "drop-line", "add-line", "append"]))
        if action == "replace":
            tokens[column] = data.draw(st.sampled_from(BAD_TOKENS))
            lines[row] = " ".join(tokens)
        elif action == "drop-line":
            del lines[row]
        elif action == "add-line":
            lines.insert(row, data.draw(st.sampled_from(["3 0 0 0", "0 0 0", "garbage", "OFF"])))
        else:
            lines.append(data.draw(st.sampled_from(BAD_TOKENS)))
    read_or_refuse("\n".join(lines).encode())


@pytest.mark.parametrize(
    "tail", [b"trailing garbage\n", b"3 0 1 2\n", b"0 0 0\n", b"\x00\n"], ids=repr
)
def test_trailing_lines_are_refused(tail: bytes) -> None:
    whole = write_off(Mesh(np.eye(3), np.array([[0, 1, 2]])))
    assert read_or_refuse(whole + tail) is None


@pytest.mark.parametrize(
    "data",
    [b"OFF\n1_0 0 0\n" + b"0 0 0\n" * 10, b"OFF\n1 0 0\n1_0 0 0\n"],
    ids=["count", "coordinate"],
)
def test_underscores_in_numbers_are_refused(data: bytes) -> None:
    assert read_or_refuse(data) is None


def test_a_file_larger_than_any_mesh_is_refused_before_it_is_decoded() -> None:
    with pytest.raises(DataError, match=f"too large \\(limit {MAX_MESH_BYTES}\\)"):
        read_off(b"OFF\n0 0 0\n" + b" " * MAX_MESH_BYTES, MEMBER)


@pytest.mark.parametrize("value", ["1e400", "-1e999"])
def test_a_number_beyond_float_range_names_its_line(value: str) -> None:
    data = f"OFF\n2 0 0\n0 0 0\n\n0 {value} 0\n".encode()
    with pytest.raises(DataError, match="line 5: expected a vertex of 3 finite numbers"):
        read_off(data, MEMBER)
