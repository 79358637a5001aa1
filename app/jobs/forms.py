"""Dialogs that launch jobs. They only collect options: the command line they show as you
type is exactly what runs (:mod:`app.jobs.commands`), and the CLI checks it."""

from __future__ import annotations

import os
import shlex
import time
from pathlib import Path
from typing import Any

from PyQt6.QtWidgets import (
    QAbstractButton,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.jobs.commands import BUILDERS, shell_line
from fdif_core.library import library_roots, user_root
from fdif_core.training.recipes import RECIPES

DEFAULT_PRESET = "quick"
DEFAULT_SAMPLES = 20
DEFAULT_VAL_SAMPLES = 4
MODELS = ("swin_unetr", "unetr", "vnet", "unet")  # fdif_core.training.config.MODELS


def cuda_available() -> bool:
    """Whether torch sees a GPU (the device and recipe the forms start with)."""
    import torch

    return bool(torch.cuda.is_available())


def default_workers() -> int:
    """``min(2, cores)``: a generation that leaves the studio a core."""
    return min(2, os.cpu_count() or 1)


def preset_names() -> list[str]:
    """Built-in and user presets, by name."""
    names: list[str] = []
    for root in library_roots():
        names += [p.stem for p in sorted((root / "presets").glob("*.toml")) if p.stem not in names]
    return names


def default_folder(group: str, label: str, stamp: str) -> str:
    """A new folder under the user data folder: ``<group>/<label>-<stamp>``."""
    stem = Path(label).stem if label.endswith((".toml", ".fdifbundle")) else label
    return str(user_root() / group / f"{stem or 'job'}-{stamp}")


def absolute(path: str) -> str:
    """A typed path as the job process needs it: ``~`` expanded, relative to the studio's
    working folder made absolute (empty stays empty)."""
    return str(Path(path).expanduser().absolute()) if path else ""


def preset_argument(text: str) -> str:
    """A preset name as it is, a preset file as an absolute path."""
    is_file = text.endswith((".toml", ".fdifbundle")) or os.sep in text
    return absolute(text) if is_file else text


class OptionalSpin(QSpinBox):
    """A spin box whose lowest value means "not set" (the CLI's default applies)."""

    def __init__(self, unset: str, low: int, high: int, value: int | None = None) -> None:
        super().__init__()
        self.setRange(low - 1, high)
        self.setSpecialValueText(unset)
        self.setValue(low - 1 if value is None else value)

    def option(self) -> int | None:
        return None if self.value() == self.minimum() else self.value()


class PathField(QWidget):
    """A path typed or picked (``mode``: ``dir``, ``file`` or ``save``)."""

    def __init__(self, mode: str, caption: str, filters: str = "") -> None:
        super().__init__()
        self.mode, self.caption, self.filters = mode, caption, filters
        self.edit = QLineEdit()
        browse = QToolButton()
        browse.setText("Browse…")
        browse.clicked.connect(self.browse)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        row.addWidget(browse)

    def text(self) -> str:
        return self.edit.text().strip()

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        self.edit.setText(text)

    def browse(self) -> None:
        if self.mode == "dir":
            path = QFileDialog.getExistingDirectory(self, self.caption, self.text())
        else:
            path = QFileDialog.getOpenFileName(self, self.caption, self.text(), self.filters)[0]
        if path:
            self.edit.setText(path)


class PresetField(QWidget):
    """A preset: a library name from the list, or a file picked."""

    def __init__(self, preset: str) -> None:
        super().__init__()
        self.combo = QComboBox()
        self.combo.setEditable(True)
        self.combo.addItems(preset_names())
        self.combo.setCurrentText(preset)
        browse = QToolButton()
        browse.setText("File…")
        browse.clicked.connect(self.browse)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.combo, 1)
        row.addWidget(browse)

    def text(self) -> str:
        return self.combo.currentText().strip()

    def browse(self) -> None:
        path = QFileDialog.getOpenFileName(self, "Preset", "",
                                           "Presets (*.toml *.fdifbundle)")[0]
        if path:
            self.combo.setCurrentText(path)


def _choice(items: list[tuple[str, Any]], current: Any = None) -> QComboBox:
    combo = QComboBox()
    for text, data in items:
        combo.addItem(text, data)
    index = combo.findData(current)
    combo.setCurrentIndex(max(index, 0))
    return combo


class JobForm(QDialog):
    """The common part of the launch dialogs: fields, the command line, Run in parallel."""

    kind = ""
    title = ""
    folder_group = "runs"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.title)
        self.setMinimumWidth(620)
        self.form = QFormLayout()
        self.parallel = QCheckBox("Run in parallel (start now, do not wait for the queue)")
        self.command = QLineEdit()
        self.command.setReadOnly(True)
        self.problem = QLabel()
        self.problem.setStyleSheet("color: #ff6b6b;")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.start_button.setText("Start")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.parallel)
        layout.addWidget(QLabel("Command (what runs; copy it to run the job elsewhere):"))
        layout.addWidget(self.command)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self._default_out = ""  # the output folder the form proposed last
        self._stamp = time.strftime("%Y%m%d-%H%M%S")

    @property
    def start_button(self) -> QAbstractButton:
        return self.buttons.button(QDialogButtonBox.StandardButton.Ok)

    def _watch(self) -> None:
        """Refresh the command line whenever any field changes."""
        for edit in self.findChildren(QLineEdit):
            if edit is not self.command:
                edit.textChanged.connect(self.refresh)
        for spin in self.findChildren(QSpinBox):
            spin.valueChanged.connect(self.refresh)
        for combo in self.findChildren(QComboBox):
            combo.currentIndexChanged.connect(self.refresh)
        for box in self.findChildren(QAbstractButton):
            if box.isCheckable():
                box.toggled.connect(self.refresh)
        self.refresh()

    def extra_arguments(self) -> list[str] | None:
        """The "more arguments" field split as a shell would (``None`` when it does not
        parse)."""
        try:
            return shlex.split(self.extra.text())
        except ValueError:
            return None

    # -- what subclasses give: options() (the job's options for its argv builder), missing()
    # (what must be filled in before the job can start, "" when nothing) and source() (the
    # preset or dataset shown in the job's row) ------------------------------------------------
    def default_label(self) -> str:
        """Names the default output folder."""
        return self.source()

    # -- derived ---------------------------------------------------------------------------------
    def argv(self) -> list[str]:
        """The ``fdif`` arguments of the job (without ``--json``)."""
        return BUILDERS[self.kind](self.options())

    def refresh(self) -> None:
        if self.out.text() in ("", self._default_out):  # not chosen by the user: follow
            self._default_out = default_folder(self.folder_group, self.default_label(),
                                               self._stamp)
            self.out.edit.blockSignals(True)
            self.out.setText(self._default_out)
            self.out.edit.blockSignals(False)
        problem = self.missing()
        if not problem and self.extra_arguments() is None:
            problem = "More arguments: unbalanced quotes"
        self.problem.setText(problem)
        self.start_button.setEnabled(not problem)
        self.command.setText("" if problem else shell_line(self.argv()))
        self.command.setCursorPosition(0)


class GenerateForm(JobForm):
    """``fdif generate``: a dataset from a preset."""

    kind, title, folder_group = "generate", "New Generation Job", "datasets"

    def __init__(self, preset: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        gpu = cuda_available()
        self.preset = PresetField(preset or DEFAULT_PRESET)
        self.format = _choice([("the preset's (usually decathlon)", None),
                               ("decathlon (MONAI)", "decathlon"), ("nnU-Net v2", "nnunet"),
                               ("classification", "classification")])
        self.num_samples = QSpinBox()
        self.num_samples.setRange(1, 10_000_000)
        self.num_samples.setValue(DEFAULT_SAMPLES)
        self.num_val_samples = OptionalSpin("the preset's", 0, 1_000_000, DEFAULT_VAL_SAMPLES)
        self.workers = QSpinBox()
        self.workers.setRange(1, max(64, os.cpu_count() or 1))
        self.workers.setValue(default_workers())
        self.device = _choice([("CPU", "cpu"), ("CUDA GPU", "cuda")], "cuda" if gpu else "cpu")
        self.shard_index, self.shard_count = QSpinBox(), QSpinBox()
        self.shard_index.setRange(0, 9999)
        self.shard_count.setRange(1, 10000)
        shard = QWidget()
        row = QHBoxLayout(shard)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.shard_index)
        row.addWidget(QLabel("of"))
        row.addWidget(self.shard_count)
        self.seed = OptionalSpin("the preset's", 0, 2**31 - 1)
        self.dataset_id = QSpinBox()
        self.dataset_id.setRange(1, 998)
        self.dataset_id.setValue(998)
        self.out = PathField("dir", "Dataset folder")
        self.extra = QLineEdit()
        self.extra.setPlaceholderText("e.g. --compression 3 --label-dtype uint8")
        for label, widget in (("Preset", self.preset), ("Format", self.format),
                              ("Training samples", self.num_samples),
                              ("Validation samples", self.num_val_samples),
                              ("Workers", self.workers), ("Device", self.device),
                              ("Shard (k of n)", shard), ("Dataset seed", self.seed),
                              ("nnU-Net dataset id", self.dataset_id),
                              ("Output folder", self.out), ("More arguments", self.extra)):
            self.form.addRow(label, widget)
        self.format.currentIndexChanged.connect(
            lambda: self.dataset_id.setEnabled(self.format.currentData() == "nnunet"))
        self.dataset_id.setEnabled(False)
        self._watch()

    def options(self) -> dict[str, Any]:
        count = self.shard_count.value()
        return {"preset": preset_argument(self.preset.text()), "out": absolute(self.out.text()),
                "format": self.format.currentData(), "num_samples": self.num_samples.value(),
                "num_val_samples": self.num_val_samples.option(),
                "workers": self.workers.value(), "device": self.device.currentData(),
                "seed": self.seed.option(), "dataset_id": self.dataset_id.value(),
                "shard": (self.shard_index.value(), count) if count > 1 else None,
                "extra": self.extra_arguments() or []}

    def missing(self) -> str:
        if not self.preset.text():
            return "Choose a preset"
        if not self.out.text():
            return "Choose an output folder"
        if self.shard_count.value() > 1 and self.shard_index.value() >= self.shard_count.value():
            return "Shard: k must be below n"
        return ""

    def source(self) -> str:
        return self.preset.text()


class _TrainingForm(JobForm):
    """The knobs ``fdif train`` and ``fdif finetune`` share."""

    def _add_knobs(self) -> None:
        gpu = cuda_available()
        self.recipe = _choice([(f"{r.name}: {r.summary}", r.name) for r in RECIPES.values()],
                              "paper" if gpu else "smoke")
        self.model = _choice([("the recipe's", None)] + [(m, m) for m in MODELS])
        self.crop_size = OptionalSpin("the recipe's", 8, 512)
        self.crop_size.setSingleStep(8)
        self.max_steps = OptionalSpin("the recipe's", 1, 10_000_000)
        self.batch_size = OptionalSpin("the recipe's", 1, 1024)
        self.val_samples = OptionalSpin("the recipe's", 0, 100_000)
        self.val_every = OptionalSpin("the recipe's", 0, 10_000_000)
        self.log_every = OptionalSpin("the recipe's", 1, 10_000_000)
        self.device = _choice([("CPU", "cpu"), ("CUDA GPU", "cuda"), ("auto", "auto")],
                              "cuda" if gpu else "cpu")
        self.out = PathField("dir", "Run folder")
        self.extra = QLineEdit()
        self.extra.setPlaceholderText("e.g. --unet-channels 8 16 32 --unet-strides 2 2")
        for label, widget in (("Recipe", self.recipe), ("Model", self.model),
                              ("Crop size (voxels)", self.crop_size),
                              ("Max steps", self.max_steps), ("Batch size", self.batch_size),
                              ("Validation volumes", self.val_samples),
                              ("Validate every (steps)", self.val_every),
                              ("Log every (steps)", self.log_every), ("Device", self.device),
                              ("Run folder", self.out), ("More arguments", self.extra)):
            self.form.addRow(label, widget)

    def knobs(self) -> dict[str, Any]:
        return {"recipe": self.recipe.currentData(), "model": self.model.currentData(),
                "crop_size": self.crop_size.option(), "max_steps": self.max_steps.option(),
                "batch_size": self.batch_size.option(), "val_samples": self.val_samples.option(),
                "val_every": self.val_every.option(), "log_every": self.log_every.option(),
                "device": self.device.currentData(), "out": absolute(self.out.text()),
                "extra": self.extra_arguments() or []}


class TrainForm(_TrainingForm):
    """``fdif train``: pre-training on a preset's on-the-fly stream or a generated dataset."""

    kind, title = "train", "New Training Job"

    def __init__(self, preset: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.use_stream = QRadioButton("the on-the-fly stream of a preset")
        self.use_dataset = QRadioButton("a generated dataset (its data.json)")
        self.use_stream.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.use_stream)
        group.addButton(self.use_dataset)
        self.preset = PresetField(preset or DEFAULT_PRESET)
        self.data = PathField("file", "Dataset list", "Dataset lists (*.json)")
        self.form.addRow("Train on", self.use_stream)
        self.form.addRow("Preset", self.preset)
        self.form.addRow("", self.use_dataset)
        self.form.addRow("data.json", self.data)
        self._add_knobs()
        self.use_stream.toggled.connect(self._sync_source)
        self._sync_source()
        self._watch()

    def _sync_source(self) -> None:
        self.preset.setEnabled(self.use_stream.isChecked())
        self.data.setEnabled(not self.use_stream.isChecked())

    def options(self) -> dict[str, Any]:
        stream = self.use_stream.isChecked()
        return {**self.knobs(), "preset": preset_argument(self.preset.text()) if stream else None,
                "data": None if stream else absolute(self.data.text())}

    def missing(self) -> str:
        if self.use_stream.isChecked() and not self.preset.text():
            return "Choose a preset"
        if self.use_dataset.isChecked() and not self.data.text():
            return "Choose a dataset's data.json"
        return "" if self.out.text() else "Choose a run folder"

    def source(self) -> str:
        return self.preset.text() if self.use_stream.isChecked() else self.data.text()

    def default_label(self) -> str:
        label = self.source()
        return Path(label).parent.parent.name if label.endswith(".json") else label


class FinetuneForm(_TrainingForm):
    """``fdif finetune``: a pre-trained checkpoint trained further on a dataset."""

    kind, title = "finetune", "New Fine-tuning Job"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data = PathField("file", "Dataset list", "Dataset lists (*.json)")
        self.checkpoint = PathField("file", "Pre-trained checkpoint", "Checkpoints (*.pth)")
        self.form.addRow("data.json", self.data)
        self.form.addRow("Checkpoint", self.checkpoint)
        self._add_knobs()
        self._watch()

    def options(self) -> dict[str, Any]:
        return {**self.knobs(), "data": absolute(self.data.text()),
                "checkpoint": absolute(self.checkpoint.text())}

    def missing(self) -> str:
        if not self.data.text():
            return "Choose a dataset's data.json"
        if not self.checkpoint.text():
            return "Choose the pre-trained checkpoint (.pth)"
        return "" if self.out.text() else "Choose a run folder"

    def source(self) -> str:
        return self.data.text()

    def default_label(self) -> str:
        return "finetune-" + (Path(self.data.text()).parent.parent.name or "run")


FORMS = {"generate": GenerateForm, "train": TrainForm, "finetune": FinetuneForm}
