"""Compute devices named by the user (``--device``), checked with one-line errors."""

from __future__ import annotations

import torch

from fdif_core.errors import FdifError

KNOWN_DEVICES = "cpu, cuda or cuda:N"


def parse_device(name: str, flag: str = "--device") -> torch.device:
    """The torch device ``name`` names: ``cpu``, ``cuda`` or ``cuda:N`` on this machine.

    Raises
    ------
    FdifError
        An unknown device, CUDA without a CUDA device, or a CUDA index this machine lacks.
    """
    kind, sep, index = str(name).partition(":")
    if name == "cpu":
        return torch.device("cpu")
    if kind != "cuda" or (sep and not index.isdigit()):
        raise FdifError(f"{flag} {name}: unknown device; use {KNOWN_DEVICES}")
    if not torch.cuda.is_available():
        raise FdifError(f"{flag} {name}: CUDA is not available on this machine; use {flag} cpu")
    count = torch.cuda.device_count()
    if sep and int(index) >= count:
        raise FdifError(f"{flag} {name}: this machine has {count} CUDA device(s), "
                        f"cuda:0 to cuda:{count - 1}")
    return torch.device(name)
