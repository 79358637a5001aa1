"""Sliding-window validation (spec §13.3): Dice without background, one ``validate`` progress
event per volume."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import torch

from fdif_core.events import Event
from fdif_core.training.config import TrainConfig
from fdif_core.training.data import plain_tensor
from fdif_core.training.distributed import reduce_sum
from fdif_core.training.progress import progress


def dice_sums(logits: torch.Tensor, label: torch.Tensor, num_classes: int
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-class Dice sums and counts of non-NaN values for one volume (background excluded).

    ``DiceMetric(include_background=False)`` on one-hot argmax predictions against one-hot
    labels; classes absent from the label give NaN and are not counted (spec §13.3).
    """
    from monai.metrics import DiceMetric
    from monai.networks.utils import one_hot

    pred = one_hot(logits.argmax(dim=1, keepdim=True), num_classes)
    target = one_hot(label.long(), num_classes)
    dice = DiceMetric(include_background=False, reduction="none")(pred, target)[0]
    dice = dice.double().cpu()
    valid = ~torch.isnan(dice)
    return torch.where(valid, dice, 0.0), valid.double()



@torch.no_grad()
def evaluate(model: torch.nn.Module, volumes: list[dict[str, Any]], config: TrainConfig,
             num_classes: int, device: torch.device, use_amp: bool = False, world: int = 1,
             ) -> Generator[Event, None, tuple[list[float | None], float]]:
    """Sliding-window validation Dice without background over this rank's ``volumes``.

    A generator: it yields a ``validate`` progress event before the first volume and after
    each one (``done`` of ``total`` volumes of this rank), and returns the scores
    (``per_class, mean = yield from evaluate(...)``).

    Returns
    -------
    per_class : list of float or None
        Mean Dice of classes ``1..num_classes−1`` over the volumes that contain them
        (``None`` where no volume does), reduced over all ranks.
    mean : float
        Mean over every non-NaN (volume, class) value, as ``DiceMetric(reduction="mean")``.
    """
    from monai.inferers import sliding_window_inference

    was_training = model.training
    model.eval()
    sums = torch.zeros(num_classes - 1, dtype=torch.float64)
    counts = torch.zeros(num_classes - 1, dtype=torch.float64)
    yield progress("validate", 0, len(volumes), "volume")
    for done, volume in enumerate(volumes, 1):
        image = plain_tensor(volume["image"])[None].to(device)
        label = plain_tensor(volume["label"])[None].to(device)
        with torch.autocast(device.type, enabled=use_amp):
            logits = sliding_window_inference(image, tuple(config.crop_size),
                                              config.sw_batch_size, model,
                                              overlap=config.sw_overlap)
        s, c = dice_sums(logits.float(), label, num_classes)
        sums += s
        counts += c
        yield progress("validate", done, len(volumes), "volume")
    if world > 1:
        both = reduce_sum(torch.cat([sums, counts]), device)
        sums, counts = both[: num_classes - 1], both[num_classes - 1:]
    model.train(was_training)
    per_class = [float(s / c) if c > 0 else None for s, c in zip(sums, counts, strict=True)]
    mean = float(sums.sum() / counts.sum()) if counts.sum() > 0 else 0.0
    return per_class, mean
