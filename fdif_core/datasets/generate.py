"""``fdif generate`` as a job: a generator of :class:`~fdif_core.events.Event`.

The job checks the output folder against its manifest, finds the samples that are not yet
complete, computes them (in this process, or in ``workers`` spawned processes each with one
torch thread) and writes their files from background threads. When every sample of the
dataset exists it writes the index files, the dataset card and the finished manifest.

Sharding partitions the indices, never changes them: shard ``k`` of ``n`` makes the indices
``i`` with ``i % n == k``. Under ``torchrun`` every rank is a shard (combined with
``--shard K/N`` for array jobs, rank ``r`` of ``W`` is shard ``K·W + r`` of ``N·W``); the ranks
meet at a barrier and rank 0 writes the index files. Independent ``--shard`` jobs need no
coordination: whichever finishes last (sees every sample complete) writes them; the index
files are identical whoever writes them.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import torch

from fdif_core import __version__
from fdif_core.compose import multi_task_vocabularies
from fdif_core.datasets.card import card_files
from fdif_core.datasets.layout import FORMATS, LabelInfo, Layout
from fdif_core.datasets.manifest import (
    MANIFEST,
    from_ranges,
    identity_mismatch,
    manifest_bytes,
    read_manifest,
)
from fdif_core.datasets.nifti import DEFAULT_LEVEL, label_dtype
from fdif_core.datasets.producer import (
    FormatOptions,
    SampleMaker,
    init_worker,
    make_in_worker,
    val_per_class,
)
from fdif_core.datasets.storage import STATE_DIR, Storage
from fdif_core.datasets.writer import WriterPool
from fdif_core.devices import parse_device
from fdif_core.displacements import NONE, get_displacement
from fdif_core.errors import FdifError
from fdif_core.events import Event
from fdif_core.memory import (
    ENCODE_BYTES,
    HOST_SAMPLE_BYTES,
    WORKER_PROCESS_BYTES,
    batch_bytes,
    classification_bytes,
    format_size,
    grid_label,
    require,
    sample_bytes,
    voxels,
)
from fdif_core.presets import ClassEntry, LoadedPreset, Preset, class_table, load_preset

BLOSC2_LEVEL = 8
MAX_SAMPLES = 10_000_000
MANIFEST_EVERY_S = 5.0
GPU_BATCH_VOXELS = 64 * 96**3  # voxels of the samples rendered together on a GPU


@dataclass
class GenerateConfig:
    """Options of one generation job (the ``fdif generate`` arguments).

    ``None`` means "the preset's default" for counts, seed and format, and "per format" for the
    compression level (gzip 1 for NIfTI, ZSTD 8 for Blosc2).
    """

    preset: str
    out: Path
    num_samples: int | None = None
    num_val_samples: int | None = None
    seed: int | None = None
    format: str | None = None
    device: str = "cpu"
    workers: int | None = None
    compression: int | None = None
    label_dtype: str = "auto"
    dataset_id: int = 998
    dataset_name: str = "SDFSynthetic"
    samples_per_class: int = 25
    n_splits: int = 5
    grid_scale: float = 0.40
    shard: tuple[int, int] | None = None
    overwrite: bool = False
    libraries: tuple[Path, ...] = ()
    writer_threads: int = 2


@dataclass
class _Job:
    loaded: LoadedPreset
    layout: Layout
    options: FormatOptions
    seed: int
    device: str
    workers: int
    identity: dict[str, Any]
    info: LabelInfo
    num_classes: int


# -- distributed ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Distributed:
    """This process's place in a ``torchrun`` job (``rank`` 0 of 1 without one)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    local_world: int = 1

    @classmethod
    def from_env(cls) -> Distributed:
        """Read ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and ``LOCAL_WORLD_SIZE``."""
        def env(name: str, default: int) -> int:
            try:
                return int(os.environ.get(name, default))
            except ValueError:
                raise FdifError(f"environment variable {name}={os.environ[name]!r} is not an "
                                "integer") from None

        world = env("WORLD_SIZE", 1)
        rank = env("RANK", 0)
        if world < 1 or not 0 <= rank < world:
            raise FdifError(f"RANK={rank} and WORLD_SIZE={world} are inconsistent")
        return cls(rank, world, env("LOCAL_RANK", rank), env("LOCAL_WORLD_SIZE", world))

    def barrier(self) -> None:
        """Wait for every rank (no-op without ``torchrun``)."""
        if self.world > 1:
            torch.distributed.barrier()


def _init_distributed(dist: Distributed) -> bool:
    if dist.world == 1 or torch.distributed.is_initialized():
        return False
    torch.distributed.init_process_group("gloo", rank=dist.rank, world_size=dist.world,
                                         timeout=timedelta(days=7))
    return True


# -- resolving the job --------------------------------------------------------------------------
def _label_info(table: list[ClassEntry], fmt: str, multi_task: bool,
                layout: Layout, options: FormatOptions) -> tuple[LabelInfo, int]:
    if fmt != "classification":
        if multi_task:
            vocab = multi_task_vocabularies(table)
            return (LabelInfo({0: "background", 1: "foreground"}, vocab),
                    max(max(v.values()) for v in vocab.values()))
        return LabelInfo({0: "background", **{e.id: e.display_name for e in table}}), len(table)
    names = {e.id - 1: e.display_name for e in table}
    classes = [(i // options.samples_per_class if i < layout.num_train
                else (i - layout.num_train) // options.val_per_class) for i in range(layout.total)]
    if not multi_task:
        return LabelInfo(names, None, {layout.case_id(i): c for i, c in enumerate(classes)}), \
            len(table)

    def disp(e: ClassEntry) -> str:
        return NONE if e.displacement is None else get_displacement(e.displacement).long_name

    parts = {"shape": sorted({e.shape.display_name for e in table}),
             "displacement": sorted({disp(e) for e in table}),
             "mapper": sorted({str(e.mapper) for e in table})}
    tasks = {t: {n: i for i, n in enumerate(v)} for t, v in parts.items()}
    labels = {}
    for i, c in enumerate(classes):
        e = table[c]
        labels[layout.case_id(i)] = [tasks["shape"][e.shape.display_name],
                                     tasks["displacement"][disp(e)],
                                     tasks["mapper"][str(e.mapper)]]
    return LabelInfo(names, tasks, labels), len(table)


def _check_memory(preset: Preset, fmt: str, tasks: int, workers: int, device: str,
                  processes: int) -> None:
    """Refuse a job whose workers would need more memory than is available
    (:mod:`fdif_core.memory`); ``processes`` ranks share this machine, each with its own GPU."""
    grid = tuple(preset.grid)
    names = [d.name for d in preset.displacements]
    what = f"grid {grid_label(grid)} with {workers} worker(s)"
    advice = "use fewer --workers or a smaller grid"
    on_gpu = device.startswith("cuda")
    spawned = WORKER_PROCESS_BYTES if workers > 1 else 0
    if fmt == "classification":
        require((classification_bytes(grid, names) + spawned) * workers
                * (1 if on_gpu else processes), what, advice, device)
        return
    if on_gpu:
        batch = gpu_batch_size(grid)
        require(batch_bytes(grid, batch) * workers, f"{what} in batches of {batch}", advice,
                device)
        host = (HOST_SAMPLE_BYTES * batch + ENCODE_BYTES) * voxels(grid)
    else:
        host = sample_bytes(grid, names, tasks) + ENCODE_BYTES * voxels(grid)
    require((host + spawned) * workers * processes, what, advice)


def resolve(cfg: GenerateConfig, dist: Distributed) -> _Job:
    """Validate the options against the preset and fill in the defaults.

    Raises
    ------
    FdifError
        Unknown preset, impossible sizes or options, unavailable device.
    """
    loaded = load_preset(cfg.preset, tuple(cfg.libraries))
    preset = loaded.preset
    defaults = preset.dataset
    fmt = cfg.format or defaults.format
    if fmt not in FORMATS:
        raise FdifError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
    seed = defaults.seed if cfg.seed is None else cfg.seed
    if seed < 0:
        raise FdifError(f"--seed {seed}: must be >= 0")
    table = class_table(preset, loaded.library)
    multi_task = preset.label_mode == "multi_task"
    if fmt == "nnunet" and multi_task:
        raise FdifError(f"preset {preset.name!r} has multi-task labels, which nnU-Net v2 cannot "
                        "read; use --format decathlon")
    if fmt == "classification":
        if cfg.num_samples is not None or cfg.num_val_samples is not None:
            raise FdifError("--format classification is balanced per class: use "
                            "--samples-per-class and --n-splits instead of --num-samples")
        if cfg.samples_per_class < 1 or cfg.n_splits < 2:
            raise FdifError("--samples-per-class must be >= 1 and --n-splits >= 2")
        if not 0 < cfg.grid_scale <= 10:
            raise FdifError(f"--grid-scale {cfg.grid_scale}: must be in (0, 10]")
        vpc = val_per_class(cfg.samples_per_class, cfg.n_splits)
        num_train, num_val = cfg.samples_per_class * len(table), vpc * len(table)
    else:
        vpc = 0
        num_train = defaults.num_samples if cfg.num_samples is None else cfg.num_samples
        num_val = defaults.num_val_samples if cfg.num_val_samples is None else cfg.num_val_samples
    if num_train < 1 or num_val < 0:
        raise FdifError(f"--num-samples {num_train} / --num-val-samples {num_val}: need at least "
                        "one training sample and no negative count")
    if num_train + num_val > MAX_SAMPLES:
        raise FdifError(f"{num_train + num_val} samples is more than the {MAX_SAMPLES} one "
                        "dataset may hold")
    level = cfg.compression
    if level is None:
        level = BLOSC2_LEVEL if fmt == "classification" else DEFAULT_LEVEL
    if not 0 <= level <= 9:
        raise FdifError(f"--compression {level}: must be 0..9")
    layout = Layout(fmt, num_train, num_val, cfg.dataset_id, cfg.dataset_name, cfg.n_splits,
                    tuple(preset.grid))
    options0 = FormatOptions(level, "uint8", cfg.grid_scale, cfg.samples_per_class, vpc)
    info, max_id = _label_info(table, fmt, multi_task, layout, options0)
    try:
        ltype = label_dtype(max_id, cfg.label_dtype).name
    except TypeError:
        raise FdifError(f"--label-dtype {cfg.label_dtype!r}: not an integer type") from None
    except ValueError as err:
        raise FdifError(f"--label-dtype: {err}") from None
    options = FormatOptions(level, ltype, cfg.grid_scale, cfg.samples_per_class, vpc)

    device = str(parse_device(cfg.device))
    if device == "cuda" and dist.world > 1:
        device = f"cuda:{dist.local_rank % torch.cuda.device_count()}"
    workers = cfg.workers
    if workers is None:
        workers = 1 if device.startswith("cuda") else \
            max(1, (os.cpu_count() or 1) // max(dist.local_world, 1))
    if not 1 <= workers <= 256:
        raise FdifError(f"--workers {workers}: must be 1..256")
    tasks = len(info.tasks) if (info.tasks and fmt != "classification") else 1
    _check_memory(preset, fmt, tasks, workers, device, dist.local_world)

    opts: dict[str, Any] = {"compression": level}
    if fmt != "classification":
        opts["label_dtype"] = ltype
    if fmt == "nnunet":
        opts.update(dataset_id=cfg.dataset_id, dataset_name=cfg.dataset_name)
    if fmt == "classification":
        opts.update(samples_per_class=cfg.samples_per_class, n_splits=cfg.n_splits,
                    grid_scale=cfg.grid_scale, dataset_name=cfg.dataset_name)
    identity = {"preset": preset.name, "preset_hash": preset.content_hash, "seed": seed,
                "format": fmt, "num_samples": num_train, "num_val_samples": num_val,
                "grid": list(preset.grid), "label_mode": preset.label_mode, "options": opts,
                "fdif_version": __version__}
    return _Job(loaded, layout, options, seed, device, workers, identity, info,
                max(len(info.names), max_id))


# -- the folder ---------------------------------------------------------------------------------
def _old_layout(manifest: dict[str, Any]) -> Layout | None:
    try:
        opts = manifest.get("options", {})
        return Layout(manifest["format"], int(manifest["num_samples"]),
                      int(manifest["num_val_samples"]), int(opts.get("dataset_id", 998)),
                      str(opts.get("dataset_name", "SDFSynthetic")),
                      int(opts.get("n_splits", 5)))
    except (KeyError, TypeError, ValueError, FdifError):
        return None


def _remove_owned(root: Path, layouts: list[Layout]) -> None:
    for layout in layouts:
        for name in layout.owned():
            path = root / name
            if name == STATE_DIR:
                shutil.rmtree(path / "stats", ignore_errors=True)
            elif path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()


def prepare_folder(root: Path, job: _Job, overwrite: bool) -> list[str]:
    """Check the folder against its manifest (refusing another dataset unless ``overwrite``).

    Returns
    -------
    list of str
        Warnings to report.
    """
    warnings = []
    manifest = read_manifest(root) if not overwrite else None
    if overwrite:
        try:
            old = read_manifest(root)
        except FdifError:
            old = None
        old_layout = _old_layout(old) if old else None
        _remove_owned(root, [job.layout] + ([old_layout] if old_layout else []))
    elif manifest is not None:
        mismatch = identity_mismatch(manifest, job.identity)
        if mismatch:
            raise FdifError(f"{root} already holds another dataset: {mismatch}; use --overwrite "
                            "to replace it or choose another --out")
        if manifest.get("fdif_version") != job.identity["fdif_version"]:
            warnings.append(f"resuming a dataset started by fdif {manifest.get('fdif_version')} "
                            f"with fdif {job.identity['fdif_version']}")
    else:
        others = [p.name for p in root.iterdir() if p.name != STATE_DIR]
        if others:
            raise FdifError(f"{root} is not empty and has no {MANIFEST} (it is not an fdif "
                            f"dataset: {', '.join(sorted(others)[:3])}…); use an empty folder "
                            "or --overwrite")
    return warnings


# -- the job ------------------------------------------------------------------------------------
def _complete(storage: Storage, layout: Layout, index: int) -> bool:
    return all(storage.exists(p) for p in layout.sample_files(index))


def generate(cfg: GenerateConfig) -> Iterator[Event]:
    """Run a generation job, yielding its events.

    Parameters
    ----------
    cfg : GenerateConfig
        The job's options.

    Yields
    ------
    Event
        ``start``, then ``file`` and ``progress`` events while samples are written,
        ``warning`` events, and ``done`` at the end.

    Raises
    ------
    FdifError
        Bad options, a folder that holds another dataset, or a failed write (the message is
        one line; completed samples stay and a re-run resumes).
    """
    dist = Distributed.from_env()
    job = resolve(cfg, dist)
    k, n = cfg.shard or (0, 1)
    if not 0 <= k < n:
        raise FdifError(f"--shard {k}/{n}: need 0 <= K < N")
    if cfg.overwrite and n > 1:
        raise FdifError("--overwrite cannot be combined with --shard (clear the folder once "
                        "before launching the shards)")
    shard_index, shard_count = k * dist.world + dist.rank, n * dist.world
    leader = dist.rank == 0
    storage = Storage(cfg.out)
    own_group = _init_distributed(dist)
    saved_threads = torch.get_num_threads()
    complete: set[int] = set()
    try:
        storage.prepare()
        warnings: list[str] = []
        if leader:
            warnings = prepare_folder(storage.root, job, cfg.overwrite)
            initial = {i for i in range(job.layout.total) if _complete(storage, job.layout, i)}
            storage.write(MANIFEST, manifest_bytes(job.identity, initial, False))
        dist.barrier()
        if not leader:
            manifest = read_manifest(storage.root)
            mismatch = identity_mismatch(manifest or {}, job.identity)
            if mismatch:
                raise FdifError(f"rank {dist.rank}: the folder's manifest differs: {mismatch}")
        total = job.layout.total
        mine = [i for i in range(shard_index, total, shard_count)]
        complete = {i for i in range(total) if _complete(storage, job.layout, i)}
        pending = [i for i in mine if i not in complete]
        yield Event("start", {"out": str(storage.root), "format": job.layout.format,
                              "preset": job.identity["preset"], "seed": job.seed,
                              "num_samples": job.layout.num_train,
                              "num_val_samples": job.layout.num_val, "total": len(mine),
                              "already_complete": len(mine) - len(pending),
                              "shard": [shard_index, shard_count], "workers": job.workers,
                              "device": job.device, "unit": "samples"})
        for message in warnings + _disk_warnings(storage.root, job, len(pending)):
            yield Event("warning", {"message": message})
        if job.device == "cpu" and "OMP_NUM_THREADS" not in os.environ:
            torch.set_num_threads(1)
        done = len(mine) - len(pending)
        start = time.monotonic()
        last_manifest = start
        made = 0
        yield Event("progress", {"done": done, "total": len(mine), "unit": "samples"})
        for index, paths in _produce(job, storage, pending, cfg):
            complete.add(index)
            done += 1
            made += 1
            for path in paths[:-1]:
                yield Event("file", {"path": path, "index": index})
            elapsed = time.monotonic() - start
            rate = made / elapsed if elapsed > 0 else 0.0
            left = len(mine) - done
            yield Event("progress", {"done": done, "total": len(mine), "unit": "samples",
                                     "rate": round(rate, 4),
                                     "eta_s": round(left / rate, 1) if rate else None})
            if leader and time.monotonic() - last_manifest > MANIFEST_EVERY_S:
                storage.write(MANIFEST, manifest_bytes(job.identity, complete, False))
                last_manifest = time.monotonic()
        elapsed = time.monotonic() - start
        dist.barrier()
        finished = False
        if leader:
            complete = {i for i in range(total) if _complete(storage, job.layout, i)}
            if len(complete) == total:
                for path in _finalize(storage, job):
                    yield Event("file", {"path": path})
                finished = True
            else:
                storage.write(MANIFEST, manifest_bytes(job.identity, complete, False))
                yield Event("warning", {"message": f"{total - len(complete)} samples of other "
                                        "shards are still missing; the last shard to finish "
                                        "writes the index files and the dataset card"})
        rate_h = made / elapsed * 3600 if elapsed > 0 and made else None
        summary = (f"{'dataset complete' if finished else 'shard complete'}: {made} samples "
                   f"generated" + (f" ({rate_h:,.0f}/hour)" if rate_h else "")
                   + f", {len(mine)} in this shard, {total} in the dataset → {storage.root}")
        yield Event("done", {"generated": made, "total": len(mine), "dataset_total": total,
                             "finished": finished, "seconds": round(elapsed, 3),
                             "samples_per_hour": round(rate_h, 1) if rate_h else None,
                             "out": str(storage.root), "summary": summary})
    except BaseException:
        if leader and complete:
            # best effort: record the progress of an interrupted or failed run
            with contextlib.suppress(OSError, FdifError):
                storage.write(MANIFEST, manifest_bytes(job.identity, complete, False))
        raise
    finally:
        torch.set_num_threads(saved_threads)
        storage.close()
        if own_group:
            torch.distributed.destroy_process_group()


def _disk_warnings(root: Path, job: _Job, pending: int) -> list[str]:
    """A warning when the pending samples (about 0.8 bytes per voxel compressed, 4 for the
    classification format's float32) may not fit on the disk; none when the estimate is
    below 1 MiB or the free space cannot be read."""
    need = voxels(job.identity["grid"]) * pending * \
        (4.0 if job.layout.format == "classification" else 0.8)
    try:
        free = shutil.disk_usage(root).free
    except OSError:
        return []
    if need < 2**20 or need <= free:
        return []
    return [f"{pending} samples may need about {format_size(need)} but only {format_size(free)} "
            f"are free in {root}"]


def gpu_batch_size(grid: tuple[int, int, int]) -> int:
    """Samples rendered together on a GPU: :data:`GPU_BATCH_VOXELS` voxels (64 samples of 96³;
    for the paper preset the batch renderer peaks at about 8 GiB, measured as its RSS on a
    CPU), 1 to 256."""
    return max(1, min(256, GPU_BATCH_VOXELS // math.prod(grid)))


def _batch_size(job: _Job) -> int:
    """Samples per task: :func:`gpu_batch_size` on a GPU, in every worker (smaller batches
    cost more launches per sample: 348 at 64 paper samples, 667 at 32, 1184 at 16), else 1."""
    return gpu_batch_size(job.layout.grid) if job.device.startswith("cuda") else 1


def _produce(job: _Job, storage: Storage, pending: list[int],
             cfg: GenerateConfig) -> Iterator[tuple[int, list[str]]]:
    """Compute and write the pending samples; yields ``(index, paths)`` as they complete."""
    writer = WriterPool(storage, cfg.writer_threads, max_pending=2 * max(cfg.writer_threads, 1))
    size = _batch_size(job)
    tasks = [pending[start:start + size] for start in range(0, len(pending), size)]
    try:
        if job.workers <= 1:
            maker = SampleMaker(job.loaded, job.layout, job.options, job.seed, job.device)
            for task in tasks:
                for computed in maker.compute_many(task):
                    writer.submit(computed.index, lambda c=computed: maker.encode(c))
                    yield from writer.completed()
        else:
            yield from _produce_pool(job, writer, tasks, cfg)
        yield from writer.drain()
    finally:
        writer.shutdown()


def _produce_pool(job: _Job, writer: WriterPool, tasks: list[list[int]],
                  cfg: GenerateConfig) -> Iterator[tuple[int, list[str]]]:
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
            done, _ = wait(list(in_flight), timeout=0.2, return_when=FIRST_COMPLETED)
            for fut in done:
                in_flight.remove(fut)
                for index, files in fut.result():
                    writer.submit(index, lambda f=files: f)
                nxt = next(queue, None)
                if nxt is not None:
                    in_flight.add(pool.submit(make_in_worker, nxt))
            yield from writer.completed()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _finalize(storage: Storage, job: _Job) -> list[str]:
    """Index files, dataset card, finished manifest; returns the written paths."""
    layout = job.layout
    written = []
    for relpath, data in layout.index_files(job.info, job.identity["preset"]).items():
        storage.write(relpath, data)
        written.append(relpath)
    preset = job.loaded.preset
    meta = {"preset": {"name": preset.name, "hash": preset.content_hash,
                       "description": preset.description},
            "seed": job.seed, "format": layout.format, "num_samples": layout.num_train,
            "num_val_samples": layout.num_val, "grid": list(preset.grid),
            "label_mode": preset.label_mode, "options": job.identity["options"],
            "fdif_version": __version__}
    for relpath, data in card_files(storage.root, layout, job.info, meta,
                                    job.num_classes).items():
        storage.write(relpath, data)
        written.append(relpath)
    storage.write(MANIFEST, manifest_bytes(job.identity, range(layout.total), True))
    written.append(MANIFEST)
    return written


def completed_indices(root: Path) -> set[int]:
    """The complete indices recorded in a folder's manifest (empty without one)."""
    manifest = read_manifest(Path(root))
    return from_ranges(manifest.get("complete", [])) if manifest else set()
