"""The dataset card viewer: what ``fdif generate`` measured about a dataset it wrote — the
statistics, the class table and the preview mosaic — read by the core's
:func:`~fdif_core.datasets.card.read_card`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QPixmap
from PyQt6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHeaderView,
    QLabel,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from fdif_core.datasets.card import DatasetCard, read_card
from fdif_core.errors import FdifError


def _range(stat: dict[str, Any], digits: int) -> str:
    return (f"mean {stat['mean']:.{digits}f} (min {stat['min']:.{digits}f}, "
            f"max {stat['max']:.{digits}f})")


def statistics_rows(card: dict[str, Any]) -> list[tuple[str, str]]:
    """``(field, value)`` rows of a card: what made the dataset and what was measured."""
    preset, st = card.get("preset", {}), card.get("statistics", {})
    rows = [("preset", f"{preset.get('name', '?')} (hash {str(preset.get('hash', ''))[:16]}…)"),
            ("format", str(card.get("format", "?"))), ("seed", str(card.get("seed", "?"))),
            ("training samples", str(card.get("num_samples", "?"))),
            ("validation samples", str(card.get("num_val_samples", "?"))),
            ("grid", " × ".join(str(n) for n in card.get("grid", []))),
            ("label mode", str(card.get("label_mode", "?"))),
            ("file options", ", ".join(f"{k}={v}" for k, v in card.get("options", {}).items())),
            ("samples measured", str(st.get("samples", 0)))]
    if st.get("samples"):
        objects, intensity = st["objects_per_sample"], st["intensity"]
        rows += [("foreground fraction", _range(st["foreground_fraction"], 4)),
                 ("objects per sample", f"mean {objects['mean']:.2f} (min {objects['min']}, "
                                        f"max {objects['max']}); in the volume: mean "
                                        f"{objects['visible_mean']:.2f}"),
                 ("intensity", f"mean {intensity['mean']:.3f}, zero fraction "
                               f"{intensity['zero_fraction']:.4f}")]
    return rows


def class_rows(card: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a card's class table (per task for multi-task labels)."""
    st = card.get("statistics", {})
    shares = st.get("class_voxel_share", {})
    if card.get("tasks"):
        rows = [[task, str(cid), name, f"{shares.get(task, {}).get(str(cid), 0.0):.4f}"]
                for task, names in card["tasks"].items() for name, cid in names.items()]
        return ["task", "id", "name", "foreground share"], rows
    per_class = st.get("samples_per_class")
    header = ["id", "name", "foreground share" if shares else "samples"]
    rows = []
    for entry in card.get("classes", []):
        cid = str(entry["id"])
        if shares:
            value = "" if cid == "0" else f"{shares.get('class', {}).get(cid, 0.0):.4f}"
        else:
            value = str((per_class or {}).get(cid, 0))
        rows.append([cid, str(entry["name"]), value])
    return header, rows


def _fill(table: QTableWidget, header: list[str], rows: list[list[str]]) -> None:
    table.clear()
    table.setColumnCount(len(header))
    table.setRowCount(len(rows))
    table.setHorizontalHeaderLabels(header)
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            item = QTableWidgetItem(text)
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            table.setItem(r, c, item)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)


class DatasetCardView(QWidget):
    """A dataset's card: statistics and classes beside the preview, and the card as written."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.card: DatasetCard | None = None
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.statistics = QTableWidget()
        self.statistics.verticalHeader().hide()
        self.classes = QTableWidget()
        self.classes.verticalHeader().hide()
        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        scroll = QScrollArea()
        scroll.setWidget(self.image)
        scroll.setWidgetResizable(True)
        tables = QSplitter(Qt.Orientation.Vertical)
        tables.addWidget(self.statistics)
        tables.addWidget(self.classes)
        summary = QSplitter(Qt.Orientation.Horizontal)
        summary.addWidget(tables)
        summary.addWidget(scroll)
        summary.setSizes([520, 420])
        self.markdown = QTextBrowser()
        self.markdown.setOpenExternalLinks(True)
        self.tabs = QTabWidget()
        self.tabs.addTab(summary, "Summary")
        self.tabs.addTab(self.markdown, "Card (dataset_card.md)")
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.tabs, 1)

    def show_folder(self, folder: str | Path) -> bool:
        """Show the card of the dataset in ``folder``; a folder without one gets a message."""
        try:
            card = read_card(Path(folder))
        except FdifError as err:
            self.card = None
            self.title.setText(f"<b>No dataset card to show.</b> {err}")
            self.tabs.setEnabled(False)
            for table in (self.statistics, self.classes):
                table.setRowCount(0)
            self.image.clear()
            self.markdown.clear()
            return False
        self.card = card
        self.tabs.setEnabled(True)
        self.title.setText(f"<b>{card.card.get('preset', {}).get('name', '')}</b> — "
                           f"{card.folder}")
        _fill(self.statistics, ["field", "value"],
              [list(row) for row in statistics_rows(card.card)])
        _fill(self.classes, *class_rows(card.card))
        pixmap = QPixmap()
        if card.preview_png is None or not pixmap.loadFromData(card.preview_png, "PNG"):
            self.image.setText("no preview image (dataset_card.png)")
        else:
            self.image.setPixmap(pixmap)
        self.markdown.setSearchPaths([str(card.folder)])
        self.markdown.setMarkdown(card.markdown)
        return True


class DatasetCardDialog(QDialog):
    """A window with one dataset's card (several may be open)."""

    def __init__(self, folder: str | Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Dataset card — {Path(folder).name}")
        self.resize(1000, 680)
        self.view = DatasetCardView()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view, 1)
        layout.addWidget(buttons)
        self.view.show_folder(folder)


def open_dataset_card(parent: QWidget, folder: str | Path | None = None) -> DatasetCardDialog | None:
    """Show a dataset folder's card in a new window (``folder`` asked for when not given)."""
    if folder is None:
        folder = QFileDialog.getExistingDirectory(parent, "Open a generated dataset folder")
        if not folder:
            return None
    dialog = DatasetCardDialog(folder, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog
