"""`make bench` (images): the worker CPU one chart-image upload costs in the pipeline, on a phone-sized photo.

Decoding, re-encoding and the thumbnail run in the request's worker, so their CPU is what an upload takes
from every other request. Measures ``time.process_time`` of ``process()`` on a ~5 MiB 4000×3000 JPEG (GPS and
camera EXIF included), the median of a few runs, against the target of at most one second per upload; exits
non-zero when the target is missed.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.images import jpeg_of_size  # noqa: E402
from tradesignals.kernel.images.pipeline import process  # noqa: E402

TARGET_CPU_S = 1.0
MAX_PIXELS = 40_000_000


def measure(data: bytes, runs: int) -> tuple[float, object]:
    process(data, max_pixels=MAX_PIXELS)  # warm: plugin imports and the first allocation of the buffers
    costs, result = [], None
    for _ in range(runs):
        started = time.process_time()
        result = process(data, max_pixels=MAX_PIXELS)
        costs.append(time.process_time() - started)
    return statistics.median(costs), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--mib", type=float, default=5.0, help="size of the JPEG to upload")
    args = parser.parse_args()
    data = jpeg_of_size(int(args.mib * 2**20))
    cpu, result = measure(data, args.runs)
    verdict = "met" if cpu <= TARGET_CPU_S else "MISSED"
    print(f"image upload pipeline: {len(data) / 2**20:.1f} MiB JPEG {result.image.width}x{result.image.height}"
          f" → cpu {cpu:.2f} s per upload (target ≤ {TARGET_CPU_S:g} s): {verdict}")
    return 0 if verdict == "met" else 1


if __name__ == "__main__":
    sys.exit(main())
