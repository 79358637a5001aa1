"""``fdif train`` / ``fdif finetune --data`` refuse a broken Decathlon dataset before the first
step: one line on stderr naming the dataset file, the case and the problem, exit code 2."""

import json
import time

import nibabel as nib
import numpy as np
import pytest
import torch

from fdif_core.cli import main
from fdif_core.errors import FdifError
from fdif_core.training.checks import check_label_values
from fdif_core.training.models import build_model
from tests.core.helpers import write_decathlon

NET = ["--model", "unet", "--unet-channels", "4", "8", "--unet-strides", "2",
       "--unet-res-units", "0", "--crop-size", "16", "16", "16", "--max-steps", "2",
       "--val-every", "1", "--warmup-steps", "0", "--threads", "1", "--no-plot"]


def train(data, tmp_path, *extra, verb="train"):
    """Run the CLI; returns (exit code, stderr, seconds)."""
    start = time.monotonic()
    code = main([verb, "--data", str(data), "--out", str(tmp_path / "run"), *NET, *extra])
    return code, time.monotonic() - start


def save(path, array, spacing=(1.0, 1.0, 1.0)):
    nib.save(nib.Nifti1Image(array, np.diag([*spacing, 1.0])), path)


def refused(tmp_path, capsys, message, data=None, *extra, verb="train"):
    """The run exits 2 within seconds with exactly ``fdif: error: <message>``."""
    data = data or tmp_path / "ds" / "dataset.json"
    code, seconds = train(data, tmp_path, *extra, verb=verb)
    captured = capsys.readouterr()
    assert (code, captured.err) == (2, f"fdif: error: {message}\n")
    assert seconds < 10
    assert not (tmp_path / "run").exists()  # nothing written


@pytest.fixture
def ds(tmp_path):
    """A tiny valid dataset: 2 training + 1 validation case of 20^3, labels 0..2."""
    return write_decathlon(tmp_path / "ds")


def test_missing_image_and_label_files(ds, tmp_path, capsys):
    (ds.parent / "labelsTr" / "case_1.nii.gz").unlink()
    refused(tmp_path, capsys, f"{ds}: training case 1: label file labelsTr/case_1.nii.gz "
            "does not exist")
    (ds.parent / "imagesTr" / "case_2.nii.gz").unlink()
    save(ds.parent / "labelsTr" / "case_1.nii.gz", np.zeros((20, 20, 20), np.uint8))
    refused(tmp_path, capsys, f"{ds}: validation case 0: image file imagesTr/case_2.nii.gz "
            "does not exist")


def test_label_value_above_num_classes(ds, tmp_path, capsys):
    label = np.zeros((20, 20, 20), np.uint8)
    label[3, 4, 5] = 7
    save(ds.parent / "labelsTr" / "case_1.nii.gz", label)
    refused(tmp_path, capsys, f"{ds}: training case 1: label labelsTr/case_1.nii.gz holds the "
            "value 7, but num_classes is 3 (ids 0..2)")
    label[3, 4, 5] = 2
    save(ds.parent / "labelsTr" / "case_1.nii.gz", label)
    refused(tmp_path, capsys, f"{ds}: training case 0: label labelsTr/case_0.nii.gz holds the "
            "value 2, but num_classes is 2 (ids 0..1)", None, "--num-classes", "2")


def test_label_value_the_labels_do_not_name(ds, tmp_path, capsys):
    meta = json.loads(ds.read_text())
    meta["labels"] = {"0": "background", "1": "liver", "3": "tumour"}
    ds.write_text(json.dumps(meta))
    refused(tmp_path, capsys, f"{ds}: training case 0: label labelsTr/case_0.nii.gz holds the "
            "value 2, which the dataset's labels do not name (0, 1, 3)")


def test_label_value_that_is_not_a_class_id(ds, tmp_path, capsys):
    label = np.zeros((20, 20, 20), np.float32)
    label[0, 0, 0] = 0.5
    save(ds.parent / "labelsTr" / "case_0.nii.gz", label)
    refused(tmp_path, capsys, f"{ds}: training case 0: label labelsTr/case_0.nii.gz holds the "
            "value 0.5, which is not a class id")


def test_a_bad_value_in_a_validation_label_is_found_without_cache(ds, tmp_path, capsys):
    label = np.full((20, 20, 20), 9, np.uint8)
    save(ds.parent / "labelsTr" / "case_2.nii.gz", label)
    refused(tmp_path, capsys, f"{ds}: validation case 0: label labelsTr/case_2.nii.gz holds "
            "the value 9, but num_classes is 3 (ids 0..2)", None, "--no-cache")


def test_a_bad_training_label_without_cache_stops_with_one_line_from_a_worker(
        ds, tmp_path, capsys):
    for case in (0, 1):
        save(ds.parent / "labelsTr" / f"case_{case}.nii.gz", np.full((20, 20, 20), 5, np.uint8))
    code, _ = train(ds, tmp_path, "--no-cache", "--num-workers", "1")
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith(f"fdif: error: {ds}: training case ")
    assert err.endswith("holds the value 5, but num_classes is 3 (ids 0..2)\n")


def test_image_channels_differ_from_in_channels(ds, tmp_path, capsys):
    save(ds.parent / "imagesTr" / "case_0.nii.gz", np.zeros((20, 20, 20, 2), np.float32))
    refused(tmp_path, capsys, f"{ds}: training case 0: image imagesTr/case_0.nii.gz has 2 "
            "channels (shape 20x20x20x2) but the model takes in_channels = 1")
    save(ds.parent / "imagesTr" / "case_0.nii.gz", np.zeros((20, 20, 20), np.float32))
    refused(tmp_path, capsys, f"{ds}: training case 0: image imagesTr/case_0.nii.gz has 1 "
            "channel (shape 20x20x20) but the model takes in_channels = 2", None,
            "--in-channels", "2")


def test_a_label_with_channels_or_five_axes(ds, tmp_path, capsys):
    save(ds.parent / "labelsTr" / "case_0.nii.gz", np.zeros((20, 20, 20, 3), np.uint8))
    refused(tmp_path, capsys, f"{ds}: training case 0: label labelsTr/case_0.nii.gz has 3 "
            "channels (shape 20x20x20x3); a label is one 3-D volume of class ids")
    save(ds.parent / "labelsTr" / "case_0.nii.gz", np.zeros((20, 20, 20, 1, 2), np.uint8))
    refused(tmp_path, capsys, f"{ds}: training case 0: label labelsTr/case_0.nii.gz has 5 axes "
            "(shape 20x20x20x1x2); expected a 3-D volume, or 4-D with the channels last")


def test_image_and_label_shape_or_spacing_differ(ds, tmp_path, capsys):
    save(ds.parent / "labelsTr" / "case_1.nii.gz", np.zeros((20, 20, 16), np.uint8))
    refused(tmp_path, capsys, f"{ds}: training case 1: image imagesTr/case_1.nii.gz is "
            "20x20x20 but its label labelsTr/case_1.nii.gz is 20x20x16")
    save(ds.parent / "labelsTr" / "case_1.nii.gz", np.zeros((20, 20, 20), np.uint8),
         spacing=(1.0, 1.0, 2.5))
    refused(tmp_path, capsys, f"{ds}: training case 1: image imagesTr/case_1.nii.gz has "
            "spacing 1x1x1 but its label labelsTr/case_1.nii.gz has 1x1x2.5")


def test_an_unreadable_image(ds, tmp_path, capsys):
    (ds.parent / "imagesTr" / "case_1.nii.gz").write_bytes(b"not an image" * 10)
    refused(tmp_path, capsys, f"{ds}: training case 1: image imagesTr/case_1.nii.gz is not a "
            f"readable image (File {ds.parent / 'imagesTr' / 'case_1.nii.gz'} is not a gzip "
            "file)")


def test_data_may_name_the_dataset_folder(ds, tmp_path, capsys):
    code, _ = train(ds.parent, tmp_path / "ok", "--max-steps", "1")
    assert code == 0 and (tmp_path / "ok" / "run" / "config.toml").is_file()
    empty = tmp_path / "empty"
    empty.mkdir()
    refused(tmp_path, capsys, f"--data {empty}: the folder holds no dataset.json or data.json; "
            "give a Decathlon dataset file (or its folder)", empty)
    (ds.parent / "data.json").write_text(ds.read_text())
    refused(tmp_path / "again", capsys, f"--data {ds.parent}: the folder holds both "
            "dataset.json and data.json; give the file to use", ds.parent)


def test_finetune_checks_the_data_too(ds, tmp_path, capsys):
    from fdif_core.training.config import TrainConfig

    weights = tmp_path / "pre.pth"
    config = TrainConfig(model="unet", unet_channels=[4, 8], unet_strides=[2], unet_res_units=0)
    torch.save(build_model(config, 3).state_dict(), weights)
    (ds.parent / "labelsTr" / "case_0.nii.gz").unlink()
    refused(tmp_path, capsys, f"{ds}: training case 0: label file labelsTr/case_0.nii.gz does "
            "not exist", None, "--from", str(weights), verb="finetune")


def test_label_values_check_reads_only_min_and_max_for_contiguous_ids():
    check_label_values(torch.tensor([0.0, 1.0, 2.0]), (0, 1, 2), 3, "x")
    with pytest.raises(FdifError, match="^x holds the value -1, which is not a class id$"):
        check_label_values(torch.tensor([0.0, -1.0]), (0, 1, 2), 3, "x")


def test_malformed_entries(ds, tmp_path, capsys):
    meta = json.loads(ds.read_text())
    meta["training"][1] = {"image": "./imagesTr/case_1.nii.gz"}
    ds.write_text(json.dumps(meta))
    refused(tmp_path, capsys, f"{ds}: training case 1: needs a 'label' path")
    meta["training"][1] = "./imagesTr/case_1.nii.gz"
    ds.write_text(json.dumps(meta))
    refused(tmp_path, capsys, f"{ds}: training case 1: needs an 'image' path (or a list of "
            "paths)")
    meta["validation"] = {"image": "x"}
    meta["training"][1] = meta["training"][0]
    ds.write_text(json.dumps(meta))
    refused(tmp_path, capsys, f"{ds}: 'validation' is not a list of cases")
