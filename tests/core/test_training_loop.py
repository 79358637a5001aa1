"""The training job: outputs, exact resume, fine-tuning through the CLI, events."""

import csv
import json
from itertools import groupby
from pathlib import Path

import torch

from fdif_core.cli import main
from fdif_core.training.config import TrainConfig, load_config
from fdif_core.training.loop import train_job
from fdif_core.training.models import read_checkpoint
from tests.core.helpers import write_decathlon

PRESET = str(Path(__file__).parent / "fixtures" / "train_tiny.toml")
TINY = dict(preset=PRESET, model="unet", unet_channels=[4, 8], unet_strides=[2],
            unet_res_units=0, crop_size=(16, 16, 16), crops_per_volume=2, val_samples=1,
            warmup_steps=2, max_steps=4, val_every=2, log_every=1, plot=False, threads=1)


def run(cfg, resume=False, stop_at=None):
    """Run the job; with ``stop_at`` kill it right after the checkpoint of that step."""
    events = train_job(cfg, resume=resume)
    out = []
    for event in events:
        out.append(event)
        if stop_at is not None and event.type == "file" and event.data["kind"] == "checkpoint" \
                and event.data["step"] == stop_at:
            events.close()
            break
    return out


def test_kill_and_resume_equals_an_uninterrupted_run(tmp_path):
    full = run(TrainConfig(**TINY, out=str(tmp_path / "full")))
    part = TrainConfig(**TINY, out=str(tmp_path / "part"))
    killed = run(part, stop_at=2)
    assert killed[-1].data["step"] == 2 and all(e.type != "done" for e in killed)
    resumed = run(part, resume=True)
    assert resumed[0].data["resumed"] and resumed[0].data["step"] == 2
    assert full[-1].type == resumed[-1].type == "done"
    assert full[-1].data["weights_sha256"] == resumed[-1].data["weights_sha256"]
    a = read_checkpoint(tmp_path / "full" / "training_checkpoint.pth")
    b = read_checkpoint(tmp_path / "part" / "training_checkpoint.pth")
    for key, value in a["model_state_dict"].items():
        assert torch.equal(value, b["model_state_dict"][key]), key
    assert a["global_step"] == b["global_step"] == 4
    assert (tmp_path / "full" / "metrics.csv").read_text() == \
        (tmp_path / "part" / "metrics.csv").read_text()


def test_run_directory_contents(tmp_path):
    cfg = TrainConfig(**{**TINY, "plot": True, "max_steps": 3, "grad_accum": 2},
                      out=str(tmp_path / "run"))
    events = run(cfg)
    run_dir = tmp_path / "run"
    for name in ("config.toml", "metrics.csv", "curves.png", "training_checkpoint.pth",
                 "last_model.pth", "best_metric_model.pth"):
        assert (run_dir / name).is_file(), name
    assert load_config(run_dir / "config.toml") == cfg  # the full resolved config
    rows = list(csv.DictReader((run_dir / "metrics.csv").open()))
    assert [r["step"] for r in rows] == ["1", "2", "3"]
    assert rows[0]["lr"] == "0.0" and float(rows[1]["lr"]) == 1e-4
    assert rows[1]["val_mean_dice"] and rows[2]["val_mean_dice"]  # every 2 steps and at the end
    assert "dice_Sphere_inverse_cube" in rows[0]
    ckpt = read_checkpoint(run_dir / "training_checkpoint.pth")
    assert set(ckpt) >= {"model_state_dict", "optimizer_state_dict", "scheduler_state_dict",
                         "scaler_state_dict", "global_step", "rng_state", "config"}
    kinds = [e.type for e in events]
    assert kinds[0] == "start" and kinds[-1] == "done" and "metric" in kinds



def test_pretrain_then_finetune_cli(tmp_path, capsys):
    pre = tmp_path / "pre"
    args = ["train", "--preset", PRESET, "--model", "unet", "--unet-channels", "4", "8",
            "--unet-strides", "2", "--unet-res-units", "0", "--crop-size", "16", "16", "16",
            "--crops-per-volume", "1", "--val-samples", "1", "--max-steps", "2",
            "--val-every", "2", "--warmup-steps", "0", "--no-plot", "--threads", "1",
            "--out", str(pre), "--json"]
    assert main(args) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert lines[0]["event"] == "start" and lines[-1]["event"] == "done"
    assert any(x["event"] == "progress" for x in lines)

    data = write_decathlon(tmp_path / "real", classes=3)
    config = tmp_path / "ft.toml"
    config.write_text('model = "unet"\nunet_channels = [4, 8]\nunet_strides = [2]\n'
                      'unet_res_units = 0\ncrop_size = [16, 16, 16]\nmax_steps = 2\n'
                      'val_every = 1\nwarmup_steps = 0\nintensity = "percentiles"\n'
                      'plot = false\nthreads = 1\nfreeze_steps = 2\n')
    ft = tmp_path / "ft"
    assert main(["finetune", "--data", str(data), "--from", str(pre / "best_metric_model.pth"),
                 "--config", str(config), "--out", str(ft), "--crops-per-volume", "1"]) == 0
    cfg = load_config(ft / "config.toml")
    assert (cfg.mode, cfg.intensity, cfg.crops_per_volume, cfg.freeze_steps) == (
        "finetune", "percentiles", 1, 2)
    pre_w = read_checkpoint(pre / "best_metric_model.pth")["model_state_dict"]
    ft_w = read_checkpoint(ft / "last_model.pth")["model_state_dict"]
    assert pre_w["model.2.conv.weight"].shape[1] == 5  # 4 classes + background
    assert ft_w["model.2.conv.weight"].shape[1] == 3
    for key, value in pre_w.items():  # frozen for both steps: only the new head trained
        if not key.startswith("model.2."):
            assert torch.equal(value, ft_w[key]), key


def test_user_errors_are_one_line(tmp_path, capsys):
    assert main(["train", "--model", "unet", "--out", str(tmp_path)]) == 2
    assert "no training data" in capsys.readouterr().err
    assert main(["finetune", "--data", "x.json", "--out", str(tmp_path)]) == 2
    assert "--from" in capsys.readouterr().err
    assert main(["train", "--out", str(tmp_path / "r"), "--resume"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_finetune_takes_the_architecture_of_the_pretraining_run(tmp_path):
    from fdif_core.cli.train import _pretrained_architecture

    (tmp_path / "config.toml").write_text('model = "unet"\nunet_channels = [8, 16]\nlr = 0.5\n')
    checkpoint = str(tmp_path / "best_metric_model.pth")
    assert _pretrained_architecture({"pretrained": checkpoint}) == \
        {"model": "unet", "unet_channels": [8, 16]}
    assert _pretrained_architecture({"pretrained": str(tmp_path / "x" / "m.pth")}) == {}


def test_every_phase_reports_progress_in_order(tmp_path):
    cfg = TrainConfig(**{**TINY, "val_samples": 2}, out=str(tmp_path / "run"))
    events = run(cfg)
    progress = [e.data for e in events if e.type == "progress"]
    phases = [k for k, _ in groupby(p["phase"] for p in progress)]
    assert phases == ["prepare"] + ["train", "validate", "checkpoint"] * 2
    # prepare (the validation volumes): from 0 to 2, about once a second
    prepare = [(p["done"], p["total"], p["unit"], p["task"]) for p in progress
               if p["phase"] == "prepare"]
    assert prepare[0] == (0, 2, "volume", "validation volumes") and prepare[-1][:2] == (2, 2)
    # validate: every volume, at each of the two validations (steps 2 and 4)
    validate = [(p["done"], p["total"], p["unit"]) for p in progress if p["phase"] == "validate"]
    assert validate == [(0, 2, "volume"), (1, 2, "volume"), (2, 2, "volume")] * 2
    # train: when training starts and at the last step (at most every 2 s between)
    train = [p for p in progress if p["phase"] == "train"]
    assert (train[0]["done"], train[-1]["done"], train[-1]["total"]) == (0, 4, 4)
    losses = [e.data["loss"] for e in events if e.type == "metric" and "loss" in e.data]
    assert len(losses) == 4 and train[-1]["loss"] == round(losses[-1], 5)
    # checkpoint: step 2 writes last, best, metrics.csv and the checkpoint; step 4 the same
    # (best only if the Dice improved)
    checkpoint = [(p["done"], p["total"]) for p in progress if p["phase"] == "checkpoint"]
    assert checkpoint[:5] == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]
    assert checkpoint[5][0] == 0 and checkpoint[-1][0] == checkpoint[-1][1] in (3, 4)
    assert events[0].type == "start" and events[-1].type == "done"


def test_a_dataset_run_reports_checks_and_caching(tmp_path):
    data = write_decathlon(tmp_path / "ds", n_train=3)
    cfg = TrainConfig(**{**TINY, "preset": None, "max_steps": 1, "val_every": 1},
                      data=str(data), out=str(tmp_path / "run"))
    tasks = [(e.data["task"], e.data["done"], e.data["total"]) for e in run(cfg)
             if e.type == "progress" and e.data["phase"] == "prepare"]
    assert tasks == [("checking dataset files", 0, 4), ("checking dataset files", 4, 4),
                     ("loading training volumes", 0, 3), ("loading training volumes", 3, 3),
                     ("validation volumes", 0, 1), ("validation volumes", 1, 1)]


def test_throttle_reports_first_then_once_per_interval(monkeypatch):
    from fdif_core.training import progress

    clock = iter([0.0, 0.5, 1.9, 2.0, 2.1, 3.0, 4.5])
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(clock))
    throttle = progress.Throttle(2.0)
    assert [throttle.due() for _ in range(6)] == [True, False, False, True, False, False]
    assert throttle.due(force=True)


def test_rate_is_per_phase_and_restarts_when_a_phase_repeats(monkeypatch):
    from fdif_core import events as ev

    clock = iter([0.0, 1.0, 2.0, 10.0, 20.0, 20.5, 21.0])
    monkeypatch.setattr(ev.time, "monotonic", lambda: next(clock))
    stream = [("train", 0), ("validate", 0), ("validate", 2), ("train", 50),
              ("validate", 0), ("validate", 1), ("validate", 2)]
    rates = [e.data.get("rate") for e in ev.with_rate(
        iter(ev.Event("progress", {"phase": p, "done": d}) for p, d in stream))]
    assert rates == [None, None, 2.0, 5.0, None, 2.0, 2.0]
