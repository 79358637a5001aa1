"""Samples per second of batched rendering (:class:`fdif_core.batch.BatchRenderer`).

Renders ``--batches`` batches of each ``--batch-size`` after one warm-up batch and reports
samples per second for planning plus rendering (planning alone is also shown: it runs on the
CPU), and the peak device memory. ``--check N`` first compares N samples with
:meth:`Composer.render` on the same device (bitwise).

Usage (paper configuration on a GPU)::

    python benchmarks/bench_batch.py --device cuda --batch-size 32 64 128 --batches 4 --check 4
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from fdif_core.batch import BatchRenderer
from fdif_core.compose import Composer
from fdif_core.presets import load_preset


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def check(composer: Composer, renderer: BatchRenderer, count: int) -> None:
    """Print whether ``count`` batched samples equal the one-by-one ones bitwise."""
    got = renderer.sample(0, list(range(count)))
    for sample in got:
        ref = composer.sample(0, sample.index)
        same = (np.array_equal(sample.image, ref.image) and np.array_equal(sample.label, ref.label)
                and sample.objects == ref.objects)
        print(f"sample {sample.index}: {'bitwise equal' if same else 'DIFFERENT'}"
              + ("" if same else f" ({int((sample.image != ref.image).sum())} image voxels, "
                 f"{int((sample.label != ref.label).sum())} label voxels)"), flush=True)


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, nargs="+", default=[16])
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--check", type=int, default=0, help="samples to compare first")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads; 0 = default")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    composer = Composer(load_preset(args.preset), args.device)
    renderer = BatchRenderer(composer)
    device = composer.device
    if args.check:
        check(composer, renderer, args.check)
    for size in args.batch_size:
        renderer.sample(0, list(range(10_000, 10_000 + size)))  # warm-up
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        _sync(device)
        planning = 0.0
        start = time.perf_counter()
        for b in range(args.batches):
            indices = list(range(b * size, (b + 1) * size))
            t0 = time.perf_counter()
            plans = [composer.plan(0, i) for i in indices]
            planning += time.perf_counter() - t0
            renderer.render(plans, 0, indices)
        _sync(device)
        total = time.perf_counter() - start
        n = size * args.batches
        peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else 0.0
        print(f"preset={args.preset} device={device} batch={size}: {n / total:.1f} samples/s "
              f"({total / n * 1e3:.1f} ms/sample, of which planning {planning / n * 1e3:.1f} ms); "
              f"peak device memory {peak:.1f} GiB", flush=True)


if __name__ == "__main__":
    main()
