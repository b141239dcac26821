"""Streaming from the loopback Hub: time, bytes and requests to the first example and to the
first 100, per configuration, against downloading the archive whole before reading it.

Loopback has no latency, so the request counts matter as much as the times: on the real Hub
each request costs a round trip.

    .venv/bin/python -m bench.streaming [--photos 400]
"""

from __future__ import annotations

# The loopback Hub must be up, and HF_ENDPOINT set, before huggingface_hub is imported.
from testbed.servers.session import start_session_hub

HUB = start_session_hub()

# isort: split

import argparse
import itertools
import tempfile
import time
from pathlib import Path

from huggingface_hub import hf_hub_download

from converter.core.release import ARCHIVE_NAME, REPO_ID
from converter.outputs.configurations import IMAGE_CONFIGS
from imagenet3d import ImageNet3D
from testbed.servers.hub import GRANTED_TOKEN
from testbed.workload import write_workload

COUNTS = (1, 100)


def stream(config: str, data_dir: str | None) -> dict[int, tuple[float, int, int]]:
    """Seconds, bytes served and requests when the 1st and the 100th example arrive."""
    HUB.traffic.reset()
    start = time.perf_counter()
    builder = ImageNet3D(config_name=config, data_dir=data_dir, token=GRANTED_TOKEN)
    rows = iter(builder.as_streaming_dataset(split="train"))
    figures = {}
    for index, _ in enumerate(itertools.islice(rows, max(COUNTS)), start=1):
        if index in COUNTS:
            elapsed = time.perf_counter() - start
            figures[index] = (elapsed, HUB.traffic.bytes_served, HUB.traffic.count())
    return figures


def download_then_read(config: str, cache: Path) -> dict[int, tuple[float, int, int]]:
    """The same figures when the archive is first downloaded whole, then read locally."""
    HUB.traffic.reset()
    start = time.perf_counter()
    local = hf_hub_download(
        REPO_ID, ARCHIVE_NAME, repo_type="dataset", token=GRANTED_TOKEN, cache_dir=cache
    )
    download = time.perf_counter() - start
    served, requests = HUB.traffic.bytes_served, HUB.traffic.count()
    return {
        n: (download + seconds, served, requests)
        for n, (seconds, _, _) in stream(config, local).items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=400, help="workload photos (default 400)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="imagenet3d-bench-streaming-"))
    archive = write_workload(work / ARCHIVE_NAME, photos=args.photos, seed=0)
    size = archive.stat().st_size
    HUB.new_repo(REPO_ID, files={ARCHIVE_NAME: archive}, gated=True)
    print(f"archive: {args.photos} photos, {size / 1e6:.1f} MB, on the loopback Hub (gated)")
    print(
        f"{'config':<8} {'way':<10} {'n':>4} {'seconds':>8} {'MB':>8} {'% archive':>9} {'requests':>8}"
    )
    for config in IMAGE_CONFIGS:
        ways = {
            "stream": stream(config, None),
            "download": download_then_read(config, work / config),
        }
        for way, figures in ways.items():
            for n, (seconds, served, requests) in figures.items():
                print(
                    f"{config:<8} {way:<10} {n:>4} {seconds:>8.2f} {served / 1e6:>8.2f} "
                    f"{100 * served / size:>9.1f} {requests:>8}"
                )


if __name__ == "__main__":
    main()
