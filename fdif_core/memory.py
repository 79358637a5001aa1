"""How much memory grid work needs, checked before it allocates: one guard for every verb.

Every place that allocates volumes (``fdif sdf``, ``sample``, ``preview``, ``mesh``,
``generate``, the training stream and the studio's previews through
:func:`fdif_core.preview.evaluate_instance`) estimates its peak from the grid and calls
:func:`require`, which refuses with one line (what, how many GiB, how many are available, what
to change) when the estimate exceeds the available memory.

The constants are bytes per voxel of the growth of a process's peak resident set over its
size before the work, measured on the CPU with ``benchmarks/bench_memory.py`` at several grid
sizes (the largest per-voxel value seen, rounded up; the table is in the README). On CUDA the
batch renderer's constant is the same measurement on the CPU: device memory was not measured.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from pathlib import Path

import torch

from fdif_core.errors import FdifError

GIB = 2**30

#: one object evaluated on every voxel (``fdif sdf``, ``preview``, the studio): the shape tree's
#: temporaries, the dense SDF, image and label (largest of 117 classes at 160³: 37)
OBJECT_BYTES = 40
#: the same with a gradient-noise displacement (its noise is evaluated at every voxel: 200-264)
NOISE_OBJECT_BYTES = 270
#: one composed sample without displacements (image, halo sums, labels, object boxes: 41-46)
SAMPLE_BYTES = 50
#: per world displacement of a preset (each is a full-grid field cached by the composer: 4.6-5)
WORLD_FIELD_BYTES = 6
#: a preset with gradient-noise displacements (evaluated per object box: +70 to +121)
NOISE_SAMPLE_BYTES = 130
#: per label task beyond the first (multi-task label planes and their interleaved copy: 19)
TASK_BYTES = 24
#: ``generate``: encoding a sample's NIfTI files on top of composing it (+10 to +14)
ENCODE_BYTES = 15
#: ``generate --workers N`` (N > 1): each spawned worker process's own memory after importing
#: the engine and loading a preset, before any sample (Private_Dirty of /proc/self/smaps_rollup:
#: 157 MiB)
WORKER_PROCESS_BYTES = 160 * 2**20
#: ``generate --device cuda``: a batch's arrays on the host, per voxel of the batch (image
#: uint8, label int32 and its stored type; from the array types, not measured)
HOST_SAMPLE_BYTES = 6
#: ``generate --format classification``: one object on the whole grid, mapped, normalised
#: and encoded (62-75 with a world displacement; with gradient noise 333-345)
CLASSIFICATION_BYTES = 80
NOISE_CLASSIFICATION_BYTES = 350
#: the batch renderer, per voxel of the batch plus per voxel of the grid (paper, batches of 4
#: and 16 at 64³ and 96³: 0.27, 0.71, 0.83 and 2.11-2.23 GiB)
BATCH_BYTES = 160
BATCH_GRID_BYTES = 500
#: ``fdif mesh``, per point of the meshing lattice (slab-wise evaluation, marching cubes and
#: the mesh file; surface-dense classes cost most: gyroid_ball 43 at 8.9 M points, a sphere 10)
MESH_BYTES = 48


def format_size(nbytes: float) -> str:
    """``nbytes`` as people read it: GiB with one decimal, else whole MiB, KiB or bytes (never
    "0.0 GiB" for a small non-zero size)."""
    if nbytes >= GIB:
        return f"{nbytes / GIB:.1f} GiB"
    for unit, size in (("MiB", 2**20), ("KiB", 2**10)):
        if nbytes >= size:
            return f"{round(nbytes / size)} {unit}"
    return f"{round(nbytes)} bytes"


def voxels(grid: Iterable[int]) -> int:
    """Number of voxels of a grid shape (Python integers: no overflow)."""
    return math.prod(int(n) for n in grid)


def grid_label(grid: Iterable[int]) -> str:
    """``"96x96x96"``."""
    return "x".join(str(int(n)) for n in grid)


def _is_noise(displacement: str | None) -> bool:
    from fdif_core.displacements import DISPLACEMENTS, GradientNoise

    return isinstance(DISPLACEMENTS.get(displacement or ""), GradientNoise)


def _is_world(displacement: str) -> bool:
    from fdif_core.displacements import DISPLACEMENTS, WorldDisplacement

    return isinstance(DISPLACEMENTS.get(displacement), WorldDisplacement)


def object_bytes(grid: Iterable[int], displacement: str | None = None) -> int:
    """Peak memory of evaluating one object on every voxel of ``grid`` (with ``displacement``)."""
    per = NOISE_OBJECT_BYTES if _is_noise(displacement) else OBJECT_BYTES
    return per * voxels(grid)


def sample_bytes(grid: Iterable[int], displacements: Iterable[str] = (), tasks: int = 1) -> int:
    """Peak memory of composing one sample (:meth:`fdif_core.compose.Composer.sample`) of a
    preset whose objects may use ``displacements``, with ``tasks`` label tasks."""
    names = set(displacements)
    per = (SAMPLE_BYTES + WORLD_FIELD_BYTES * sum(map(_is_world, names))
           + (NOISE_SAMPLE_BYTES if any(map(_is_noise, names)) else 0)
           + TASK_BYTES * max(tasks - 1, 0))
    return per * voxels(grid)


def classification_bytes(grid: Iterable[int], displacements: Iterable[str] = ()) -> int:
    """Peak memory of one ``generate --format classification`` sample."""
    names = set(displacements)
    per = NOISE_CLASSIFICATION_BYTES if any(map(_is_noise, names)) else \
        CLASSIFICATION_BYTES + WORLD_FIELD_BYTES * sum(map(_is_world, names))
    return per * voxels(grid)


def batch_bytes(grid: Iterable[int], batch: int) -> int:
    """Peak memory of the batch renderer rendering ``batch`` samples of ``grid`` together."""
    return (BATCH_BYTES * batch + BATCH_GRID_BYTES) * voxels(grid)


def mesh_bytes(points: int) -> int:
    """Peak memory of meshing a lattice of ``points`` points."""
    return MESH_BYTES * int(points)


# -- what is available ------------------------------------------------------------------------
def _read(path: str) -> str | None:
    try:
        return Path(path).read_text()
    except OSError:
        return None


def _meminfo_available() -> int | None:
    text = _read("/proc/meminfo")
    for line in (text or "").splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return None


def _cgroup_available() -> int | None:
    """What the process's cgroup still allows (v2 ``memory.max``, v1 ``limit_in_bytes``),
    counting its reclaimable page cache as available; ``None`` without a limit."""
    for limit, usage, stat in (
            ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current",
             "/sys/fs/cgroup/memory.stat"),
            ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
             "/sys/fs/cgroup/memory/memory.usage_in_bytes", "/sys/fs/cgroup/memory/memory.stat")):
        cap, used = _read(limit), _read(usage)
        if cap is None or used is None:
            continue
        if not cap.strip().isdigit() or int(cap) >= 2**60:
            return None
        cache = 0
        for line in (_read(stat) or "").splitlines():
            key, _, value = line.partition(" ")
            if key in ("inactive_file", "total_inactive_file") and value.strip().isdigit():
                cache = max(cache, int(value))
        return max(int(cap) - int(used) + cache, 0)
    return None


def available_bytes(device: torch.device | str = "cpu") -> int | None:
    """Memory that a new allocation on ``device`` can use, or ``None`` when it cannot be known.

    On the CPU: ``MemAvailable`` of ``/proc/meminfo`` (the kernel's estimate, page cache
    included), or less when the process's cgroup allows less; else the free physical pages.
    On CUDA: the free device memory (``torch.cuda.mem_get_info``).
    """
    device = torch.device(device)
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    known = [v for v in (_meminfo_available(), _cgroup_available()) if v is not None]
    if known:
        return min(known)
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def require(need: int, what: str, advice: str, device: torch.device | str = "cpu") -> None:
    """Refuse work that needs more memory than ``device`` has available.

    Parameters
    ----------
    need : int
        Estimated peak bytes (the ``*_bytes`` functions of this module).
    what : str
        What needs it, as the user named it (``"--grid 1024"``, ``"preset 'big' (grid …)"``).
    advice : str
        What to change (``"use a smaller grid"``).
    device : str or torch.device
        Where the memory is allocated.

    Raises
    ------
    FdifError
        ``"{what} needs about 11.6 GiB but 7.9 GiB are available: {advice}"``.
    """
    have = available_bytes(device)
    if have is None or need <= have:
        return
    where = f" on {device}" if torch.device(device).type != "cpu" else ""
    raise FdifError(f"{what} needs about {format_size(need)} but {format_size(have)} are "
                    f"available{where}: {advice}")
