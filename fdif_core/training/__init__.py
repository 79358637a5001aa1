"""Segmentation pre-training and fine-tuning (spec §13) on MONAI networks.

* :mod:`~fdif_core.training.config` — every knob, TOML config files;
* :mod:`~fdif_core.training.recipes` — named configurations (``--recipe smoke|paper``);
* :mod:`~fdif_core.training.schedule` — the warm-up + cosine LR schedule (§17.19);
* :mod:`~fdif_core.training.models` — MONAI networks and the fine-tuning head surgery (§13.5);
* :mod:`~fdif_core.training.checks` — a Decathlon dataset checked before the first step;
* :mod:`~fdif_core.training.data` — the §13.2 transforms, Decathlon datalists and the
  on-the-fly synthetic stream;
* :mod:`~fdif_core.training.validation` — sliding-window validation Dice;
* :mod:`~fdif_core.training.progress` — ``progress`` events by phase;
* :mod:`~fdif_core.training.distributed`, :mod:`~fdif_core.training.state`,
  :mod:`~fdif_core.training.logs` — DDP environment, RNG states and atomic saves, CSV/PNG logs;
* :mod:`~fdif_core.training.loop` — the training job as an event stream (DDP, AMP,
  checkpoints, resume).
"""
