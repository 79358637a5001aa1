"""One run per dataset folder: an advisory lock on ``<state>/lock``.

Two ``fdif generate`` runs into one dataset would both compute every sample (the output stays
correct, the work doubles), so a run locks its dataset folder first. Sharded runs share a
folder by design (``--shard K/N`` array jobs, ``torchrun`` ranks), so the lock has two parts,
both POSIX record locks on the one file:

* byte 0: an unsharded run holds it exclusively, each shard holds it shared;
* byte ``1 + N(N-1)/2 + K``: shard ``K`` of ``N`` holds it exclusively (an unsharded run locks
  the whole file, every byte).

So shards run side by side, while the same shard twice, or an unsharded run beside any shard,
is refused. Record locks work on NFS too (where ``flock`` is emulated with them), and the
operating system drops them when the process ends, even on ``kill -9``. The lock file stays,
empty. Locks are per process: two jobs inside one process do not exclude each other.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = "lock"


def shard_byte(shard: int, shards: int) -> int:
    """The byte of the lock file that shard ``shard`` of ``shards`` holds exclusively."""
    return 1 + shards * (shards - 1) // 2 + shard


class FolderLock:
    """The lock of one dataset folder for one shard.

    Parameters
    ----------
    state_dir : Path
        The dataset's ``.fdif`` folder (created if missing).
    shard, shards : int
        This run's shard ``shard`` of ``shards`` (``0`` of ``1``: unsharded).
    """

    def __init__(self, state_dir: Path, shard: int = 0, shards: int = 1) -> None:
        self.path = Path(state_dir) / LOCK_FILE
        self.shard, self.shards = shard, shards
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock without waiting.

        Returns
        -------
        bool
            ``True`` when this process holds it now, ``False`` when another process holds a
            conflicting lock.

        Raises
        ------
        OSError
            When the file cannot be created or the file system does not support locks.
        """
        if fcntl is None:  # pragma: no cover - not POSIX
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if self.shards == 1:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 0, 0)
            else:
                fcntl.lockf(fd, fcntl.LOCK_SH | fcntl.LOCK_NB, 1, 0)
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1,
                            shard_byte(self.shard, self.shards))
        except (BlockingIOError, PermissionError):
            os.close(fd)  # closing drops any part this process took
            return False
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return True

    def release(self) -> None:
        """Drop the lock (idempotent)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None
