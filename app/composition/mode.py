"""Composition mode's parts and their wiring: the preset document, which sample is shown, the
worker that renders it, the views and the sample panel.

Data flows one way: an edit of the preset or a new seed / index → the worker (latest request
wins) → a :class:`~app.composition.service.SampleResult` → views and tables. Clicking an object
highlights it: the views outline its voxels, the 3D view draws its surface over the faded
labels and the crosshair moves to its centre.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PyQt6.QtCore import QObject, QSettings, QTimer, pyqtSignal

from app.composition.document import PresetDocument
from app.composition.sample_panel import SamplePanel
from app.composition.service import SampleRequest, SampleResult, SampleService
from app.composition.state import SampleState
from app.meshing import mask_surface
from app.state import ViewState
from app.workspace import Workspace
from fdif_core.bundles import BUNDLE_SUFFIX, write_bundle
from fdif_core.library import user_root
from fdif_core.presets import LoadedPreset

log = logging.getLogger("fdif.studio")


class CompositionMode(QObject):
    """Everything composition mode shows.

    Signals
    -------
    shown(SampleResult)
        A new sample is on screen.
    open_class(str)
        The user asked to open an object's class in the designer.
    """

    shown = pyqtSignal(object)
    open_class = pyqtSignal(str)

    def __init__(self, settings: QSettings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.document = PresetDocument(self)
        self.sample = SampleState(self)
        self.view_state = ViewState(parent=self)
        self.service = SampleService(self)
        self.workspace = Workspace(self.view_state, settings)
        self.panel = SamplePanel(self.sample, self.view_state)
        self.result: SampleResult | None = None
        self.shown_result: SampleResult | None = None  # the last one with its tables filled
        self.last_update_ms = 0.0
        self._active = False
        self._stale = True
        self.document.changed.connect(lambda _structural: self.request())
        self.sample.changed.connect(self._sample_changed)
        self.service.ready.connect(self.show_result)
        self.service.failed.connect(self.show_failure)
        self.view_state.labels_changed.connect(self._style_labels)
        self.view_state.highlight_changed.connect(self._highlight)
        self.panel.objects.open_class.connect(self.open_class)

    # -- what is shown ---------------------------------------------------------------------
    def open(self, loaded: LoadedPreset, path=None, read_only: bool = False) -> None:
        """Show ``loaded`` from its dataset seed's first sample."""
        self.sample.blockSignals(True)
        self.sample.update(seed=loaded.preset.dataset.seed, index=0, task=0)
        self.sample.blockSignals(False)
        self.view_state.set_highlight(0)
        self.document.open(loaded, path, read_only)
        self.panel.navigator.refresh()

    def set_active(self, active: bool) -> None:
        """Render only while the mode is on screen (a pending change renders on return)."""
        self._active = active
        if active and self._stale:
            self.request()

    def request(self) -> int | None:
        """Ask the worker for the current sample; its request number (None while hidden)."""
        if not self._active:
            self._stale = True
            return None
        self._stale = False
        s = self.sample
        return self.service.request(self.document.loaded, s.seed, s.index, s.task)

    def _sample_changed(self) -> None:
        self.view_state.set_highlight(0)
        self.request()

    def show_result(self, result: SampleResult) -> None:
        """Show a rendered sample everywhere (stale results never reach this).

        The views are updated now and the tables on the next turn of the event loop, so the
        two repaints come one after the other instead of stalling the GUI thread together.
        """
        self.result = result
        preview = result.preview
        if self.view_state.highlight > len(preview.objects):
            self.view_state.set_highlight(0)
        self.view_state.set_shape(preview.grid.shape)
        self.workspace.show_sample(result)
        self.workspace.show_error(None)
        self._style_labels()
        self._highlight()
        self.last_update_ms = self.service.elapsed_ms(result)
        QTimer.singleShot(0, lambda: self._show_tables(result))

    def _show_tables(self, result: SampleResult) -> None:
        if result is not self.result:
            return  # a newer sample is on screen: its own turn shows its tables
        self.panel.show_preview(result.preview, result.task)
        self.shown_result = result
        for message in result.preview.warnings:  # as fdif generate warns
            log.warning(message)
        self.shown.emit(result)

    @property
    def settled(self) -> bool:
        """Whether the newest request's sample is on screen, tables included (or refused)."""
        if not self.service.settled:
            return False
        return self.result is None or self.shown_result is self.result or \
            self.result.request.number < self.service.latest

    def show_failure(self, request: SampleRequest, message: str) -> None:
        """The core refused the preset or sample: say why, keep the last result."""
        self.workspace.show_error(f"Cannot compose sample {request.index} of "
                                  f"{request.loaded.preset.name} (seed {request.seed}): {message}")
        log.error("composition failed: %s", message)

    # -- labels and the highlighted object -------------------------------------------------
    def _style_labels(self) -> None:
        viewport = self.workspace.viewport
        viewport.set_hidden_labels(self.view_state.hidden_labels)
        viewport.set_label_opacity(self.view_state.surface_opacity)

    def _highlight(self) -> None:
        position = self.view_state.highlight
        viewport = self.workspace.viewport
        if not position or self.result is None:
            viewport.set_highlight(None)
            return
        preview = self.result.preview
        viewport.set_highlight(mask_surface(preview.grid, preview.owner == position))
        row = preview.objects[position - 1]
        if row.centre is not None:
            self.view_state.set_crosshair(tuple(round(c) for c in row.centre))

    def preset_for_job(self) -> str:
        """What a job started now should run: the preset's file when it is unchanged, else a
        bundle of the preset as edited (written once per content, so the job runs exactly the
        preset on screen, with its classes, however the editing goes on)."""
        document = self.document
        source = Path(document.source)
        if not document.dirty and source.suffix in (".toml", BUNDLE_SUFFIX) and source.is_file():
            return str(source)
        loaded = document.loaded
        folder = user_root() / "jobs" / "presets"
        target = folder / f"{loaded.preset.name}-{loaded.preset.content_hash[:12]}{BUNDLE_SUFFIX}"
        if not target.is_file():
            folder.mkdir(parents=True, exist_ok=True)
            write_bundle(loaded, target)
        return str(target)

    def shutdown(self) -> None:
        self.service.shutdown()
        self.workspace.viewport.close_plotter()
