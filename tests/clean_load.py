"""Run by a clean environment's Python: load as a user does, print the example names per split.

Arguments: PATH (Hub repo id, folder or script), CONFIG, "stream" or "load", and optionally
DATA_DIR and TOKEN ("-" for none). A script is run with `trust_remote_code=True` (datasets 3.x).
"""

import json
import sys

import datasets

path, config, mode, data_dir, token = [*sys.argv[1:], "-", "-"][:5]
loaded = datasets.load_dataset(
    path,
    config,
    data_dir=None if data_dir == "-" else data_dir,
    token=None if token == "-" else token,
    streaming=mode == "stream",
    **({"trust_remote_code": True} if path.endswith(".py") else {}),
)
names = {split: [row.get("name") or row["image_id"] for row in loaded[split]] for split in loaded}
print(json.dumps(names))
