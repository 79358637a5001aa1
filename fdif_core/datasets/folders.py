"""Which folders a generation job owns, checked before any sample is made.

A Decathlon or classification dataset *is* the ``--out`` folder: its manifest, card and
``.fdif`` state sit at the top, and a folder holding something else is refused unless
``--overwrite``.

An nnU-Net ``--out`` is an ``nnUNet_raw`` folder that many datasets share, fdif's and others.
The unit of ownership is the dataset folder: the job's *home* is its training set
``DatasetNNN_Name`` (manifest, card and ``.fdif`` state inside), and its validation set
``DatasetMMM_Name_Val`` carries ``.fdif/part_of.json`` naming the home. Only the dataset ids
of this run are looked at: another folder with one of them (a foreign dataset, or another
fdif dataset) is refused, and ``--overwrite`` replaces it with a warning naming it. Nothing
else in ``nnUNet_raw`` is touched.

Exports made before this layout kept one dataset's state at the top of ``nnUNet_raw``
(``manifest.json``, ``dataset_card.*``, ``.fdif/stats``); a run for that dataset moves them into
its home first, so old exports resume.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from fdif_core.datasets.layout import CARD_FILES, MANIFEST, STATE_DIR, Layout, json_bytes
from fdif_core.datasets.lock import LOCK_FILE, FolderLock
from fdif_core.datasets.manifest import identity_mismatch, read_manifest
from fdif_core.datasets.storage import remove_stale_tmp
from fdif_core.errors import FdifError
from fdif_core.files import atomic_write_bytes

PART_OF = "part_of.json"
KEEP_IN_STATE = (LOCK_FILE, "tmp")  # what --overwrite leaves in the home's .fdif


# -- manifests of earlier layouts ---------------------------------------------------------------
def manifest_layout(manifest: dict[str, Any]) -> Layout | None:
    """The layout a manifest describes, or ``None`` when it is not readable as one."""
    try:
        opts = manifest.get("options", {})
        return Layout(manifest["format"], int(manifest["num_samples"]),
                      int(manifest["num_val_samples"]), int(opts.get("dataset_id", 998)),
                      str(opts.get("dataset_name", "SDFSynthetic")),
                      int(opts.get("n_splits", 5)))
    except (KeyError, TypeError, ValueError, AttributeError, FdifError):
        return None


def _legacy_layout(root: Path) -> Layout | None:
    """The nnU-Net dataset whose state an older export kept at the top of ``root``.

    Raises
    ------
    FdifError
        When ``root`` is a Decathlon or classification dataset (not an ``nnUNet_raw``).
    """
    manifest = read_manifest(root)
    if manifest is None:
        return None
    layout = manifest_layout(manifest)
    if layout is None or layout.format != "nnunet":
        raise FdifError(f"{root} holds an fdif {manifest.get('format', '?')} dataset "
                        f"({MANIFEST}), not nnU-Net datasets; choose another --out")
    return layout


def _move(src: Path, dst: Path) -> None:
    """Move a file or folder, merging folders (idempotent: a missing ``src`` is done)."""
    if not src.exists():
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    if src.is_dir() and dst.is_dir():
        for child in src.iterdir():
            _move(child, dst / child.name)
        src.rmdir()
    else:
        os.replace(src, dst)


def _migrate_legacy(root: Path, layout: Layout) -> str:
    """Move the top-level state of an older export into the dataset's home."""
    home = root / layout.home
    state = root / STATE_DIR
    _move(state / "stats", home / STATE_DIR / "stats")
    for name in CARD_FILES:
        _move(root / name, home / name)
    if layout.num_val:
        _mark_validation(root, layout)
    os.replace(root / MANIFEST, home / MANIFEST)  # last: a re-run finishes an interrupted move
    remove_stale_tmp(state)
    with contextlib.suppress(OSError):
        state.rmdir()
    return (f"moved the fdif state of {layout.home} (manifest, card, statistics) from {root} "
            "into the dataset folder, where this version keeps it")


# -- nnU-Net dataset ids ------------------------------------------------------------------------
def _folders_with_id(root: Path, dataset_id: int) -> list[Path]:
    pattern = re.compile(rf"Dataset{dataset_id:03d}_.")
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and pattern.match(p.name))


def _part_of(folder: Path) -> str | None:
    try:
        return str(json.loads((folder / STATE_DIR / PART_OF).read_text())["part_of"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _mark_validation(root: Path, layout: Layout) -> None:
    """Record in the validation folder which home it belongs to (before any sample)."""
    marker = root / layout.val_dataset / STATE_DIR / PART_OF
    data = json_bytes({"part_of": layout.home})
    if not marker.is_file() or marker.read_bytes() != data:
        atomic_write_bytes(marker, data)


def _conflict(folder: Path, layout: Layout, legacy: Layout | None) -> str | None:
    """Why ``folder`` (holding one of this run's ids) is not this job's, or ``None``."""
    if not any(folder.iterdir()):
        return None
    claimed = legacy is not None and legacy.home == layout.home  # an older export of this job
    fdif = (folder / STATE_DIR).is_dir()
    part_of = _part_of(folder)
    if folder.name == layout.home and part_of is None and (fdif or claimed):
        return None
    if layout.num_val and folder.name == layout.val_dataset and \
            (part_of == layout.home or (claimed and not fdif)):
        return None
    if part_of is not None:
        return f"is the validation set of the fdif dataset {part_of}"
    return "is another fdif dataset" if fdif else "was not made by fdif"


def _remove_dataset(folder: Path) -> None:
    """Delete a dataset folder, refusing one that an fdif run is generating now."""
    lock = FolderLock(folder / STATE_DIR)
    if (folder / STATE_DIR / LOCK_FILE).is_file() and not lock.acquire():
        raise FdifError(f"{folder} is being generated by another fdif run; it cannot be "
                        "replaced now")
    try:
        shutil.rmtree(folder)
    finally:
        lock.release()


def _refuse_unmanaged(home: Path) -> None:
    """Refuse a dataset folder without a manifest that holds anything but fdif state."""
    others = [p.name for p in home.iterdir() if p.name != STATE_DIR] if home.is_dir() else []
    if others:
        raise FdifError(f"{home} is not empty and has no {MANIFEST} (it is not an fdif "
                        f"dataset: {', '.join(sorted(others)[:3])}…); use an empty folder or "
                        "--overwrite")


def _refuse_orphan_validation(root: Path, layout: Layout, legacy: Layout | None) -> None:
    """Refuse validation samples whose home has no manifest to vouch for them."""
    val = root / layout.val_dataset
    if not layout.num_val or not val.is_dir() or (root / layout.home / MANIFEST).is_file() or \
            (legacy is not None and legacy.home == layout.home):
        return
    if any(p.name != STATE_DIR for p in val.iterdir()):
        raise FdifError(f"{val} holds samples but {root / layout.home} has no {MANIFEST}, so "
                        "they cannot be checked; use --overwrite to start over")


def check_out(root: Path, layout: Layout, overwrite: bool) -> tuple[list[str], Layout | None]:
    """Check ``--out`` before the job creates anything in it.

    A Decathlon or classification folder that holds files but no manifest is refused (unless
    ``overwrite``); for nnU-Net see :func:`check_nnunet_ids`.

    Returns
    -------
    (list of str, Layout or None)
        Warnings, and the nnU-Net dataset of an older export whose state sits at the top of
        ``root`` (for :func:`prepare_home`).
    """
    if layout.format == "nnunet":
        return check_nnunet_ids(root, layout, overwrite)
    if not overwrite and read_manifest(root) is None:
        _refuse_unmanaged(root)
    return [], None


def check_nnunet_ids(root: Path, layout: Layout, overwrite: bool) -> tuple[list[str],
                                                                          Layout | None]:
    """Check the folders holding this run's nnU-Net ids; with ``overwrite`` remove the ones
    that are not this job's. Writes nothing otherwise (run before the home is created).

    Returns
    -------
    (list of str, Layout or None)
        Warnings (one per removed folder) and the dataset of an older export whose state
        sits at the top of ``root`` (see :func:`prepare_home`).

    Raises
    ------
    FdifError
        A folder with one of the ids that is not this job's (without ``overwrite``), or
        ``root`` is another kind of fdif dataset.
    """
    legacy = _legacy_layout(root)
    ids = [layout.dataset_id] + ([layout.dataset_id + 1] if layout.num_val else [])
    found = []
    for dataset_id in ids:
        for folder in _folders_with_id(root, dataset_id):
            reason = _conflict(folder, layout, legacy)
            if reason:
                found.append((folder, dataset_id, reason))
    if not overwrite:
        _refuse_orphan_validation(root, layout, legacy)
    if found and not overwrite:
        folder, dataset_id, reason = found[0]
        raise FdifError(f"{folder} already uses nnU-Net dataset id {dataset_id} and {reason}; "
                        "choose another --dataset-id, or use --overwrite to replace it")
    warnings = []
    for folder, dataset_id, reason in found:
        _remove_dataset(folder)
        warnings.append(f"--overwrite: removed {folder} (nnU-Net dataset id {dataset_id}, it "
                        f"{reason})")
    return warnings, legacy


# -- the home -----------------------------------------------------------------------------------
def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _clear_home(root: Path, layout: Layout, old: Layout | None) -> list[str]:
    """Remove what the dataset in the home holds, keeping the lock and temporary files."""
    home = root / layout.home
    if layout.home:
        names = [p.name for p in home.iterdir()] if home.is_dir() else []
    elif old is not None and old.format == "nnunet":  # an older export's top-level state
        names = layout.owned() + [old.train_dataset] + ([old.val_dataset] if old.num_val else [])
    else:
        names = layout.owned() + (old.owned() if old else [])
    for name in sorted(set(names)):
        path = home / name
        if name != STATE_DIR:
            _remove(path)
            continue
        for entry in path.iterdir() if path.is_dir() else []:
            if entry.name not in KEEP_IN_STATE:
                _remove(entry)
    warnings = []
    if layout.format == "nnunet" and old is not None and old.num_val:
        val = root / old.val_dataset
        if val.is_dir() and _part_of(val) == layout.home:
            shutil.rmtree(val)
            if not layout.num_val:
                warnings.append(f"--overwrite: removed {val}, the validation set of the "
                                f"dataset replaced in {layout.home}")
    return warnings


def prepare_home(root: Path, layout: Layout, identity: dict[str, Any], overwrite: bool,
                 legacy: Layout | None = None) -> list[str]:
    """Check the job's home against its manifest (run while holding its lock).

    Moves an older export's state into the home, replaces another dataset there with
    ``overwrite``, and marks the nnU-Net validation folder as this job's.

    Returns
    -------
    list of str
        Warnings to report.

    Raises
    ------
    FdifError
        The home holds another dataset (without ``overwrite``), files that are not an fdif
        dataset, or an unreadable manifest.
    """
    warnings = []
    home = root / layout.home
    if legacy is not None and legacy.home == layout.home and (root / MANIFEST).is_file():
        warnings.append(_migrate_legacy(root, layout))
    if overwrite:
        try:
            old = read_manifest(home)
        except FdifError:
            old = None
        warnings += _clear_home(root, layout, manifest_layout(old) if old else None)
    else:
        manifest = read_manifest(home)
        if manifest is not None:
            mismatch = identity_mismatch(manifest, identity)
            if mismatch:
                raise FdifError(f"{home} already holds another dataset: {mismatch}; use "
                                "--overwrite to replace it or choose another "
                                + ("--dataset-id" if layout.home else "--out"))
            if manifest.get("fdif_version") != identity["fdif_version"]:
                warnings.append(f"resuming a dataset started by fdif "
                                f"{manifest.get('fdif_version')} with fdif "
                                f"{identity['fdif_version']}")
        else:
            _refuse_unmanaged(home)
    if layout.format == "nnunet" and layout.num_val:
        _mark_validation(root, layout)
    return warnings
