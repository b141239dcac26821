"""OFF meshes: what write_off writes, read_off reads back; anything malformed is named, not fixed."""

from __future__ import annotations

import numpy as np
import pytest

from converter.core.errors import DataError
from converter.read.mesh import Mesh, load_cad, read_off, write_off
from converter.sample.shapes import category_meshes

MEMBER = "imagenet3d_v1/CAD/car/01.off"
TETRAHEDRON = b"OFF\n4 4 0\n0 0 0\n1 0 0\n0 1 0\n0 0 1.5\n3 0 1 2\n3 0 1 3\n3 0 2 3\n3 1 2 3\n"


def test_a_small_file_reads_as_vertices_and_triangles() -> None:
    mesh = read_off(TETRAHEDRON, MEMBER)
    assert mesh.vertices.shape == (4, 3) and mesh.vertices.dtype == np.float64
    assert mesh.faces.shape == (4, 3) and mesh.faces.dtype == np.int64
    assert mesh.vertices[3].tolist() == [0.0, 0.0, 1.5]
    assert mesh.faces[3].tolist() == [1, 2, 3]


def test_write_then_read_gives_the_same_numbers() -> None:
    for mesh in category_meshes("car"):
        again = read_off(write_off(mesh), MEMBER)
        np.testing.assert_array_equal(again.vertices, mesh.vertices)
        np.testing.assert_array_equal(again.faces, mesh.faces)


def test_blank_lines_and_spacing_do_not_matter() -> None:
    spaced = b"OFF\r\n\n  4  4 0 \n0 0 0\n1 0 0\n\n0 1 0\n0\t0 1.5\n3 0 1 2\n3 0 1 3\n3 0 2 3\n3 1 2 3\n\n"
    np.testing.assert_array_equal(
        read_off(spaced, MEMBER).faces, read_off(TETRAHEDRON, MEMBER).faces
    )


def test_an_empty_mesh_is_a_mesh() -> None:
    mesh = read_off(b"OFF\n0 0 0\n", MEMBER)
    assert mesh.vertices.shape == (0, 3) and mesh.faces.shape == (0, 3)


@pytest.mark.parametrize(
    ("data", "complaint"),
    [
        (b"", "first line must be exactly 'OFF'"),
        (TETRAHEDRON.replace(b"OFF", b"COFF"), "first line must be exactly 'OFF'"),
        (b"OFF 4 4 0\n" + TETRAHEDRON.split(b"\n", 2)[2], "first line must be exactly 'OFF'"),
        (b"OFF\n", "counts line missing"),
        (TETRAHEDRON.replace(b"4 4 0", b"4 4"), "line 2: expected 'n_vertices n_faces n_edges'"),
        (TETRAHEDRON.replace(b"4 4 0", b"4 -4 0"), "line 2: expected 'n_vertices n_faces n_edges'"),
        (TETRAHEDRON.replace(b"4 4 0", b"5 4 0"), "declares 5 vertices and 4 faces"),
        (TETRAHEDRON.replace(b"4 4 0", b"4 3 0"), "but has 8 lines after the counts"),
        (TETRAHEDRON[: TETRAHEDRON.rindex(b"3 1 2 3")], "but has 7 lines after the counts"),
        (
            TETRAHEDRON.replace(b"1 0 0", b"1 zero 0"),
            "line 4: expected a vertex of 3 finite numbers",
        ),
        (TETRAHEDRON.replace(b"1 0 0", b"1 0"), "line 4: expected a vertex of 3 finite numbers"),
        (
            TETRAHEDRON.replace(b"1 0 0", b"1 nan 0"),
            "line 4: expected a vertex of 3 finite numbers",
        ),
        (TETRAHEDRON.replace(b"3 0 1 3", b"4 0 1 3 2"), "line 8: expected a triangle"),
        (TETRAHEDRON.replace(b"3 0 1 3", b"3 0 1.0 3"), "line 8: expected a triangle"),
        (TETRAHEDRON.replace(b"3 0 1 3", b"3 0 1 4"), "line 8: vertex index out of range 0..3"),
        (TETRAHEDRON.replace(b"3 0 1 3", b"3 0 -1 3"), "line 8: vertex index out of range 0..3"),
        (TETRAHEDRON.replace(b"1.5", "1\N{MIDDLE DOT}5".encode()), "not an ASCII OFF file"),
        (
            TETRAHEDRON.replace(b"4 4 0", b"4 4 " + b"9" * 5000),
            "line 2: expected 'n_vertices n_faces n_edges'",
        ),
        (TETRAHEDRON.replace(b"3 0 1 3", b"3 0 1 " + b"9" * 5000), "line 8: expected a triangle"),
        (
            TETRAHEDRON.replace(b"1 0 0", b"1 1e300 0"),
            "line 4: expected a vertex of 3 finite numbers that float32 holds",
        ),
    ],
    ids=[
        "empty",
        "bad-header",
        "counts-on-header-line",
        "no-counts",
        "two-counts",
        "negative-count",
        "too-few-lines",
        "too-many-lines",
        "truncated",
        "non-numeric",
        "short-vertex",
        "nan",
        "quad",
        "float-index",
        "index-too-large",
        "negative-index",
        "not-ascii",
        "count-of-5000-digits",
        "index-of-5000-digits",
        "beyond-float32",
    ],
)
def test_malformed_files_name_the_member_and_the_fault(data: bytes, complaint: str) -> None:
    with pytest.raises(DataError, match=r"^imagenet3d_v1/CAD/car/01\.off: ") as caught:
        read_off(data, MEMBER)
    assert caught.value.member == MEMBER
    assert complaint in str(caught.value)


class _OneMeshSource:
    """Stands in for converter.read.source.Source: load_cad needs only the two CAD methods."""

    def cad_bytes(self, category: str, cad_index: int) -> bytes:
        assert (category, cad_index) == ("car", 1)
        return TETRAHEDRON

    def cad_member(self, category: str, cad_index: int) -> str:
        return f"imagenet3d_v1/CAD/{category}/{cad_index:02d}.off"


def test_load_cad_reads_the_sources_mesh_and_names_its_member() -> None:
    assert isinstance(load_cad(_OneMeshSource(), "car", 1), Mesh)
    broken = _OneMeshSource()
    broken.cad_bytes = lambda category, cad_index: b"OFF\n1 0 0\n"  # type: ignore[method-assign]
    with pytest.raises(DataError, match=r"CAD/car/01\.off"):
        load_cad(broken, "car", 1)
