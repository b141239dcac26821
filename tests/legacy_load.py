"""Run by the `datasets` 3.6 interpreter: load as users of 3.x do, print the example names.

Arguments: PATH (script or Hub repo id), CONFIG, DATA_DIR or "-", TOKEN or "-".
"""

import json
import sys

import datasets

path, config, data_dir, token = sys.argv[1:5]
rows = {}
for streaming in (False, True):
    loaded = datasets.load_dataset(
        path,
        config,
        data_dir=None if data_dir == "-" else data_dir,
        token=None if token == "-" else token,
        trust_remote_code=True,
        streaming=streaming,
    )
    rows[str(streaming)] = {
        split: [row.get("name") or row["image_id"] for row in loaded[split]] for split in loaded
    }
print(json.dumps(rows))
