"""One ``nnUNet_raw`` holds many datasets: fdif exports beside each other and beside foreign ones.

nnU-Net's own verifier checks every dataset in the shared folder. It runs here with its worker
pool replaced by a serial one (the checks are nnU-Net's, unchanged); the spawned pool costs
~6 s per dataset and is exercised by ``test_datasets_consumers.py``.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
import types

import nibabel as nib
import numpy as np
import pytest

from fdif_core.datasets.layout import CARD_FILES
from fdif_core.datasets.storage import host_name
from tests.core.datasets_util import (
    cli_command,
    folder_bytes,
    leftovers,
    run_cli,
    tiny_preset,
)


def _export(preset, raw, dataset_id, name, *extra):
    return run_cli("--preset", str(preset), "--out", str(raw), "--format", "nnunet",
                   "--dataset-id", str(dataset_id), "--dataset-name", name, *extra)


def _foreign(raw, name="Dataset700_Foreign", cases=2, n=16):
    """A dataset made by hand, as a user of nnU-Net would: no fdif files at all."""
    folder = raw / name
    rng = np.random.default_rng(0)
    for i in range(cases):
        image = rng.normal(size=(n, n, n)).astype(np.float32)
        label = np.zeros((n, n, n), dtype=np.uint8)
        label[4:10, 4:10, 4:10] = 1
        for sub, fname, arr in (("imagesTr", f"ct_{i:03d}_0000.nii.gz", image),
                                ("labelsTr", f"ct_{i:03d}.nii.gz", label)):
            (folder / sub).mkdir(parents=True, exist_ok=True)
            nib.save(nib.Nifti1Image(arr, np.eye(4)), folder / sub / fname)
    (folder / "dataset.json").write_text(json.dumps(
        {"channel_names": {"0": "CT"}, "labels": {"background": 0, "organ": 1},
         "numTraining": cases, "file_ending": ".nii.gz"}))
    return folder


def _bytes(raw, *names):
    return {name: folder_bytes(raw / name) for name in names}


@pytest.fixture()
def presets(tmp_path):
    one = tiny_preset(tmp_path, name="tiny", num=3, val=2)
    other = tiny_preset(tmp_path, name="other", num=2, val=0, mappers='["linear_slope_10.0"]')
    return one, other


@pytest.fixture()
def serial_verifier(monkeypatch):
    pytest.importorskip("nnunetv2")
    from nnunetv2.experiment_planning import verify_dataset_integrity as vdi

    class SerialPool:
        def __init__(self, *args, **kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def starmap(self, fn, iterable):
            return [fn(*args) for args in iterable]

    context = types.SimpleNamespace(Pool=SerialPool)
    monkeypatch.setattr(vdi, "multiprocessing",
                        types.SimpleNamespace(get_context=lambda method=None: context))
    return vdi.verify_dataset_integrity


def test_two_exports_and_a_foreign_dataset_share_one_nnunet_raw(tmp_path, presets, capfd,
                                                                 serial_verifier):
    one, other = presets
    raw = tmp_path / "nnUNet_raw"
    foreign = _foreign(raw)
    foreign_bytes = folder_bytes(foreign)
    assert _export(one, raw, 501, "Tiny") == 0
    first = _bytes(raw, "Dataset501_Tiny", "Dataset502_Tiny_Val")
    assert _export(other, raw, 601, "Other") == 0
    assert sorted(p.name for p in raw.iterdir()) == \
        ["Dataset501_Tiny", "Dataset502_Tiny_Val", "Dataset601_Other", "Dataset700_Foreign"]
    # nothing of one dataset was touched by the other, nor the foreign one
    assert _bytes(raw, "Dataset501_Tiny", "Dataset502_Tiny_Val") == first
    assert folder_bytes(foreign) == foreign_bytes
    # each fdif dataset keeps its own manifest and card inside
    for home, preset, count in (("Dataset501_Tiny", "tiny", 5), ("Dataset601_Other", "other", 2)):
        manifest = json.loads((raw / home / "manifest.json").read_text())
        assert manifest["preset"] == preset and manifest["finished"] is True
        assert manifest["complete"] == [[0, count - 1]]
        assert all((raw / home / name).is_file() for name in CARD_FILES)
    assert json.loads((raw / "Dataset502_Tiny_Val/.fdif/part_of.json").read_text()) == \
        {"part_of": "Dataset501_Tiny"}
    # the done summary gives the next commands with the real ids
    out = capfd.readouterr().out
    assert "nnUNetv2_plan_and_preprocess -d 601 --verify_dataset_integrity" in out
    assert "nnUNetv2_move_plans_between_datasets -s TARGET -t 601 -sp nnUNetPlans " \
           "-tp nnUNetPlans_TARGET" in out
    assert "nnUNetv2_train 601 3d_fullres all -p nnUNetPlans_TARGET" in out
    assert "-pretrained_weights $nnUNet_results/Dataset601_Other/nnUNetTrainer__" \
           "nnUNetPlans_TARGET__3d_fullres/fold_all/checkpoint_final.pth" in out
    capfd.readouterr()
    for name in ("Dataset501_Tiny", "Dataset502_Tiny_Val", "Dataset601_Other",
                 "Dataset700_Foreign"):
        serial_verifier(str(raw / name), num_processes=1)
    captured = capfd.readouterr()
    text = captured.out + captured.err
    assert "Warning" not in text and "NaN" not in text, text
    # the serial verifier still refuses a broken dataset (a label value dataset.json lacks)
    broken = _foreign(tmp_path / "broken", "Dataset800_Broken")
    label = broken / "labelsTr" / "ct_001.nii.gz"
    nib.save(nib.Nifti1Image(np.full((16, 16, 16), 2, np.uint8), np.eye(4)), label)
    with pytest.raises(RuntimeError):
        serial_verifier(str(broken), num_processes=1)


def test_overwrite_touches_only_the_ids_of_its_run(tmp_path, presets, capsys):
    one, other = presets
    raw = tmp_path / "nnUNet_raw"
    foreign = _foreign(raw)
    assert _export(one, raw, 501, "Tiny") == 0
    assert _export(other, raw, 601, "Other") == 0
    keep = _bytes(raw, "Dataset501_Tiny", "Dataset502_Tiny_Val", foreign.name)
    before = folder_bytes(raw)
    capsys.readouterr()
    # another seed for 601: refused in one line, nothing changes
    assert _export(other, raw, 601, "Other", "--seed", "9") == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"fdif: error: {raw / 'Dataset601_Other'} already holds another dataset: it "
                   "was generated with seed 3, not 9; use --overwrite to replace it or choose "
                   "another --dataset-id")
    # a foreign dataset with the run's id: refused, never deleted without --overwrite
    assert _export(other, raw, 700, "Other") == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"fdif: error: {foreign} already uses nnU-Net dataset id 700 and was not "
                   "made by fdif; choose another --dataset-id, or use --overwrite to replace it")
    # the validation id of a run counts too
    assert _export(one, raw, 600, "Tiny") == 2
    assert "Dataset601_Other already uses nnU-Net dataset id 601 and is another fdif " \
           "dataset" in capsys.readouterr().err
    assert folder_bytes(raw) == before
    # --overwrite replaces 601 only: the result equals a fresh export, the rest is untouched
    assert _export(other, raw, 601, "Other", "--seed", "9", "--overwrite") == 0
    fresh = tmp_path / "fresh"
    assert _export(other, fresh, 601, "Other", "--seed", "9") == 0
    assert folder_bytes(raw / "Dataset601_Other") == folder_bytes(fresh / "Dataset601_Other")
    assert _bytes(raw, "Dataset501_Tiny", "Dataset502_Tiny_Val", foreign.name) == keep
    # --overwrite of the foreign id: removed, and said so
    capsys.readouterr()
    assert _export(other, raw, 700, "Other", "--overwrite", "--json") == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    warnings = [e["message"] for e in events if e["event"] == "warning"]
    assert warnings == [f"--overwrite: removed {foreign} (nnU-Net dataset id 700, it was not "
                        "made by fdif)"]
    assert sorted(p.name for p in raw.iterdir()) == \
        ["Dataset501_Tiny", "Dataset502_Tiny_Val", "Dataset601_Other", "Dataset700_Other"]
    assert _bytes(raw, "Dataset501_Tiny", "Dataset502_Tiny_Val") == \
        {k: v for k, v in keep.items() if k != foreign.name}


def test_overwrite_removes_the_validation_set_of_the_dataset_it_replaces(tmp_path, presets,
                                                                         capsys):
    one, other = presets
    raw = tmp_path / "nnUNet_raw"
    assert _export(one, raw, 501, "Tiny") == 0
    capsys.readouterr()
    # 501 becomes a dataset without validation: its old validation set 502 goes with it
    assert _export(one, raw, 501, "Tiny", "--num-val-samples", "0", "--overwrite",
                   "--json") == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["message"] for e in events if e["event"] == "warning"] == \
        [f"--overwrite: removed {raw / 'Dataset502_Tiny_Val'}, the validation set of the "
         "dataset replaced in Dataset501_Tiny"]
    assert sorted(p.name for p in raw.iterdir()) == ["Dataset501_Tiny"]


def test_validation_samples_whose_training_folder_is_gone_are_refused(tmp_path, presets,
                                                                      capsys):
    one, _ = presets
    raw = tmp_path / "nnUNet_raw"
    assert _export(one, raw, 501, "Tiny") == 0
    shutil.rmtree(raw / "Dataset501_Tiny")
    before = folder_bytes(raw)
    capsys.readouterr()
    assert _export(one, raw, 501, "Tiny") == 2
    assert capsys.readouterr().err.strip() == (
        f"fdif: error: {raw / 'Dataset502_Tiny_Val'} holds samples but "
        f"{raw / 'Dataset501_Tiny'} has no manifest.json, so they cannot be checked; use "
        "--overwrite to start over")
    assert folder_bytes(raw) == before and not (raw / "Dataset501_Tiny").exists()
    assert _export(one, raw, 501, "Tiny", "--overwrite") == 0
    fresh = tmp_path / "fresh"
    assert _export(one, fresh, 501, "Tiny") == 0
    assert folder_bytes(raw) == folder_bytes(fresh)


def test_resume_after_kill_in_a_shared_nnunet_raw_is_byte_identical(tmp_path):
    preset = tiny_preset(tmp_path, n=32, num=24, val=4)
    args = ["--preset", str(preset), "--format", "nnunet", "--dataset-id", "501",
            "--dataset-name", "Tiny", "--workers", "1"]
    reference = tmp_path / "reference"
    assert run_cli(*args, "--out", str(reference)) == 0
    expected = folder_bytes(reference)
    raw = tmp_path / "nnUNet_raw"
    other = tiny_preset(tmp_path, name="other", num=2, val=0)
    assert _export(other, raw, 601, "Other") == 0
    foreign = _foreign(raw)
    neighbours = _bytes(raw, "Dataset601_Other", foreign.name)
    proc = subprocess.Popen(cli_command(*args, "--out", str(raw), "--json"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    images = raw / "Dataset501_Tiny" / "imagesTr"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if images.is_dir() and len(list(images.glob("*.nii.gz"))) >= 4:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert not (raw / "Dataset501_Tiny" / "dataset.json").exists()
    assert run_cli(*args, "--out", str(raw)) == 0
    assert leftovers(raw) == []
    assert folder_bytes(raw) == {**{f"{k}/{p}": b for k, v in neighbours.items()
                                    for p, b in v.items()}, **expected}


def _to_legacy(raw, home, val, complete_up_to):
    """Turn a finished export into what fdif wrote before the dataset folder owned its state
    (manifest, card and statistics at the top of nnUNet_raw), interrupted after sample
    ``complete_up_to``: a later run must move that state and resume."""
    manifest = json.loads((home / "manifest.json").read_text())
    manifest.update(complete=[[0, complete_up_to]], finished=False)
    (raw / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    (home / "manifest.json").unlink()
    (raw / ".fdif").mkdir()
    (home / ".fdif" / "stats").rename(raw / ".fdif" / "stats")
    (raw / ".fdif" / "tmp" / f"{host_name()}-99999999").mkdir(parents=True)  # a killed run
    shutil.rmtree(home / ".fdif")
    shutil.rmtree(val / ".fdif")
    for name in CARD_FILES:
        (home / name).unlink()
    for folder in (home, val):
        (folder / "dataset.json").unlink()
    for image in sorted(raw.rglob("case_*_0000.nii.gz")):
        index = int(image.name[5:10])
        if index > complete_up_to:
            image.unlink()
            (image.parent.parent / "labelsTr" / f"case_{index:05d}.nii.gz").unlink()
            (raw / f".fdif/stats/batch_000/{index:05d}.json").unlink()


def test_an_export_with_its_state_at_the_top_of_nnunet_raw_is_moved_and_resumes(tmp_path,
                                                                                 presets,
                                                                                 capsys):
    one, other = presets
    reference = tmp_path / "reference"
    assert _export(one, reference, 501, "Tiny") == 0
    expected = folder_bytes(reference)
    raw = tmp_path / "nnUNet_raw"
    assert _export(one, raw, 501, "Tiny") == 0
    _to_legacy(raw, raw / "Dataset501_Tiny", raw / "Dataset502_Tiny_Val", complete_up_to=1)
    # another dataset may be added beside the old export before it is resumed
    assert _export(other, raw, 601, "Other") == 0
    assert (raw / "manifest.json").is_file()
    capsys.readouterr()
    assert _export(one, raw, 501, "Tiny", "--json") == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["message"] for e in events if e["event"] == "warning"] == \
        [f"moved the fdif state of Dataset501_Tiny (manifest, card, statistics) from {raw} "
         "into the dataset folder, where this version keeps it"]
    generated = [e for e in events if e["event"] == "progress" and e["phase"] == "generate"]
    assert generated[0]["already_complete"] == 2 and generated[-1]["done"] == 5
    assert sorted(p.name for p in raw.iterdir()) == \
        ["Dataset501_Tiny", "Dataset502_Tiny_Val", "Dataset601_Other"]
    assert {k: v for k, v in folder_bytes(raw).items()
            if not k.startswith("Dataset601")} == expected


def test_nnunet_raw_is_the_default_out(tmp_path, presets, monkeypatch, capsys):
    one, _ = presets
    raw = tmp_path / "from_env"
    monkeypatch.setenv("nnUNet_raw", str(raw))
    args = ["--preset", str(one), "--format", "nnunet", "--dataset-id", "42"]
    assert run_cli(*args, "--json") == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    start, done = events[0], events[-1]
    assert start["event"] == "start" and start["out"] == str(raw)
    assert start["out_from"] == "$nnUNet_raw"
    assert start["home"] == str(raw / "Dataset042_SDFSynthetic")
    assert "(--out from $nnUNet_raw)" in done["summary"]
    assert done["next_steps"][2] == "nnUNetv2_plan_and_preprocess -d 42 --verify_dataset_integrity"
    assert (raw / "Dataset042_SDFSynthetic" / "dataset.json").is_file()
    monkeypatch.delenv("nnUNet_raw")
    for extra, message in (
            (["--format", "nnunet"], "--out is required: give the nnUNet_raw folder, or set "
                                     "$nnUNet_raw"),
            ([], "--out is required for --format decathlon")):
        assert run_cli("--preset", str(one), *extra) == 2
        assert capsys.readouterr().err.strip() == f"fdif: error: {message}"


def test_nnunet_export_into_another_kind_of_dataset_is_refused(tmp_path, presets, capsys):
    one, _ = presets
    out = tmp_path / "decathlon"
    assert run_cli("--preset", str(one), "--out", str(out)) == 0
    before = folder_bytes(out)
    capsys.readouterr()
    assert _export(one, out, 501, "Tiny") == 2
    assert capsys.readouterr().err.strip() == (
        f"fdif: error: {out} holds an fdif decathlon dataset (manifest.json), not nnU-Net "
        "datasets; choose another --out")
    assert folder_bytes(out) == before
