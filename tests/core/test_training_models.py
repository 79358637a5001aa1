"""Fine-tuning head surgery (spec §13.5, §17.20) and model construction (§13.1, §15.18)."""

import argparse

import pytest
import torch

from fdif_core.errors import FdifError
from fdif_core.training.config import TrainConfig
from fdif_core.training.models import (
    HEADS,
    build_model,
    canonical_state_dict,
    finetune_model,
    is_head_parameter,
    read_checkpoint,
)


def unet_config(**kw):
    base = dict(model="unet", unet_channels=[4, 8, 16], unet_strides=[2, 2],
                crop_size=(16, 16, 16))
    base.update(kw)
    return TrainConfig(**base)


def surgery_check(cfg, pre_classes, new_classes, tmp_path):
    torch.manual_seed(0)
    pre = build_model(cfg, pre_classes)
    path = tmp_path / "pre.pth"
    torch.save({"model_state_dict": canonical_state_dict(pre), "config": cfg.model_dump(),
                "num_classes": pre_classes}, path)
    torch.manual_seed(1)
    model = finetune_model(cfg, read_checkpoint(path), new_classes)
    before = canonical_state_dict(pre)
    after = canonical_state_dict(model)
    body = [k for k in before if not is_head_parameter(cfg.model, k)]
    assert body and set(body) == {k for k in after if not is_head_parameter(cfg.model, k)}
    for key in body:  # bit for bit
        assert torch.equal(before[key], after[key]), key
    head = [k for k in after if is_head_parameter(cfg.model, k)]
    assert head
    return model


@pytest.mark.parametrize("res_units", [0, 2])
def test_unet_surgery(tmp_path, res_units):
    cfg = unet_config(unet_res_units=res_units)
    model = surgery_check(cfg, 110, 14, tmp_path)
    assert model(torch.zeros(1, 1, 16, 16, 16)).shape == (1, 14, 16, 16, 16)


def test_surgery_with_a_plain_state_dict_and_grad_checkpointing(tmp_path):
    cfg = unet_config()
    torch.manual_seed(0)
    pre = build_model(cfg, 7)
    torch.save(canonical_state_dict(pre), tmp_path / "best.pth")
    ckpt = read_checkpoint(tmp_path / "best.pth")
    model = finetune_model(unet_config(grad_checkpoint=True), ckpt, 3)
    after = canonical_state_dict(model)
    for key, value in canonical_state_dict(pre).items():
        if not is_head_parameter("unet", key):
            assert torch.equal(value, after[key])
    assert model(torch.zeros(1, 1, 16, 16, 16)).shape[1] == 3


def test_swin_unetr_surgery(tmp_path):
    cfg = TrainConfig(model="swin_unetr", feature_size=12, crop_size=(32, 32, 32))
    model = surgery_check(cfg, 110, 14, tmp_path)
    assert model.out.conv.conv.in_channels == 12  # feature_size -> out
    assert model.out.conv.conv.out_channels == 14


@pytest.mark.parametrize(("name", "attr", "in_ch"), [("vnet", "out_tr", 32), ("unetr", "out", 16)])
def test_head_shapes(name, attr, in_ch):
    cfg = TrainConfig(model=name, crop_size=(32, 32, 32))
    with torch.device("meta"):  # shapes only: no slow initialisation of the big networks
        model = build_model(cfg, 14)
    head = model.get_submodule(HEADS[name])
    assert attr == HEADS[name]
    convs = [m for m in head.modules() if isinstance(m, torch.nn.Conv3d)]
    assert convs[0].in_channels == in_ch
    assert convs[-1].out_channels == 14


def test_unetr_gets_img_size():
    with torch.device("meta"):
        model = build_model(TrainConfig(model="unetr", crop_size=(32, 32, 32)), 3)
    assert model.patch_size == (16, 16, 16)
    assert tuple(model.feat_size) == (2, 2, 2)


def test_mismatched_architecture_is_a_clear_error(tmp_path):
    cfg = unet_config()
    torch.save(canonical_state_dict(build_model(cfg, 5)), tmp_path / "a.pth")
    other = unet_config(unet_channels=[4, 8, 32])
    with pytest.raises(FdifError, match="does not match the architecture"):
        finetune_model(other, read_checkpoint(tmp_path / "a.pth"), 3)
    torch.save({"model_state_dict": canonical_state_dict(build_model(cfg, 5)),
                "config": cfg.model_dump(), "num_classes": 5}, tmp_path / "b.pth")
    with pytest.raises(FdifError, match="is a unet network"):
        finetune_model(TrainConfig(model="swin_unetr", feature_size=12),
                       read_checkpoint(tmp_path / "b.pth"), 3)


def test_checkpoints_load_with_weights_only(tmp_path):
    (tmp_path / "evil.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(FdifError, match="not a readable checkpoint"):
        read_checkpoint(tmp_path / "evil.pth")

    torch.save({"x": argparse.Namespace(a=1)}, tmp_path / "pickle.pth")  # needs full pickle
    with pytest.raises(FdifError, match="not a readable checkpoint"):
        read_checkpoint(tmp_path / "pickle.pth")


def test_grad_checkpoint_unsupported_for_unetr():
    with pytest.raises(FdifError, match="no activation checkpointing"):
        build_model(TrainConfig(model="unetr", grad_checkpoint=True), 3)
