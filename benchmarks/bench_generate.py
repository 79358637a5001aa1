"""End-to-end generation throughput of ``fdif generate`` (samples per hour, writing included).

Runs the real job (:func:`fdif_core.datasets.generate.generate`) on a preset into a temporary
folder and reports two rates:

* end-to-end: all samples / wall time from the call to the ``done`` event, including worker
  start-up, NIfTI encoding and writing, the index files and the dataset card;
* steady state: samples / time between the first and the last completed sample (what a long
  job approaches).

Usage (paper configuration, 96³, K = 20)::

    nice .venv/bin/python benchmarks/bench_generate.py --preset paper --num-samples 80 --workers 2
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from fdif_core.datasets.generate import GenerateConfig, generate


def main() -> None:
    """Run the benchmark and print the rates."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--num-samples", type=int, default=80)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--format", default="decathlon")
    parser.add_argument("--compression", type=int, default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=None, help="keep the dataset here")
    args = parser.parse_args()

    out = args.out or Path(tempfile.mkdtemp(prefix="fdif-bench-"))
    cfg = GenerateConfig(preset=args.preset, out=out, num_samples=args.num_samples,
                         num_val_samples=0, format=args.format, workers=args.workers,
                         compression=args.compression, device=args.device, overwrite=True)
    t0 = time.monotonic()
    times = []
    written = 0
    for event in generate(cfg):
        if event.type == "progress" and event.data.get("done", 0) > 0:
            times.append(time.monotonic())
        elif event.type == "file" and "index" in event.data:
            written += (out / event.data["path"]).stat().st_size
    total = time.monotonic() - t0
    n = args.num_samples
    print(f"preset {args.preset}, {n} samples, {args.workers} worker(s), device {args.device}, "
          f"format {args.format}")
    print(f"end-to-end: {total:.1f} s → {n / total * 3600:,.0f} samples/hour")
    if len(times) > 1:
        steady = (len(times) - 1) / (times[-1] - times[0])
        print(f"steady state: {steady * 3600:,.0f} samples/hour "
              f"({times[0] - t0:.1f} s until the first sample)")
    print(f"written: {written / n / 1e6:.2f} MB per sample")
    if args.out is None:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
