"""The Jobs dock: the job list with progress, and the selected job's log, command line and
training curves; buttons to launch, cancel, resume and open what a job made."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PyQt6.QtCore import QSize, Qt, QUrl
from PyQt6.QtGui import QColor, QDesktopServices, QGuiApplication
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.jobs.curves import TrainingCurves
from app.jobs.forms import FORMS, JobForm
from app.jobs.manager import Job, JobManager
from app.jobs.store import JobStore
from app.panels.dataset_card import DatasetCardDialog, open_dataset_card

COLUMNS = ("Kind", "Preset / data", "State", "Progress", "Message")
KIND_NAMES = {"generate": "generation", "train": "training", "finetune": "fine-tuning"}
STATE_COLOURS = {"failed": "#ff6b6b", "ended": "#ff6b6b", "cancelled": "#f0c674",
                 "cancelling": "#f0c674", "done": "#7fd37f"}
STREAM_PREFIX = {"event": "", "stderr": "stderr │ ", "studio": ""}


class JobsPanel(QWidget):
    """The Jobs dock's widget.

    Parameters
    ----------
    preset_source : callable, optional
        Returns the preset new jobs start from (a name or a ``.toml`` path), or ``None``
        (then ``quick``); the forms let the user change it.
    store : JobStore, optional
        Where job folders go (default: the user data folder's ``jobs``).
    restore : bool
        List again the jobs an earlier studio left running.
    """

    def __init__(self, preset_source: Callable[[], str | None] | None = None,
                 store: JobStore | None = None, restore: bool = True,
                 grace_s: float | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.preset_source = preset_source or (lambda: None)
        kwargs = {} if grace_s is None else {"grace_s": grace_s}
        self.manager = JobManager(store, parent=self, **kwargs)
        self.form: JobForm | None = None
        self.cards: list[DatasetCardDialog] = []
        self._rows: list[str] = []
        self._build()
        self.manager.added.connect(self._add_row)
        self.manager.changed.connect(self._update_row)
        self.manager.logged.connect(self._append_log)
        self.manager.removed.connect(self._remove_row)
        self.table.itemSelectionChanged.connect(self._show_selected)
        if restore:
            self.manager.restore()
        self._sync_buttons()

    # -- layout -------------------------------------------------------------------------------
    def _button(self, text: str, tip: str, slot: Callable[[], object]) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        button.setAutoRaise(True)
        button.clicked.connect(lambda _=False: slot())
        return button

    def _build(self) -> None:
        self.buttons = {
            "generate": self._button("Generate…", "New generation job (fdif generate)",
                                     lambda: self.new_job("generate")),
            "train": self._button("Train…", "New training job (fdif train)",
                                  lambda: self.new_job("train")),
            "finetune": self._button("Fine-tune…", "New fine-tuning job (fdif finetune)",
                                     lambda: self.new_job("finetune")),
            "cancel": self._button("Cancel", "Stop the job (SIGINT; killed after "
                                   f"{self.manager.grace_s:g} s); a queued job leaves the queue",
                                   self.cancel_selected),
            "resume": self._button("Resume", "Run the job again into its folder: it continues "
                                   "from its manifest or checkpoint", self.resume_selected),
            "folder": self._button("Open Folder", "Open the job's output folder",
                                   self.open_folder),
            "card": self._button("Dataset Card", "Show the generated dataset's card",
                                 self.open_card),
            "remove": self._button("Remove", "Take the job off the list (its files stay)",
                                   self.remove_selected)}
        bar = QToolBar()
        bar.setIconSize(QSize(0, 0))
        for key, button in self.buttons.items():
            bar.addWidget(button)
            if key == "finetune":
                bar.addSeparator()
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setMinimumHeight(48)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for column, width in enumerate((80, 150, 80, 300)):
            self.table.setColumnWidth(column, width)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.table)
        splitter.addWidget(self._build_details())
        splitter.setSizes([700, 500])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(2)
        layout.addWidget(bar)
        layout.addWidget(splitter, 1)

    def _build_details(self) -> QWidget:
        self.command = QLineEdit()
        self.command.setReadOnly(True)
        self.torchrun = QLineEdit()
        self.torchrun.setReadOnly(True)
        self.nproc = QSpinBox()
        self.nproc.setRange(1, 64)
        self.nproc.setValue(2)
        self.nproc.setPrefix("GPUs ")
        self.nproc.valueChanged.connect(lambda _n: self._show_commands())
        self.copy_command = self._button("Copy", "Copy the command line",
                                         lambda: self.copy(self.command.text()))
        self.copy_torchrun = self._button("Copy", "Copy the torchrun command line",
                                          lambda: self.copy(self.torchrun.text()))
        commands = QWidget()
        rows = QVBoxLayout(commands)
        for label, edit, extra in (("fdif", self.command, (self.copy_command,)),
                                   ("torchrun", self.torchrun, (self.nproc, self.copy_torchrun))):
            row = QHBoxLayout()
            row.addWidget(QLabel(label))
            row.addWidget(edit, 1)
            for widget in extra:
                row.addWidget(widget)
            rows.addLayout(row)
        rows.addStretch(1)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.curves = TrainingCurves()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.log, "Log")
        self.tabs.addTab(self.curves, "Curves")
        self.tabs.addTab(commands, "Command Line")
        # the dock shares the bottom with Messages and History: keep it as short as they are
        # (the curves' plots would otherwise raise the window's minimum height by 120 px)
        self.tabs.setMinimumHeight(48)
        return self.tabs

    # -- the list -----------------------------------------------------------------------------
    def row_of(self, job: Job) -> int:
        return self._rows.index(job.id)

    def selected(self) -> Job | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return self.manager.jobs.get(self._rows[rows[0].row()])

    def select(self, job: Job) -> None:
        self.table.selectRow(self.row_of(job))

    def _add_row(self, job: Job) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        self._rows.append(job.id)
        for column in range(len(COLUMNS)):
            self.table.setItem(row, column, QTableWidgetItem())
        bar = QProgressBar()
        bar.setTextVisible(True)
        self.table.setCellWidget(row, 3, bar)
        self._update_row(job)
        self.select(job)

    def progress_bar(self, job: Job) -> QProgressBar:
        return self.table.cellWidget(self.row_of(job), 3)

    def row_texts(self, job: Job) -> list[str]:
        """What the job's row shows, column by column (the progress bar's text in column 3)."""
        row = self.row_of(job)
        return [self.progress_bar(job).text() if c == 3 else self.table.item(row, c).text()
                for c in range(len(COLUMNS))]

    def _update_row(self, job: Job) -> None:
        if job.id not in self._rows:
            return
        row, progress, record = self.row_of(job), job.progress, job.record
        message = record.message if record.state in ("failed", "ended", "cancelled") else \
            progress.warning
        texts = (KIND_NAMES.get(job.kind, job.kind), Path(record.source).name or record.source,
                 record.state, None, message)
        for column, text in enumerate(texts):
            if text is None:
                continue
            item = self.table.item(row, column)
            item.setText(text)
            item.setToolTip(record.source if column == 1 else text)
        colour = STATE_COLOURS.get(record.state)
        for column in (2, 4):
            self.table.item(row, column).setForeground(QColor(colour) if colour else QColor())
        bar = self.progress_bar(job)
        total, done = progress.total or 0, progress.done or 0
        bar.setRange(0, max(total, 1))
        bar.setValue(total if record.state == "done" and total else min(done, max(total, 1)))
        bar.setFormat(progress.summary().replace("%", "%%") if total or progress.phase
                      else record.state)
        if job is self.selected():
            self._show_curves(job)
            self._sync_buttons()

    def _remove_row(self, job: Job) -> None:
        row = self._rows.index(job.id)
        self._rows.pop(row)
        self.table.removeRow(row)
        self._show_selected()

    # -- the selected job ---------------------------------------------------------------------
    def _show_selected(self) -> None:
        job = self.selected()
        self.log.setPlainText("" if job is None else "\n".join(
            STREAM_PREFIX[stream] + text for stream, text in job.log))
        self.log.moveCursor(self.log.textCursor().MoveOperation.End)
        self._show_commands()
        self._show_curves(job)
        self._sync_buttons()

    def _append_log(self, job: Job, lines: list[tuple[str, str]]) -> None:
        if job is self.selected():
            for stream, text in lines:
                self.log.appendPlainText(STREAM_PREFIX[stream] + text)

    def _show_commands(self) -> None:
        job = self.selected()
        training = job is not None and job.kind in ("train", "finetune")
        self.command.setText("" if job is None else job.command_line())
        self.torchrun.setText(job.torchrun_line(self.nproc.value()) if training else "")
        for widget in (self.torchrun, self.nproc, self.copy_torchrun):
            widget.setEnabled(training)
        self.copy_command.setEnabled(job is not None)
        self.command.setCursorPosition(0)
        self.torchrun.setCursorPosition(0)

    def _show_curves(self, job: Job | None) -> None:
        training = job is not None and job.kind in ("train", "finetune")
        self.tabs.setTabEnabled(1, training)
        if training:
            self.curves.show_points(job.progress.loss, job.progress.dice)

    def _sync_buttons(self) -> None:
        job = self.selected()
        state = job.state if job else ""
        self.buttons["cancel"].setEnabled(state in ("queued", "running", "cancelling"))
        self.buttons["resume"].setEnabled(state in ("failed", "cancelled", "ended"))
        self.buttons["folder"].setEnabled(job is not None and job.out.is_dir())
        self.buttons["card"].setEnabled(job is not None and job.kind == "generate"
                                        and state == "done")
        self.buttons["remove"].setEnabled(job is not None and not job.active)

    # -- commands -----------------------------------------------------------------------------
    def new_job(self, kind: str) -> JobForm:
        """Open the launch form for ``kind`` (generate, train, finetune); Start queues it."""
        preset = self.preset_source() or None
        form = FORMS[kind](parent=self) if kind == "finetune" else FORMS[kind](preset, self)
        form.accepted.connect(lambda: self.submit(form))
        form.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        form.destroyed.connect(lambda _=None: setattr(self, "form", None))
        self.form = form
        form.open()
        return form

    def submit(self, form: JobForm) -> Job:
        """Queue the job a form describes."""
        job = self.manager.submit(form.kind, form.argv(), form.options()["out"], form.source(),
                                  form.parallel.isChecked())
        self.select(job)
        return job

    def cancel_selected(self) -> None:
        if (job := self.selected()) is not None:
            self.manager.cancel(job)

    def resume_selected(self) -> None:
        if (job := self.selected()) is not None:
            self.manager.resume(job)

    def remove_selected(self) -> None:
        if (job := self.selected()) is not None:
            self.manager.remove(job)

    def open_folder(self) -> None:
        if (job := self.selected()) is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(job.out)))

    def open_card(self) -> DatasetCardDialog | None:
        """Show the selected (finished) generation's dataset card."""
        job = self.selected()
        return None if job is None else self.open_dataset(str(job.out))

    def open_dataset(self, folder: str | None = None) -> DatasetCardDialog | None:
        """Show a dataset folder's card (asked for when not given)."""
        dialog = open_dataset_card(self.window(), folder)
        if dialog is not None:
            self.cards.append(dialog)
            dialog.destroyed.connect(lambda _=None, d=dialog: self.cards.remove(d))
        return dialog

    @staticmethod
    def copy(text: str) -> None:
        QGuiApplication.clipboard().setText(text)

    # -- closing ------------------------------------------------------------------------------
    def ask_close(self, running: int, queued: int) -> str:
        """Ask what to do with running jobs: ``stop``, ``leave`` or ``cancel``."""
        box = QMessageBox(QMessageBox.Icon.Question, "Jobs are running",
                          f"{running} job{'s' if running != 1 else ''} still running"
                          + (f", {queued} queued" if queued else "") + ".", parent=self)
        box.setInformativeText("Stop them (they can be resumed later), or leave them running "
                               "on their own: the studio finds them again when it starts."
                               + (" Queued jobs do not start." if queued else ""))
        stop = box.addButton("Stop Them", QMessageBox.ButtonRole.DestructiveRole)
        leave = box.addButton("Leave Them Running", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        return "stop" if box.clickedButton() is stop else \
            "leave" if box.clickedButton() is leave else "cancel"

    def confirm_close(self) -> bool:
        """Whether the studio may close; asks first when jobs run (and stops them if told)."""
        running, queued = self.manager.active(), self.manager.queued()
        if not running and not queued:
            return True
        if not running:
            for job in queued:
                self.manager.cancel(job)
            return True
        answer = self.ask_close(len(running), len(queued))
        if answer == "cancel":
            return False
        if answer == "stop":
            self.manager.stop_all()
        for job in self.manager.queued():
            self.manager.cancel(job)
        return True

    def shutdown(self) -> None:
        """Stop following the jobs (those running keep running)."""
        self.manager.shutdown()
