"""The Jobs panel as a person uses it: launch from the forms, watch progress, cancel, resume,
a failing job, a training job's curves, closing with running jobs, finding jobs again, and the
dataset card of a finished generation."""

from __future__ import annotations

import contextlib
import json
import os
import signal
from pathlib import Path

import pytest
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QApplication

from app.jobs.panel import JobsPanel
from app.jobs.process import is_running
from app.jobs.store import JobStore
from app.panels.dataset_card import DatasetCardView
from fdif_core.cli import main as fdif
from tests.core.datasets_util import folder_bytes

FIXTURES = Path(__file__).parents[1] / "core" / "fixtures"
TINY = FIXTURES / "train_tiny.toml"


def _kill_leftovers(manager) -> None:
    """No job process outlives a test."""
    for job in manager.jobs.values():
        pid = job.record.pid
        if pid and is_running(pid):
            os.killpg(pid, signal.SIGKILL)
        if pid:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


@pytest.fixture
def panel(qtbot, tmp_path):
    widget = JobsPanel(store=JobStore(tmp_path / "jobs"), restore=False, grace_s=5.0)
    qtbot.addWidget(widget)
    widget.resize(1300, 500)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    _kill_leftovers(widget.manager)
    widget.shutdown()


def slow_preset(folder: Path) -> Path:
    """``train_tiny`` at 128³ with 12 objects: about 0.2 s a sample here, slow enough to
    cancel half way."""
    text = TINY.read_text().replace("grid = [24, 24, 24]", "grid = [128, 128, 128]")
    text = text.replace("objects = [2, 3]", "objects = [12, 12]")
    path = folder / "slow_tiny.toml"
    path.write_text(text.replace('name = "train_tiny"', 'name = "slow_tiny"'))
    return path


def start_from_form(panel, qtbot, kind: str, fill) -> object:
    """Click the launch button, fill the form, click Start; the new job."""
    qtbot.mouseClick(panel.buttons[kind], Qt.MouseButton.LeftButton)
    form = panel.form
    assert form.isVisible()
    fill(form)
    assert form.start_button.isEnabled(), form.problem.text()
    before = set(panel.manager.jobs)
    qtbot.mouseClick(form.start_button, Qt.MouseButton.LeftButton)
    (new,) = set(panel.manager.jobs) - before
    return panel.manager.jobs[new]


def test_generation_runs_cancels_resumes_identically_and_shows_its_card(panel, qtbot, tmp_path,
                                                                       monkeypatch):
    preset, out = slow_preset(tmp_path), tmp_path / "a"

    def fill(form):
        assert (form.num_samples.value(), form.workers.value()) == (20, min(2, os.cpu_count()))
        assert form.device.currentData() == "cpu" and form.preset.text() == "quick"
        form.preset.combo.setCurrentText(str(preset))
        form.num_samples.setValue(6)
        form.num_val_samples.setValue(0)
        form.workers.setValue(1)
        form.out.edit.setText(str(out))

    job = start_from_form(panel, qtbot, "generate", fill)
    assert job.record.argv == ["generate", "--preset", str(preset), "--out", str(out),
                               "--num-samples", "6", "--num-val-samples", "0", "--workers", "1",
                               "--device", "cpu"]
    assert panel.command.text() == "fdif " + " ".join(job.record.argv)

    # freeze the job once a sample is written, so the cancel below lands half way
    def written() -> bool:
        return job.progress.phase == "generate" and (job.progress.done or 0) >= 1 \
            and bool(list((out / "data" / "image").rglob("*.nii.gz")))

    frozen = []

    def freeze(changed):
        if changed is job and job.state == "running" and written():
            os.killpg(job.record.pid, signal.SIGSTOP)
            panel.manager.changed.disconnect(freeze)
            frozen.append(job.record.pid)
    panel.manager.changed.connect(freeze)
    qtbot.waitUntil(lambda: bool(frozen), timeout=30000)
    bar = panel.progress_bar(job)
    assert bar.value() >= 1 and bar.maximum() == 6 and "/6 samples" in bar.text()
    assert job.progress.done < 6, "the run finished before it could be cancelled"
    assert list((out / "data" / "image").rglob("*.nii.gz"))

    qtbot.mouseClick(panel.buttons["cancel"], Qt.MouseButton.LeftButton)
    assert job.state == "cancelling"
    os.killpg(job.record.pid, signal.SIGCONT)
    qtbot.waitUntil(lambda: job.state == "cancelled", timeout=15000)
    assert not is_running(job.record.pid)
    assert panel.row_texts(job)[2] == "cancelled"
    assert json.loads((out / "manifest.json").read_text())["finished"] is False
    assert not (out / "data" / "data.json").exists()

    assert panel.buttons["resume"].isEnabled()
    qtbot.mouseClick(panel.buttons["resume"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: job.state == "done", timeout=60000)
    assert panel.row_texts(job)[2] == "done" and bar.value() == bar.maximum()  # the card's files
    assert "dataset complete" in panel.log.toPlainText()
    reference = tmp_path / "reference"
    assert fdif(["generate", "--preset", str(preset), "--out", str(reference), "--num-samples",
                 "6", "--num-val-samples", "0", "--workers", "1"]) == 0
    assert folder_bytes(out) == folder_bytes(reference)

    opened = []
    monkeypatch.setattr("app.jobs.panel.QDesktopServices.openUrl", opened.append)
    qtbot.mouseClick(panel.buttons["folder"], Qt.MouseButton.LeftButton)
    assert [url.toLocalFile() for url in opened] == [str(out)]
    assert panel.buttons["card"].isEnabled()
    qtbot.mouseClick(panel.buttons["card"], Qt.MouseButton.LeftButton)
    view = panel.cards[-1].view
    rows = {view.statistics.item(r, 0).text(): view.statistics.item(r, 1).text()
            for r in range(view.statistics.rowCount())}
    card = json.loads((out / "dataset_card.json").read_text())
    assert rows["samples measured"] == "6" and rows["preset"].startswith("slow_tiny")
    fg = card["statistics"]["foreground_fraction"]
    assert rows["foreground fraction"] == (f"mean {fg['mean']:.4f} (min {fg['min']:.4f}, "
                                           f"max {fg['max']:.4f})")
    assert view.classes.rowCount() == len(card["classes"]) == 5
    image = view.image.pixmap().toImage()
    assert not image.isNull() and image.width() > 100
    assert "Measured statistics" in view.markdown.toPlainText()
    panel.cards[-1].close()


def test_training_job_draws_its_curves_and_writes_a_checkpoint(panel, qtbot, tmp_path):
    run = tmp_path / "run"

    def fill(form):
        assert form.recipe.currentData() == "smoke"  # no GPU here
        form.preset.combo.setCurrentText(str(TINY))
        form.model.setCurrentIndex(form.model.findData("unet"))
        form.crop_size.setValue(16)
        form.max_steps.setValue(6)
        form.val_samples.setValue(1)
        form.val_every.setValue(3)
        form.log_every.setValue(1)
        form.extra.setText("--unet-channels 4 8 --unet-strides 2 --unet-res-units 0 "
                           "--crops-per-volume 1 --warmup-steps 0 --no-plot --threads 1")
        form.out.edit.setText(str(run))

    job = start_from_form(panel, qtbot, "train", fill)
    assert job.record.argv[:18] == [
        "train", "--preset", str(TINY), "--recipe", "smoke", "--model", "unet", "--crop-size",
        "16", "16", "16", "--max-steps", "6", "--val-samples", "1", "--val-every", "3",
        "--log-every"]
    assert panel.torchrun.text().startswith(
        f"torchrun --nproc_per_node=2 -m fdif_core.cli train --preset {TINY} --recipe smoke")
    qtbot.mouseClick(panel.copy_torchrun, Qt.MouseButton.LeftButton)
    assert QApplication.clipboard().text() == panel.torchrun.text()
    qtbot.waitUntil(lambda: job.record.final, timeout=90000)
    assert job.state == "done", panel.log.toPlainText()
    assert panel.curves.points() == (6, 2)
    assert [step for step, _ in job.progress.dice] == [3, 6]
    assert (run / "training_checkpoint.pth").is_file() and (run / "best_metric_model.pth").is_file()


def test_a_failing_job_shows_its_error_and_the_panel_stays_usable(panel, qtbot, tmp_path):
    def fill(form):
        form.preset.combo.setCurrentText(str(TINY))
        form.num_samples.setValue(2)
        form.workers.setValue(1)
        form.out.edit.setText("/dev/null/x")

    job = start_from_form(panel, qtbot, "generate", fill)
    qtbot.waitUntil(lambda: job.record.final, timeout=30000)
    assert job.state == "failed"
    message = panel.row_texts(job)[4]
    assert "/dev/null/x" in message and "Not a directory" in message
    assert f"error: {message}" in panel.log.toPlainText()
    assert panel.buttons["resume"].isEnabled() and panel.buttons["remove"].isEnabled()
    qtbot.mouseClick(panel.buttons["remove"], Qt.MouseButton.LeftButton)
    assert panel.table.rowCount() == 0 and not panel.manager.jobs


def _long_generation(panel, qtbot, out: Path):
    job = panel.manager.submit("generate", ["generate", "--preset", "paper", "--out", str(out),
                                            "--num-samples", "500", "--workers", "1"],
                               str(out), "paper")
    qtbot.waitUntil(lambda: job.progress.phase == "generate" and (job.progress.done or 0) >= 1,
                    timeout=30000)
    return job


def test_jobs_queue_one_after_another_unless_run_in_parallel(panel, qtbot, tmp_path):
    def job(name: str, parallel: bool = False):
        def fill(form):
            form.preset.combo.setCurrentText("paper")
            form.num_samples.setValue(500)
            form.workers.setValue(1)
            form.out.edit.setText(str(tmp_path / name))
            form.parallel.setChecked(parallel)
        return start_from_form(panel, qtbot, "generate", fill)

    first, second, third = job("a"), job("b"), job("c", parallel=True)
    assert [first.state, second.state, third.state] == ["running", "queued", "running"]
    assert panel.row_texts(second)[2:4] == ["queued", "queued"]
    panel.select(first)
    qtbot.mouseClick(panel.buttons["cancel"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: second.state == "running", timeout=15000)
    assert first.state == "cancelled" and not is_running(first.record.pid)
    for running in (second, third):
        panel.manager.cancel(running)
    qtbot.waitUntil(lambda: second.record.final and third.record.final, timeout=15000)
    assert not is_running(second.record.pid) and not is_running(third.record.pid)


def test_a_new_studio_finds_a_running_job_again(panel, qtbot, tmp_path):
    job = _long_generation(panel, qtbot, tmp_path / "long")
    panel.shutdown()  # the studio closes, the job runs on
    again = JobsPanel(store=panel.manager.store, restore=True, grace_s=5.0)
    qtbot.addWidget(again)
    try:
        (found,) = again.manager.jobs.values()
        assert found.id == job.id and found.state == "running"
        assert (found.progress.done or 0) >= 1 and found.progress.total == 600
        assert again.row_texts(found)[2] == "running"
        again.select(found)
        qtbot.mouseClick(again.buttons["cancel"], Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: found.state == "cancelled", timeout=15000)
        assert not is_running(job.record.pid)
    finally:
        _kill_leftovers(again.manager)
        again.shutdown()


def test_closing_the_studio_asks_about_running_jobs(studio, qtbot, tmp_path, monkeypatch):
    jobs = studio.jobs
    assert studio.docks["jobs"].widget() is jobs
    assert studio.tabifiedDockWidgets(studio.docks["jobs"])
    menu = {a.text() for a in studio.menuBar().actions()}
    assert "&Jobs" in menu
    try:
        job = _long_generation(jobs, qtbot, tmp_path / "long")
        answers = iter(["cancel", "stop"])
        monkeypatch.setattr(jobs, "ask_close", lambda running, queued: next(answers))
        assert not studio.close()  # Cancel: the studio stays, the job runs
        assert studio.isVisible() and job.state == "running" and is_running(job.record.pid)
        assert studio.close()  # Stop
        assert job.state == "cancelled" and not is_running(job.record.pid)
    finally:
        _kill_leftovers(jobs.manager)


def test_open_dataset_shows_a_card_or_says_there_is_none(studio, qtbot, tmp_path, monkeypatch):
    out = tmp_path / "tiny"
    assert fdif(["generate", "--preset", str(TINY), "--out", str(out), "--workers", "1"]) == 0
    monkeypatch.setattr("app.panels.dataset_card.QFileDialog.getExistingDirectory",
                        lambda *args: str(out))
    studio.actions["open_dataset"].trigger()
    dialog = studio.jobs.cards[-1]
    assert dialog.isVisible() and dialog.view.card is not None
    assert dialog.view.statistics.item(8, 1).text() == "10"  # samples measured: 8 + 2
    dialog.close()
    view = DatasetCardView()
    qtbot.addWidget(view)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert not view.show_folder(empty)
    assert view.title.text().startswith("<b>No dataset card to show.</b>")
    assert "no fdif dataset here" in view.title.text() and not view.tabs.isEnabled()
