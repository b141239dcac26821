"""Facts about the public release (docs/format.md, 'Release layout'), stated once for all uses."""

from __future__ import annotations

from typing import Literal, get_args

REPO_ID = "ccvl/ImageNet3D"
ARCHIVE_NAME = "imagenet3d_v1.zip"
DEFAULT_SOURCE = f"hf://datasets/{REPO_ID}/{ARCHIVE_NAME}"
TOP_FOLDER = "imagenet3d_v1"
# The generated sample's categories, each with the ImageNet synset that starts its image ids.
SAMPLE_SYNSETS = {
    "aeroplane": "n02691156",
    "bicycle": "n02834778",
    "car": "n02958343",
    "chair": "n03001627",
}

PRETTY_NAME = "ImageNet3D"
HOMEPAGE = "https://imagenet3d.github.io/"
LICENSE = "cc-by-nc-4.0"
# How a published copy is gated, as the Hub names it: access requests approved at once (`auto`)
# or by the maintainers (`manual`), or not gated (`none`, which the Hub's API calls False).
Gating = Literal["auto", "manual", "none"]
GATINGS: tuple[str, ...] = get_args(Gating)
DESCRIPTION = (
    "ImageNet3D: about 86 thousand objects in ImageNet photos of 200 rigid categories, each "
    "annotated with a 3D viewpoint (azimuth, elevation, in-plane rotation), distance, 2D box, "
    "matching CAD model and quality labels. Released under CC BY-NC 4.0; users must also follow "
    "ImageNet's terms of access."
)
CITATION = """\
@inproceedings{ma2024imagenet3d,
  title     = {ImageNet3D: Towards General-Purpose Object-Level 3D Understanding},
  author    = {Ma, Wufei and Zhang, Guofeng and Liu, Qihao and Zeng, Guanning and
               Kortylewski, Adam and Liu, Yaoyao and Yuille, Alan},
  booktitle = {Advances in Neural Information Processing Systems},
  year      = {2024},
  doi       = {10.57967/hf/2461}
}
"""
