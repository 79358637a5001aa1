"""Where each file of a dataset goes, per output format (spec §12), and the index files.

All paths are relative to the dataset folder (``--out``), so a dataset can be moved.

* ``decathlon`` (§12.1): ``data/image/batch_BBBB/sample_IIIII_x.nii.gz``,
  ``data/label/batch_BBBB/sample_IIIII_y.nii.gz`` and ``data/data.json`` whose paths are
  relative to ``data/`` (MONAI's ``load_decathlon_datalist`` resolves them with ``base_dir``).
* ``nnunet`` (§12.2): ``DatasetNNN_Name/imagesTr/case_IIIII_0000.nii.gz``, ``labelsTr/…`` and
  ``dataset.json``; validation samples form the sibling dataset ``DatasetMMM_Name_Val``
  (``MMM = NNN + 1``) with their global case numbers and their own ``dataset.json``. The
  path is built explicitly, so it is never nested and never overwrites the training
  ``dataset.json`` (spec §15.22). ``--out`` is an ``nnUNet_raw`` folder that may hold many
  datasets, fdif's and others: the job's *home* is its training dataset folder, which holds
  the manifest, the card and the ``.fdif`` state (see :mod:`fdif_core.datasets.folders`).
* ``classification`` (§12.4): ``nnUNetResEncUNetLPlans_3d_fullres/case_IIIII.b2nd``,
  ``labelsTr.json``, ``splits_final.json`` and ``<name>.yaml``.

Every format also keeps one small statistics file per sample under ``<home>/.fdif/stats/``
(the home is the dataset folder: ``--out`` itself, or ``DatasetNNN_Name`` for nnU-Net); a sample
is complete when all of its files exist (they only ever appear complete, see
:mod:`fdif_core.datasets.storage`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from fdif_core.errors import FdifError

FORMATS = ("decathlon", "nnunet", "classification")
STATE_DIR = ".fdif"
MANIFEST = "manifest.json"
CARD_FILES = ("dataset_card.json", "dataset_card.md", "dataset_card.png")
DECATHLON_BATCH = 100
CLASSIFICATION_DIR = "nnUNetResEncUNetLPlans_3d_fullres"


def json_bytes(data: Any) -> bytes:
    """Deterministic, human-readable JSON (2-space indent, trailing newline)."""
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode()


@dataclass(frozen=True)
class LabelInfo:
    """What the labels mean.

    Attributes
    ----------
    names : dict
        Class id → display name; 0 is the background (segmentation formats) or the first
        class (classification, ids from 0).
    tasks : dict or None
        Multi-task vocabularies ``task → {name: id}`` (spec §11.4), or ``None``.
    sample_labels : dict
        Classification only: case id → class id (or a list of per-task ids).
    """

    names: dict[int, str]
    tasks: dict[str, dict[str, int]] | None = None
    sample_labels: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Layout:
    """File paths of one output format.

    Parameters
    ----------
    format : str
        ``decathlon``, ``nnunet`` or ``classification``.
    num_train, num_val : int
        Sample indices ``0 .. num_train-1`` are training, the next ``num_val`` validation.
    dataset_id : int
        nnU-Net dataset id of the training set (the validation set gets ``dataset_id + 1``).
    dataset_name : str
        nnU-Net dataset name; the classification config file name.
    n_splits : int
        Classification: number of (identical) folds in ``splits_final.json``.
    grid : tuple of int
        Volume size ``(D, H, W)`` (the classification config's patch size).
    """

    format: str
    num_train: int
    num_val: int
    dataset_id: int = 998
    dataset_name: str = "SDFSynthetic"
    n_splits: int = 5
    grid: tuple[int, int, int] = (96, 96, 96)

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise FdifError(f"unknown format {self.format!r} (known: {', '.join(FORMATS)})")
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", self.dataset_name):
            raise FdifError(f"--dataset-name {self.dataset_name!r}: use letters, digits, '_' "
                            "and '-' only")
        if self.format == "nnunet":
            last = self.dataset_id + (1 if self.num_val else 0)
            if self.dataset_id < 1 or last > 999:
                raise FdifError(f"--dataset-id {self.dataset_id}: nnU-Net ids are 1..999 and the "
                                f"validation set takes id {self.dataset_id + 1}"
                                if self.num_val else
                                f"--dataset-id {self.dataset_id}: nnU-Net ids are 1..999")

    @property
    def total(self) -> int:
        """Number of samples, training and validation."""
        return self.num_train + self.num_val

    def split(self, index: int) -> str:
        """``training`` or ``validation``."""
        return "training" if index < self.num_train else "validation"

    # -- folders ---------------------------------------------------------------------------
    @property
    def train_dataset(self) -> str:
        """nnU-Net folder of the training set."""
        return f"Dataset{self.dataset_id:03d}_{self.dataset_name}"

    @property
    def val_dataset(self) -> str:
        """nnU-Net folder of the validation set (a sibling, never nested)."""
        return f"Dataset{self.dataset_id + 1:03d}_{self.dataset_name}_Val"

    @property
    def home(self) -> str:
        """The dataset folder that holds the manifest, the card and the ``.fdif`` state:
        ``""`` (``--out`` itself), or the training dataset folder for nnU-Net."""
        return self.train_dataset if self.format == "nnunet" else ""

    def in_home(self, name: str) -> str:
        """Relative path of ``name`` inside :attr:`home`."""
        return f"{self.home}/{name}" if self.home else name

    @property
    def state_dir(self) -> str:
        """Relative path of the job's state folder (statistics, temporary files, lock)."""
        return self.in_home(STATE_DIR)

    @property
    def manifest_file(self) -> str:
        """Relative path of the manifest."""
        return self.in_home(MANIFEST)

    def owned(self) -> list[str]:
        """Entries of :attr:`home` this layout writes (what ``--overwrite`` may remove); the
        nnU-Net validation folder is handled by :mod:`fdif_core.datasets.folders`."""
        common = [STATE_DIR, MANIFEST, *CARD_FILES]
        if self.format == "decathlon":
            return ["data", *common]
        if self.format == "nnunet":
            return ["imagesTr", "labelsTr", "dataset.json", *common]
        return [CLASSIFICATION_DIR, "labelsTr.json", "splits_final.json",
                f"{self.dataset_name}.yaml", *common]

    # -- per-sample files ----------------------------------------------------------------------
    def case_id(self, index: int) -> str:
        """``sample_IIIII`` (decathlon) or ``case_IIIII``."""
        return f"sample_{index:05d}" if self.format == "decathlon" else f"case_{index:05d}"

    def image_file(self, index: int) -> str:
        """Relative path of sample ``index``'s image."""
        if self.format == "decathlon":
            return f"data/image/batch_{index // DECATHLON_BATCH:04d}/sample_{index:05d}_x.nii.gz"
        if self.format == "nnunet":
            folder = self.train_dataset if index < self.num_train else self.val_dataset
            return f"{folder}/imagesTr/case_{index:05d}_0000.nii.gz"
        return f"{CLASSIFICATION_DIR}/case_{index:05d}.b2nd"

    def label_file(self, index: int) -> str | None:
        """Relative path of sample ``index``'s label volume (``None`` for classification)."""
        if self.format == "decathlon":
            return f"data/label/batch_{index // DECATHLON_BATCH:04d}/sample_{index:05d}_y.nii.gz"
        if self.format == "nnunet":
            folder = self.train_dataset if index < self.num_train else self.val_dataset
            return f"{folder}/labelsTr/case_{index:05d}.nii.gz"
        return None

    def stats_file(self, index: int) -> str:
        """Relative path of sample ``index``'s statistics (used by the dataset card)."""
        return f"{self.state_dir}/stats/batch_{index // 1000:03d}/{index:05d}.json"

    def sample_files(self, index: int) -> list[str]:
        """Every file of sample ``index``, the statistics file last."""
        label = self.label_file(index)
        return [self.image_file(index), *([label] if label else []), self.stats_file(index)]

    # -- index files -------------------------------------------------------------------------
    def index_files(self, info: LabelInfo, preset_name: str) -> dict[str, bytes]:
        """The files that list the samples, written once every sample is complete."""
        if self.format == "decathlon":
            return {"data/data.json": json_bytes(self._data_json(info, preset_name))}
        if self.format == "nnunet":
            out = {f"{self.train_dataset}/dataset.json":
                   json_bytes(self._nnunet_json(info, self.num_train))}
            if self.num_val:
                out[f"{self.val_dataset}/dataset.json"] = json_bytes(
                    self._nnunet_json(info, self.num_val))
            return out
        return self._classification_files(info)

    def _entry(self, index: int) -> dict[str, str]:
        rel = "./" + self.image_file(index).removeprefix("data/")
        lab = "./" + (self.label_file(index) or "").removeprefix("data/")
        return {"image": rel, "label": lab, "id": self.case_id(index)}

    def _data_json(self, info: LabelInfo, preset_name: str) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": preset_name,
            "description": "FDIF synthetic segmentation data (fdif generate)",
            "tensorImageSize": "3D",
            "modality": {"0": "SDF"},
            "labels": {str(k): v for k, v in info.names.items()},
            "numTraining": self.num_train,
            "numValidation": self.num_val,
            "training": [self._entry(i) for i in range(self.num_train)],
            "validation": [self._entry(i) for i in range(self.num_train, self.total)],
        }
        if info.tasks is not None:
            data["multi_task"] = True
            data["label_axis"] = "last: labels are (D, H, W, T), one channel per task"
            data["tasks"] = {t: {"labels": names} for t, names in info.tasks.items()}
        return data

    def _nnunet_json(self, info: LabelInfo, count: int) -> dict[str, Any]:
        labels = {name: cid for cid, name in sorted(info.names.items())}
        return {"channel_names": {"0": "SDF"}, "labels": labels, "numTraining": count,
                "file_ending": ".nii.gz"}

    def _classification_files(self, info: LabelInfo) -> dict[str, bytes]:
        train = [self.case_id(i) for i in range(self.num_train)]
        val = [self.case_id(i) for i in range(self.num_train, self.total)]
        splits = [{"train": train, "val": val} for _ in range(self.n_splits)]
        multilabel = info.tasks is not None
        num_classes = ([len(v) for v in info.tasks.values()] if multilabel
                       else len(info.names))
        return {"labelsTr.json": json_bytes(info.sample_labels),
                "splits_final.json": json_bytes(splits),
                f"{self.dataset_name}.yaml": _hydra_config(self.dataset_name, num_classes,
                                                           multilabel, self.n_splits,
                                                           self.grid)}


def _hydra_config(name: str, num_classes: int | list[int], multilabel: bool,
                  n_splits: int, grid: tuple[int, int, int]) -> bytes:
    """A Hydra data/training config for SSL3D_classification (spec §12.4)."""
    classes = json.dumps(num_classes)
    lines = [
        f"# FDIF classification dataset {name} (fdif generate --format classification)",
        "data:",
        f"  name: {name}",
        f"  plans_dir: {CLASSIFICATION_DIR}",
        "  labels: labelsTr.json",
        "  splits: splits_final.json",
        f"  num_classes: {classes}",
        f"  task: {'multilabel' if multilabel else 'multiclass'}",
        f"  patch_size: {list(grid)}",
        "training:",
        "  optimizer: AdamW",
        "  lr: 1.0e-4",
        "  weight_decay: 1.0e-2",
        "  label_smoothing: 0.2",
        "  accumulate_grad_batches: 48",
        "  epochs: 400",
        f"  folds: {list(range(n_splits))}",
        "",
    ]
    return "\n".join(lines).encode()
