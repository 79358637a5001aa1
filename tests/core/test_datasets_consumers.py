"""The real consumers accept our exports unchanged: nnU-Net v2's verifier and MONAI's loader."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest

from tests.core.datasets_util import run_cli, tiny_preset


def test_nnunet_verifier_accepts_export(tmp_path, capfd):
    pytest.importorskip("nnunetv2")
    from nnunetv2.experiment_planning.verify_dataset_integrity import verify_dataset_integrity

    preset = tiny_preset(tmp_path, num=4, val=2)
    out = tmp_path / "raw"
    assert run_cli("--preset", str(preset), "--out", str(out), "--format", "nnunet",
                   "--dataset-id", "501", "--dataset-name", "Tiny") == 0
    train, val = out / "Dataset501_Tiny", out / "Dataset502_Tiny_Val"
    assert sorted(p.name for p in out.iterdir()) == ["Dataset501_Tiny", "Dataset502_Tiny_Val"]
    # validation is a sibling dataset: nothing nested, each has its own dataset.json
    assert not any(p.is_dir() for p in (train / "imagesTr").iterdir())
    meta_train = json.loads((train / "dataset.json").read_text())
    meta_val = json.loads((val / "dataset.json").read_text())
    assert meta_train["numTraining"] == 4 and meta_val["numTraining"] == 2
    assert meta_train["labels"]["background"] == 0 and meta_train["file_ending"] == ".nii.gz"
    assert sorted(p.name for p in (val / "imagesTr").iterdir()) == \
        ["case_00004_0000.nii.gz", "case_00005_0000.nii.gz"]
    capfd.readouterr()
    for folder in (train, val):
        verify_dataset_integrity(str(folder), num_processes=1)
    captured = capfd.readouterr()
    text = captured.out + captured.err
    assert "Warning" not in text and "NaN" not in text, text


@pytest.mark.parametrize("label_dtype", ["auto", "int32"])
def test_monai_decathlon_loader_reads_export(tmp_path, label_dtype):
    from monai.data import load_decathlon_datalist
    from monai.transforms import Compose, EnsureChannelFirstd, LoadImaged

    preset = tiny_preset(tmp_path, num=3, val=1)
    out = tmp_path / "ds"
    assert run_cli("--preset", str(preset), "--out", str(out), "--label-dtype", label_dtype) == 0
    moved = tmp_path / "moved"
    out.rename(moved)  # relative paths: the dataset can move
    root = moved / "data"
    train = load_decathlon_datalist(str(root / "data.json"), True, "training", base_dir=str(root))
    val = load_decathlon_datalist(str(root / "data.json"), True, "validation",
                                  base_dir=str(root))
    assert len(train) == 3 and len(val) == 1
    assert {d["id"] for d in train}.isdisjoint({d["id"] for d in val})
    load = Compose([LoadImaged(keys=["image", "label"]),
                    EnsureChannelFirstd(keys=["image", "label"])])
    item = load(train[0])
    assert tuple(item["image"].shape) == (1, 24, 24, 24)
    assert tuple(item["label"].shape) == (1, 24, 24, 24)
    assert np.allclose(np.asarray(item["image"].affine), np.eye(4))
    raw_label = nib.load(train[0]["label"])
    expected = np.uint8 if label_dtype == "auto" else np.int32
    assert raw_label.get_data_dtype() == expected
    assert nib.load(train[0]["image"]).get_data_dtype() == np.uint8
    labels = json.loads((root / "data.json").read_text())["labels"]
    assert set(np.unique(np.asarray(item["label"])).astype(int)) <= {int(k) for k in labels}
