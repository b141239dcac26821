"""Run by the `datasets` 3.6 interpreter: load the script as users of 3.x do, print what came out."""

import json
import sys

import datasets

script, config, data_dir = sys.argv[1:4]
rows = {}
for streaming in (False, True):
    loaded = datasets.load_dataset(
        script, config, data_dir=data_dir, trust_remote_code=True, streaming=streaming
    )
    rows[str(streaming)] = {
        split: [row.get("name") or row["image_id"] for row in loaded[split]] for split in loaded
    }
print(json.dumps(rows))
