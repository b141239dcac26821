"""`imagenet3d preprocess` with its drawing left out: what the command costs beyond the floor.

The whole command runs as users run it (its start-up, every annotation read, checked and
written, every file made), except that no photo is decoded, resampled or encoded: each canvas's
JPEG is one fixed buffer of `JPEG_BYTES`. Set beside the floor (the drawing alone, which no
implementation can skip), it splits a run's time into the drawing and everything else.

    python -m bench.undrawn RELEASE OUT --mode pose3d [any other preprocess flag]
"""

from __future__ import annotations

import sys
from typing import Any

from converter.__main__ import main, prepare_process

# About one canvas's JPEG as the command writes it (on the benchmark workload, 56 kB on average
# in pose3d and 62 kB in pose6d), so that the files written weigh about what the command's weigh.
JPEG_BYTES = 60_000


def leave_out_drawing() -> None:
    """Make every canvas the same bytes, without decoding the photo or resampling it."""
    from converter.outputs import examples

    jpeg = bytes(JPEG_BYTES)

    def not_decoded(header: Any) -> None:
        return None

    def not_rendered(photo: None, place: Any, options: Any) -> None:
        return None

    def fixed_jpeg(canvas: None, quality: int) -> bytes:
        return jpeg

    examples.decode_photo = not_decoded
    examples.render = not_rendered
    examples.encode_jpeg = fixed_jpeg


if __name__ == "__main__":
    prepare_process()  # before numpy loads, which leaving out the drawing imports
    leave_out_drawing()
    sys.argv = ["imagenet3d", "preprocess", *sys.argv[1:]]
    raise SystemExit(main())
