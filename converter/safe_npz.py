"""Load the release's pickled annotation arrays without ever running foreign code.

The release stores each photo's objects as a pickled object array inside an `.npz`.
`np.load(allow_pickle=True)` would execute whatever a hostile file asks for, so the
pickle stream is read here by an unpickler that can only build numpy arrays, numpy
scalars and dtypes; plain containers and literals need no lookup at all.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from typing import Any

import numpy as np

from converter.errors import DataError

_ALLOWED_GLOBALS = {
    (module, name)
    for module in ("numpy.core.multiarray", "numpy._core.multiarray")
    for name in ("_reconstruct", "scalar")
} | {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
}

ARRAY_KEY = "annotations"

_HEADER_READERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


class _RestrictedUnpickler(pickle.Unpickler):
    """Resolves only the numpy constructors an object array of dicts needs."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"refused to load {module}.{name}")
        return super().find_class(module, name)


def _read_npy(data: bytes) -> np.ndarray:
    """One `.npy` payload: plain arrays through numpy, object arrays through the safe unpickler."""
    stream = io.BytesIO(data)
    version = np.lib.format.read_magic(stream)
    if version not in _HEADER_READERS:
        raise ValueError(f"unsupported npy format version {version}")
    shape, _, dtype = _HEADER_READERS[version](stream)
    if not dtype.hasobject:
        stream.seek(0)
        return np.lib.format.read_array(stream, allow_pickle=False)
    array = _RestrictedUnpickler(stream).load()
    if not isinstance(array, np.ndarray) or array.shape != shape:
        raise pickle.UnpicklingError("object payload is not the array its header declares")
    return array


def load_npz_array(data: bytes, member: str, key: str = ARRAY_KEY) -> np.ndarray:
    """The array `key` of an `.npz` given as bytes; any problem is a DataError naming `member`."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as npz:
            payload = npz.read(f"{key}.npy")
    except KeyError:
        raise DataError(member, "no such array in the npz", key=key) from None
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise DataError(member, f"not a readable npz file ({error})") from None
    try:
        return _read_npy(payload)
    except (pickle.UnpicklingError, ValueError, TypeError, EOFError, AttributeError) as error:
        raise DataError(member, f"unsafe or malformed pickled data ({error})", key=key) from None
