"""Aggregate rendering throughput (samples per second) of P processes sharing one device.

Each process builds its own :class:`~fdif_core.compose.Composer` with one torch thread,
renders a warm-up sample, waits for the others, then renders samples ``p, p + P, p + 2P, ...``
until ``--samples`` are done in all. The rate is samples / wall time from the common start to
the last process's end; writing files is not included (``bench_generate.py`` measures that).

Usage::

    python benchmarks/bench_throughput.py --device cuda --processes 1 4 8 16 --samples 256
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import time

import torch

from fdif_core.compose import Composer
from fdif_core.presets import load_preset


def _worker(preset: str, device: str, rank: int, world: int, total: int, barrier, queue) -> None:
    torch.set_num_threads(1)
    composer = Composer(load_preset(preset), device)
    composer.sample(0, 10_000 + rank)  # warm-up: CUDA context, kernels, displacement fields
    barrier.wait()
    start = time.perf_counter()
    for index in range(rank, total, world):
        composer.sample(0, index)  # ends with a copy to the host: the work is done
    queue.put((start, time.perf_counter()))


def measure(preset: str, device: str, processes: int, samples: int) -> float:
    """Samples per second of ``processes`` workers rendering ``samples`` samples together."""
    ctx = mp.get_context("spawn")
    barrier, queue = ctx.Barrier(processes), ctx.Queue()
    workers = [ctx.Process(target=_worker, args=(preset, device, r, processes, samples, barrier,
                                                 queue)) for r in range(processes)]
    for w in workers:
        w.start()
    spans = [queue.get() for _ in workers]
    for w in workers:
        w.join()
        if w.exitcode:
            raise RuntimeError(f"a worker failed with exit code {w.exitcode}")
    return samples / (max(end for _, end in spans) - min(start for start, _ in spans))


def main() -> None:
    """Measure each process count and print one line per count."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--processes", type=int, nargs="+", default=[1])
    parser.add_argument("--samples", type=int, default=64)
    args = parser.parse_args()
    for p in args.processes:
        rate = measure(args.preset, args.device, p, args.samples)
        print(f"preset={args.preset} device={args.device} processes={p} samples={args.samples}: "
              f"{rate:.1f} samples/s", flush=True)


if __name__ == "__main__":
    main()
