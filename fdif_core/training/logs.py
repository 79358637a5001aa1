"""Run logs: ``metrics.csv`` and ``curves.png`` (training loss and lr, validation Dice)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np

from fdif_core.files import atomic_write_bytes


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
