"""The mapper curve: intensity ``g(d)`` over the signed distance, from the core's mapper."""

from __future__ import annotations

import math

import pyqtgraph as pg

from app.views.colors import SURFACE
from fdif_core.mappers import PEAK
from fdif_core.preview import mapper_curve

X_STEP = 2.0  # the plotted distance range snaps to this step, so small changes keep the axes


def _x_range(lo: float, hi: float) -> tuple[float, float]:
    """Distances to plot for an instance's ``lo … hi``: the whole inside and a margin outside."""
    left = math.floor((min(lo, -1.0) - 1.0) / X_STEP) * X_STEP
    right = min(math.ceil(max(hi, 1.0) / X_STEP) * X_STEP, abs(left) + 8.0)
    return left, right


class MapperCurve(pg.PlotWidget):
    """``g(d)`` of one mapper with the instance's distance range shaded and ``d = 0`` marked."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent, background="#1b1e23")
        self.setMinimumHeight(130)
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.setLabel("bottom", "signed distance d (voxels)")
        self.setLabel("left", "g(d)")
        self.setYRange(0, PEAK * 1.05, padding=0)
        self.region = pg.LinearRegionItem(movable=False, brush=pg.mkBrush(120, 160, 220, 40),
                                          pen=pg.mkPen(120, 160, 220, 120))
        self.addItem(self.region)
        dashed = pg.mkPen("#9aa4b1", style=pg.QtCore.Qt.PenStyle.DashLine)
        self.surface = pg.InfiniteLine(0, angle=90, pen=dashed)
        self.addItem(self.surface)
        self.curve = self.plot(pen=pg.mkPen(SURFACE, width=2))
        self.mapper = ""
        self.distance_range = (-10.0, 10.0)
        self._x_range = (0.0, 0.0)

    def show_mapper(self, mapper: str, distance_range: tuple[float, float] | None = None) -> None:
        """Plot ``mapper`` over the instance's distances (``distance_range``: min and max)."""
        if distance_range is not None:
            self.distance_range = distance_range
        lo, hi = self.distance_range
        left, right = _x_range(lo, hi)
        if (mapper, left, right) != (self.mapper, *self._x_range):
            # a new curve and axes only when they change: a slider drag mostly moves the range
            d, g = mapper_curve(mapper, left, right)
            self.curve.setData(d, g)
            self.setXRange(left, right, padding=0)
            self.mapper, self._x_range = mapper, (left, right)
        self.region.setRegion((lo, min(hi, right)))
        self.setTitle(f"{mapper}: distances {lo:.1f} … {hi:.1f}", color="#c8ced6", size="9pt")
