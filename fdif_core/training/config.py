"""Every knob of a training job, with the paper recipe (spec §13) as the defaults.

A :class:`TrainConfig` comes from three layers, later ones winning: the defaults below, an
optional TOML config file (``--config FILE``, the same field names, flat) and command-line flags
(``--field-name``, generated from the fields, so every knob has a flag). The resolved config is
written to ``RUN_DIR/config.toml`` and stored in every checkpoint.

Intensity setting (``intensity``):

* ``ct_window`` (default, the reference): ``ScaleIntensityRanged(a_min=window[0],
  a_max=window[1], b_min=out_range[0], b_max=out_range[1], clip)`` with the CT window
  −175…250 HU → 0…1. The reference applies it to the synthetic uint8 images too, so a
  synthetic value v reaches the network as (v + 175)/425 (0 → 0.412, 128 → 0.713; §17.18).
* ``percentiles``: ``ScaleIntensityRangePercentilesd(lower, upper → out_range)`` per volume,
  for MRI or other data without a fixed scale;
* ``none``: raw intensities.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from fdif_core.errors import FdifError
from fdif_core.files import atomic_write_bytes, parse_model, read_toml

MODELS = ("swin_unetr", "unetr", "vnet", "unet")
Triple = tuple[int, int, int]


class TrainConfig(BaseModel):
    """A resolved training or fine-tuning job (``fdif train`` / ``fdif finetune``)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=False)

    # -- job and data ---------------------------------------------------------------------
    mode: Literal["pretrain", "finetune"] = Field(
        "pretrain", description="pre-training, or fine-tuning from a checkpoint")
    out: str | None = Field(None, description="run directory (checkpoints, logs, config)")
    preset: str | None = Field(
        None, description="train on the on-the-fly synthetic stream of this preset")
    data: str | None = Field(
        None, description="train on a Decathlon dataset (data.json / dataset.json)")
    data_seed: int | None = Field(
        None, ge=0, description="dataset seed of the stream (default: the preset's)")
    stream_samples: int | None = Field(
        None, ge=1, description="finite stream: training indices 0..N-1 repeated per epoch and "
        "validation N..N+V-1, as `fdif generate` writes them (default: unlimited; validation "
        "0..V-1, training from V)")
    val_samples: int = Field(
        100, ge=0, description="validation volumes drawn from the stream (spec §15.19)")
    num_classes: int | None = Field(
        None, ge=2, description="output channels incl. background (default: from the preset "
        "or the dataset's labels)")
    real_data: bool = Field(
        False, description="the data is real: enables `spacing`, and background crops are "
        "centred only where the scaled image is above 0 (the body), as in the reference")
    cache: bool = Field(True, description="keep preprocessed dataset volumes in memory")

    # -- model ----------------------------------------------------------------------------
    model: Literal["swin_unetr", "unetr", "vnet", "unet"] = Field(
        "swin_unetr", description="MONAI network")
    in_channels: int = Field(1, ge=1, description="input channels")
    feature_size: int | None = Field(
        None, ge=1, description="UNETR/SwinUNETR feature size (default 16 / 48)")
    unet_channels: list[int] = Field([16, 32, 64, 128], description="MONAI UNet channels")
    unet_strides: list[int] = Field([2, 2, 2], description="MONAI UNet strides")
    unet_res_units: int = Field(2, ge=0, description="MONAI UNet residual units")
    grad_checkpoint: bool = Field(
        False, description="activation checkpointing (SwinUNETR use_checkpoint, CheckpointUNet)")

    # -- fine-tuning ------------------------------------------------------------------------
    pretrained: str | None = Field(None, description="checkpoint to fine-tune from")
    freeze_steps: int = Field(
        0, ge=0, description="fine-tuning: train only the new head for the first N steps "
        "(every pre-trained, non-head parameter stays frozen)")

    # -- transforms (spec §13.2) --------------------------------------------------------------
    intensity: Literal["ct_window", "percentiles", "none"] = Field(
        "ct_window", description="intensity scaling (see the module docs)")
    window: tuple[float, float] = Field(
        (-175.0, 250.0), description="ct_window: input range a_min a_max")
    percentiles: tuple[float, float] = Field(
        (0.5, 99.5), description="percentiles: lower and upper percentile")
    out_range: tuple[float, float] = Field((0.0, 1.0), description="scaled output range")
    clip: bool = Field(True, description="clip scaled intensities to out_range")
    crop_foreground: bool = Field(True, description="CropForegroundd(image > 0)")
    orientation: str | None = Field("RAS", description="Orientationd axcodes ('' for none)")
    spacing: tuple[float, float, float] | None = Field(
        None, description="real data: Spacingd pixdim (the reference uses 1.5 1.5 2.0)")
    crop_size: Triple = Field((96, 96, 96), description="training crop / sliding-window ROI")
    crops_per_volume: int = Field(4, ge=1, description="RandCropByPosNegLabeld num_samples")
    pos_neg: tuple[float, float] = Field((1.0, 1.0), description="RandCropByPosNegLabeld pos neg")
    flip_prob: float = Field(0.1, ge=0, le=1, description="RandFlipd p, each axis")
    rot90_prob: float = Field(0.1, ge=0, le=1, description="RandRotate90d p (max_k 3)")
    shift_offset: float = Field(0.1, ge=0, description="RandShiftIntensityd offsets")
    shift_prob: float = Field(0.5, ge=0, le=1, description="RandShiftIntensityd p")

    # -- optimisation (spec §13.3) --------------------------------------------------------------
    loss: Literal["dice_ce", "ce"] = Field("dice_ce", description="DiceCE or cross-entropy")
    lr: float = Field(1e-4, gt=0, description="AdamW learning rate")
    weight_decay: float = Field(1e-5, ge=0, description="AdamW weight decay")
    warmup_steps: int = Field(500, ge=0, description="linear warm-up steps (§17.19)")
    max_steps: int = Field(30000, ge=1, description="optimiser steps; the run stops exactly here")
    batch_size: int = Field(1, ge=1, description="volumes per step per process")
    grad_accum: int = Field(1, ge=1, description="batches accumulated per optimiser step")
    amp: bool = Field(True, description="automatic mixed precision (CUDA only)")
    seed: int = Field(0, ge=0, description="training seed: initialisation and augmentation")

    # -- validation, checkpoints, logs ----------------------------------------------------------
    val_every: int = Field(500, ge=0, description="validate every N steps (0: never)")
    sw_batch_size: int = Field(4, ge=1, description="sliding-window batch size")
    sw_overlap: float = Field(0.25, ge=0, lt=1, description="sliding-window overlap")
    checkpoint_every: int | None = Field(
        None, ge=1, description="save the resumable checkpoint every N steps (default val_every)")
    log_every: int = Field(10, ge=1, description="log the running mean loss every N steps")
    tensorboard: bool = Field(False, description="also write TensorBoard scalars")
    plot: bool = Field(True, description="write curves.png")

    # -- execution --------------------------------------------------------------------------
    device: str = Field("auto", description="auto (cuda when present), cpu, cuda, cuda:N")
    num_workers: int = Field(0, ge=0, description="DataLoader workers per process (CPU data)")
    threads: int | None = Field(
        None, ge=1, description="torch threads per process (default: OMP_NUM_THREADS or torch's)")

    @model_validator(mode="after")
    def _check(self) -> TrainConfig:
        if self.preset is not None and self.data is not None:
            raise ValueError("give either preset or data, not both")
        if self.mode == "finetune" and self.pretrained is None:
            raise ValueError("fine-tuning needs pretrained (--from CHECKPOINT)")
        if len(self.unet_strides) != len(self.unet_channels) - 1:
            raise ValueError("unet_strides needs one entry fewer than unet_channels")
        if self.window[0] >= self.window[1]:
            raise ValueError("window: a_min must be below a_max")
        return self

    @property
    def resolved_feature_size(self) -> int:
        """UNETR 16, SwinUNETR 48 unless ``feature_size`` is set (spec §13.1)."""
        if self.feature_size is not None:
            return self.feature_size
        return 16 if self.model == "unetr" else 48

    @property
    def resolved_checkpoint_every(self) -> int:
        """``checkpoint_every``, else ``val_every``, else ``max_steps``."""
        return self.checkpoint_every or self.val_every or self.max_steps

    def to_toml(self) -> str:
        """The config as TOML text (``None`` fields are left out)."""
        import tomli_w

        return tomli_w.dumps(self.model_dump(mode="json", exclude_none=True))


def field_help() -> dict[str, str]:
    """Field name → description (used for the CLI flags)."""
    return {name: f.description or "" for name, f in TrainConfig.model_fields.items()}


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None,
                base: dict[str, Any] | None = None, recipe: str | None = None) -> TrainConfig:
    """Defaults, then ``recipe``, then ``base``, then the TOML file ``path``, then
    ``overrides`` (CLI flags).

    Parameters
    ----------
    path : str or Path, optional
        TOML config file with :class:`TrainConfig` field names at top level.
    overrides : dict, optional
        Values that win over the file.
    base : dict, optional
        Values below the file (e.g. the architecture of the run a checkpoint comes from).
    recipe : str, optional
        A named configuration (:data:`~fdif_core.training.recipes.RECIPES`) below ``base``.

    Returns
    -------
    TrainConfig
        The validated config; errors name the file and field.
    """
    from fdif_core.training.recipes import recipe_fields

    data: dict[str, Any] = recipe_fields(recipe) if recipe else {}
    data.update(base or {})
    source = "training config"
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise FdifError(f"config file {str(path)!r} does not exist")
        data.update(read_toml(path))
        source = str(path)
    data.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return parse_model(TrainConfig, data, source)


def save_config(config: TrainConfig, path: Path) -> None:
    """Write the resolved config as TOML, atomically."""
    atomic_write_bytes(Path(path), config.to_toml().encode())
