"""CPU seconds per paper-config sample (96^3, K=20, all mappers and displacements) and peak RSS.

Usage::

    python benchmarks/bench_engine.py [--samples 20] [--threads 1] [--preset paper]

Run it once with ``--threads 1`` and once with the default thread count (``--threads 0``).
It reports CPU seconds per sample (process time, all threads), wall seconds per sample and the
peak resident memory of the process.
"""

from __future__ import annotations

import argparse
import resource
import time

import torch

from fdif_core.compose import Composer
from fdif_core.presets import load_preset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1, help="torch threads; 0 = default")
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    composer = Composer(load_preset(args.preset), args.device)
    composer.sample(0, 10_000)  # warm-up: displacement fields, allocator
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for i in range(args.samples):
        composer.sample(0, i)
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    cpu = (time.process_time() - cpu0) / args.samples
    wall = (time.perf_counter() - wall0) / args.samples
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"preset={args.preset} threads={torch.get_num_threads()} samples={args.samples}: "
          f"{cpu:.3f} CPU-s/sample, {wall:.3f} wall-s/sample, peak RSS {rss:.0f} MiB")


if __name__ == "__main__":
    main()
