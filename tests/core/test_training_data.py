"""Training data: the §13.2 intensity pipeline (§17.18), the on-the-fly stream, Decathlon data."""

import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from fdif_core.cli import main
from fdif_core.compose import Composer
from fdif_core.presets import load_preset
from fdif_core.training.config import TrainConfig
from fdif_core.training.data import (
    DecathlonSource,
    RawStream,
    Shard,
    SyntheticSource,
    TrainStream,
    base_transforms,
    sample_to_dict,
    train_transforms,
)
from tests.core.helpers import write_decathlon

PRESET = str(Path(__file__).parent / "fixtures" / "train_tiny.toml")


def config(**kw):
    base = dict(preset=PRESET, model="unet", crop_size=(16, 16, 16), val_samples=2)
    base.update(kw)
    return TrainConfig(**base)


# -- §17.18 ---------------------------------------------------------------------------------
def test_synthetic_values_reach_the_network_as_ct_window():
    image = np.arange(0, 129, dtype=np.uint8).repeat(8)[:1000].reshape(10, 10, 10)
    image[0, 0, 0] = 0
    image[-1, -1, -1] = 128
    out = base_transforms(config(), load=False)(sample_to_dict(image, np.zeros_like(image)))
    got = out["image"][0].numpy()
    np.testing.assert_allclose(got, (image.astype(np.float64) + 175) / 425, rtol=0, atol=1e-6)
    assert got.min() == pytest.approx(0.41176, abs=1e-5)
    assert got.max() == pytest.approx(0.71294, abs=1e-5)
    assert got.shape == image.shape  # CropForegroundd keeps everything (all voxels > 0)


def test_training_transforms_give_four_crops_and_a_bounded_shift():
    cfg = config(crop_size=(96, 96, 96), flip_prob=0.0, rot90_prob=0.0, shift_prob=1.0)
    source = SyntheticSource(cfg)
    item = source.item(0)
    crops = train_transforms(cfg)(item)
    assert len(crops) == 4
    for crop in crops:
        assert tuple(crop["image"].shape) == (1, 96, 96, 96)
        # the 24^3 volume is padded into 96^3: the crop is the padded volume plus one shift
        shift = crop["image"] - torch.nn.functional.pad(
            item["image"], (36, 36, 36, 36, 36, 36))
        assert float(shift.max() - shift.min()) < 1e-6
        assert -0.1 <= float(shift.mean()) <= 0.1


def test_paper_defaults_are_the_reference_recipe():
    cfg = TrainConfig()
    assert (cfg.window, cfg.out_range, cfg.crop_size, cfg.crops_per_volume) == (
        (-175, 250), (0, 1), (96, 96, 96), 4)
    assert (cfg.flip_prob, cfg.rot90_prob, cfg.shift_offset, cfg.shift_prob) == (
        0.1, 0.1, 0.1, 0.5)
    assert (cfg.lr, cfg.weight_decay, cfg.warmup_steps, cfg.max_steps) == (
        1e-4, 1e-5, 500, 30000)


# -- the on-the-fly stream ------------------------------------------------------------------
def test_stream_yields_composer_samples_sharded_without_duplicates():
    cfg = config()
    composer = Composer(load_preset(PRESET))
    seen = []
    for rank in range(2):
        stream = RawStream(SyntheticSource(cfg), Shard(rank, 2), batch_size=2)
        loader = DataLoader(stream, batch_size=None, num_workers=2)
        for k, batch in enumerate(loader):
            if k == 3:
                break
            assert len(batch) == 2
            for item in batch:
                expected = composer.sample(3, int(item["index"]))  # preset seed 3
                np.testing.assert_array_equal(np.asarray(item["image"]), expected.image)
                np.testing.assert_array_equal(np.asarray(item["label"]), expected.label)
                assert np.asarray(item["image"]).dtype == np.uint8
                seen.append(int(item["index"]))
    assert len(seen) == len(set(seen)) == 12
    # validation takes 0..V-1; training the 12 positions right after it, none skipped
    assert sorted(seen) == list(range(2, 14))


def test_stream_matches_fdif_sample(tmp_path):
    out = tmp_path / "s.npz"
    assert main(["sample", "--preset", PRESET, "--index", "5", "--out", str(out)]) == 0
    ref = np.load(out)
    source = SyntheticSource(config())
    position = 5 - source.config.val_samples
    item = next(iter(RawStream(source, Shard(0, 1), batch_size=1, start_batch=position)))[0]
    assert item["index"] == 5
    np.testing.assert_array_equal(item["image"], ref["image"])
    np.testing.assert_array_equal(item["label"], ref["label"])


def test_finite_stream_is_an_epoch_permutation_shared_by_ranks():
    cfg = config(stream_samples=6)
    counts = Counter()
    for rank in range(2):
        stream = RawStream(SyntheticSource(cfg), Shard(rank, 2), batch_size=1)
        for k, batch in enumerate(stream):
            if k == 6:  # 2 ranks x 6 = two epochs of 6
                break
            counts[batch[0]["index"]] += 1
    assert counts == Counter({i: 2 for i in range(6)})
    assert SyntheticSource(cfg).val_indices == [6, 7]


def test_train_batches_are_independent_of_workers():
    cfg = config(batch_size=2, crops_per_volume=2)
    one = next(iter(DataLoader(TrainStream(SyntheticSource(cfg), cfg, start_batch=1),
                               batch_size=None)))
    loader = DataLoader(TrainStream(SyntheticSource(cfg), cfg), batch_size=None, num_workers=2)
    batches = iter(loader)
    next(batches)
    two = next(batches)
    assert one["image"].shape == (4, 1, 16, 16, 16)
    assert torch.equal(one["index"], two["index"])
    assert torch.equal(one["image"], two["image"])
    assert torch.equal(one["label"], two["label"])


# -- Decathlon data --------------------------------------------------------------------------
def test_decathlon_source(tmp_path):
    path = write_decathlon(tmp_path)
    cfg = TrainConfig(data=str(path), model="unet", crop_size=(16, 16, 16), real_data=True,
                      spacing=(2.0, 2.0, 2.0))
    source = DecathlonSource(cfg)
    assert source.num_classes == 3
    assert source.class_names == ["class0", "class1", "class2"]
    assert sorted(source.index(p) for p in range(2)) == [0, 1]
    item = source.item(0)
    assert tuple(item["image"].shape) == (1, 10, 10, 10)  # Spacingd to 2 mm
    assert len(source.validation()) == 1
    batch = next(iter(TrainStream(source, cfg)))
    assert batch["image"].shape == (4, 1, 16, 16, 16)


# -- background crop centres (issue 19 item 5) -------------------------------------------------
@pytest.mark.parametrize("intensity", ["percentiles", "none", "ct_window"])
def test_quick_preset_training_never_warns_about_missing_background(tmp_path, intensity):
    """quick's backgrounds are 0 (no inverse_cube halo in samples 0 and 1); without the CT
    window they stay 0, and an image gate would leave RandCropByPosNegLabeld no background."""
    from fdif_core.training.loop import train_job

    composer = Composer(load_preset("quick"))
    for index in (0, 1):
        sample = composer.sample(0, index)
        assert not (sample.image[sample.label == 0] > 0).any()
    cfg = TrainConfig(preset="quick", model="unet", unet_channels=[4, 8], unet_strides=[2],
                      unet_res_units=0, crop_size=(16, 16, 16), crops_per_volume=2,
                      val_samples=0, val_every=0, max_steps=2, warmup_steps=0, plot=False,
                      threads=1, intensity=intensity, out=str(tmp_path / "run"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        events = list(train_job(cfg))
    assert events[-1].type == "done"
    messages = [str(w.message) for w in caught]
    assert not [m for m in messages if "unable to generate class balanced samples" in m], \
        messages


def test_real_data_keeps_the_reference_image_gate():
    real = train_transforms(config(real_data=True)).transforms[2]
    synthetic = train_transforms(config()).transforms[2]
    assert (real.image_key, real.cropper.image_threshold) == ("image", 0)
    assert synthetic.image_key is None
