"""Computing and encoding the files of one sample.

:class:`SampleMaker` turns a sample index into its files (image, label, statistics) for a
layout. Sample ``i``'s bytes depend only on ``(preset, seed, i)`` and the format options; the
worker processes of :mod:`fdif_core.datasets.generate` each hold one maker and only partition
the indices.
"""

from __future__ import annotations

import math
import os
import signal
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fdif_core.batch import BatchRenderer
from fdif_core.compose import Composer, Sample, sample_rng, surface_warnings
from fdif_core.datasets.layout import Layout, json_bytes
from fdif_core.datasets.nifti import nifti_bytes
from fdif_core.grid import Grid
from fdif_core.mappers import PEAK, get_mapper
from fdif_core.objects import evaluate_object
from fdif_core.presets import LoadedPreset, load_preset

HIST_BINS = 256


@dataclass(frozen=True)
class FormatOptions:
    """Options that change the bytes of the sample files.

    Attributes
    ----------
    compression : int
        gzip level (NIfTI) or Blosc2 ZSTD level (classification).
    label_dtype : str
        Name of the numpy label type (see :func:`fdif_core.datasets.nifti.label_dtype`).
    grid_scale : float
        Classification: half-extent factor of the symmetric grid (spec §1.6, default 0.40).
    samples_per_class : int
        Classification: training samples per class.
    val_per_class : int
        Classification: validation samples per class.
    """

    compression: int
    label_dtype: str = "uint8"
    grid_scale: float = 0.40
    samples_per_class: int = 25
    val_per_class: int = 0


@dataclass
class Computed:
    """A computed sample before encoding."""

    index: int
    image: np.ndarray
    label: np.ndarray | None
    stats: dict[str, Any]
    warnings: list[str] = field(default_factory=list)  # objects without a surface


def blosc2_bytes(array: np.ndarray, level: int) -> bytes:
    """A ``.b2nd`` file (Blosc2 contiguous frame, ZSTD, one thread) holding ``array``."""
    import blosc2

    cparams = blosc2.CParams(codec=blosc2.Codec.ZSTD, clevel=level, nthreads=1)
    return blosc2.asarray(np.ascontiguousarray(array), cparams=cparams).to_cframe()


class SampleMaker:
    """Makes the files of sample ``i`` of a dataset.

    Parameters
    ----------
    loaded : LoadedPreset
        The preset and its library.
    layout : Layout
        Output format and counts.
    options : FormatOptions
        Byte-relevant options.
    seed : int
        Dataset seed.
    device : str or torch.device
        Compute device.
    """

    def __init__(self, loaded: LoadedPreset, layout: Layout, options: FormatOptions, seed: int,
                 device: torch.device | str = "cpu") -> None:
        self.composer = Composer(loaded, device)
        self.layout = layout
        self.options = options
        self.seed = seed
        self.device = torch.device(device)
        self.label_type = np.dtype(options.label_dtype)
        self._batch: BatchRenderer | None = None
        if layout.format == "classification":
            self.class_grid = Grid.symmetric(self.composer.preset.grid, options.grid_scale)

    # -- classification ----------------------------------------------------------------------
    def class_index(self, index: int) -> int:
        """Classification: table position of sample ``index``'s class (balanced, in order)."""
        n_train = self.layout.num_train
        if index < n_train:
            return index // self.options.samples_per_class
        return (index - n_train) // self.options.val_per_class

    def _classification(self, index: int) -> Computed:
        entry = self.composer.table[self.class_index(index)]
        plan = self.composer.plan_object(entry, sample_rng(self.seed, index))
        placement = replace(plan.placement, tx=0.0, ty=0.0, tz=0.0)
        evaluated = evaluate_object(plan.tree, placement, self.class_grid, plan.displacement,
                                    plan.noise_seed, self.device, full=True,
                                    cache=self.composer.cache)
        x = get_mapper(plan.mapper)(evaluated.sdf).clamp(0, PEAK).to(torch.float32)
        hist = torch.bincount(x.floor().to(torch.int64).flatten(), minlength=int(PEAK) + 1)
        z = (x - x.mean()) / torch.clamp(x.std(), min=1e-8)
        inside = int((evaluated.sdf <= 0).sum())
        stats = {"index": index, "split": self.layout.split(index), "class": entry.id - 1,
                 "objects": 1, "visible": int(inside > 0),
                 "voxels": int(x.numel()), "foreground": inside,
                 "intensity_hist": [int(v) for v in hist.cpu()]}
        meta = {**plan.metadata(), "volume": inside}
        return Computed(index, z[None].cpu().numpy().astype(np.float32), None, stats,
                        surface_warnings(index, [meta], int(x.numel())))

    # -- segmentation --------------------------------------------------------------------------
    def _segmentation(self, sample: Sample) -> Computed:
        index = sample.index
        image, label = sample.image, sample.label
        hist = np.bincount(image.ravel(), minlength=HIST_BINS)
        first = label if label.ndim == 3 else label[..., 0]
        stats: dict[str, Any] = {
            "index": index, "split": self.layout.split(index), "objects": len(sample.objects),
            "visible": sum(1 for o in sample.objects if o.get("volume", 0) > 0),
            "voxels": int(first.size), "foreground": int(np.count_nonzero(first)),
            "intensity_hist": [int(v) for v in hist],
        }
        tasks = [first] if label.ndim == 3 else [label[..., t] for t in range(label.shape[-1])]
        stats["class_voxels"] = [
            {str(c): int(n) for c, n in enumerate(np.bincount(t.ravel())) if c and n}
            for t in tasks]
        return Computed(index, image, label.astype(self.label_type, copy=False), stats,
                        surface_warnings(index, sample.objects, int(first.size)))

    # -- public ----------------------------------------------------------------------------------
    def compute(self, index: int) -> Computed:
        """Render sample ``index`` (arrays and statistics)."""
        if self.layout.format == "classification":
            return self._classification(index)
        return self._segmentation(self.composer.sample(self.seed, index))

    def compute_many(self, indices: list[int]) -> list[Computed]:
        """Render samples ``indices``: segmentation samples in one batch
        (:class:`~fdif_core.batch.BatchRenderer`, bitwise the samples :meth:`compute` gives)."""
        if self.layout.format == "classification" or len(indices) == 1:
            return [self.compute(index) for index in indices]
        if self._batch is None:
            self._batch = BatchRenderer(self.composer)
        return [self._segmentation(s) for s in self._batch.sample(self.seed, indices)]

    def encode(self, computed: Computed) -> list[tuple[str, bytes]]:
        """The sample's files as ``(relative path, bytes)``, the statistics file last."""
        index, level = computed.index, self.options.compression
        layout = self.layout
        if layout.format == "classification":
            files = [(layout.image_file(index), blosc2_bytes(computed.image, level))]
        else:
            files = [(layout.image_file(index), nifti_bytes(computed.image, level)),
                     (layout.label_file(index) or "", nifti_bytes(computed.label, level))]
        files.append((layout.stats_file(index), json_bytes(computed.stats)))
        return files


def val_per_class(samples_per_class: int, n_splits: int) -> int:
    """Classification validation samples per class: ``ceil(spc / (n_splits - 1))`` (§12.4)."""
    return math.ceil(samples_per_class / max(n_splits - 1, 1))


# -- worker processes -------------------------------------------------------------------------
_MAKER: SampleMaker | None = None


def _watch_parent(parent: int) -> None:
    """Exit when the parent dies (a killed run must not leave workers behind)."""
    import time

    while True:
        if os.getppid() != parent:
            os._exit(1)
        time.sleep(0.5)


def init_worker(source: str, libraries: tuple[str, ...], expected_hash: str, layout: Layout,
                options: FormatOptions, seed: int, device: str, parent: int) -> None:
    """Process-pool initializer: one-thread torch and a :class:`SampleMaker`."""
    global _MAKER
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    torch.set_num_threads(1)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    loaded = load_preset(source, tuple(Path(p) for p in libraries))
    if loaded.preset.content_hash != expected_hash:
        raise RuntimeError(f"preset {source} changed while the job started")
    _MAKER = SampleMaker(loaded, layout, options, seed, device)


def make_in_worker(indices: list[int]) -> list[tuple[int, list[tuple[str, bytes]], list[str]]]:
    """Process-pool task: the files and warnings of samples ``indices``, rendered together
    (:meth:`SampleMaker.compute_many`)."""
    assert _MAKER is not None, "init_worker did not run"
    return [(c.index, _MAKER.encode(c), c.warnings) for c in _MAKER.compute_many(indices)]
