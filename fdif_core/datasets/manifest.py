"""The dataset manifest: what a folder was generated from and which samples are complete.

``manifest.json`` (in the dataset folder; for nnU-Net the training ``DatasetNNN_Name``) records
the identity of the job (preset name and content hash, seed, format, counts and every option
that changes file bytes) and the complete sample indices as ``[first, last]`` ranges.
Re-running a command into a folder whose manifest has another identity is refused unless
``--overwrite``. The files on disk are the ground truth of completeness (they only ever appear
complete); the ``complete`` list is the record a run leaves, refreshed while it runs and final
when ``finished`` is true.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fdif_core.datasets.layout import MANIFEST, json_bytes
from fdif_core.errors import FdifError

MANIFEST_VERSION = 1


def to_ranges(indices: Iterable[int]) -> list[list[int]]:
    """``[0, 1, 2, 5, 6]`` → ``[[0, 2], [5, 6]]`` (inclusive ranges)."""
    out: list[list[int]] = []
    for i in sorted(set(indices)):
        if out and out[-1][1] == i - 1:
            out[-1][1] = i
        else:
            out.append([i, i])
    return out


def from_ranges(ranges: Iterable[Iterable[int]]) -> set[int]:
    """Inverse of :func:`to_ranges`."""
    out: set[int] = set()
    for first, last in ranges:
        out.update(range(int(first), int(last) + 1))
    return out


def manifest_bytes(identity: dict[str, Any], complete: Iterable[int], finished: bool) -> bytes:
    """The manifest file content."""
    return json_bytes({"manifest_version": MANIFEST_VERSION, **identity,
                       "complete": to_ranges(complete), "finished": finished})


def read_manifest(root: Path) -> dict[str, Any] | None:
    """The manifest of a dataset folder (its home), or ``None`` if it has none.

    Raises
    ------
    FdifError
        When the file exists but is not a manifest.
    """
    path = Path(root) / MANIFEST
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise FdifError(f"{path}: unreadable manifest ({err}); use --overwrite to start over") \
            from None
    if not isinstance(data, dict) or data.get("manifest_version") != MANIFEST_VERSION:
        raise FdifError(f"{path}: not an fdif manifest (version "
                        f"{data.get('manifest_version') if isinstance(data, dict) else '?'}); "
                        "use --overwrite to start over")
    return data


IDENTITY_LABELS = {
    "preset_hash": "preset content", "preset": "preset", "seed": "seed", "format": "format",
    "num_samples": "--num-samples", "num_val_samples": "--num-val-samples",
}


def identity_mismatch(old: dict[str, Any], new: dict[str, Any]) -> str | None:
    """A sentence naming the first difference between two identities, or ``None``."""
    for key in ("preset", "preset_hash", "seed", "format", "num_samples", "num_val_samples"):
        if old.get(key) != new.get(key):
            label = IDENTITY_LABELS[key]
            if key == "preset_hash":
                return (f"the preset {new.get('preset')!r} has changed since the folder was "
                        f"generated (hash {str(old.get(key))[:12]}… → {str(new.get(key))[:12]}…)")
            return f"it was generated with {label} {old.get(key)!r}, not {new.get(key)!r}"
    old_opts, new_opts = old.get("options", {}), new.get("options", {})
    for key in sorted(set(old_opts) | set(new_opts)):
        if old_opts.get(key) != new_opts.get(key):
            return (f"it was generated with {key} {old_opts.get(key)!r}, "
                    f"not {new_opts.get(key)!r}")
    return None
