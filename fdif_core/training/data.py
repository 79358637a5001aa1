"""Training data: the spec §13.2 MONAI transforms, Decathlon datalists and the on-the-fly stream.

Both data sources are read through one deterministic, sharded *position* stream. A process of
rank ``r`` (of ``world``) builds its local batch ``b`` from the global stream positions
``(b·world + r)·B + j`` for ``j < B`` (``B`` = batch size); DataLoader worker ``w`` (of ``W``)
builds the local batches ``b ≡ w (mod W)``, and the DataLoader hands them out in order. No two
(rank, worker) pairs ever see the same position, and a resumed run restarts at batch
``step·grad_accum`` with nothing repeated or skipped.

* Synthetic stream (``--preset``): position ``p`` is sample index ``V + p`` of the preset's
  dataset (``V`` validation samples take indices ``0..V−1``), or, with ``stream_samples = N``,
  index ``perm_e[p mod N]`` for epoch ``e = p // N`` with validation indices ``N..N+V−1`` —
  the split that ``fdif generate`` writes. Sample ``i`` is exactly
  ``Composer(preset).sample(seed, i)``, made on the training device; transforms come after.
* Decathlon dataset (``--data``): position ``p`` is entry ``perm_e[p mod N]`` of the
  ``training`` list.

The random augmentations of position ``p`` are seeded from ``(seed, p)`` alone, so a batch does
not depend on the number of workers or on where a run was resumed.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from fdif_core.errors import FdifError
from fdif_core.events import Event
from fdif_core.training.checks import (
    allowed_labels,
    cases,
    check_headers,
    check_label_values,
    dataset_file,
)
from fdif_core.training.config import TrainConfig
from fdif_core.training.progress import PREPARE_EVERY_S, Throttle, progress

if TYPE_CHECKING:
    from fdif_core.presets import Preset


# -- transforms (spec §13.2) -------------------------------------------------------------------
def intensity_transforms(config: TrainConfig) -> list:
    """The intensity step of the base transforms (see :mod:`fdif_core.training.config`)."""
    from monai import transforms as mt

    lo, hi = config.out_range
    if config.intensity == "ct_window":
        return [mt.ScaleIntensityRanged(keys="image", a_min=config.window[0],
                                        a_max=config.window[1], b_min=lo, b_max=hi,
                                        clip=config.clip)]
    if config.intensity == "percentiles":
        return [mt.ScaleIntensityRangePercentilesd(keys="image", lower=config.percentiles[0],
                                                   upper=config.percentiles[1], b_min=lo,
                                                   b_max=hi, clip=config.clip)]
    return []


def base_transforms(config: TrainConfig, load: bool):
    """Base transforms for training and validation data (spec §13.2, items 1–5).

    Parameters
    ----------
    config : TrainConfig
        Intensity, foreground crop, orientation and (real data) spacing settings.
    load : bool
        Start with ``LoadImaged`` (file paths in); otherwise the input dict already holds
        channel-first tensors (the synthetic stream).

    Returns
    -------
    monai.transforms.Compose
    """
    from monai import transforms as mt

    keys = ["image", "label"]
    steps: list = []
    if load:
        steps.append(mt.LoadImaged(keys=keys, ensure_channel_first=True))
    steps += intensity_transforms(config)
    if config.crop_foreground:
        steps.append(mt.CropForegroundd(keys=keys, source_key="image", allow_smaller=True))
    if config.orientation:
        steps.append(mt.Orientationd(keys=keys, axcodes=config.orientation,
                                     labels=(("L", "R"), ("P", "A"), ("I", "S"))))
    if config.real_data and config.spacing is not None:
        steps.append(mt.Spacingd(keys=keys, pixdim=tuple(config.spacing),
                                 mode=("bilinear", "nearest")))
    return mt.Compose(steps)


def train_transforms(config: TrainConfig, device: torch.device | str = "cpu"):
    """Training transforms after the base ones (spec §13.2): pad, crops, flips, rot90, shift.

    Applied to one volume, they return a list of ``crops_per_volume`` dicts.

    Background crop centres: the reference passes ``RandCropByPosNegLabeld(image_key=image,
    image_threshold=0)``, so a background centre must lie where the *scaled* image is above 0
    — on CT the body, inside the −175 HU window edge. On synthetic data that gate means every
    voxel: its background is intensity 0 except near inverse_cube objects (§11.2), which the CT
    window lifts to 0.41. With ``percentiles`` or ``none`` scaling synthetic zeros stay 0, most
    small-preset samples (``quick``: 2–5 objects) would have no background candidate at all and
    MONAI would warn on every sample and crop foreground only. So the gate applies to real
    data (``real_data``) only; on synthetic data every label-0 voxel is a background centre,
    which under the CT window is exactly the reference's set when the grid is not padded.
    """
    from monai import transforms as mt

    keys = ["image", "label"]
    size = tuple(config.crop_size)
    pos, neg = config.pos_neg
    return mt.Compose([
        mt.SpatialPadd(keys=keys, spatial_size=size, mode="constant"),
        mt.EnsureTyped(keys=keys, device=torch.device(device), track_meta=False),
        mt.RandCropByPosNegLabeld(keys=keys, label_key="label", spatial_size=size, pos=pos,
                                  neg=neg, num_samples=config.crops_per_volume,
                                  image_key="image" if config.real_data else None,
                                  image_threshold=0),
        mt.RandFlipd(keys=keys, spatial_axis=[0], prob=config.flip_prob),
        mt.RandFlipd(keys=keys, spatial_axis=[1], prob=config.flip_prob),
        mt.RandFlipd(keys=keys, spatial_axis=[2], prob=config.flip_prob),
        mt.RandRotate90d(keys=keys, prob=config.rot90_prob, max_k=3),
        mt.RandShiftIntensityd(keys="image", offsets=config.shift_offset,
                               prob=config.shift_prob),
    ])


def position_seed(seed: int, position: int) -> int:
    """Seed of the augmentations of stream position ``position`` (depends on nothing else)."""
    return int(np.random.SeedSequence([seed, position]).generate_state(1)[0])


def sample_to_dict(image: np.ndarray, label: np.ndarray,
                   device: torch.device | str = "cpu") -> dict[str, Any]:
    """A composed sample as the dict ``LoadImaged`` would give: float32 (1, D, H, W) MetaTensors
    with the identity affine (spec §12.1 writes the volumes with ``affine = eye(4)``)."""
    from monai.data import MetaTensor

    affine = torch.eye(4, dtype=torch.float64)
    out = {}
    for key, arr in (("image", image), ("label", label)):
        tensor = torch.as_tensor(np.ascontiguousarray(arr), device=device).to(torch.float32)[None]
        out[key] = MetaTensor(tensor, affine=affine.clone())
    return out


# -- sources ------------------------------------------------------------------------------------
def batch_positions(batch: int, rank: int, world_size: int, batch_size: int) -> list[int]:
    """Global stream positions of local batch ``batch`` of process ``rank``."""
    first = (batch * world_size + rank) * batch_size
    return list(range(first, first + batch_size))


def epoch_permutation(seed: int, epoch: int, n: int) -> np.ndarray:
    """Order of the ``n`` items in epoch ``epoch`` (depends only on seed and epoch)."""
    return np.random.default_rng([seed, epoch]).permutation(n)


class Source(ABC):
    """Maps a stream position to a volume dict after the base transforms."""

    num_classes: int
    class_names: list[str]

    def prepare(self) -> Iterator[Event]:
        """Check the data and fill caches before the first step, yielding ``prepare``
        progress (nothing to do by default)."""
        return iter(())

    @abstractmethod
    def index(self, position: int) -> int:
        """Item index (sample index or datalist entry) at ``position``."""

    @abstractmethod
    def item(self, index: int) -> dict[str, Any]:
        """The base-transformed volume of item ``index``."""

    @abstractmethod
    def validation_items(self, rank: int = 0, world_size: int = 1) -> list[int]:
        """This rank's share of the validation items (for :meth:`validation_item`)."""

    @abstractmethod
    def validation_item(self, index: int) -> dict[str, Any]:
        """The base-transformed validation volume ``index``."""

    def validation(self, rank: int = 0, world_size: int = 1) -> list[dict[str, Any]]:
        """This rank's share of the base-transformed validation volumes."""
        return [self.validation_item(i) for i in self.validation_items(rank, world_size)]


class SyntheticSource(Source):
    """The on-the-fly stream of a preset (see the module docs for the index layout).

    Parameters
    ----------
    config : TrainConfig
        ``preset``, ``data_seed``, ``stream_samples``, ``val_samples`` and transforms.
    device : torch.device or str
        Where samples are composed (the training device; CPU inside DataLoader workers).
    library : tuple of Path
        Extra shape-library folders.
    """

    def __init__(self, config: TrainConfig, device: torch.device | str = "cpu",
                 library: tuple[Path, ...] = ()) -> None:
        from fdif_core.compose import Composer
        from fdif_core.presets import load_preset

        loaded = load_preset(config.preset, library)
        if loaded.preset.label_mode != "single":
            raise FdifError(f"preset {loaded.preset.name!r}: training supports label_mode "
                            "'single' only")
        self.config = config
        self.device = torch.device(device)
        self.composer = Composer(loaded, self.device)
        self._check_memory(loaded.preset)
        self.seed = loaded.preset.dataset.seed if config.data_seed is None else config.data_seed
        self.num_classes = len(self.composer.table) + 1
        self.class_names = ["background"] + [e.hybrid_name for e in self.composer.table]
        n, v = config.stream_samples, config.val_samples
        self.val_indices = list(range(n, n + v)) if n is not None else list(range(v))
        self._perm: tuple[int, np.ndarray] | None = None

    def _check_memory(self, preset: Preset) -> None:
        """Refuse a stream whose samples (one per DataLoader worker on the CPU) need more
        memory than is available (:mod:`fdif_core.memory`)."""
        from fdif_core.memory import grid_label, require, sample_bytes

        copies = max(self.config.num_workers, 1) if self.device.type == "cpu" else 1
        require(sample_bytes(preset.grid, [d.name for d in preset.displacements]) * copies,
                f"preset {preset.name!r} (grid {grid_label(preset.grid)}, {copies} sample(s) "
                "at a time)", "use a smaller grid in the preset or fewer --num-workers",
                self.device)

    @cached_property
    def base(self):
        """The base transforms (MONAI is imported on first use, after the job has started)."""
        return base_transforms(self.config, load=False)

    def index(self, position: int) -> int:
        """Sample index of the dataset at stream ``position``."""
        n = self.config.stream_samples
        if n is None:
            return self.config.val_samples + position
        epoch = position // n
        if self._perm is None or self._perm[0] != epoch:
            self._perm = (epoch, epoch_permutation(self.config.seed, epoch, n))
        return int(self._perm[1][position % n])

    def raw(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """``Composer(preset).sample(seed, index)``'s image and label, untouched."""
        sample = self.composer.sample(self.seed, index)
        return sample.image, sample.label

    def item(self, index: int) -> dict[str, Any]:
        """Sample ``index`` after the base transforms."""
        image, label = self.raw(index)
        return self.base(sample_to_dict(image, label, self.device))

    def validation_items(self, rank: int = 0, world_size: int = 1) -> list[int]:
        """Validation sample indices ``rank::world_size``."""
        return self.val_indices[rank::world_size]

    def validation_item(self, index: int) -> dict[str, Any]:
        """Validation sample ``index`` (rendered like any other sample)."""
        return self.item(index)


class DecathlonSource(Source):
    """A Decathlon-layout dataset (``training`` / ``validation`` lists; relative or absolute
    paths). The number of classes comes from ``num_classes`` or the file's ``labels``.

    ``config.data`` is the dataset file or a folder holding one. :meth:`prepare` checks every
    case's headers and, with ``cache``, loads every training volume; each label's values are
    checked as it is loaded (:mod:`fdif_core.training.checks`).
    """

    def __init__(self, config: TrainConfig) -> None:
        path = dataset_file(config.data)
        try:
            meta = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise FdifError(f"{path}: not a readable JSON file ({err})") from None
        if not isinstance(meta, dict) or not meta.get("training"):
            raise FdifError(f"{path}: the 'training' list is missing or empty")
        self.path = path
        self.cases = {split: cases(path, split, meta.get(split) or [])
                      for split in ("training", "validation")}
        names = label_names(meta.get("labels"))
        if config.num_classes is not None:
            self.num_classes = config.num_classes
        elif names:
            self.num_classes = max(names) + 1
        else:
            raise FdifError(f"{path}: has no 'labels'; give the number of classes "
                            "(--num-classes, background included)")
        self.class_names = [names.get(i, str(i)) for i in range(self.num_classes)]
        self.allowed = allowed_labels(names, self.num_classes)
        self.config = config
        self._cache: dict[tuple[str, int], dict[str, Any]] = {}
        self._checked: set[tuple[str, int]] = set()
        self._perm: tuple[int, np.ndarray] | None = None

    @cached_property
    def base(self):
        """The base transforms, from ``LoadImaged`` on (MONAI is imported on first use)."""
        return base_transforms(self.config, load=True)

    def prepare(self) -> Iterator[Event]:
        """Check every case's headers; with ``cache``, load (and check) every training
        volume, yielding ``prepare`` progress."""
        yield from check_headers(self.cases["training"] + self.cases["validation"],
                                 self.config.in_channels)
        if not self.config.cache:
            return
        throttle = Throttle(PREPARE_EVERY_S)
        total = len(self.cases["training"])
        for index in range(total):
            if throttle.due():
                yield progress("prepare", index, total, "volume", task="loading training volumes")
            self.item(index)
        yield progress("prepare", total, total, "volume", task="loading training volumes")

    def index(self, position: int) -> int:
        """Entry of the training list at stream ``position`` (reshuffled per epoch)."""
        n = len(self.cases["training"])
        epoch = position // n
        if self._perm is None or self._perm[0] != epoch:
            self._perm = (epoch, epoch_permutation(self.config.seed, epoch, n))
        return int(self._perm[1][position % n])

    def _load(self, split: str, index: int) -> dict[str, Any]:
        key = (split, index)
        if key in self._cache:
            return {k: v.clone() if isinstance(v, torch.Tensor) else v
                    for k, v in self._cache[key].items()}
        case = self.cases[split][index]
        try:
            item = self.base(case.files())
        except Exception as err:  # noqa: BLE001 - MONAI wraps reader errors in RuntimeErrors
            raise FdifError(f"{case.where}: could not load it ({root_cause(err)})") from None
        if key not in self._checked:
            check_label_values(item["label"], self.allowed, self.num_classes,
                               f"{case.where}: label {case.shown(case.label)}")
            self._checked.add(key)
        if self.config.cache:
            self._cache[key] = item
            return {k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in item.items()}
        return item

    def item(self, index: int) -> dict[str, Any]:
        """Training entry ``index`` after the base transforms (cached if ``cache``)."""
        return self._load("training", index)

    def validation_items(self, rank: int = 0, world_size: int = 1) -> list[int]:
        """Entries ``rank::world_size`` of the validation list."""
        return list(range(rank, len(self.cases["validation"]), world_size))

    def validation_item(self, index: int) -> dict[str, Any]:
        """Validation entry ``index`` after the base transforms (cached if ``cache``)."""
        return self._load("validation", index)


def root_cause(err: BaseException) -> str:
    """The first line of the innermost cause of ``err`` (``Type: message``)."""
    while err.__cause__ is not None or err.__context__ is not None:
        err = err.__cause__ or err.__context__
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0]}" if text else type(err).__name__


def label_names(labels: Any) -> dict[int, str]:
    """``{id: name}`` from a Decathlon ``labels`` map (``{"1": "liver"}``) or an nnU-Net one
    (``{"liver": 1}``); empty if there is none."""
    if not isinstance(labels, dict):
        return {}
    try:
        return {int(k): str(v) for k, v in labels.items()}
    except (TypeError, ValueError):
        pass
    try:
        return {int(v): str(k) for k, v in labels.items()}
    except (TypeError, ValueError):
        return {}


def make_source(config: TrainConfig, device: torch.device | str = "cpu",
                library: tuple[Path, ...] = ()) -> Source:
    """The synthetic stream (``preset``) or the Decathlon dataset (``data``) of ``config``."""
    if config.preset is not None:
        return SyntheticSource(config, device, library)
    if config.data is not None:
        return DecathlonSource(config)
    raise FdifError("no training data: give --preset or --data")


# -- the sharded stream ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Shard:
    """Where a process sits in the DDP job."""

    rank: int = 0
    world_size: int = 1


def worker_batches(start_batch: int, worker: int, num_workers: int) -> Iterator[int]:
    """Local batch numbers ``start_batch + worker, + num_workers, …`` of one DataLoader worker."""
    batch = start_batch + worker
    while True:
        yield batch
        batch += num_workers


class RawStream(IterableDataset):
    """Sharded, endless stream of local batches of raw items, each a list of
    ``{"position", "index", "image", "label"}`` with the untransformed arrays (for checks and
    exports; training uses :class:`TrainStream`). Use with ``DataLoader(batch_size=None)``."""

    def __init__(self, source: Source, shard: Shard = Shard(), batch_size: int = 1,
                 start_batch: int = 0) -> None:
        self.source = source
        self.shard = shard
        self.batch_size = batch_size
        self.start_batch = start_batch

    def positions(self) -> Iterator[list[int]]:
        """Stream positions of each local batch this worker makes, in order."""
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        for batch in worker_batches(self.start_batch, worker, workers):
            yield batch_positions(batch, self.shard.rank, self.shard.world_size,
                                  self.batch_size)

    def __iter__(self) -> Iterator[list[dict[str, Any]]]:
        for positions in self.positions():
            items = []
            for p in positions:
                index = self.source.index(p)
                if isinstance(self.source, SyntheticSource):
                    image, label = self.source.raw(index)
                else:
                    item = self.source.item(index)
                    image, label = item["image"], item["label"]
                items.append({"position": p, "index": index, "image": image, "label": label})
            yield items


class TrainStream(RawStream):
    """Sharded, endless stream of training batches (use with ``DataLoader(batch_size=None)``).

    Each element is one local batch: ``image`` and ``label`` of shape
    ``(batch_size · crops_per_volume, 1, *crop_size)`` and ``index``, the sample indices. A
    data error (:class:`FdifError`, e.g. a label value checked on first load) ends the stream
    with ``{"error": message}``, so that it reaches the training process as one line even from
    a DataLoader worker.
    """

    def __init__(self, source: Source, config: TrainConfig, shard: Shard = Shard(),
                 start_batch: int = 0, device: torch.device | str = "cpu") -> None:
        super().__init__(source, shard, config.batch_size, start_batch)
        self.config = config
        self.device = torch.device(device)
        self.augment = train_transforms(config, self.device)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for positions in self.positions():
            images, labels, indices = [], [], []
            for p in positions:
                index = self.source.index(p)
                self.augment.set_random_state(seed=position_seed(self.config.seed, p))
                try:
                    item = self.source.item(index)
                except FdifError as err:
                    yield {"error": str(err)}
                    return
                crops = self.augment(item)
                for crop in crops:
                    images.append(plain_tensor(crop["image"]))
                    labels.append(plain_tensor(crop["label"]))
                indices.append(index)
            yield {"image": torch.stack(images), "label": torch.stack(labels),
                   "index": torch.tensor(indices)}


def plain_tensor(tensor: Any) -> torch.Tensor:
    """A plain tensor (MONAI may return MetaTensors even with ``track_meta=False``)."""
    from monai.data import MetaTensor

    return tensor.as_tensor() if isinstance(tensor, MetaTensor) else torch.as_tensor(tensor)
