"""The live training curves: running mean loss and validation mean Dice over the steps."""

from __future__ import annotations

import pyqtgraph as pg

from app.views.colors import SURFACE

DICE_COLOUR = "#5fbf5f"


class TrainingCurves(pg.GraphicsLayoutWidget):
    """Loss (``metric`` events with ``loss``) above validation mean Dice (``metric`` events
    with ``val_mean_dice``), both over the training step."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setBackground("#1b1e23")
        self.loss_plot = self.addPlot(row=0, col=0)
        self.dice_plot = self.addPlot(row=1, col=0)
        self.loss_plot.setLabel("left", "loss")
        self.dice_plot.setLabel("left", "Dice")
        self.dice_plot.setLabel("bottom", "step")
        self.dice_plot.setYRange(0, 1, padding=0.02)
        self.dice_plot.setXLink(self.loss_plot)
        for plot in (self.loss_plot, self.dice_plot):
            plot.showGrid(x=True, y=True, alpha=0.2)
            plot.setMenuEnabled(False)
        self.loss_curve = self.loss_plot.plot(pen=pg.mkPen(SURFACE, width=2))
        self.dice_curve = self.dice_plot.plot(pen=pg.mkPen(DICE_COLOUR, width=2), symbol="o",
                                              symbolSize=5, symbolBrush=DICE_COLOUR)

    def show_points(self, loss: list[tuple[int, float]], dice: list[tuple[int, float]]) -> None:
        """Plot ``(step, value)`` points (an empty list clears a curve)."""
        for curve, points in ((self.loss_curve, loss), (self.dice_curve, dice)):
            curve.setData([p[0] for p in points], [p[1] for p in points])
        best = max((p[1] for p in dice), default=None)
        # the axis label stays short (the plots share a short dock); the best value is the title
        self.dice_plot.setTitle(None if best is None else
                                f"validation mean Dice, best {best:.3f}", size="9pt")

    def points(self) -> tuple[int, int]:
        """How many loss and Dice points are plotted."""
        return (len(self.loss_curve.xData if self.loss_curve.xData is not None else []),
                len(self.dice_curve.xData if self.dice_curve.xData is not None else []))
