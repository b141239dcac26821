"""ImageNet3D as a `datasets` loading script: raw photos, pose3d crops, pose6d canvases, CAD meshes.

The builder itself lives in the `converter` library (`converter.outputs.builder`) of the
`imagenet3d-hf` project, which this script needs installed (`pip install .` in a checkout).
With `datasets` 3.x:
`load_dataset("imagenet3d.py", "pose3d", data_dir=..., trust_remote_code=True)`.
`datasets` 4 and later run no scripts: use the `ImageNet3D` class itself. This script is not
published on the Hub, whose Parquet needs no code (README, "Publishing").
"""

# The `# From:` hint is what `datasets` 3.x names in "Please install it using 'pip install ...'"
# when the library is missing; without it, it would name the import, `converter`, an unrelated
# package on the package index.
from converter.outputs.builder import ImageNet3D, ImageNet3DConfig  # From: imagenet3d-hf

__all__ = ["ImageNet3D", "ImageNet3DConfig"]
