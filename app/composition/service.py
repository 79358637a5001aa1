"""The composition worker: renders a sample of the preset and meshes its labels off the GUI
thread (latest request wins). It calls :func:`fdif_core.composition.preview_sample` and the
VTK mesher and nothing else."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pyvista as pv
from PyQt6.QtCore import QObject

from app.meshing import label_surfaces
from app.preview import LatestWins
from fdif_core.compose import Composer
from fdif_core.composition import SamplePreview, preview_sample
from fdif_core.presets import LoadedPreset


@dataclass(frozen=True)
class SampleRequest:
    """Which sample to show: the preset, dataset seed, index and the label channel to mesh."""

    number: int
    loaded: LoadedPreset
    seed: int
    index: int
    task: int = 0


@dataclass
class SampleResult:
    """A rendered sample, one surface per label value of the chosen channel, timings (ms)."""

    request: SampleRequest
    preview: SamplePreview
    surfaces: dict[int, pv.PolyData]
    timings: dict[str, float]

    @property
    def total_ms(self) -> float:
        return sum(self.timings.values())

    @property
    def task(self) -> int:
        """The label channel shown (the request's, within the preset's channels)."""
        return min(self.request.task, len(self.preview.tasks) - 1)


class _ComposerCache:
    """The composer of the last preset (its class table and displacement cache), reused while
    the preset stays the same."""

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._composer: Composer | None = None

    def get(self, loaded: LoadedPreset) -> Composer:
        key = (loaded.preset.content_hash, id(loaded.library))
        if key != self._key or self._composer is None:
            self._composer, self._key = Composer(loaded), key
        return self._composer


def compute_sample(request: SampleRequest, cache: _ComposerCache | None = None) -> SampleResult:
    """Render and mesh one request (runs in the worker; also used by the benchmark)."""
    composer = cache.get(request.loaded) if cache else None
    preview = preview_sample(request.loaded, request.seed, request.index, composer=composer)
    start = time.perf_counter()
    task = min(request.task, len(preview.tasks) - 1)
    surfaces = label_surfaces(preview.grid, preview.task_label(task))
    timings = {**preview.timings, "surfaces": (time.perf_counter() - start) * 1e3}
    return SampleResult(request, preview, surfaces, timings)


class SampleService(LatestWins):
    """Latest-wins samples: ``request`` returns at once; ``ready`` or ``failed`` follow."""

    def __init__(self, parent: QObject | None = None) -> None:
        cache = _ComposerCache()
        super().__init__(lambda request: compute_sample(request, cache), parent)

    def request(self, loaded: LoadedPreset, seed: int, index: int, task: int = 0) -> int:
        """Queue sample ``index`` of the dataset with ``seed``; returns the request number."""
        return self.submit(lambda number: SampleRequest(number, loaded, seed, index, task))
