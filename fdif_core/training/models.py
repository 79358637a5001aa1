"""MONAI networks (spec §13.1) and the fine-tuning head surgery (spec §13.5, §17.20).

The output head of each network, replaced when fine-tuning with another number of classes:

========== ================ =====================================================
model      head module      head
========== ================ =====================================================
vnet       ``out_tr``       ``OutputTransition(3, 32, out, elu, bias=False)``
unetr      ``out``          ``UnetOutBlock(3, feature_size, out)``
swin_unetr ``out``          ``UnetOutBlock(3, feature_size, out)``
unet       ``model.2``      the top-level up-sampling block (the only one with
                            ``out`` output channels; MONAI builds it with
                            ``is_top=True``)
========== ================ =====================================================

State dicts are stored with *canonical* keys: without a DDP ``module.`` prefix and without the
``.module`` level that activation checkpointing (``CheckpointUNet``) inserts, so a checkpoint
loads whatever the ``grad_checkpoint`` setting of the run that made it.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import torch
from torch import nn

from fdif_core.errors import FdifError
from fdif_core.training.config import TrainConfig

HEADS = {"vnet": "out_tr", "unetr": "out", "swin_unetr": "out", "unet": "model.2"}


def build_model(config: TrainConfig, out_channels: int) -> nn.Module:
    """The network of ``config.model`` with ``out_channels`` outputs (MONAI defaults otherwise).

    Parameters
    ----------
    config : TrainConfig
        Model settings (model, in_channels, feature size, UNet layout, grad_checkpoint,
        crop_size as UNETR's ``img_size``).
    out_channels : int
        Number of classes including background.

    Returns
    -------
    torch.nn.Module
        A freshly initialised network (uses the global torch RNG).
    """
    from monai.networks import nets

    name = config.model
    if config.grad_checkpoint and name in ("unetr", "vnet"):
        raise FdifError(f"grad_checkpoint: MONAI's {name} has no activation checkpointing; "
                        "use unet or swin_unetr")
    if name == "unet":
        from monai.networks.nets.unet import CheckpointUNet

        cls = CheckpointUNet if config.grad_checkpoint else nets.UNet
        return cls(spatial_dims=3, in_channels=config.in_channels, out_channels=out_channels,
                   channels=tuple(config.unet_channels), strides=tuple(config.unet_strides),
                   num_res_units=config.unet_res_units)
    if name == "vnet":
        return nets.VNet(spatial_dims=3, in_channels=config.in_channels,
                         out_channels=out_channels)
    if name == "unetr":  # spec §15.18: the reference omits img_size, which MONAI requires
        return nets.UNETR(in_channels=config.in_channels, out_channels=out_channels,
                          img_size=tuple(config.crop_size), spatial_dims=3,
                          feature_size=config.resolved_feature_size)
    kwargs: dict[str, Any] = {}
    if "img_size" in inspect.signature(nets.SwinUNETR).parameters:  # MONAI < 1.5
        kwargs["img_size"] = tuple(config.crop_size)
    return nets.SwinUNETR(in_channels=config.in_channels, out_channels=out_channels,
                          spatial_dims=3, feature_size=config.resolved_feature_size,
                          use_checkpoint=config.grad_checkpoint, **kwargs)


def canonical_key(key: str) -> str:
    """Drop DDP's ``module.`` prefix and activation-checkpoint ``.module`` levels."""
    key = key.removeprefix("module.")
    return key.replace(".module.", ".")


def canonical_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """The model's state dict with canonical keys, detached on the CPU."""
    return {canonical_key(k): v.detach().cpu().clone() for k, v in model.state_dict().items()}


def load_canonical(model: nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Load a canonical state dict strictly; a clear :class:`FdifError` on any mismatch."""
    own = {canonical_key(k): k for k in model.state_dict()}
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = sorted(k for k in set(own) & set(state)
                   if tuple(model.state_dict()[own[k]].shape) != tuple(state[k].shape))
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing keys (e.g. {missing[0]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected keys (e.g. {unexpected[0]})")
        if wrong:
            k = wrong[0]
            parts.append(f"{len(wrong)} shape mismatches (e.g. {k}: checkpoint "
                         f"{list(state[k].shape)}, model {list(model.state_dict()[own[k]].shape)})")
        raise FdifError(f"{source}: the checkpoint does not match the architecture: "
                        + "; ".join(parts))
    model.load_state_dict({own[k]: v for k, v in state.items()}, strict=True)


def head_name(model_name: str) -> str:
    """Name of the output-head submodule of ``model_name``."""
    return HEADS[model_name]


def is_head_parameter(model_name: str, key: str) -> bool:
    """True for a (canonical) parameter or buffer name inside the output head."""
    return canonical_key(key).startswith(HEADS[model_name] + ".")


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint safely (``torch.load(weights_only=True)``).

    Returns
    -------
    dict
        ``{"model_state_dict": ..., "config": dict | None, "num_classes": int | None, ...}``;
        a plain state dict (``best_metric_model.pth``) is wrapped the same way.
    """
    path = Path(path)
    if not path.is_file():
        raise FdifError(f"checkpoint {str(path)!r} does not exist")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unreadable file is a user error
        raise FdifError(f"{path}: not a readable checkpoint ({type(err).__name__}: "
                        f"{str(err).splitlines()[0] if str(err) else ''})") from None
    if not isinstance(data, dict):
        raise FdifError(f"{path}: not a checkpoint (a {type(data).__name__})")
    if "model_state_dict" in data:
        return data
    if data and all(isinstance(v, torch.Tensor) for v in data.values()):
        return {"model_state_dict": {canonical_key(k): v for k, v in data.items()},
                "config": None, "num_classes": None}
    raise FdifError(f"{path}: neither a training checkpoint nor a state dict")


def checkpoint_classes(model_name: str, state: dict[str, torch.Tensor]) -> int:
    """Output channels of a state dict of ``model_name``: the size of the head's last bias."""
    head = [v for k, v in state.items() if is_head_parameter(model_name, k) and v.ndim == 1]
    if not head:
        raise FdifError(f"the checkpoint has no {model_name} output head "
                        f"({HEADS[model_name]}.*): is it a {model_name}?")
    return int(head[-1].shape[0])


def finetune_model(config: TrainConfig, checkpoint: dict[str, Any], out_channels: int,
                   source: str = "checkpoint") -> nn.Module:
    """Load pre-trained weights and put a freshly initialised head with ``out_channels``.

    Follows spec §13.5: build the network with the checkpoint's number of classes, load every
    key strictly, then replace only the output head. Every non-head parameter and buffer equals
    the checkpoint bit for bit (§17.20).

    Parameters
    ----------
    config : TrainConfig
        The fine-tuning config (its model settings must match the checkpoint's).
    checkpoint : dict
        From :func:`read_checkpoint`.
    out_channels : int
        Classes of the fine-tuning task, background included.
    source : str
        Name used in error messages.

    Returns
    -------
    torch.nn.Module
        The network, ready to train.
    """
    saved = checkpoint.get("config")
    if saved is not None and saved.get("model") != config.model:
        raise FdifError(f"{source}: the checkpoint is a {saved.get('model')} network, but "
                        f"--model is {config.model}")
    state = checkpoint["model_state_dict"]
    pre_classes = checkpoint.get("num_classes") or checkpoint_classes(config.model, state)
    model = build_model(config, int(pre_classes))
    load_canonical(model, state, source)
    head = HEADS[config.model]
    model.set_submodule(head, build_model(config, out_channels).get_submodule(head))
    return model

