"""The instance panel: seed (reroll, type, pin), placement, displacement, mapper, grid.

The pickers list what the core registers (every displacement including gradient noise, with
its parameters, and every mapper), and the mapper's curve ``g(d)`` is plotted with the current
instance's distance range.
"""

from __future__ import annotations

import dataclasses

from PyQt6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.state import GRID_SIZES, InstanceState
from app.views.curve import MapperCurve
from fdif_core.displacements import DISPLACEMENTS, NONE, WorldDisplacement, get_displacement
from fdif_core.grid import Grid
from fdif_core.mappers import MAPPERS
from fdif_core.nodes.mapper import class_mapper
from fdif_core.preview import Preview

PLACEMENT_TEXT = {"centred": "Centred, no transform (golden values)",
                  "random": "Random: the paper's translation, rotation, shear"}


def displacement_text(key: str, grid: Grid) -> str:
    """The displacement's parameters as the core defines them, one line."""
    disp = get_displacement(key)
    if disp is None:
        return "No displacement."
    fields = ", ".join(f"{f.name} {getattr(disp, f.name)}" for f in dataclasses.fields(disp)
                       if f.name != "key")
    if isinstance(disp, WorldDisplacement):
        return (f"{fields}; world field, amplitude {disp.amplitude(grid):.2f} voxels, "
                f"lowest {disp.lower_bound(grid):.2f}")
    return f"{fields}; seeded noise in object coordinates, |δ| ≤ {disp.reach:.2f} voxels"


class InstancePanel(QWidget):
    """Widgets bound to an :class:`~app.state.InstanceState`."""

    def __init__(self, state: InstanceState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setToolTip("The instance's seed: type one to see it again")
        self.seed.setKeyboardTracking(False)
        self.reroll = QPushButton("Reroll")
        self.reroll.setToolTip("Draw a new instance (R)")
        self.pin = QCheckBox("Pin")
        self.pin.setToolTip("Keep this seed: Reroll does nothing while pinned")
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(self.reroll)
        seed_row.addWidget(self.pin)
        self.placement = QComboBox()
        for key, text in PLACEMENT_TEXT.items():
            self.placement.addItem(text, key)
        self.displacement = QComboBox()
        self.displacement.addItems([NONE, *DISPLACEMENTS])
        self.displacement_info = QLabel()
        self.displacement_info.setWordWrap(True)
        self.displacement_info.setStyleSheet("color: #9aa4b1;")
        self.mapper = QComboBox()
        self.mapper.addItems(list(MAPPERS))
        self.mapper_info = QLabel()
        self.mapper_info.setWordWrap(True)
        self.mapper_info.setStyleSheet("color: #9aa4b1;")
        self.grid = QComboBox()
        for n in GRID_SIZES:
            self.grid.addItem(f"{n}³", n)
        self.curve = MapperCurve()
        form = QFormLayout()
        form.addRow("Seed", seed_row)
        form.addRow("Placement", self.placement)
        form.addRow("Displacement", self.displacement)
        form.addRow("", self.displacement_info)
        form.addRow("Mapper", self.mapper)
        form.addRow("", self.mapper_info)
        form.addRow("Grid", self.grid)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(form)
        layout.addWidget(self.curve, 1)
        self.seed.valueChanged.connect(lambda v: self.state.update(seed=int(v)))
        self.reroll.clicked.connect(self.state.reroll)
        self.pin.toggled.connect(self.state.set_pinned)
        self.placement.currentIndexChanged.connect(
            lambda _: self.state.update(placement=self.placement.currentData()))
        self.displacement.currentTextChanged.connect(lambda v: self.state.update(displacement=v))
        self.mapper.currentTextChanged.connect(lambda v: self.state.update(mapper=v))
        self.grid.currentIndexChanged.connect(
            lambda _: self.state.update(grid=(self.grid.currentData(),) * 3))
        state.changed.connect(self.refresh)
        state.pinned_changed.connect(self._pinned)
        self.refresh()

    def refresh(self) -> None:
        """Show the state's settings (without feeding them back)."""
        s = self.state.settings
        widgets = (self.seed, self.placement, self.displacement, self.mapper, self.grid)
        for widget in widgets:
            widget.blockSignals(True)
        self.seed.setValue(int(s.seed) if s.seed < 2**31 else 2**31 - 1)
        self.placement.setCurrentIndex(self.placement.findData(s.placement))
        self.displacement.setCurrentText(s.displacement)
        self.mapper.setCurrentText(s.mapper)
        index = self.grid.findData(s.grid[0])
        if index >= 0:
            self.grid.setCurrentIndex(index)
        for widget in widgets:
            widget.blockSignals(False)
        self.displacement_info.setText(displacement_text(s.displacement, Grid.reference(s.grid)))

    def _pinned(self, pinned: bool) -> None:
        self.pin.setChecked(pinned)
        self.reroll.setEnabled(not pinned)

    def show_preview(self, preview: Preview) -> None:
        """The drawn instance's mapper (the class's own, if it fixes one) and distances."""
        mapper = preview.instance.mapper
        fixed = class_mapper(preview.instance.tree) is not None
        detail = MAPPERS[mapper].expression
        self.mapper_info.setText(detail + ("  — fixed by the class's mapper node" if fixed else ""))
        self.mapper.setEnabled(not fixed)
        self.curve.show_mapper(mapper, preview.distance_range)
