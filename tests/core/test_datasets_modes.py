"""Label modes, classification export and the files themselves (content, determinism)."""

from __future__ import annotations

import json
import math

import blosc2
import nibabel as nib
import numpy as np
import pytest

from fdif_core.compose import Composer
from fdif_core.datasets.card import png_bytes
from fdif_core.datasets.manifest import from_ranges, identity_mismatch, to_ranges
from fdif_core.datasets.nifti import label_dtype, nifti_bytes
from fdif_core.presets import load_preset
from tests.core.datasets_util import run_cli, tiny_preset


def test_nifti_bytes_are_deterministic_and_round_trip(tmp_path):
    arr = np.arange(4 * 5 * 6, dtype=np.uint8).reshape(4, 5, 6)
    first = nifti_bytes(arr, 1)
    assert first == nifti_bytes(arr.copy(), 1)
    assert first[4:8] == b"\0\0\0\0"  # gzip mtime 0
    assert nifti_bytes(arr, 9) != first
    path = tmp_path / "x.nii.gz"
    path.write_bytes(first)
    img = nib.load(path)
    assert np.array_equal(np.asarray(img.dataobj), arr)
    assert np.allclose(img.affine, np.eye(4))


def test_label_dtype_choice():
    assert label_dtype(109) == np.uint8
    assert label_dtype(255) == np.uint8
    assert label_dtype(256) == np.int16
    assert label_dtype(40000) == np.int32
    assert label_dtype(5, "int32") == np.int32
    with pytest.raises(ValueError):
        label_dtype(300, "uint8")


def test_manifest_ranges_and_mismatch():
    assert to_ranges([5, 0, 1, 2, 6]) == [[0, 2], [5, 6]]
    assert from_ranges([[0, 2], [5, 6]]) == {0, 1, 2, 5, 6}
    a = {"preset": "p", "preset_hash": "h", "seed": 1, "format": "decathlon",
         "num_samples": 3, "num_val_samples": 0, "options": {"compression": 1}}
    assert identity_mismatch(a, dict(a)) is None
    assert "seed 1, not 2" in identity_mismatch(a, {**a, "seed": 2})
    assert "compression" in identity_mismatch(a, {**a, "options": {"compression": 5}})


def test_png_header():
    data = png_bytes(np.zeros((3, 4, 3), dtype=np.uint8))
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and data.endswith(b"IEND\xaeB`\x82")


def test_files_hold_the_composer_samples(tmp_path):
    preset = tiny_preset(tmp_path, num=3, val=1)
    out = tmp_path / "out"
    assert run_cli("--preset", str(preset), "--out", str(out), "--seed", "11") == 0
    composer = Composer(load_preset(preset))
    for i in range(4):
        sample = composer.sample(11, i)
        b = f"batch_{i // 100:04d}"
        image = np.asarray(nib.load(out / f"data/image/{b}/sample_{i:05d}_x.nii.gz").dataobj)
        label = np.asarray(nib.load(out / f"data/label/{b}/sample_{i:05d}_y.nii.gz").dataobj)
        assert np.array_equal(image, sample.image)
        assert np.array_equal(label, sample.label)
    data = json.loads((out / "data/data.json").read_text())
    assert [d["id"] for d in data["training"]] == ["sample_00000", "sample_00001",
                                                   "sample_00002"]
    assert [d["id"] for d in data["validation"]] == ["sample_00003"]
    card = json.loads((out / "dataset_card.json").read_text())
    stats = card["statistics"]
    assert stats["samples"] == 4 and 0 < stats["foreground_fraction"]["mean"] < 1
    assert sum(stats["intensity"]["histogram"]) == 4 * 24**3
    assert abs(sum(stats["class_voxel_share"]["class"].values()) - 1) < 1e-4
    assert (out / "dataset_card.png").read_bytes().startswith(b"\x89PNG")
    assert "Measured statistics" in (out / "dataset_card.md").read_text()


def test_multi_task_labels_task_axis_last(tmp_path, capsys):
    from monai.data import load_decathlon_datalist
    from monai.transforms import Compose, EnsureChannelFirstd, LoadImaged

    preset = tiny_preset(tmp_path, num=2, val=1, mapper_mode="class", displacement_mode="class",
                         label_mode="multi_task")
    out = tmp_path / "out"
    assert run_cli("--preset", str(preset), "--out", str(out)) == 0
    root = out / "data"
    data = json.loads((root / "data.json").read_text())
    assert data["multi_task"] is True
    assert list(data["tasks"]) == ["shape", "displacement", "mapper"]
    assert data["tasks"]["shape"]["labels"] == {"Cone": 1, "Sphere": 2, "SquarePrism": 3,
                                                "Torus": 4}
    composer = Composer(load_preset(preset))
    label = np.asarray(nib.load(root / "label/batch_0000/sample_00000_y.nii.gz").dataobj)
    assert label.shape == (24, 24, 24, 3)
    assert np.array_equal(label, composer.sample(3, 0).label)
    train = load_decathlon_datalist(str(root / "data.json"), True, "training",
                                    base_dir=str(root))
    item = Compose([LoadImaged(keys=["image", "label"]),
                    EnsureChannelFirstd(keys=["image", "label"])])(train[0])
    assert tuple(item["label"].shape) == (3, 24, 24, 24)
    assert np.array_equal(np.asarray(item["label"][1]), label[..., 1])
    capsys.readouterr()
    assert run_cli("--preset", str(preset), "--out", str(tmp_path / "nn"),
                   "--format", "nnunet") == 2
    assert "multi-task" in capsys.readouterr().err


def test_separate_class_mode_labels(tmp_path):
    preset = tiny_preset(tmp_path, num=3, val=0, mapper_mode="class", displacement_mode="class")
    out = tmp_path / "out"
    assert run_cli("--preset", str(preset), "--out", str(out), "--format", "nnunet",
                   "--dataset-id", "7") == 0
    meta = json.loads((out / "Dataset007_SDFSynthetic/dataset.json").read_text())
    names = list(meta["labels"])
    assert len(names) == 1 + 4 * 2 + 4 * 2  # background, hybrids, displaced hybrids
    assert meta["labels"]["Sphere + inverse_cube"] == 1
    displaced = "Sphere + displacement(ridge_amp_0.03_freq_30.0) + linear_slope_10.0"
    assert meta["labels"][displaced] == 10
    composer = Composer(load_preset(preset))
    for i in range(3):
        label = np.asarray(nib.load(out / f"Dataset007_SDFSynthetic/labelsTr/case_{i:05d}.nii.gz")
                           .dataobj)
        assert np.array_equal(label, composer.sample(3, i).label)
        assert set(np.unique(label)) <= set(meta["labels"].values())


@pytest.mark.parametrize("label_mode", ["single", "multi_task"])
def test_classification_export(tmp_path, label_mode):
    modes = {"mapper_mode": "class", "displacement_mode": "class"} \
        if label_mode == "multi_task" else {}
    preset = tiny_preset(tmp_path, n=20, label_mode=label_mode, **modes)
    out = tmp_path / "out"
    assert run_cli("--preset", str(preset), "--out", str(out), "--format", "classification",
                   "--samples-per-class", "2", "--n-splits", "4", "--dataset-name", "Cls") == 0
    classes = 4 if label_mode == "single" else 16
    vpc = math.ceil(2 / 3)
    n_train, n_val = 2 * classes, vpc * classes
    cases = sorted(p.name for p in (out / "nnUNetResEncUNetLPlans_3d_fullres").iterdir())
    assert cases == [f"case_{i:05d}.b2nd" for i in range(n_train + n_val)]
    labels = json.loads((out / "labelsTr.json").read_text())
    splits = json.loads((out / "splits_final.json").read_text())
    assert len(splits) == 4 and all(s == splits[0] for s in splits)
    assert splits[0]["train"] == [f"case_{i:05d}" for i in range(n_train)]
    assert splits[0]["val"] == [f"case_{i:05d}" for i in range(n_train, n_train + n_val)]
    if label_mode == "single":
        assert [labels[f"case_{i:05d}"] for i in range(n_train)] == \
            [i // 2 for i in range(n_train)]
        assert [labels[f"case_{i:05d}"] for i in range(n_train, n_train + n_val)] == \
            list(range(classes))
    else:
        assert all(len(v) == 3 and min(v) >= 0 for v in labels.values())
        assert labels["case_00000"] == [1, 0, 0]  # Sphere, none, inverse_cube (0-based sorted)
    assert (out / "Cls.yaml").is_file()
    x = np.asarray(blosc2.open(str(out / "nnUNetResEncUNetLPlans_3d_fullres/case_00003.b2nd"))[:])
    assert x.shape == (1, 20, 20, 20) and x.dtype == np.float32
    assert abs(float(x.mean())) < 1e-4 and abs(float(x.std(ddof=1)) - 1) < 1e-3
    card = json.loads((out / "dataset_card.json").read_text())
    assert card["statistics"]["samples_per_class"] == {str(c): 2 + vpc for c in range(classes)}
