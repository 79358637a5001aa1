"""CPU seconds per paper-config sample (96^3, K=20, all mappers and displacements) and peak RSS.

Usage::

    python benchmarks/bench_engine.py [--samples 20] [--threads 1] [--preset paper]

Run it once with ``--threads 1`` and once with the default thread count (``--threads 0``).
It reports CPU seconds per sample (process time, all threads), wall seconds per sample and the
peak resident memory of the process. With ``--repeats R`` every sample is rendered R times and
it also reports the mean over samples of each sample's fastest run: on a shared machine whose
speed drifts by ±20 % from minute to minute, that estimate of the uncontended cost is stable
to a few per cent.
"""

from __future__ import annotations

import argparse
import math
import resource
import time

import torch

from fdif_core import native
from fdif_core.compose import Composer
from fdif_core.presets import load_preset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1, help="torch threads; 0 = default")
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=1, help="renders of each sample")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    composer = Composer(load_preset(args.preset), args.device)
    composer.sample(0, 10_000)  # warm-up: displacement fields, allocator
    fastest = [math.inf] * args.samples
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(args.repeats):
        for i in range(args.samples):
            start = time.process_time()
            composer.sample(0, i)
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            fastest[i] = min(fastest[i], time.process_time() - start)
    runs = args.samples * args.repeats
    cpu = (time.process_time() - cpu0) / runs
    wall = (time.perf_counter() - wall0) / runs
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kernels = "native" if native.available(torch.float32, torch.device(args.device)) else "torch"
    line = (f"preset={args.preset} threads={torch.get_num_threads()} kernels={kernels} "
            f"samples={args.samples}: "
            f"{cpu:.3f} CPU-s/sample, {wall:.3f} wall-s/sample, peak RSS {rss:.0f} MiB")
    if args.repeats > 1:
        line += f"; fastest of {args.repeats} runs: {sum(fastest) / args.samples:.3f} CPU-s/sample"
    print(line)


if __name__ == "__main__":
    main()
