"""Atomic, resumable and sharded generation: byte-identical to one uninterrupted run."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time

import pytest

import fdif_core.datasets.storage as storage_mod
from fdif_core.datasets.layout import Layout
from tests.core.datasets_util import (
    cli_command,
    folder_bytes,
    leftovers,
    run_cli,
    run_subprocess,
    tiny_preset,
)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """One uninterrupted single-process run of the shared tiny preset (32³, 24 + 4 samples)."""
    folder = tmp_path_factory.mktemp("reference")
    preset = tiny_preset(folder, n=32, num=24, val=4)
    out = folder / "out"
    assert run_cli("--preset", str(preset), "--out", str(out)) == 0
    return preset, folder_bytes(out)


def _sample_state(out, layout: Layout) -> list[str]:
    states = []
    for i in range(layout.total):
        present = [(out / p).is_file() for p in layout.sample_files(i)]
        states.append("complete" if all(present) else "absent" if not any(present)
                      else "partial")
    return states


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "Ctrl-C"])
def test_kill_and_resume_is_byte_identical(tmp_path, reference, sig):
    preset, expected = reference
    out = tmp_path / "out"
    proc = subprocess.Popen(cli_command("--preset", str(preset), "--out", str(out),
                                        "--workers", "1", "--json"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    images = out / "data" / "image"
    while time.monotonic() < deadline and proc.poll() is None:
        if images.is_dir() and len(list(images.rglob("*.nii.gz"))) >= 4:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    if sig == signal.SIGINT:
        assert proc.returncode == 130 and "fdif: interrupted" in err.decode()
        assert leftovers(out) == []
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["finished"] is False
    assert not (out / "data" / "data.json").exists()
    done = run_subprocess("--preset", str(preset), "--out", str(out), "--workers", "1")
    assert done.returncode == 0, done.stderr
    assert leftovers(out) == []
    assert folder_bytes(out) == expected


def test_two_shards_equal_one_run(tmp_path, reference):
    preset, expected = reference
    out = tmp_path / "out"
    assert run_cli("--preset", str(preset), "--out", str(out), "--shard", "1/2") == 0
    assert not (out / "data" / "data.json").exists()  # shard 0 is still missing
    assert run_cli("--preset", str(preset), "--out", str(out), "--shard", "0/2",
                   "--workers", "2") == 0
    assert folder_bytes(out) == expected


def test_torchrun_ranks_equal_one_run(tmp_path, reference):
    preset, expected = reference
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items()
           if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE")}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "fdif_core", "generate", "--preset", str(preset), "--out", str(out),
           "--workers", "1", "--json"]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300,
                            check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    starts = [json.loads(line) for line in result.stdout.splitlines()
              if line.startswith("{") and '"start"' in line]
    assert sorted(tuple(s["shard"]) for s in starts) == [(0, 2), (1, 2)]
    assert folder_bytes(out) == expected


def test_full_disk_fails_cleanly_and_resumes(tmp_path, reference, monkeypatch, capsys):
    preset, expected = reference
    out = tmp_path / "out"
    calls = {"n": 0}
    real_write = storage_mod._write_file

    def failing_write(path, data):
        calls["n"] += 1
        if calls["n"] >= 12:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_write(path, data)

    monkeypatch.setattr(storage_mod, "_write_file", failing_write)
    code = run_cli("--preset", str(preset), "--out", str(out))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1].startswith("fdif: error: cannot write ")
    assert "No space left on device" in err[-1]
    assert leftovers(out) == []
    states = _sample_state(out, Layout("decathlon", 24, 4))
    assert "partial" not in states and "complete" in states and "absent" in states
    assert not (out / "data" / "data.json").exists()
    monkeypatch.setattr(storage_mod, "_write_file", real_write)
    assert run_cli("--preset", str(preset), "--out", str(out)) == 0
    assert folder_bytes(out) == expected


def test_rerun_of_finished_dataset_changes_nothing(tmp_path):
    preset = tiny_preset(tmp_path, num=2, val=1)
    out = tmp_path / "out"
    assert run_cli("--preset", str(preset), "--out", str(out)) == 0
    before = folder_bytes(out)
    assert run_cli("--preset", str(preset), "--out", str(out), "--workers", "2") == 0
    assert folder_bytes(out) == before


def test_different_seed_or_preset_is_refused_unless_overwrite(tmp_path, capsys):
    preset = tiny_preset(tmp_path, num=2, val=0)
    out = tmp_path / "out"
    assert run_cli("--preset", str(preset), "--out", str(out)) == 0
    before = folder_bytes(out)
    capsys.readouterr()
    assert run_cli("--preset", str(preset), "--out", str(out), "--seed", "9") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "seed 3, not 9" in err and "--overwrite" in err
    preset.write_text(preset.read_text().replace("[2, 3]", "[1, 2]"))
    assert run_cli("--preset", str(preset), "--out", str(out)) == 2
    assert "has changed" in capsys.readouterr().err
    assert folder_bytes(out) == before
    assert run_cli("--preset", str(preset), "--out", str(out), "--seed", "9",
                   "--overwrite") == 0
    fresh = tmp_path / "fresh"
    assert run_cli("--preset", str(preset), "--out", str(fresh), "--seed", "9") == 0
    assert folder_bytes(out) == folder_bytes(fresh)


def test_bad_input_gives_one_line_and_exit_2(tmp_path, capsys):
    preset = tiny_preset(tmp_path, num=2, val=0)
    cases = [
        (["--preset", "no_such_preset", "--out", str(tmp_path / "a")], "unknown preset"),
        (["--preset", str(preset), "--out", str(tmp_path / "b"), "--num-samples", "0"],
         "at least one training sample"),
        (["--preset", str(preset), "--out", str(tmp_path / "c"), "--compression", "12"],
         "--compression 12"),
        (["--preset", str(preset), "--out", str(tmp_path / "d"), "--format", "nnunet",
          "--dataset-id", "999", "--num-val-samples", "1"], "--dataset-id 999"),
        (["--preset", str(preset), "--out", str(tmp_path / "e"), "--device", "cuda:7"],
         "CUDA"),
        (["--preset", str(preset), "--out", str(tmp_path / "f"), "--shard", "2/2"],
         "--shard 2/2"),
    ]
    for args, needle in cases:
        capsys.readouterr()
        assert run_cli(*args) == 2, args
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and err.startswith("fdif: error:"), err
        assert needle in err, err
    assert not any((tmp_path / x).exists() for x in "abcdef")
    (tmp_path / "g").mkdir()
    (tmp_path / "g" / "notes.txt").write_text("mine")
    assert run_cli("--preset", str(preset), "--out", str(tmp_path / "g")) == 2
    assert "not empty" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "g").iterdir()) == ["notes.txt"]


def test_out_below_a_file_is_refused(tmp_path, capsys):
    preset = tiny_preset(tmp_path, num=2, val=0)
    (tmp_path / "plain").write_text("x")
    assert run_cli("--preset", str(preset), "--out", str(tmp_path / "plain" / "out")) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot write" in err and "Not a directory" in err


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores permissions")
def test_unwritable_folder(tmp_path, capsys):
    preset = tiny_preset(tmp_path, num=2, val=0)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        assert run_cli("--preset", str(preset), "--out", str(locked / "out")) == 2
    finally:
        locked.chmod(0o700)
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Permission denied" in err


def test_json_events(tmp_path, capsys):
    preset = tiny_preset(tmp_path, num=2, val=1)
    out = tmp_path / "out"
    assert run_cli("--preset", str(preset), "--out", str(out), "--json") == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "done"
    assert {"progress", "file"} <= set(kinds)
    last = [e for e in events if e["event"] == "progress" and e["phase"] == "generate"][-1]
    assert last["done"] == last["total"] == 3 and last["rate"] > 0
    files = [e["path"] for e in events if e["event"] == "file"]
    assert "data/image/batch_0000/sample_00002_x.nii.gz" in files
    assert "data/data.json" in files and "dataset_card.md" in files
    assert run_cli("--preset", str(preset), "--out", str(out), "--seed", "1", "--json") == 2
    lines = capsys.readouterr().out.splitlines()
    assert json.loads(lines[-1])["event"] == "error"
