"""Thread policy of the engine.

Torch's default of one OpenMP thread per core spin-waits when another process keeps a core
busy, which made the reference 5-7x slower in wall time on 2-core machines. Engine commands
therefore run one torch thread per process and scale out with processes; ``FDIF_THREADS`` or
``OMP_NUM_THREADS`` override it.
"""

from __future__ import annotations

import os

import torch


def configure_threads(default: int = 1) -> int:
    """Set torch's intra-op thread count from the environment or ``default``; return it."""
    value = os.environ.get("FDIF_THREADS") or os.environ.get("OMP_NUM_THREADS")
    threads = int(value) if value and value.isdigit() and int(value) > 0 else default
    torch.set_num_threads(threads)
    return threads
