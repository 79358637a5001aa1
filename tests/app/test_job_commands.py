"""The jobs' command lines (pure functions: options → ``fdif`` arguments) and event reading."""

from __future__ import annotations

import json
import sys

from app.jobs.commands import (
    finetune_argv,
    generate_argv,
    process_command,
    resume_argv,
    shell_line,
    torchrun_line,
    train_argv,
)
from app.jobs.progress import EventTail, Progress, describe_event, format_duration


def test_generate_argv_is_exact():
    options = {"preset": "quick", "out": "/d/out", "format": "decathlon", "num_samples": 20,
               "num_val_samples": 4, "workers": 2, "device": "cpu", "seed": None,
               "dataset_id": 501, "shard": None}
    assert generate_argv(options) == [
        "generate", "--preset", "quick", "--out", "/d/out", "--format", "decathlon",
        "--num-samples", "20", "--num-val-samples", "4", "--workers", "2", "--device", "cpu"]
    nnunet = {**options, "format": "nnunet", "seed": 7, "shard": (1, 4), "extra": ["--overwrite"]}
    assert generate_argv(nnunet) == [
        "generate", "--preset", "quick", "--out", "/d/out", "--format", "nnunet",
        "--num-samples", "20", "--num-val-samples", "4", "--workers", "2", "--device", "cpu",
        "--seed", "7", "--dataset-id", "501", "--shard", "1/4", "--overwrite"]


def test_train_and_finetune_argv_are_exact():
    knobs = {"recipe": "smoke", "model": "unet", "crop_size": 16, "max_steps": 6,
             "batch_size": None, "val_samples": 2, "val_every": 3, "log_every": 1,
             "device": "cpu", "out": "/runs/a", "extra": ["--unet-channels", "4", "8"]}
    assert train_argv({**knobs, "preset": "/p/train_tiny.toml"}) == [
        "train", "--preset", "/p/train_tiny.toml", "--recipe", "smoke", "--model", "unet",
        "--crop-size", "16", "16", "16", "--max-steps", "6", "--val-samples", "2",
        "--val-every", "3", "--log-every", "1", "--device", "cpu", "--out", "/runs/a",
        "--unet-channels", "4", "8"]
    assert train_argv({"data": "/d/data.json", "out": "/r", "recipe": "paper"}) == [
        "train", "--data", "/d/data.json", "--recipe", "paper", "--out", "/r"]
    assert finetune_argv({"data": "/d/data.json", "checkpoint": "/r/best.pth", "out": "/f",
                          "batch_size": 2, "model": None}) == [
        "finetune", "--data", "/d/data.json", "--from", "/r/best.pth", "--batch-size", "2",
        "--out", "/f"]


def test_resume_adds_resume_to_training_with_a_checkpoint_only():
    gen = ["generate", "--preset", "quick", "--out", "/o"]
    assert resume_argv(gen, has_checkpoint=True) == gen
    train = ["train", "--preset", "quick", "--out", "/r"]
    assert resume_argv(train, has_checkpoint=False) == train
    assert resume_argv(train, has_checkpoint=True) == [*train, "--resume"]
    assert resume_argv([*train, "--resume"], has_checkpoint=True) == [*train, "--resume"]


def test_command_lines_are_shell_quoted():
    argv = ["train", "--preset", "/my presets/a.toml", "--out", "/r"]
    assert shell_line(argv) == "fdif train --preset '/my presets/a.toml' --out /r"
    assert torchrun_line(argv, 4) == ("torchrun --nproc_per_node=4 -m fdif_core.cli train "
                                      "--preset '/my presets/a.toml' --out /r")
    assert process_command(argv) == [sys.executable, "-m", "fdif_core", *argv, "--json"]


def test_event_tail_reads_only_complete_new_lines(tmp_path):
    path = tmp_path / "events.jsonl"
    tail = EventTail(path)
    assert tail.read_events() == []
    first = {"event": "start", "time": 1.0}
    path.write_bytes((json.dumps(first) + "\n" + '{"event": "prog').encode())
    assert tail.read_events() == [first]
    with open(path, "ab") as fh:
        fh.write(b'ress", "done": 1, "total": 4}\nnot json\n')
    assert tail.read_events() == [{"event": "progress", "done": 1, "total": 4},
                                  {"event": "text", "message": "not json"}]
    assert tail.read_events() == []


def test_progress_follows_phases_rate_eta_and_curves():
    progress = Progress(kind="train")
    assert progress.summary() == "starting…"
    progress.apply({"event": "progress", "time": 10.0, "done": 2, "total": 10, "unit": "step",
                    "rate": 0.5})
    assert (progress.phase, progress.eta_s) == ("train", 16.0)
    assert progress.summary() == "train 2/10 step · 0.5/s · ETA 0:16"
    line = progress.apply({"event": "progress", "time": 11.0, "done": 3, "total": 10,
                           "unit": "step", "phase": "train"})
    assert line is None  # a second after the last progress line of the same phase
    assert progress.apply({"event": "progress", "time": 11.5, "phase": "validate", "done": 1,
                           "total": 4, "unit": "volumes", "eta_s": 90}) is not None
    assert progress.summary() == "validate 1/4 volumes · ETA 1:30"
    progress.apply({"event": "metric", "step": 3, "loss": 0.5, "lr": 1e-4})
    progress.apply({"event": "metric", "step": 3, "val_mean_dice": 0.25, "best": 0.25,
                    "best_step": 3})
    progress.apply({"event": "metric", "step": 4, "loss": 0.4})
    assert progress.loss == [(3, 0.5), (4, 0.4)] and progress.dice == [(3, 0.25)]
    progress.apply({"event": "warning", "message": "disk almost full"})
    assert progress.warning == "disk almost full" and progress.last is None
    progress.apply({"event": "start", "step": 3})  # resumed from the step-3 checkpoint
    assert progress.loss == [(3, 0.5)]
    progress.apply({"event": "error", "message": "boom"})
    assert progress.last == "error" and progress.error == "boom"


def test_events_read_as_sentences():
    assert describe_event({"event": "metric", "time": 0, "step": 6, "val_mean_dice": 0.5,
                           "best": 0.5, "best_step": 6}).endswith(
        "step 6: validation mean Dice 0.5000 (best 0.5000 at step 6)")
    assert describe_event({"event": "error", "time": 0, "message": "x"}).endswith(" error: x")
    assert describe_event({"event": "done", "time": 0, "summary": "all made"}).endswith(
        " done: all made")
    assert format_duration(3725) == "1:02:05" and format_duration(65) == "1:05"
    assert format_duration(None) == "—"
