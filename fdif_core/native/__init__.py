"""Native CPU kernels: ``kernels.c``, compiled on first use by the system's C compiler.

The torch kernels stay the definition (GPU, float64, no compiler); a native kernel is a CPU
float32 fast path that performs the same IEEE operations in the same order, so both give
bitwise the same values (the tests compare them). The shared library is built once per source,
compiler and processor into :func:`cache_dir` (written to a temporary file, then renamed, so
concurrent workers never load a half-written file). Without a compiler, or with
``FDIF_NATIVE=0``, everything runs on the torch kernels, with a warning in the first case.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import warnings
from functools import cache
from pathlib import Path

import torch

SOURCE = Path(__file__).with_name("kernels.c")
# no contraction of products and sums into FMAs: each kernel writes torch's fused operations
# (``addcmul``) as ``fmaf`` and keeps every other rounding
FLAGS = ("-O3", "-march=native", "-ffp-contract=off", "-fno-math-errno", "-fPIC", "-shared")
SWITCH = "FDIF_NATIVE"  # "0" (or off, false, no) turns the native kernels off
COMPILE_TIMEOUT_S = 120


class NativeBuildError(RuntimeError):
    """The native kernels could not be compiled."""


def cache_dir() -> Path:
    """Where built libraries are kept: ``$FDIF_CACHE_DIR``, else ``$XDG_CACHE_HOME`` (or
    ``~/.cache``) ``/fdif-studio``, in a ``native`` folder."""
    root = os.environ.get("FDIF_CACHE_DIR")
    if root:
        return Path(root) / "native"
    xdg = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(xdg) / "fdif-studio" / "native"


def _processor() -> str:
    """The processor's model and instruction-set flags (``-march=native`` depends on them)."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return f"{platform.machine()} {platform.processor()}"
    wanted = ("model name", "flags", "Features", "CPU part")
    return "\n".join(sorted({line for line in lines if line.startswith(wanted)}))


def build(compiler: str | None = None, directory: Path | None = None) -> Path:
    """The shared library of ``kernels.c``, compiled unless a build for this source, compiler
    and processor is cached in ``directory`` (default :func:`cache_dir`).

    Raises
    ------
    NativeBuildError
        No compiler was found, or it failed (its message is included).
    """
    name = compiler or os.environ.get("CC", "cc")
    executable = shutil.which(name)
    if executable is None:
        raise NativeBuildError(f"no C compiler {name!r} on PATH (install gcc, or set CC)")
    executable = os.path.realpath(executable)
    directory = directory or cache_dir()
    key = hashlib.sha256()
    for part in (SOURCE.read_bytes(), " ".join(FLAGS).encode(), executable.encode(),
                 str(os.stat(executable).st_mtime_ns).encode(), _processor().encode()):
        key.update(part + b"\0")
    target = directory / f"kernels-{key.hexdigest()[:20]}.so"
    if target.exists():
        return target
    directory.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(prefix=".kernels-", suffix=".so", dir=directory)
    os.close(fd)
    try:
        run = subprocess.run([executable, *FLAGS, "-o", partial, str(SOURCE), "-lm"],
                             capture_output=True, text=True, timeout=COMPILE_TIMEOUT_S)
        if run.returncode:
            raise NativeBuildError(f"{name} failed on {SOURCE.name}: {run.stderr.strip()[-800:]}")
        os.replace(partial, target)
    except subprocess.TimeoutExpired as exc:
        raise NativeBuildError(f"{name} took over {COMPILE_TIMEOUT_S} s") from exc
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return target


def switched_off() -> bool:
    """Whether ``FDIF_NATIVE`` turns the native kernels off."""
    return os.environ.get(SWITCH, "1").strip().lower() in ("0", "off", "false", "no")


@cache
def library() -> ctypes.CDLL | None:
    """The loaded kernels, or ``None`` when they are switched off or cannot be built."""
    if switched_off():
        return None
    try:
        path = build()
        try:
            lib = ctypes.CDLL(str(path))
        except OSError:  # a damaged cached build (not one of ours: those appear whole): remake it
            path.unlink(missing_ok=True)
            lib = ctypes.CDLL(str(build()))
    except (NativeBuildError, OSError) as exc:
        warnings.warn(f"native CPU kernels unavailable, using the torch kernels (the same "
                      f"values, slower): {exc}", RuntimeWarning, stacklevel=2)
        return None
    pointer, size = ctypes.c_void_p, ctypes.c_int64
    signatures = {
        "fdif_polygon_f32": (None, [pointer, pointer, size, pointer, pointer, ctypes.c_int32,
                                    pointer, pointer]),
        "fdif_block_voxels_f32": (None, [pointer, size, pointer, size, pointer, size, pointer,
                                         size, size, pointer]),
        "fdif_add_at_voxels_f32": (None, [pointer, pointer, size, size, size, size, size,
                                          pointer, pointer]),
        "fdif_keep_voxels_f32": (size, [pointer, pointer, size, size, size, size,
                                        ctypes.c_float, pointer, pointer, pointer, pointer]),
        "fdif_block_centres_f32": (None, [pointer, pointer, size, size, pointer]),
        "fdif_select_blocks": (size, [pointer, pointer, size, pointer, size, size, size, pointer,
                                      pointer, size]),
        "fdif_extrude_scale_f32": (None, [pointer, pointer, pointer, size, ctypes.c_int32,
                                          pointer, pointer, pointer, pointer]),
        "fdif_extrude_parts_f32": (None, [pointer, pointer, pointer, size, ctypes.c_int32,
                                          ctypes.c_float, ctypes.c_float, pointer, pointer,
                                          pointer]),
        "fdif_star_fold_f32": (None, [pointer, size, ctypes.c_float, ctypes.c_float]),
        "fdif_star_cap_f32": (None, [pointer, pointer, pointer, size, pointer, pointer, pointer]),
    }
    for name, (result, arguments) in signatures.items():
        function = getattr(lib, name)
        function.restype, function.argtypes = result, arguments
    return lib


def terms(owner: object, *values: float) -> torch.Tensor:
    """``values`` as one contiguous float32 tensor, made once per ``owner`` (a node whose
    numbers do not change) for the kernels that read them as an array."""
    found = owner.__dict__.get("_native_terms")
    if found is None:
        found = owner.__dict__["_native_terms"] = torch.tensor(values, dtype=torch.float32)
    return found


def available(dtype: torch.dtype, device: torch.device) -> bool:
    """Whether native kernels serve tensors of ``dtype`` on ``device`` (float32 on the CPU)."""
    return dtype == torch.float32 and torch.device(device).type == "cpu" and library() is not None


def polygon(x: torch.Tensor, y: torch.Tensor, edges: torch.Tensor,
            sloped: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Squared distance of points to a polygon and the parity of their crossings.

    Parameters
    ----------
    x, y : Tensor
        Float32 CPU points, one shape (any layout; copied when not contiguous).
    edges : Tensor
        Contiguous float32 ``(E, 8)`` edge constants (``profiles.EDGE_KEYS`` per row).
    sloped : Tensor
        Contiguous int32 ``(E,)``: 1 for edges that are not horizontal.

    Returns
    -------
    best : Tensor
        Float32, the points' shape: the smallest squared distance to an edge.
    sign : Tensor
        Int32, the points' shape: ``INT32_MIN`` (the sign bit) where the crossing count is
        odd (inside), else 0.
    """
    _same_shape(x, y)
    x, y = x.contiguous(), y.contiguous()
    best = torch.empty_like(x)
    sign = torch.empty(x.shape, dtype=torch.int32)
    library().fdif_polygon_f32(x.data_ptr(), y.data_ptr(), x.numel(), edges.data_ptr(),
                               sloped.data_ptr(), len(sloped), best.data_ptr(), sign.data_ptr())
    return best, sign


# -- the voxels of 2-blocks (fdif_core.domain.Domain._voxels) ---------------------------------
# ``origins`` is ``(3, m)`` int64 (rows z, y, x; any row stride, unit column stride); voxel
# ``k = (kz * 2 + ky) * 2 + kx`` of block ``b`` is stored at ``k * m + b``.


def _same_shape(*tensors: torch.Tensor | None) -> None:
    """Native kernels read every array to the first one's length: refuse a mismatch."""
    shape = tensors[0].shape
    if any(t is not None and t.shape != shape for t in tensors):
        raise ValueError(f"native kernel inputs differ in shape: "
                         f"{[None if t is None else tuple(t.shape) for t in tensors]}")


def _voxel_values(values: torch.Tensor, m: int) -> torch.Tensor:
    """Contiguous values of the ``8 m`` voxels of ``m`` 2-blocks."""
    if values.numel() != 8 * m:
        raise ValueError(f"{values.numel()} voxel values for {m} blocks of 8")
    return values.contiguous()


def _rows(origins: torch.Tensor) -> tuple[torch.Tensor, int, int, int]:
    """``(3, m)`` origins as int64 rows with unit column stride (a copy only where needed,
    kept alive by the caller), their pointer, row stride and ``m``."""
    if origins.dtype != torch.int64 or origins.stride(1) != 1:
        origins = origins.to(torch.int64).contiguous()
    return origins, origins.data_ptr(), origins.stride(0), origins.shape[1]


def block_voxels(pair_tables: list[torch.Tensor], origins: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Local coordinates ``(2, 2, 2, m)`` of the voxels of 2-blocks at ``origins``: bitwise
    :meth:`~fdif_core.domain.Domain._block_voxels`, from its contiguous ``(6, L)`` float32
    pair tables (x, y, z)."""
    origins, pointer, stride, m = _rows(origins)
    q = torch.empty((3, 2, 2, 2, m))
    (tx, lx), (ty, ly), (tz, lz) = ((t.data_ptr(), t.shape[1]) for t in pair_tables)
    library().fdif_block_voxels_f32(tx, lx, ty, ly, tz, lz, pointer, stride, m, q.data_ptr())
    return tuple(q.unbind(0))


def add_at_voxels(values: torch.Tensor, origins: torch.Tensor, shape: tuple[int, int, int],
                  offset: torch.Tensor) -> torch.Tensor:
    """``values`` (contiguous float32, 8 m) plus the flat field ``offset`` (contiguous float32,
    ``prod(shape)``) at each voxel; voxels past the grid read its last entry."""
    origins, pointer, stride, m = _rows(origins)
    values = _voxel_values(values, m)
    _, h, w = shape
    out = torch.empty_like(values)
    library().fdif_add_at_voxels_f32(values.data_ptr(), pointer, stride, m, h, w, offset.numel(),
                                     offset.data_ptr(), out.data_ptr())
    return out


def keep_voxels(values: torch.Tensor, origins: torch.Tensor, shape: tuple[int, int, int],
                threshold: float, box: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """Flat C-order positions and values of the voxels with ``value <= threshold`` (compared
    in float32, as torch compares a float32 tensor with a number) inside the index ``box``,
    in layout order."""
    origins, pointer, stride, m = _rows(origins)
    values = _voxel_values(values, m)
    _, h, w = shape
    flat = torch.empty(9 * m, dtype=torch.int64)  # and m of scratch
    kept = torch.empty(8 * m)
    bounds = (ctypes.c_int64 * 6)(*box)
    count = library().fdif_keep_voxels_f32(values.data_ptr(), pointer, stride, m, h, w,
                                           threshold, bounds, flat[8 * m:].data_ptr(),
                                           flat.data_ptr(), kept.data_ptr())
    return flat[:count], kept[:count]


def block_centres(affine: torch.Tensor, origins: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Float32 local centres ``c + B o`` (computed in float64) of blocks at ``(3, m)`` int64
    ``origins``; ``affine`` is the contiguous float64 ``(3, 4)`` matrix ``[B | c]``."""
    origins, pointer, stride, m = _rows(origins)
    out = torch.empty((3, m))
    library().fdif_block_centres_f32(affine.data_ptr(), pointer, stride, m, out.data_ptr())
    return tuple(out.unbind(0))


def select_blocks(lower: torch.Tensor, threshold: float | torch.Tensor, origins: torch.Tensor,
                  child: int, end: tuple[int, int, int] | None) -> torch.Tensor:
    """Origins ``(3, n)`` of the blocks with ``lower <= threshold`` (float32, per block or one
    number, compared in float32 as torch compares), in order; with ``child`` > 0 their eight
    sub-blocks of ``child`` voxels each (:func:`~fdif_core.domain.split_blocks`' order),
    without those that start at or past ``end`` (z, y, x) when given."""
    origins, pointer, stride, m = _rows(origins)
    if lower.numel() != m:
        raise ValueError(f"{lower.numel()} lower bounds for {m} blocks")
    lower = lower.contiguous()
    if isinstance(threshold, torch.Tensor) and threshold.numel() > 1:
        thresholds, step = threshold.to(torch.float32).contiguous(), 1
    else:
        thresholds, step = torch.full((1,), float(threshold)), 0
    capacity = 8 * m if child else m
    out = torch.empty((3, capacity), dtype=torch.int64)
    bounds = None if end is None else (ctypes.c_int64 * 3)(*end)
    count = library().fdif_select_blocks(lower.data_ptr(), thresholds.data_ptr(), step, pointer,
                                         stride, m, child, bounds, out.data_ptr(), capacity)
    return out[:, :count]


# -- extrusions (fdif_core.nodes.fdif.Extrude) --------------------------------------------------


def extrude_scale(x: torch.Tensor, y: torch.Tensor, a: torch.Tensor, necked: bool,
                  terms: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``x / s``, ``y / s`` and the clamped scale ``s(a)`` of a cone (``terms``: contiguous
    float32 rise, h, length, one) or necked profile (rise, h, below_length, one, neck,
    above_length, s2), for points of one shape."""
    _same_shape(x, y, a)
    x, y, a = x.contiguous(), y.contiguous(), a.contiguous()
    xs, ys, s = torch.empty((3, *a.shape)).unbind(0)
    library().fdif_extrude_scale_f32(x.data_ptr(), y.data_ptr(), a.data_ptr(), a.numel(),
                                     int(necked), terms.data_ptr(), xs.data_ptr(), ys.data_ptr(),
                                     s.data_ptr())
    return xs, ys, s


def extrude_parts(g: torch.Tensor, s: torch.Tensor | None, a: torch.Tensor,
                  onion_t: float | None, h: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``max(perp, 0)``, ``max(along, 0)`` and ``min(max(perp, along), 0)`` of an extrusion,
    from its profile's values ``g``, the scale ``s`` (``None``: plain) and axial coordinates
    ``a``, all of one shape; ``perp = s g``, a shell ``|perp| - onion_t`` when that is given,
    ``along = |a| - h``."""
    _same_shape(g, a, s)
    g, a = g.contiguous(), a.contiguous()
    perp, along, inner = torch.empty((3, *g.shape)).unbind(0)
    library().fdif_extrude_parts_f32(g.data_ptr(), None if s is None else s.data_ptr(),
                                     a.data_ptr(), g.numel(), onion_t is not None,
                                     0.0 if onion_t is None else onion_t, h, perp.data_ptr(),
                                     along.data_ptr(), inner.data_ptr())
    return perp, along, inner


# -- stars (fdif_core.nodes.profiles.Star) -------------------------------------------------------


def star_fold(phi: torch.Tensor, two_alpha: float, alpha: float) -> None:
    """``phi = (phi - floor(phi / two_alpha) two_alpha) - alpha`` in place (contiguous float32)."""
    if not phi.is_contiguous() or phi.dtype != torch.float32:
        raise ValueError("the star fold works in place on contiguous float32 angles")
    library().fdif_star_fold_f32(phi.data_ptr(), phi.numel(), two_alpha, alpha)


def star_cap(c: torch.Tensor, s: torch.Tensor, length: torch.Tensor,
             terms: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The star's folded point ``(qx, qy)`` from ``cos(phi)``, ``sin(phi)`` and the radius (one
    shape) and the contiguous float32 ``terms`` ux, uy, ex, ey, cap."""
    _same_shape(c, s, length)
    c, s, length = c.contiguous(), s.contiguous(), length.contiguous()
    qx, qy = torch.empty((2, *c.shape)).unbind(0)
    library().fdif_star_cap_f32(c.data_ptr(), s.data_ptr(), length.data_ptr(), c.numel(),
                                terms.data_ptr(), qx.data_ptr(), qy.data_ptr())
    return qx, qy
