"""The training job (spec §13) as a stream of :class:`~fdif_core.events.Event`.

One code path for pre-training and fine-tuning, one process or many:

* **DDP.** Under ``torchrun`` (``WORLD_SIZE`` > 1) the job joins the process group (NCCL on
  CUDA, gloo on CPU) and wraps the model in ``DistributedDataParallel``; every rank reads its own
  shard of the data stream (:mod:`fdif_core.training.data`), gradients are averaged, and only
  rank 0 writes files. Validation volumes are split over the ranks and the Dice sums reduced.
* **Steps.** A step is one optimiser step: ``grad_accum`` batches of ``batch_size`` volumes
  (× ``crops_per_volume`` crops) per process, the loss divided by ``grad_accum``. The run stops
  exactly at ``max_steps`` (a deliberate choice, spec §15.21: the reference finishes the epoch
  and overshoots, and its cosine then rises again).
* **Logs.** The loss logged every ``log_every`` steps is the true mean over those steps and
  over ranks (spec §15.20). ``metrics.csv`` holds step, loss, lr, mean validation Dice without
  background and the Dice of every class; ``curves.png`` plots them; TensorBoard optional.
* **Progress.** Every phase reports (:mod:`fdif_core.training.progress`): ``prepare`` (data
  checks, cached volumes, validation volumes), ``train`` (at most every few seconds),
  ``validate`` (per volume) and ``checkpoint`` (per file written).
* **Checkpoints** (spec §13.4 names): ``training_checkpoint.pth`` (model, optimiser, scheduler,
  scaler, step, best Dice, history, RNG states, config) every ``checkpoint_every`` steps and at
  the end; ``last_model.pth`` at every validation and ``best_metric_model.pth`` when the mean
  Dice improves (plain state dicts). All loading uses ``torch.load(weights_only=True)``.
* **Resume** continues from ``training_checkpoint.pth``; since each batch depends only on its
  stream positions, a killed and resumed CPU run ends with the same weights as an uninterrupted
  one.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import random
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from fdif_core.errors import FdifError
from fdif_core.events import Event
from fdif_core.training.config import TrainConfig, save_config
from fdif_core.training.data import Shard, TrainStream, make_source
from fdif_core.training.distributed import distributed_env, reduce_sum, resolve_device
from fdif_core.training.logs import plot_curves, write_csv
from fdif_core.training.models import (
    build_model,
    canonical_state_dict,
    finetune_model,
    is_head_parameter,
    load_canonical,
    read_checkpoint,
)
from fdif_core.training.progress import PREPARE_EVERY_S, TRAIN_EVERY_S, Throttle, progress
from fdif_core.training.schedule import lr_factor, warmup_cosine
from fdif_core.training.state import rng_state, save_torch, set_rng_state, weights_digest
from fdif_core.training.validation import evaluate

CHECKPOINT = "training_checkpoint.pth"
BEST = "best_metric_model.pth"
LAST = "last_model.pth"
#: fields that may differ between a run and its resumption
EXECUTION_FIELDS = {"out", "device", "num_workers", "threads", "tensorboard", "plot", "log_every"}


def train_job(config: TrainConfig, resume: bool = False,
              library: tuple[Path, ...] = ()) -> Iterator[Event]:
    """Run a training or fine-tuning job, yielding events.

    Parameters
    ----------
    config : TrainConfig
        The resolved config; ``config.out`` is the run directory.
    resume : bool
        Continue the run in ``config.out`` from its ``training_checkpoint.pth``.
    library : tuple of Path
        Extra shape-library folders (for presets).

    Yields
    ------
    Event
        ``start``; ``progress`` events by phase (:mod:`fdif_core.training.progress`):
        ``prepare`` while the data is checked and the validation volumes are made, ``train``
        when training starts and then at most every few seconds, ``validate`` per validation
        volume, ``checkpoint`` per file written; ``metric`` every ``log_every`` steps (the
        loss) and after each validation (Dice); ``file`` for each checkpoint written;
        ``done``. Ranks other than 0 yield the same events but write nothing.
    """
    if config.out is None:
        raise FdifError("no run directory: give --out RUN_DIR")
    rank, world, local_rank = distributed_env()
    device = resolve_device(config.device, local_rank)
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    own_group = False
    if world > 1 and not dist.is_initialized():
        importlib.import_module("torch.distributed.nn")  # before the group: see destroy_group
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
        own_group = True
    if device.type == "cuda":
        torch.cuda.set_device(device)
    run = None
    try:
        run = _Run(config, resume, library, device, rank, world)
        yield from run.events()
    finally:
        if run is not None:
            run.close()
        run = None
        if own_group and dist.is_initialized():
            destroy_group()


def destroy_group() -> None:
    """Destroy the default process group *and* wait for its gloo worker threads to end.

    ``dist.destroy_process_group`` only drops torch.distributed's own references to the group;
    its gloo threads run until the last reference goes. Two others outlive a job: the
    ``DistributedDataParallel`` wrapper, kept in reference cycles until a garbage collection,
    and ``torch.distributed.nn.functional``, whose functions take ``group=group.WORLD`` as a
    default evaluated when DDP first imports it — so :func:`train_job` imports it before the
    group exists. Left alive, a gloo thread that frees a finished all-reduce while the
    interpreter exits must take the GIL to free the tensor's Python object, and the process
    aborts ("terminate called without an active exception"; rank 1 of the DDP test, about
    one run in four). With the cycles collected, ``destroy_process_group`` drops the last
    reference and the group's destructor joins its threads while Python still runs.
    """
    gc.collect()
    dist.destroy_process_group()


class _Run:
    """One process's share of a training job: data, model, optimiser and progress."""

    def __init__(self, config: TrainConfig, resume: bool, library: tuple[Path, ...],
                 device: torch.device, rank: int, world: int) -> None:
        self.config, self.device, self.rank, self.world = config, device, rank, world
        self.run_dir = Path(config.out)
        self.checkpoint_path = self.run_dir / CHECKPOINT
        self.checkpoint = self._previous_checkpoint(resume)
        self.pretrained = read_checkpoint(config.pretrained) \
            if config.mode == "finetune" and self.checkpoint is None else None
        torch.manual_seed(config.seed)
        np.random.seed(config.seed % 2**32)
        random.seed(config.seed)
        self.data_device = device if (device.type == "cuda" and config.num_workers == 0) \
            else "cpu"
        self.source = make_source(config, self.data_device, library)
        self.num_classes = config.num_classes or self.source.num_classes
        if config.num_classes is not None and config.preset is not None \
                and config.num_classes != self.source.num_classes:
            raise FdifError(f"num_classes {config.num_classes}: preset {config.preset!r} has "
                            f"{self.source.num_classes} classes with background")
        self._check_validation_count()
        self.step = int(self.checkpoint["global_step"]) if self.checkpoint is not None else 0
        self.writer: Any = None
        self.validation: list[dict[str, Any]] = []
        self.loss_sum, self.loss_count = 0.0, 0
        self.last_loss: float | None = None

    # -- setup --------------------------------------------------------------------------------
    def _previous_checkpoint(self, resume: bool) -> dict[str, Any] | None:
        if resume:
            if not self.checkpoint_path.is_file():
                raise FdifError(f"--resume: {self.checkpoint_path} does not exist")
            return read_checkpoint(self.checkpoint_path)
        if self.checkpoint_path.exists():
            raise FdifError(f"{self.run_dir} already holds a run; use --resume or another --out")
        return None

    def _check_validation_count(self) -> None:
        if not self.config.val_every:
            return
        total = torch.tensor([len(self.source.validation_items(self.rank, self.world))],
                             dtype=torch.float64)
        if self.world > 1:
            total = reduce_sum(total, self.device)
        if total.item() == 0:
            raise FdifError("validation every val_every steps needs validation volumes: "
                            "set val_samples > 0 (stream) or give a 'validation' list, "
                            "or val_every = 0")

    def _build_model(self) -> None:
        """Network, optimiser, schedule and scaler: new, fine-tuned or resumed."""
        config, checkpoint = self.config, self.checkpoint
        if checkpoint is not None:
            model = build_model(config, self.num_classes)
            load_canonical(model, checkpoint["model_state_dict"], str(self.checkpoint_path))
        elif self.pretrained is not None:
            model = finetune_model(config, self.pretrained, self.num_classes,
                                   str(config.pretrained))
            self.pretrained = None
        else:
            model = build_model(config, self.num_classes)
        self.model = model.to(self.device)
        self.body = [p for n, p in model.named_parameters()
                     if not is_head_parameter(config.model, n)]
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr,
                                           weight_decay=config.weight_decay)
        self.scheduler = warmup_cosine(self.optimizer, config.warmup_steps, config.max_steps)
        self.use_amp = config.amp and self.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp)
        self.step, self.best, self.best_step = 0, -1.0, -1
        self.history: list[dict[str, Any]] = []
        if checkpoint is not None:
            self._restore(checkpoint)
        self.lr = float(self.optimizer.param_groups[0]["lr"])
        self.loss_fn = _loss_function(config)
        self.net: torch.nn.Module = model
        if self.world > 1:
            self.net = torch.nn.parallel.DistributedDataParallel(
                model, device_ids=[self.device.index] if self.device.type == "cuda" else None)

    def _restore(self, checkpoint: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(checkpoint["optimizer_state_dict"])
        self.scheduler.load_state_dict(checkpoint["scheduler_state_dict"])
        self.scaler.load_state_dict(checkpoint["scaler_state_dict"])
        self.step = int(checkpoint["global_step"])
        self.best = float(checkpoint["dice_val_best"])
        self.best_step = int(checkpoint["global_step_best"])
        self.history = list(checkpoint["history"])
        set_rng_state(checkpoint["rng_state"])
        config = self.config
        for group, base_lr in zip(self.optimizer.param_groups, self.scheduler.base_lrs,
                                  strict=True):
            group["lr"] = base_lr * lr_factor(self.step, config.warmup_steps, config.max_steps)

    def _open_run_dir(self) -> None:
        if self.rank != 0:
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        save_config(self.config, self.run_dir / "config.toml")
        if self.config.tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                raise FdifError("--tensorboard needs the tensorboard package "
                                "(pip install tensorboard)") from None
            self.writer = SummaryWriter(str(self.run_dir / "tensorboard"))

    def close(self) -> None:
        """Close the TensorBoard writer, if any."""
        if self.writer is not None:
            self.writer.close()

    # -- the job ------------------------------------------------------------------------------
    def events(self) -> Iterator[Event]:
        """The job's events, from ``start`` to ``done``."""
        config = self.config
        yield Event("start", {"run_dir": str(self.run_dir), "mode": config.mode,
                              "model": config.model, "step": self.step,
                              "max_steps": config.max_steps, "world_size": self.world,
                              "device": str(self.device), "num_classes": self.num_classes,
                              "resumed": self.checkpoint is not None})
        if self.checkpoint is not None:
            saved = self.checkpoint.get("config") or {}
            changed = sorted(k for k, v in config.model_dump(mode="json").items()
                             if k not in EXECUTION_FIELDS and saved.get(k) != v)
            if changed:
                yield Event("warning", {"message": "resumed with changed settings: "
                                        + ", ".join(changed)})
        yield from self.source.prepare()
        self.validation = yield from self._load_validation()
        self._build_model()
        self._open_run_dir()
        yield from self._train()
        summary = f"{config.mode} finished at step {self.step}"
        if self.best >= 0:
            summary += f"; best mean Dice {self.best:.4f} at step {self.best_step}"
        yield Event("done", {"summary": summary, "step": self.step, "best_dice": self.best,
                             "best_step": self.best_step, "run_dir": str(self.run_dir),
                             "weights_sha256": weights_digest(self.model)})

    def _load_validation(self) -> Generator[Event, None, list[dict[str, Any]]]:
        items = self.source.validation_items(self.rank, self.world) \
            if self.config.val_every else []
        throttle = Throttle(PREPARE_EVERY_S)
        volumes = []
        for done, index in enumerate(items):
            if throttle.due():
                yield progress("prepare", done, len(items), "volume", task="validation volumes")
            volumes.append(self.source.validation_item(index))
        if items:
            yield progress("prepare", len(items), len(items), "volume", task="validation volumes")
        return volumes

    def _train(self) -> Iterator[Event]:
        config = self.config
        stream = TrainStream(self.source, config, Shard(self.rank, self.world),
                             start_batch=self.step * config.grad_accum, device=self.data_device)
        workers = config.num_workers if self.data_device == "cpu" else 0
        loader = torch.utils.data.DataLoader(stream, batch_size=None, num_workers=workers,
                                             pin_memory=self.device.type == "cuda")
        batches = iter(loader)
        throttle = Throttle(TRAIN_EVERY_S)
        if throttle.due():
            yield self._train_progress()
        self.net.train()
        while self.step < config.max_steps:
            self._step(batches)
            last = self.step == config.max_steps
            metric = self._log() if self.step % config.log_every == 0 or last else None
            if throttle.due(force=last):
                yield self._train_progress()
            if metric is not None:
                yield metric
            validated = improved = False
            if config.val_every and (self.step % config.val_every == 0 or last):
                improved = yield from self._validate()
                validated = True
            yield from self._write(self._files_due(validated, improved, last))

    def _train_progress(self) -> Event:
        extra: dict[str, Any] = {"lr": self.lr}
        if self.last_loss is not None:
            extra["loss"] = round(self.last_loss, 5)
        return progress("train", self.step, self.config.max_steps, "step", **extra)

    def _step(self, batches: Iterator[dict[str, Any]]) -> None:
        """One optimiser step over ``grad_accum`` batches."""
        config = self.config
        self.lr = float(self.optimizer.param_groups[0]["lr"])
        step_loss = 0.0
        for micro in range(config.grad_accum):
            batch = next(batches)
            if "error" in batch:
                raise FdifError(batch["error"])
            image = batch["image"].to(self.device, non_blocking=True)
            label = batch["label"].to(self.device, non_blocking=True)
            sync = self.world > 1 and micro < config.grad_accum - 1
            with (self.net.no_sync() if sync else contextlib.nullcontext()), \
                    torch.autocast(self.device.type, enabled=self.use_amp):
                loss = self.loss_fn(self.net(image), label) / config.grad_accum
                self.scaler.scale(loss).backward()
            step_loss += float(loss.detach())
        if self.step < config.freeze_steps:
            for p in self.body:
                p.grad = None
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        self.scheduler.step()
        self.step += 1
        self.loss_sum += step_loss
        self.loss_count += 1

    def _row(self) -> dict[str, Any]:
        if not self.history or self.history[-1]["step"] != self.step:
            self.history.append({"step": self.step})
        return self.history[-1]

    def _log(self) -> Event:
        """The mean loss since the last log, over all ranks, as a ``metric`` event."""
        totals = torch.tensor([self.loss_sum, self.loss_count], dtype=torch.float64)
        if self.world > 1:
            totals = reduce_sum(totals, self.device)
        mean = float(totals[0] / totals[1])
        self.loss_sum, self.loss_count = 0.0, 0
        self.last_loss = mean
        self._row().update(loss=mean, lr=self.lr)
        if self.writer is not None:
            self.writer.add_scalar("loss", mean, self.step)
            self.writer.add_scalar("lr", self.lr, self.step)
        return Event("metric", {"step": self.step, "loss": mean, "lr": self.lr})

    def _validate(self) -> Generator[Event, None, bool]:
        """Validate (``validate`` progress per volume, then a ``metric``); ``True`` if the
        mean Dice improved."""
        per_class, mean = yield from evaluate(self.model, self.validation, self.config,
                                              self.num_classes, self.device, self.use_amp,
                                              self.world)
        self._row().update(val_mean_dice=mean, dice=per_class)
        improved = mean > self.best
        if improved:
            self.best, self.best_step = mean, self.step
        if self.writer is not None:
            self.writer.add_scalar("val_mean_dice", mean, self.step)
        yield Event("metric", {"step": self.step, "val_mean_dice": mean,
                               "dice": dict(zip(self.source.class_names[1:], per_class,
                                                strict=True)),
                               "best": self.best, "best_step": self.best_step})
        self.net.train()
        return improved

    # -- files ----------------------------------------------------------------------------------
    def _files_due(self, validated: bool, improved: bool, last: bool
                   ) -> list[Callable[[], Event | None]]:
        """The writes due after this step (rank 0 only), in order."""
        if self.rank != 0:
            return []
        writes: list[Callable[[], Event | None]] = []
        if validated:
            weights = canonical_state_dict(self.model)
            writes.append(lambda: self._save_weights(weights, LAST, "last"))
            if improved:
                writes.append(lambda: self._save_weights(weights, BEST, "best"))
        if self.step % self.config.resolved_checkpoint_every == 0 or last:
            writes.append(lambda: write_csv(self.run_dir / "metrics.csv", self.history,
                                            self.source.class_names))
            if self.config.plot:
                writes.append(lambda: plot_curves(self.run_dir / "curves.png", self.history,
                                                  f"{self.config.mode} {self.config.model}"))
            writes.append(self._save_checkpoint)
        return writes

    def _write(self, writes: list[Callable[[], Event | None]]) -> Iterator[Event]:
        """Run ``writes``, with ``checkpoint`` progress and their ``file`` events."""
        if not writes:
            return
        yield progress("checkpoint", 0, len(writes), "file")
        for done, write in enumerate(writes, 1):
            event = write()
            if event is not None:
                yield event
            yield progress("checkpoint", done, len(writes), "file")

    def _save_weights(self, weights: dict[str, torch.Tensor], name: str, kind: str) -> Event:
        save_torch(weights, self.run_dir / name)
        return Event("file", {"path": str(self.run_dir / name), "kind": kind, "step": self.step})

    def _save_checkpoint(self) -> Event:
        save_torch({"model_state_dict": canonical_state_dict(self.model),
                    "optimizer_state_dict": self.optimizer.state_dict(),
                    "scheduler_state_dict": self.scheduler.state_dict(),
                    "scaler_state_dict": self.scaler.state_dict(),
                    "global_step": self.step, "dice_val_best": self.best,
                    "global_step_best": self.best_step, "history": self.history,
                    "rng_state": rng_state(), "config": self.config.model_dump(mode="json"),
                    "num_classes": self.num_classes, "class_names": self.source.class_names},
                   self.checkpoint_path)
        return Event("file", {"path": str(self.checkpoint_path), "kind": "checkpoint",
                              "step": self.step})


def _loss_function(config: TrainConfig) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """DiceCE (the reference) or cross-entropy on the squeezed labels."""
    if config.loss == "dice_ce":
        from monai.losses import DiceCELoss

        return DiceCELoss(to_onehot_y=True, softmax=True)
    ce = torch.nn.CrossEntropyLoss()

    def loss_fn(out: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        return ce(out, label[:, 0].long())

    return loss_fn
