"""``fdif generate`` as a job: a generator of :class:`~fdif_core.events.Event`.

The job checks the output folder (:mod:`~fdif_core.datasets.folders`), locks its dataset folder
(:mod:`~fdif_core.datasets.lock`: a second run into it is refused), finds the samples that are
not yet complete, computes them (in this process, or in ``workers`` spawned processes each with one
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
import os
import shutil
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import torch

from fdif_core import __version__
from fdif_core.compose import multi_task_vocabularies
from fdif_core.datasets.card import build_card, card_steps
from fdif_core.datasets.folders import check_out, prepare_home
from fdif_core.datasets.layout import FORMATS, LabelInfo, Layout
from fdif_core.datasets.lock import FolderLock
from fdif_core.datasets.manifest import (
    from_ranges,
    identity_mismatch,
    manifest_bytes,
    read_manifest,
)
from fdif_core.datasets.next_steps import nnunet_next_steps
from fdif_core.datasets.nifti import DEFAULT_LEVEL, label_dtype
from fdif_core.datasets.producer import (
    FormatOptions,
    val_per_class,
)
from fdif_core.datasets.production import gpu_batch_size, produce
from fdif_core.datasets.progress import (
    COMPUTED,
    POLL_S,
    WRITING,
    WRITTEN,
    Phase,
    SurfaceNotes,
)
from fdif_core.datasets.storage import Storage
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
NNUNET_RAW = "nnUNet_raw"


@dataclass
class GenerateConfig:
    """Options of one generation job (the ``fdif generate`` arguments).

    ``None`` means "the preset's default" for counts, seed and format, "per format" for the
    compression level (gzip 1 for NIfTI, ZSTD 8 for Blosc2), and ``$nnUNet_raw`` for the output
    folder of an nnU-Net export.
    """

    preset: str
    out: Path | None = None
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
class Job:
    out: Path
    out_source: str  # "--out" or "$nnUNet_raw"
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

    def barrier(self, phase: Phase, done: int) -> Iterator[Event]:
        """Wait for every rank (no-op without ``torchrun``), with a ``phase`` heartbeat at
        ``done`` while waiting."""
        if self.world == 1:
            return
        work = torch.distributed.barrier(async_op=True)
        while not work.is_completed():
            time.sleep(POLL_S)
            if phase.due():
                yield phase.event(done, waiting_for="other ranks")
        work.wait()


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


def resolve(cfg: GenerateConfig, dist: Distributed) -> Job:
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
    out, out_source = _output_folder(cfg.out, fmt)
    return Job(out, out_source, loaded, layout, options, seed, device, workers, identity, info,
                max(len(info.names), max_id))


def _output_folder(out: Path | None, fmt: str) -> tuple[Path, str]:
    """``--out``, or ``$nnUNet_raw`` for an nnU-Net export without one."""
    if out is not None:
        return Path(out), "--out"
    raw = os.environ.get(NNUNET_RAW, "")
    if fmt == "nnunet" and raw:
        return Path(raw), f"${NNUNET_RAW}"
    if fmt == "nnunet":
        raise FdifError(f"--out is required: give the nnUNet_raw folder, or set ${NNUNET_RAW}")
    raise FdifError(f"--out is required for --format {fmt}")


# -- the folder ---------------------------------------------------------------------------------
def _lock_home(storage: Storage, lock: FolderLock, layout: Layout) -> list[str]:
    """Take the dataset folder's lock, refusing when another run holds it.

    Returns
    -------
    list of str
        A warning when the file system cannot lock (the run goes on without).
    """
    try:
        if lock.acquire():
            return []
    except OSError as err:
        return [f"cannot lock {lock.path} ({err.strerror or err}); two runs into this dataset "
                "would both compute every sample"]
    home = storage.root / layout.home
    writers = storage.writers()
    who = (f"process {writers[0]}" if len(writers) == 1 else
           f"processes {', '.join(writers)}" if writers else "another process")
    part = f"shard {lock.shard}/{lock.shards} of " if lock.shards > 1 else ""
    raise FdifError(f"{part}{home} is being generated by {who}; wait for it to finish (or stop "
                    "it), then re-run this command to resume")


def open_folder(storage: Storage, lock: FolderLock, job: Job, overwrite: bool) -> list[str]:
    """Check the output folder, create the job's home, lock it and check it against the
    manifest (see :mod:`fdif_core.datasets.folders`).

    Returns
    -------
    list of str
        Warnings to report.
    """
    warnings, legacy = check_out(storage.root, job.layout, overwrite)
    storage.prepare()
    warnings += _lock_home(storage, lock, job.layout)
    return warnings + prepare_home(storage.root, job.layout, job.identity, overwrite, legacy)


def _join_folder(storage: Storage, lock: FolderLock, job: Job, rank: int) -> list[str]:
    """A ``torchrun`` rank > 0: lock its shard and check the manifest rank 0 wrote."""
    storage.prepare()
    warnings = _lock_home(storage, lock, job.layout)
    manifest = read_manifest(storage.root / job.layout.home)
    mismatch = identity_mismatch(manifest or {}, job.identity)
    if mismatch:
        raise FdifError(f"rank {rank}: the folder's manifest differs: {mismatch}")
    return warnings


# -- the job ------------------------------------------------------------------------------------
def _complete(storage: Storage, layout: Layout, index: int) -> bool:
    return all(storage.exists(p) for p in layout.sample_files(index))


def _scan(storage: Storage, layout: Layout, name: str = "prepare") \
        -> Generator[Event, None, set[int]]:
    """Find the complete samples (progress events of phase ``name``); returns their indices."""
    phase = Phase(name, layout.total, "samples")
    yield phase.event(0)
    complete = set()
    for i in range(layout.total):
        if _complete(storage, layout, i):
            complete.add(i)
        if phase.due():
            yield phase.event(i + 1)
    yield phase.event(layout.total, complete=len(complete))
    return complete


def _shards(cfg: GenerateConfig, dist: Distributed) -> tuple[int, int]:
    """This process's shard index and count (``--shard`` combined with ``torchrun`` ranks)."""
    k, n = cfg.shard or (0, 1)
    if not 0 <= k < n:
        raise FdifError(f"--shard {k}/{n}: need 0 <= K < N")
    if cfg.overwrite and n > 1:
        raise FdifError("--overwrite cannot be combined with --shard (clear the folder once "
                        "before launching the shards)")
    return k * dist.world + dist.rank, n * dist.world


def generate(cfg: GenerateConfig) -> Iterator[Event]:
    """Run a generation job, yielding its events.

    Parameters
    ----------
    cfg : GenerateConfig
        The job's options.

    Yields
    ------
    Event
        ``start``; ``progress`` events of the phases ``prepare`` (finding the complete
        samples), ``generate`` (samples computed), ``write`` (samples written, after the last
        is computed) and ``card`` (the dataset card), at least one every
        :data:`~fdif_core.datasets.progress.HEARTBEAT_S` seconds while waiting; ``file``
        events for the files written, ``warning`` events, and ``done`` at the end.

    Raises
    ------
    FdifError
        Bad options, a folder that holds another dataset or is being generated by another run,
        or a failed write (the message is one line; completed samples stay and a re-run
        resumes).
    """
    dist = Distributed.from_env()
    job = resolve(cfg, dist)
    shard_index, shard_count = _shards(cfg, dist)
    leader = dist.rank == 0
    storage = Storage(job.out, job.layout.state_dir)
    lock = FolderLock(storage.state_dir, shard_index, shard_count)
    own_group = _init_distributed(dist)
    saved_threads = torch.get_num_threads()
    manifest_path = job.layout.manifest_file
    mine = range(shard_index, job.layout.total, shard_count)
    complete: set[int] = set()
    try:
        yield Event("start", {"out": str(storage.root), "out_from": job.out_source,
                              "home": str(storage.root / job.layout.home),
                              "format": job.layout.format, "preset": job.identity["preset"],
                              "seed": job.seed, "num_samples": job.layout.num_train,
                              "num_val_samples": job.layout.num_val, "total": len(mine),
                              "shard": [shard_index, shard_count], "workers": job.workers,
                              "device": job.device, "unit": "samples"})
        warnings: list[str] = []
        if leader:
            warnings = open_folder(storage, lock, job, cfg.overwrite)
            complete = yield from _scan(storage, job.layout)
            storage.write(manifest_path, manifest_bytes(job.identity, complete, False))
        yield from dist.barrier(Phase("prepare", job.layout.total, "samples"), 0)
        if not leader:
            warnings = _join_folder(storage, lock, job, dist.rank)
            complete = yield from _scan(storage, job.layout)
        pending = [i for i in mine if i not in complete]
        for message in warnings + _disk_warnings(storage.root, job, len(pending)):
            yield Event("warning", {"message": message})
        if job.device == "cpu" and "OMP_NUM_THREADS" not in os.environ:
            torch.set_num_threads(1)
        start = time.monotonic()
        yield from _run_samples(job, storage, pending, cfg, complete, len(mine), leader)
        elapsed = time.monotonic() - start
        yield from dist.barrier(Phase("write", len(mine), "samples"), len(mine))
        finished = False
        if leader:
            if shard_count > 1:  # which samples the other shards have written
                complete = yield from _scan(storage, job.layout, "write")
            finished = len(complete) == job.layout.total
            if finished:
                yield from _finalize(storage, job)
            else:
                storage.write(manifest_path, manifest_bytes(job.identity, complete, False))
                yield Event("warning", {"message": f"{job.layout.total - len(complete)} "
                                        "samples of other shards are still missing; the last "
                                        "shard to finish writes the index files and the "
                                        "dataset card"})
        yield _done_event(job, storage.root, len(pending), len(mine), elapsed, finished)
    except BaseException:
        if leader and complete:
            # best effort: record the progress of an interrupted or failed run
            with contextlib.suppress(OSError, FdifError):
                storage.write(manifest_path, manifest_bytes(job.identity, complete, False))
        raise
    finally:
        torch.set_num_threads(saved_threads)
        storage.close()
        lock.release()
        if own_group:
            torch.distributed.destroy_process_group()


def _run_samples(job: Job, storage: Storage, pending: list[int], cfg: GenerateConfig,
                 complete: set[int], total: int, leader: bool) -> Iterator[Event]:
    """Compute and write the pending samples: ``generate`` then ``write`` progress events and
    ``file`` events; adds each written index to ``complete`` and refreshes the manifest."""
    computed = written = total - len(pending)
    generating = Phase("generate", total, "samples")
    writing = Phase("write", total, "samples")
    phase = generating
    start = last_manifest = time.monotonic()

    def generate_event() -> Event:
        elapsed = time.monotonic() - start
        rate = (computed - (total - len(pending))) / elapsed if elapsed > 0 else 0.0
        return generating.event(computed, written=written, rate=round(rate, 4),
                                eta_s=round((total - computed) / rate, 1) if rate else None)

    yield generating.event(computed, written=written, already_complete=computed)
    notes = SurfaceNotes()
    for item in produce(job, storage, pending, cfg):
        if item.kind == COMPUTED:
            computed += 1
            notes.add(item.warnings)
            yield from notes.events()
            yield generate_event()
        elif item.kind == WRITTEN:
            complete.add(item.index)
            written += 1
            for path in item.paths[:-1]:
                yield Event("file", {"path": path, "index": item.index})
            if phase is writing:
                yield writing.event(written)
            if leader and time.monotonic() - last_manifest > MANIFEST_EVERY_S:
                storage.write(job.layout.manifest_file,
                              manifest_bytes(job.identity, complete, False))
                last_manifest = time.monotonic()
        elif item.kind == WRITING:
            phase = writing
            yield writing.event(written)
        elif phase.due():
            yield generate_event() if phase is generating else writing.event(written)
    yield from notes.events(final=True)


def _done_event(job: Job, root: Path, made: int, mine: int, elapsed: float,
                finished: bool) -> Event:
    total = job.layout.total
    rate_h = made / elapsed * 3600 if elapsed > 0 and made else None
    summary = (f"{'dataset complete' if finished else 'shard complete'}: {made} samples "
               f"generated" + (f" ({rate_h:,.0f}/hour)" if rate_h else "")
               + f", {mine} in this shard, {total} in the dataset → {root / job.layout.home}"
               + (f" (--out from ${NNUNET_RAW})" if job.out_source != "--out" else ""))
    steps = nnunet_next_steps(job.layout, root) if finished and job.layout.format == "nnunet" \
        else []
    if steps:
        summary += "\nnext, with nnU-Net v2:\n" + "\n".join(f"  {line}" for line in steps)
    return Event("done", {"generated": made, "total": mine, "dataset_total": total,
                          "finished": finished, "seconds": round(elapsed, 3),
                          "samples_per_hour": round(rate_h, 1) if rate_h else None,
                          "out": str(root), "home": str(root / job.layout.home),
                          "next_steps": steps, "summary": summary})


def _disk_warnings(root: Path, job: Job, pending: int) -> list[str]:
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


def _finalize(storage: Storage, job: Job) -> Iterator[Event]:
    """Index files, dataset card (``card`` progress events), finished manifest; a ``file``
    event for each."""
    layout = job.layout
    for relpath, data in layout.index_files(job.info, job.identity["preset"]).items():
        storage.write(relpath, data)
        yield Event("file", {"path": relpath})
    preset = job.loaded.preset
    meta = {"preset": {"name": preset.name, "hash": preset.content_hash,
                       "description": preset.description},
            "seed": job.seed, "format": layout.format, "num_samples": layout.num_train,
            "num_val_samples": layout.num_val, "grid": list(preset.grid),
            "label_mode": preset.label_mode, "options": job.identity["options"],
            "fdif_version": __version__}
    phase = Phase("card", card_steps(layout), "files")
    yield phase.event(0)
    steps = build_card(storage.root, layout, job.info, meta, job.num_classes)
    while True:
        try:
            done = next(steps)
        except StopIteration as stop:
            files = stop.value
            break
        if phase.due():
            yield phase.event(done)
    yield phase.event(phase.total)
    for relpath, data in files.items():
        storage.write(relpath, data)
        yield Event("file", {"path": relpath})
    storage.write(layout.manifest_file, manifest_bytes(job.identity, range(layout.total), True))
    yield Event("file", {"path": layout.manifest_file})


def completed_indices(root: Path) -> set[int]:
    """The complete indices recorded in a dataset folder's manifest (empty without one); for
    nnU-Net, ``root`` is the training dataset folder."""
    manifest = read_manifest(Path(root))
    return from_ranges(manifest.get("complete", [])) if manifest else set()
