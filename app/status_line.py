"""The status bar: the readout under the cursor, and per mode the seed, grid, voxel count and
the time from request to display of the last result shown."""

from __future__ import annotations

from PyQt6.QtWidgets import QLabel, QStatusBar

KEYS = ("seed", "grid", "inside", "time")


def _timings(what: str, timings: dict[str, float]) -> str:
    return f"Request to display; {what}: " + ", ".join(
        f"{k} {v:.0f}" for k, v in timings.items()) + " ms"


class StatusLine:
    """Labels in ``bar``; each mode keeps its own texts and the mode on screen shows its own."""

    def __init__(self, bar: QStatusBar) -> None:
        self.readout = QLabel()
        bar.addWidget(self.readout, 1)
        self.labels = {key: QLabel() for key in KEYS}
        for label in self.labels.values():
            label.setStyleSheet("padding: 0 8px;")
            bar.addPermanentWidget(label)
        self.texts: dict[str, dict[str, str]] = {}
        self.mode = "designer"

    def designer(self, result, shown_ms: float) -> None:
        """A class preview (:class:`~app.preview.PreviewResult`) shown after ``shown_ms``."""
        preview = result.preview
        self._set("designer", {
            "seed": f"seed {result.request.settings.seed}",
            "grid": f"grid {'×'.join(map(str, preview.grid.shape))}",
            "inside": f"inside {preview.inside:,} voxels", "time": f"{shown_ms:.0f} ms",
            "tip": _timings("core and mesh", result.timings)})

    def composition(self, result, shown_ms: float) -> None:
        """A sample (:class:`~app.composition.service.SampleResult`) shown after ``shown_ms``."""
        preview = result.preview
        label = preview.task_label(result.task)
        self._set("composition", {
            "seed": f"seed {preview.seed}, sample {preview.index}",
            "grid": f"grid {'×'.join(map(str, preview.grid.shape))}",
            "inside": f"foreground {int((label > 0).sum()):,} voxels",
            "time": f"{shown_ms:.0f} ms", "tip": _timings("core and surfaces", result.timings)})

    def show(self, mode: str) -> None:
        """Show the texts of ``mode``."""
        self.mode = mode
        texts = self.texts.get(mode, {})
        for key, label in self.labels.items():
            label.setText(texts.get(key, ""))
        self.labels["time"].setToolTip(texts.get("tip", ""))

    def _set(self, mode: str, texts: dict[str, str]) -> None:
        self.texts[mode] = texts
        if mode == self.mode:
            self.show(mode)
