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
import csv
import hashlib
import io
import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from fdif_core.devices import parse_device
from fdif_core.errors import FdifError
from fdif_core.events import Event
from fdif_core.files import atomic_write_bytes
from fdif_core.training.config import TrainConfig, save_config
from fdif_core.training.data import Shard, Source, TrainStream, make_source, plain_tensor
from fdif_core.training.models import (
    build_model,
    canonical_state_dict,
    finetune_model,
    is_head_parameter,
    load_canonical,
    read_checkpoint,
)
from fdif_core.training.schedule import lr_factor, warmup_cosine

CHECKPOINT = "training_checkpoint.pth"
BEST = "best_metric_model.pth"
LAST = "last_model.pth"
#: fields that may differ between a run and its resumption
EXECUTION_FIELDS = {"out", "device", "num_workers", "threads", "tensorboard", "plot", "log_every"}


# -- process group ------------------------------------------------------------------------------
def distributed_env() -> tuple[int, int, int]:
    """``(rank, world_size, local_rank)`` from the torchrun environment (0, 1, 0 without)."""
    return (int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
            int(os.environ.get("LOCAL_RANK", 0)))


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """``auto`` → ``cuda:LOCAL_RANK`` when CUDA is present, else CPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = parse_device(name)  # one-line errors naming the device as given
    if device.type == "cuda" and device.index is None:
        return torch.device(f"cuda:{local_rank}")
    return device


def reduce_sum(tensor: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Sum a CPU tensor over all ranks (through the GPU for NCCL); returns a CPU tensor."""
    work = tensor.to(device) if device.type == "cuda" else tensor.clone()
    dist.all_reduce(work)
    return work.cpu()


# -- RNG states (weights_only-safe) -----------------------------------------------------------
def rng_state() -> dict[str, Any]:
    """Python, NumPy, torch CPU and CUDA generator states as tensors and plain values."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state = {"python": random.getstate(),
             "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss),
                       float(gauss)],
             "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` saved."""
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def weights_digest(model: torch.nn.Module) -> str:
    """SHA-256 of every parameter and buffer (canonical keys, sorted): equal digests mean
    bit-identical weights (DDP ranks, resumed runs)."""
    digest = hashlib.sha256()
    for key, value in sorted(canonical_state_dict(model).items()):
        digest.update(key.encode())
        digest.update(value.contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def save_torch(obj: Any, path: Path) -> None:
    """``torch.save`` to a temporary file and rename (atomic)."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(path, buf.getvalue())


# -- metrics and logs ----------------------------------------------------------------------------
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


def write_csv(path: Path, rows: list[dict[str, Any]], class_names: list[str]) -> None:
    """``metrics.csv``: step, loss, lr, val_mean_dice and ``dice_<class>`` (atomic)."""
    fields = ["step", "loss", "lr", "val_mean_dice"] + [f"dice_{n}" for n in class_names[1:]]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        out = {k: row.get(k, "") for k in fields[:4]}
        for name, value in zip(class_names[1:], row.get("dice", []) or [], strict=False):
            out[f"dice_{name}"] = "" if value is None else value
        writer.writerow(out)
    atomic_write_bytes(path, buf.getvalue().encode())


def plot_curves(path: Path, rows: list[dict[str, Any]], title: str = "") -> None:
    """``curves.png``: training loss and learning rate, validation Dice (mean and per class)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4))
    ax_loss, ax_dice = fig.subplots(1, 2)
    loss = [(r["step"], r["loss"]) for r in rows if r.get("loss") is not None]
    if loss:
        ax_loss.plot(*zip(*loss, strict=True), label="loss")
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("training loss")
    lrs = [(r["step"], r["lr"]) for r in rows if r.get("lr") is not None]
    if lrs:
        ax_lr = ax_loss.twinx()
        ax_lr.plot(*zip(*lrs, strict=True), color="tab:gray", lw=0.8, ls="--")
        ax_lr.set_ylabel("lr")
    val = [r for r in rows if r.get("val_mean_dice") is not None]
    if val:
        steps = [r["step"] for r in val]
        per_class = list(zip(*[[np.nan if d is None else d for d in r["dice"]] for r in val],
                             strict=True))
        for values in per_class:
            ax_dice.plot(steps, values, lw=0.6, alpha=0.5)
        ax_dice.plot(steps, [r["val_mean_dice"] for r in val], "k-o", lw=2, label="mean")
        ax_dice.legend()
    ax_dice.set_xlabel("step")
    ax_dice.set_ylabel("validation Dice (no background)")
    ax_dice.set_ylim(0, 1)
    fig.suptitle(title)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    atomic_write_bytes(path, buf.getvalue())


# -- the job -------------------------------------------------------------------------------------
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
        ``start``, ``progress`` and ``metric`` every ``log_every`` steps, ``metric`` after each
        validation, ``file`` for each checkpoint written, ``done``. Ranks other than 0 yield
        the same events but write nothing.
    """
    if config.out is None:
        raise FdifError("no run directory: give --out RUN_DIR")
    run_dir = Path(config.out)
    rank, world, local_rank = distributed_env()
    device = resolve_device(config.device, local_rank)
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    own_group = False
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
        own_group = True
    if device.type == "cuda":
        torch.cuda.set_device(device)
    writer = None
    try:
        checkpoint_path = run_dir / CHECKPOINT
        checkpoint = None
        if resume:
            if not checkpoint_path.is_file():
                raise FdifError(f"--resume: {checkpoint_path} does not exist")
            checkpoint = read_checkpoint(checkpoint_path)
        elif checkpoint_path.exists():
            raise FdifError(f"{run_dir} already holds a run; use --resume or another --out")

        torch.manual_seed(config.seed)
        np.random.seed(config.seed % 2**32)
        random.seed(config.seed)
        data_device = device if (device.type == "cuda" and config.num_workers == 0) else "cpu"
        source: Source = make_source(config, data_device, library)
        num_classes = config.num_classes or source.num_classes
        if config.num_classes is not None and config.preset is not None \
                and config.num_classes != source.num_classes:
            raise FdifError(f"num_classes {config.num_classes}: preset {config.preset!r} has "
                            f"{source.num_classes} classes with background")

        # model, optimiser, schedule -------------------------------------------------------
        if checkpoint is not None:
            model = build_model(config, num_classes)
            load_canonical(model, checkpoint["model_state_dict"], str(checkpoint_path))
        elif config.mode == "finetune":
            model = finetune_model(config, read_checkpoint(config.pretrained), num_classes,
                                   str(config.pretrained))
        else:
            model = build_model(config, num_classes)
        model.to(device)
        body = [p for n, p in model.named_parameters()
                if not is_head_parameter(config.model, n)]
        optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr,
                                      weight_decay=config.weight_decay)
        scheduler = warmup_cosine(optimizer, config.warmup_steps, config.max_steps)
        use_amp = config.amp and device.type == "cuda"
        scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
        step, best, best_step, history = 0, -1.0, -1, []
        if checkpoint is not None:
            optimizer.load_state_dict(checkpoint["optimizer_state_dict"])
            scheduler.load_state_dict(checkpoint["scheduler_state_dict"])
            scaler.load_state_dict(checkpoint["scaler_state_dict"])
            step = int(checkpoint["global_step"])
            best = float(checkpoint["dice_val_best"])
            best_step = int(checkpoint["global_step_best"])
            history = list(checkpoint["history"])
            set_rng_state(checkpoint["rng_state"])
            for group, base_lr in zip(optimizer.param_groups, scheduler.base_lrs, strict=True):
                group["lr"] = base_lr * lr_factor(step, config.warmup_steps, config.max_steps)
        net = model
        if world > 1:
            net = torch.nn.parallel.DistributedDataParallel(
                model, device_ids=[device.index] if device.type == "cuda" else None)

        if config.loss == "dice_ce":
            from monai.losses import DiceCELoss

            loss_fn = DiceCELoss(to_onehot_y=True, softmax=True)
        else:
            ce = torch.nn.CrossEntropyLoss()

            def loss_fn(out: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
                return ce(out, label[:, 0].long())

        # data ---------------------------------------------------------------------------------
        stream = TrainStream(source, config, Shard(rank, world),
                             start_batch=step * config.grad_accum, device=data_device)
        workers = config.num_workers if data_device == "cpu" else 0
        loader = torch.utils.data.DataLoader(stream, batch_size=None, num_workers=workers,
                                             pin_memory=device.type == "cuda")
        validation = source.validation(rank, world) if config.val_every else []
        if config.val_every:
            total_val = torch.tensor([len(validation)], dtype=torch.float64)
            if world > 1:
                total_val = reduce_sum(total_val, device)
            if total_val.item() == 0:
                raise FdifError("validation every val_every steps needs validation volumes: "
                                "set val_samples > 0 (stream) or give a 'validation' list, "
                                "or val_every = 0")

        if rank == 0:
            run_dir.mkdir(parents=True, exist_ok=True)
            save_config(config, run_dir / "config.toml")
            if config.tensorboard:
                try:
                    from torch.utils.tensorboard import SummaryWriter
                except ImportError:
                    raise FdifError("--tensorboard needs the tensorboard package "
                                    "(pip install tensorboard)") from None
                writer = SummaryWriter(str(run_dir / "tensorboard"))
        yield Event("start", {"run_dir": str(run_dir), "mode": config.mode,
                              "model": config.model, "step": step,
                              "max_steps": config.max_steps, "world_size": world,
                              "device": str(device), "num_classes": num_classes,
                              "resumed": checkpoint is not None})
        if checkpoint is not None:
            saved = checkpoint.get("config") or {}
            changed = sorted(k for k, v in config.model_dump(mode="json").items()
                             if k not in EXECUTION_FIELDS and saved.get(k) != v)
            if changed:
                yield Event("warning", {"message": "resumed with changed settings: "
                                        + ", ".join(changed)})

        def save_checkpoint() -> Event:
            save_torch({"model_state_dict": canonical_state_dict(model),
                        "optimizer_state_dict": optimizer.state_dict(),
                        "scheduler_state_dict": scheduler.state_dict(),
                        "scaler_state_dict": scaler.state_dict(),
                        "global_step": step, "dice_val_best": best,
                        "global_step_best": best_step, "history": history,
                        "rng_state": rng_state(), "config": config.model_dump(mode="json"),
                        "num_classes": num_classes, "class_names": source.class_names},
                       checkpoint_path)
            return Event("file", {"path": str(checkpoint_path), "kind": "checkpoint",
                                  "step": step})

        def row(at: int) -> dict[str, Any]:
            if not history or history[-1]["step"] != at:
                history.append({"step": at})
            return history[-1]

        # training ---------------------------------------------------------------------------
        batches = iter(loader)
        loss_sum, loss_count = 0.0, 0
        net.train()
        while step < config.max_steps:
            frozen = step < config.freeze_steps
            lr = optimizer.param_groups[0]["lr"]
            step_loss = 0.0
            for micro in range(config.grad_accum):
                batch = next(batches)
                image = batch["image"].to(device, non_blocking=True)
                label = batch["label"].to(device, non_blocking=True)
                sync = (world > 1 and micro < config.grad_accum - 1)
                with (net.no_sync() if sync else contextlib.nullcontext()), \
                        torch.autocast(device.type, enabled=use_amp):
                    loss = loss_fn(net(image), label) / config.grad_accum
                    scaler.scale(loss).backward()
                step_loss += float(loss.detach())
            if frozen:
                for p in body:
                    p.grad = None
            scaler.step(optimizer)
            scaler.update()
            optimizer.zero_grad(set_to_none=True)
            scheduler.step()
            step += 1
            loss_sum += step_loss
            loss_count += 1

            if step % config.log_every == 0 or step == config.max_steps:
                totals = torch.tensor([loss_sum, loss_count], dtype=torch.float64)
                if world > 1:
                    totals = reduce_sum(totals, device)
                mean_loss = float(totals[0] / totals[1])
                loss_sum, loss_count = 0.0, 0
                entry = row(step)
                entry.update(loss=mean_loss, lr=lr)
                if writer is not None:
                    writer.add_scalar("loss", mean_loss, step)
                    writer.add_scalar("lr", lr, step)
                yield Event("progress", {"done": step, "total": config.max_steps,
                                         "unit": "step", "loss": round(mean_loss, 5),
                                         "lr": lr})
                yield Event("metric", {"step": step, "loss": mean_loss, "lr": lr})

            validate = config.val_every and (step % config.val_every == 0
                                             or step == config.max_steps)
            if validate:
                per_class, mean = evaluate(model, validation, config, num_classes, device,
                                           use_amp, world)
                entry = row(step)
                entry.update(val_mean_dice=mean, dice=per_class)
                improved = mean > best
                if improved:
                    best, best_step = mean, step
                if writer is not None:
                    writer.add_scalar("val_mean_dice", mean, step)
                yield Event("metric", {"step": step, "val_mean_dice": mean,
                                       "dice": dict(zip(source.class_names[1:], per_class,
                                                        strict=True)),
                                       "best": best, "best_step": best_step})
                if rank == 0:
                    weights = canonical_state_dict(model)
                    save_torch(weights, run_dir / LAST)
                    yield Event("file", {"path": str(run_dir / LAST), "kind": "last",
                                         "step": step})
                    if improved:
                        save_torch(weights, run_dir / BEST)
                        yield Event("file", {"path": str(run_dir / BEST), "kind": "best",
                                             "step": step})
                net.train()

            at_checkpoint = (step % config.resolved_checkpoint_every == 0
                             or step == config.max_steps)
            if at_checkpoint and rank == 0:
                write_csv(run_dir / "metrics.csv", history, source.class_names)
                if config.plot:
                    plot_curves(run_dir / "curves.png", history, f"{config.mode} {config.model}")
                yield save_checkpoint()
        summary = f"{config.mode} finished at step {step}"
        if best >= 0:
            summary += f"; best mean Dice {best:.4f} at step {best_step}"
        yield Event("done", {"summary": summary, "step": step, "best_dice": best,
                             "best_step": best_step, "run_dir": str(run_dir),
                             "weights_sha256": weights_digest(model)})
    finally:
        if writer is not None:
            writer.close()
        if own_group and dist.is_initialized():
            dist.destroy_process_group()


@torch.no_grad()
def evaluate(model: torch.nn.Module, volumes: list[dict[str, Any]], config: TrainConfig,
             num_classes: int, device: torch.device, use_amp: bool = False, world: int = 1,
             ) -> tuple[list[float | None], float]:
    """Sliding-window validation Dice without background over this rank's ``volumes``.

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
    for volume in volumes:
        image = plain_tensor(volume["image"])[None].to(device)
        label = plain_tensor(volume["label"])[None].to(device)
        with torch.autocast(device.type, enabled=use_amp):
            logits = sliding_window_inference(image, tuple(config.crop_size),
                                              config.sw_batch_size, model,
                                              overlap=config.sw_overlap)
        s, c = dice_sums(logits.float(), label, num_classes)
        sums += s
        counts += c
    if world > 1:
        both = reduce_sum(torch.cat([sums, counts]), device)
        sums, counts = both[: num_classes - 1], both[num_classes - 1:]
    model.train(was_training)
    per_class = [float(s / c) if c > 0 else None for s, c in zip(sums, counts, strict=True)]
    mean = float(sums.sum() / counts.sum()) if counts.sum() > 0 else 0.0
    return per_class, mean
