"""ImageNet3D as a `datasets` loading script: raw photos, pose3d crops and pose6d canvases.

The builder itself lives in the `converter` library (`converter.outputs.builder`), which this
script needs installed: `pip install imagenet3d-hf`. With `datasets` 3.x:
`load_dataset("imagenet3d.py", "pose3d", data_dir=..., trust_remote_code=True)`.
"""

from converter.outputs.builder import ImageNet3D, ImageNet3DConfig  # From: imagenet3d-hf

__all__ = ["ImageNet3D", "ImageNet3DConfig"]
