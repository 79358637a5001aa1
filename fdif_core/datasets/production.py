"""Computing and writing the pending samples of a generation job, reporting as they go.

Samples are computed in this process (one task at a time in a compute thread, so waiting for a
long sample still reports) or in spawned worker processes (two tasks in flight per process),
and their files are written by a pool of writer threads. :func:`produce` yields
:class:`~fdif_core.datasets.progress.Produced` items: a sample computed (with its warnings), a
sample written (with its files), every sample computed (``writing``), or ``idle``.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING, Any

import torch

from fdif_core.datasets.producer import Computed, SampleMaker, init_worker, make_in_worker
from fdif_core.datasets.progress import COMPUTED, IDLE, POLL_S, WRITING, WRITTEN, Produced
from fdif_core.datasets.storage import Storage
from fdif_core.datasets.writer import WriterPool

if TYPE_CHECKING:
    from fdif_core.datasets.generate import GenerateConfig, Job

GPU_BATCH_VOXELS = 64 * 96**3  # voxels of the samples rendered together on a GPU


def gpu_batch_size(grid: tuple[int, int, int]) -> int:
    """Samples rendered together on a GPU: :data:`GPU_BATCH_VOXELS` voxels (64 samples of 96³;
    for the paper preset the batch renderer peaks at about 8 GiB, measured as its RSS on a
    CPU), 1 to 256."""
    return max(1, min(256, GPU_BATCH_VOXELS // math.prod(grid)))


def _batch_size(job: Job) -> int:
    """Samples per task: :func:`gpu_batch_size` on a GPU, in every worker (smaller batches
    cost more launches per sample: 348 at 64 paper samples, 667 at 32, 1184 at 16), else 1."""
    return gpu_batch_size(job.layout.grid) if job.device.startswith("cuda") else 1


def produce(job: Job, storage: Storage, pending: list[int],
             cfg: GenerateConfig) -> Iterator[Produced]:
    """Compute and write the pending samples, reporting as they are computed and written;
    :data:`IDLE` about every :data:`~fdif_core.datasets.progress.POLL_S` seconds of waiting."""
    writer = WriterPool(storage, cfg.writer_threads, max_pending=2 * max(cfg.writer_threads, 1))
    size = _batch_size(job)
    tasks = [pending[start:start + size] for start in range(0, len(pending), size)]
    try:
        if job.workers <= 1:
            yield from _produce_here(job, writer, tasks)
        else:
            yield from _produce_pool(job, writer, tasks, cfg)
        yield Produced(WRITING)
        while writer.busy:
            yield from _written(writer, POLL_S)
    finally:
        writer.shutdown()


def _written(writer: WriterPool, timeout: float = 0) -> Iterator[Produced]:
    """The samples written so far, waiting up to ``timeout`` for one (else :data:`IDLE`)."""
    got = False
    for index, paths in writer.completed(timeout):
        got = True
        yield Produced(WRITTEN, index, paths)
    if not got and timeout:
        yield Produced(IDLE)


def _submit(writer: WriterPool, index: int, files: Callable[[], list[tuple[str, bytes]]],
            warnings: list[str]) -> Iterator[Produced]:
    """Queue a computed sample for writing (its ``warnings`` reported with it), reporting
    writes while the writers are full."""
    while writer.full:
        yield from _written(writer, POLL_S)
    writer.submit(index, files)
    yield Produced(COMPUTED, index, warnings=warnings)
    yield from _written(writer)


def _in_thread(fn: Callable[..., Any], *args: Any) -> Future:
    """Run ``fn(*args)`` in a daemon thread; its future carries the result."""
    future: Future = Future()

    def run() -> None:
        if future.set_running_or_notify_cancel():
            try:
                future.set_result(fn(*args))
            except BaseException as err:
                future.set_exception(err)

    threading.Thread(target=run, name="fdif-compute", daemon=True).start()
    return future


def _produce_here(job: Job, writer: WriterPool, tasks: list[list[int]]) -> Iterator[Produced]:
    """Render ``tasks`` in this process, one at a time in a compute thread, so that waiting
    for a long sample (a big grid, a GPU batch) still reports :data:`IDLE`."""
    maker = SampleMaker(job.loaded, job.layout, job.options, job.seed, job.device)

    def compute(task: list[int]) -> list[Computed]:
        if maker.device.type == "cuda" and maker.device.index is not None:
            torch.cuda.set_device(maker.device)  # the current device is per thread
        return maker.compute_many(task)

    for task in tasks:
        future = _in_thread(compute, task)
        try:
            while True:
                try:
                    computed = future.result(timeout=POLL_S)
                    break
                except FutureTimeout:
                    yield from _written(writer)
                    yield Produced(IDLE)
        except BaseException:
            # Interrupted (Ctrl-C, a closed generator): let the compute thread end its task
            # first; a thread still inside torch when the interpreter exits aborts the
            # process ("terminate called without an active exception", exit code -6).
            with contextlib.suppress(BaseException):
                future.result()
            raise
        for sample in computed:
            yield from _submit(writer, sample.index, lambda c=sample: maker.encode(c),
                               sample.warnings)


def _produce_pool(job: Job, writer: WriterPool, tasks: list[list[int]],
                  cfg: GenerateConfig) -> Iterator[Produced]:
    """Render ``tasks`` (lists of indices) in ``job.workers`` processes, two tasks in flight
    per process."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    args = (job.loaded.source, tuple(str(p) for p in cfg.libraries),
            job.loaded.preset.content_hash, job.layout, job.options, job.seed, job.device,
            os.getpid())
    pool = ProcessPoolExecutor(max_workers=job.workers, mp_context=ctx,
                               initializer=init_worker, initargs=args)
    try:
        queue = iter(tasks)
        in_flight = set()
        for task in queue:
            in_flight.add(pool.submit(make_in_worker, task))
            if len(in_flight) >= 2 * job.workers:
                break
        while in_flight:
            done, _ = wait(list(in_flight), timeout=POLL_S, return_when=FIRST_COMPLETED)
            for fut in done:
                in_flight.remove(fut)
                for index, files, warnings in fut.result():
                    yield from _submit(writer, index, lambda f=files: f, warnings)
                nxt = next(queue, None)
                if nxt is not None:
                    in_flight.add(pool.submit(make_in_worker, nxt))
            yield from _written(writer)
            if not done:
                yield Produced(IDLE)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
