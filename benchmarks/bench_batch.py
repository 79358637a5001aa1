"""Samples per second of batched rendering (:class:`fdif_core.batch.BatchRenderer`).

Each of ``--processes`` processes (default 1) renders one warm-up batch, waits for the others,
then renders ``--batches`` batches of ``--batch-size`` samples, planning included (planning
alone is also shown: it runs on the CPU). The rate is all samples over the wall time from the
common start to the last process's end; on a GPU the first process's peak device memory is shown too.
``--check N`` first compares N samples with :meth:`Composer.render` on the same device
(bitwise). ``--one-by-one`` renders the same samples with :meth:`Composer.render` instead, one
at a time (the per-sample renderer, for comparison).

Usage (paper configuration on a GPU)::

    python benchmarks/bench_batch.py --device cuda --batch-size 32 64 --batches 4 --check 4
    python benchmarks/bench_batch.py --device cuda --batch-size 16 32 --processes 2 4
    python benchmarks/bench_batch.py --device cuda --one-by-one --processes 1 4 8 16
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
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


def _render(preset: str, device: str, threads: int, size: int, batches: int, one_by_one: bool,
            rank: int, world: int, barrier=None, queue=None) -> tuple[float, float, float, float]:
    """One process's part: ``(start, end, planning seconds, peak device GiB)``."""
    if threads:
        torch.set_num_threads(threads)
    composer = Composer(load_preset(preset), device)
    renderer = BatchRenderer(composer)
    renderer.sample(0, list(range(10_000 + rank * size, 10_000 + (rank + 1) * size)))  # warm-up
    on = composer.device
    if on.type == "cuda":
        torch.cuda.reset_peak_memory_stats(on)
    _sync(on)
    if barrier is not None:
        barrier.wait()
    planning = 0.0
    start = time.perf_counter()
    for b in range(batches):
        first = (b * world + rank) * size
        indices = list(range(first, first + size))
        t0 = time.perf_counter()
        plans = [composer.plan(0, i) for i in indices]
        planning += time.perf_counter() - t0
        if one_by_one:
            for plan, index in zip(plans, indices, strict=True):
                composer.render(plan, 0, index)
        else:
            renderer.render(plans, 0, indices)  # ends with the copy to the host: work done
    _sync(on)
    peak = torch.cuda.max_memory_allocated(on) / 2**30 if on.type == "cuda" else 0.0
    result = (start, time.perf_counter(), planning, peak)
    if queue is not None:
        queue.put(result)
    return result


def measure(preset: str, device: str, threads: int, size: int, batches: int,
            one_by_one: bool, processes: int) -> None:
    """Print the rate of ``processes`` processes rendering batches of ``size``."""
    args = (preset, device, threads, size, batches, one_by_one)
    if processes == 1:
        results = [_render(*args, 0, 1)]
    else:
        ctx = mp.get_context("spawn")
        barrier, queue = ctx.Barrier(processes), ctx.Queue()
        workers = [ctx.Process(target=_render, args=(*args, r, processes, barrier, queue))
                   for r in range(processes)]
        for w in workers:
            w.start()
        for w in workers:  # the results are a few numbers: they never block a worker's exit
            w.join()
            if w.exitcode:
                raise RuntimeError(f"a worker failed with exit code {w.exitcode}")
        results = [queue.get() for _ in workers]
    total = max(r[1] for r in results) - min(r[0] for r in results)
    n = size * batches * processes
    planning = sum(r[2] for r in results)
    memory = f"; peak device memory {results[0][3]:.1f} GiB" if results[0][3] else ""
    mode = "one by one" if one_by_one else f"batch={size}"
    print(f"preset={preset} device={device} {mode} processes={processes}: "
          f"{n / total:.1f} samples/s ({total / n * 1e3:.1f} ms/sample, planning "
          f"{planning / n * 1e3:.1f} ms/sample in its process){memory}", flush=True)


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, nargs="+", default=[16])
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--processes", type=int, nargs="+", default=[1])
    parser.add_argument("--check", type=int, default=0, help="samples to compare first")
    parser.add_argument("--one-by-one", action="store_true",
                        help="render with Composer.render, one sample at a time")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads; 0 = default")
    args = parser.parse_args()
    if args.check:
        if args.threads:
            torch.set_num_threads(args.threads)
        composer = Composer(load_preset(args.preset), args.device)
        check(composer, BatchRenderer(composer), args.check)
    for processes in args.processes:
        for size in args.batch_size:
            measure(args.preset, args.device, args.threads, size, args.batches, args.one_by_one,
                    processes)


if __name__ == "__main__":
    main()
