"""CPU-size demonstration: FDIF pre-training, then fine-tuning on a real labelled brain.

One command (about 15–25 minutes on 2 shared CPU cores)::

    nice .venv/bin/python experiments/pretrain_brain/run.py --out /tmp/pretrain_brain

1. Real data, shipped by the Debian package ``mricron-data`` (``apt-get install -y
   mricron-data``; nothing is downloaded at run time): the Colin27 T1 template ``ch2.nii.gz``
   with the AAL atlas ``aal.nii.gz`` on the same 1 mm grid. The 116 AAL regions are merged into
   7 lobar groups by the first digit of their AAL code. Training volume: the left hemisphere;
   test volume: the right hemisphere, mirrored to the left. Both are resampled to 3 mm by the
   training pipeline (``Spacingd``).
2. A synthetic pool of 200 + 8 volumes of the ``synthetic48.toml`` preset (48³, 16 classes),
   written once by ``fdif generate`` so that generation does not compete with training.
3. Pre-training of a small MONAI UNet on the pool (``fdif train --data``).
4. For each seed: fine-tuning from the pre-trained weights (head re-initialised, spec §13.5)
   and training the same network from scratch, with the same steps, schedule and data.
5. The mean ± sd validation Dice (7 lobes, no background) on the right hemisphere at fixed
   steps, printed as a Markdown table and saved with a PNG of the curves.

Every run is an ordinary ``fdif train`` / ``fdif finetune`` job; their run directories are kept
under ``--out``.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
TEMPLATES = Path("/usr/share/mricron/templates")
LOBES = {2: "frontal", 3: "insula_limbic", 4: "insula_limbic", 5: "occipital", 6: "parietal",
         7: "subcortical", 8: "temporal", 9: "cerebellum"}
GROUPS = ["frontal", "insula_limbic", "occipital", "parietal", "subcortical", "temporal",
          "cerebellum"]


def prepare_brain(out: Path) -> Path:
    """Left (training) and mirrored right (test) hemisphere of Colin27 + lobar AAL labels."""
    import nibabel as nib

    for name in ("ch2.nii.gz", "aal.nii.gz", "aal.nii.txt"):
        if not (TEMPLATES / name).is_file():
            sys.exit(f"missing {TEMPLATES / name}: install the Debian package mricron-data "
                     "(apt-get install -y mricron-data)")
    image = np.asarray(nib.load(TEMPLATES / "ch2.nii.gz").dataobj).astype(np.uint8)
    aal = np.asarray(nib.load(TEMPLATES / "aal.nii.gz").dataobj).astype(np.int32)
    lut = np.zeros(aal.max() + 1, dtype=np.int32)
    for line in (TEMPLATES / "aal.nii.txt").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 3:
            lut[int(parts[0])] = GROUPS.index(LOBES[int(parts[2][0])]) + 1
    lobes = lut[aal]
    # world x = i - 90 (affine origin -90, 1 mm): i < 90 is the left hemisphere
    halves = {"left": (image[:90], lobes[:90]),
              "right_mirrored": (image[91:][::-1], lobes[91:][::-1])}
    entries = {}
    for name, (img, lab) in halves.items():
        for kind, arr in (("imagesTr", img), ("labelsTr", lab)):
            (out / kind).mkdir(parents=True, exist_ok=True)
            nib.save(nib.Nifti1Image(np.ascontiguousarray(arr), np.eye(4)),
                     out / kind / f"{name}.nii.gz")
        entries[name] = {"image": f"./imagesTr/{name}.nii.gz",
                         "label": f"./labelsTr/{name}.nii.gz"}
    labels = {"0": "background", **{str(i + 1): g for i, g in enumerate(GROUPS)}}
    path = out / "dataset.json"
    path.write_text(json.dumps({"name": "Colin27_AAL_lobes", "labels": labels,
                                "training": [entries["left"]],
                                "validation": [entries["right_mirrored"]]}, indent=1))
    return path


def run_job(config, log: Path) -> dict:
    """Run one training job in-process, appending its JSON events to ``log``."""
    from fdif_core.training.loop import train_job

    last = None
    with log.open("a") as fh:
        for event in train_job(config):
            fh.write(event.to_json() + "\n")
            last = event
    return last.data


def val_curve(run_dir: Path) -> dict[int, float]:
    """Validation mean Dice by step from a run's metrics.csv."""
    rows = csv.DictReader((run_dir / "metrics.csv").open())
    return {int(r["step"]): float(r["val_mean_dice"]) for r in rows if r["val_mean_dice"]}


def main() -> None:
    from fdif_core.cli import main as fdif
    from fdif_core.training.config import TrainConfig

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--pool", type=int, default=200, help="synthetic training volumes")
    p.add_argument("--pretrain-steps", type=int, default=400)
    p.add_argument("--finetune-steps", type=int, default=150)
    p.add_argument("--val-every", type=int, default=25)
    p.add_argument("--crop", type=int, default=32, help="training crop edge (voxels)")
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads (1 is fastest when the other core is busy)")
    args = p.parse_args()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    log = out / "events.jsonl"
    started = time.time()

    real = prepare_brain(out / "brain")
    pool = out / "pool"
    if not (pool / "data" / "data.json").is_file():
        code = fdif(["generate", "--preset", str(HERE / "synthetic48.toml"), "--out", str(pool),
                     "--num-samples", str(args.pool), "--num-val-samples", "8",
                     "--workers", "2"])
        if code:
            sys.exit(code)
    print(f"data ready after {time.time() - started:.0f} s", flush=True)

    net = dict(model="unet", unet_channels=[16, 32, 64, 128], unet_strides=[2, 2, 2],
               unet_res_units=2, crop_size=(args.crop,) * 3, crops_per_volume=2, batch_size=1,
               lr=1e-3, threads=args.threads, plot=True, log_every=10)
    pre_dir = out / "pretrain"
    if not (pre_dir / "training_checkpoint.pth").is_file():
        pre = TrainConfig(**net, mode="pretrain", data=str(pool / "data" / "data.json"),
                          max_steps=args.pretrain_steps,
                          warmup_steps=args.pretrain_steps // 10,
                          val_every=args.pretrain_steps // 4, out=str(pre_dir), seed=0)
        done = run_job(pre, log)
        print(f"pre-training: {done['summary']} ({time.time() - started:.0f} s)", flush=True)

    fine = dict(net, real_data=True, spacing=(3.0, 3.0, 3.0), data=str(real),
                max_steps=args.finetune_steps, warmup_steps=args.finetune_steps // 10,
                val_every=args.val_every)
    curves: dict[str, list[dict[int, float]]] = {"scratch": [], "pretrained": []}
    for seed in range(args.seeds):
        for arm in ("scratch", "pretrained"):
            run_dir = out / f"{arm}_seed{seed}"
            if not (run_dir / "training_checkpoint.pth").is_file():
                extra = (dict(mode="finetune", pretrained=str(pre_dir / "last_model.pth"))
                         if arm == "pretrained" else {})
                run_job(TrainConfig(**fine, **extra, seed=seed, out=str(run_dir)), log)
            curves[arm].append(val_curve(run_dir))
            final = curves[arm][-1][args.finetune_steps]
            print(f"seed {seed} {arm:10s}: final Dice {final:.4f} "
                  f"({time.time() - started:.0f} s)", flush=True)

    steps = sorted(curves["scratch"][0])
    table = ["| step | from scratch | FDIF pre-trained |", "|---:|---:|---:|"]
    summary = {}
    for step in steps:
        cells = []
        for arm in ("scratch", "pretrained"):
            values = np.array([c[step] for c in curves[arm]])
            summary.setdefault(arm, {})[step] = values.tolist()
            cells.append(f"{values.mean():.3f} ± {values.std(ddof=1) if len(values) > 1 else 0:.3f}")
        table.append(f"| {step} | " + " | ".join(cells) + " |")
    text = "\n".join(table)
    elapsed = time.time() - started
    (out / "results.md").write_text(
        f"Right-hemisphere mean Dice (7 lobes, no background), {args.seeds} seeds, "
        f"mean ± sd; {elapsed / 60:.1f} min\n\n{text}\n")
    (out / "results.json").write_text(json.dumps({"args": {k: str(v) for k, v in
                                                           vars(args).items()},
                                                  "dice": summary, "minutes": elapsed / 60},
                                                 indent=1))
    plot(out / "finetune_curves.png", steps, summary)
    print(text)
    print(f"total {elapsed / 60:.1f} min; results in {out}")


def plot(path: Path, steps: list[int], summary: dict) -> None:
    """Mean ± sd validation Dice of both arms against fine-tuning steps."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    for arm, color in (("scratch", "tab:gray"), ("pretrained", "tab:blue")):
        values = np.array([summary[arm][s] for s in steps])
        mean, sd = values.mean(axis=1), values.std(axis=1)
        ax.plot(steps, mean, color=color, label=arm)
        ax.fill_between(steps, mean - sd, mean + sd, color=color, alpha=0.2)
    ax.set_xlabel("fine-tuning step")
    ax.set_ylabel("right-hemisphere Dice (7 lobes)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    main()
