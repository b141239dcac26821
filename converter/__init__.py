"""ImageNet3D for the Hugging Face ecosystem: the library behind the builder, CLI and exports.

Layers, each importing only those above it in this list:

- `core`: errors, whole-or-nothing writes, facts of the release;
- `read`: any location of the release, its members, annotations, records and meshes;
- `pose`: which objects are kept, where their photo lands on the canvas, the camera;
- `sample`: the built-in sample, an archive generated in the release's shape;
- `outputs`: the configurations, declared once; examples, the `datasets` builder and schema,
  sources opened by name, the public tool's folder, Parquet, Hub;
- `look`: overlays, metrics and the counts of `inspect`;
- `cli`: the `imagenet3d` command line.

The loopback servers and the benchmark workload are the checkout's `testbed/`, outside the
package. The names below are the short public API; they are imported on first use, so
`import converter` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_PUBLIC = {
    "open_source": "converter.read.source",
    "open_release": "converter.outputs.sources",
    "write_sample": "converter.sample",
    "ImageNet3D": "converter.outputs.builder",
    "ImageNet3DConfig": "converter.outputs.builder",
    "PoseOptions": "converter.pose.options",
    "preprocess": "converter.outputs.tool_folder",
    "export": "converter.outputs.export",
    "push": "converter.outputs.hub",
    "overlay": "converter.look.draw",
    "evaluate": "converter.look.metrics",
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'converter' has no attribute {name!r}")
    return getattr(importlib.import_module(_PUBLIC[name]), name)
