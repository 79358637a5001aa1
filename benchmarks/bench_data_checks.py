"""How long ``fdif train --data`` takes to check a dataset before the first step.

Writes N image/label NIfTI pairs (``.nii.gz``, uint8 labels 0..2, float32 images) and a
``dataset.json`` into a temporary folder, then times, with the training code itself:

* the header pass (:func:`fdif_core.training.checks.check_headers`: files exist, channels,
  shapes, spacings — NIfTI headers only), as with ``--no-cache``;
* the whole ``prepare`` phase with ``cache`` on (the default): the header pass, then every
  training volume loaded through the §13.2 base transforms and its label values checked.

Usage::

    nice .venv/bin/python benchmarks/bench_data_checks.py --cases 1000 --size 32
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import nibabel as nib
import numpy as np

from fdif_core.training.config import TrainConfig
from fdif_core.training.data import DecathlonSource


def write_dataset(root: Path, cases: int, size: int) -> Path:
    """``cases`` training pairs of ``size``³ voxels and their ``dataset.json``."""
    rng = np.random.default_rng(0)
    for folder in ("imagesTr", "labelsTr"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    entries = []
    for k in range(cases):
        image = rng.normal(size=(size,) * 3).astype(np.float32)
        label = np.zeros((size,) * 3, np.uint8)
        label[size // 4:size // 2, size // 4:, :size // 2] = 1 + k % 2
        nib.save(nib.Nifti1Image(image, np.eye(4)), root / "imagesTr" / f"case_{k:04d}.nii.gz")
        nib.save(nib.Nifti1Image(label, np.eye(4)), root / "labelsTr" / f"case_{k:04d}.nii.gz")
        entries.append({"image": f"./imagesTr/case_{k:04d}.nii.gz",
                        "label": f"./labelsTr/case_{k:04d}.nii.gz"})
    path = root / "dataset.json"
    path.write_text(json.dumps({"labels": {"0": "background", "1": "a", "2": "b"},
                                "training": entries}))
    return path


def timed_prepare(path: Path, cache: bool) -> tuple[float, float, int]:
    """Seconds to read the dataset file, seconds for ``DecathlonSource.prepare`` and the
    number of its progress events."""
    config = TrainConfig(data=str(path), model="unet", cache=cache, intensity="none",
                         orientation="", crop_foreground=False)
    start = time.perf_counter()
    source = DecathlonSource(config)
    read = time.perf_counter() - start
    start = time.perf_counter()
    events = list(source.prepare())
    return read, time.perf_counter() - start, len(events)


def main() -> None:
    """Write the dataset, time both passes, print the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--size", type=int, default=32, help="edge of each cubic volume")
    parser.add_argument("--keep", type=Path, default=None, help="write the dataset here")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="fdif-checks-"))
    try:
        start = time.perf_counter()
        path = write_dataset(root, args.cases, args.size)
        print(f"wrote {args.cases} pairs of {args.size}^3 in {time.perf_counter() - start:.1f} s")
        timed_prepare(path, cache=False)  # warm-up: imports, file-system cache
        read, seconds, events = timed_prepare(path, cache=False)
        print(f"dataset file read (paths resolved): {read:.2f} s")
        print(f"header pass: {seconds:.2f} s ({1000 * seconds / args.cases:.2f} ms a case, "
              f"{events} progress events)")
        read, seconds, events = timed_prepare(path, cache=True)
        print(f"header pass + loading every volume (cache): {seconds:.2f} s "
              f"({1000 * seconds / args.cases:.2f} ms a case, {events} progress events)")
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
