"""Shared fixtures: the generated sample archive, unpacked and zipped."""

from __future__ import annotations

# First of all: starts the loopback Hub before anything imports datasets or huggingface_hub.
from tests.server_fixtures import file_server, hf_token, hub, served_zip  # noqa: F401

# isort: split

import zipfile
from importlib.metadata import version
from pathlib import Path

import pytest

from converter.outputs.export import export
from converter.read.source import Source, open_source
from converter.sample import write_sample
from tests.clean_env import clean_python


@pytest.fixture(scope="session")
def sample_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The deterministic sample archive every test reads (seed 0)."""
    path = tmp_path_factory.mktemp("sample") / "imagenet3d_v1.zip"
    write_sample(path, seed=0)
    return path


@pytest.fixture(scope="session")
def sample_dir(sample_zip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same archive unpacked, as a user who unzipped the release has it."""
    root = tmp_path_factory.mktemp("unpacked")
    with zipfile.ZipFile(sample_zip) as archive:
        archive.extractall(root)
    return root


@pytest.fixture(scope="module")
def source(sample_zip: Path) -> Source:
    """The sample opened once per test module."""
    return open_source(sample_zip)


@pytest.fixture(scope="module")
def exported(sample_zip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every configuration of the sample exported (Parquet and card), once per test module."""
    out = tmp_path_factory.mktemp("export") / "out"
    export(sample_zip, out)
    return out


@pytest.fixture(scope="session")
def datasets3_python() -> Path:
    """A Python with `datasets` 3.6 (the last release that runs loading scripts) and Pillow only."""
    return clean_python("3.6.0")


@pytest.fixture(scope="session")
def datasets_python() -> Path:
    """A Python with this environment's `datasets` (5.x) and Pillow only, not this project."""
    return clean_python(version("datasets"))
