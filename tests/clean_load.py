"""Run by a clean environment's Python: load as a user does, print the example names per split
(for the cad configuration: each mesh's file and a digest of its vertex and face arrays).

Arguments: PATH (Hub repo id, folder or script), CONFIG, "stream" or "load", and optionally
DATA_DIR and TOKEN ("-" for none). A script is run with `trust_remote_code=True` (datasets 3.x).
"""

import hashlib
import json
import sys

import datasets
import numpy as np

path, config, mode, data_dir, token = [*sys.argv[1:], "-", "-"][:5]
loaded = datasets.load_dataset(
    path,
    config,
    data_dir=None if data_dir == "-" else data_dir,
    token=None if token == "-" else token,
    streaming=mode == "stream",
    **({"trust_remote_code": True} if path.endswith(".py") else {}),
)


def identity(row):
    """A pose example's name, a photo's id, or a mesh's file with a digest of its arrays."""
    if "vertices" in row:
        arrays = np.asarray(row["vertices"], np.float32).tobytes()
        arrays += np.asarray(row["faces"], np.int32).tobytes()
        return f"{row['mesh_file']} {hashlib.sha256(arrays).hexdigest()}"
    return row.get("name") or row["image_id"]


names = {split: [identity(row) for row in loaded[split]] for split in loaded}
print(json.dumps(names))
