"""Atomic, crash-safe file writing into a dataset folder.

Every file is first written under ``<root>/<state>/tmp/<host>-<pid>/`` (``<state>`` is the
job's ``.fdif`` folder, :attr:`~fdif_core.datasets.layout.Layout.state_dir`, on the same file
system as the dataset), flushed to disk and then renamed to its final name, so a reader, a
resumed run or another shard only ever sees complete files. Each process owns its temporary
folder; a later run removes the folders of processes on this host that are no longer alive
(killed runs).
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import shutil
import socket
import threading
from pathlib import Path

from fdif_core.datasets.layout import STATE_DIR
from fdif_core.errors import FdifError


class WriteError(FdifError):
    """A file of the dataset could not be written (full disk, no permission, I/O error)."""

    def __init__(self, path: Path, err: OSError) -> None:
        self.path = Path(path)
        self.errno = err.errno
        reason = err.strerror or str(err)
        hint = ""
        if err.errno == errno.ENOSPC:
            hint = "; free some space and re-run the same command to resume"
        elif err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            hint = "; choose a writable --out folder"
        super().__init__(f"cannot write {self.path}: {reason}{hint}")


def _write_file(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file and flush it to the disk (a seam for fault-injection tests)."""
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def host_name() -> str:
    """This host's name as used in temporary folder names (no ``-``)."""
    return socket.gethostname().replace("-", "_") or "host"


def remove_stale_tmp(state_dir: Path, keep: Path | None = None) -> None:
    """Delete the temporary folders under ``state_dir/tmp`` of dead processes of this host
    (and ``tmp`` itself when it is left empty)."""
    parent = Path(state_dir) / "tmp"
    if not parent.is_dir():
        return
    host_here = host_name()
    for entry in parent.iterdir():
        host, _, pid = entry.name.rpartition("-")
        if entry == keep or host != host_here or not pid.isdigit():
            continue
        if not pid_alive(int(pid)):
            shutil.rmtree(entry, ignore_errors=True)
    with contextlib.suppress(OSError):
        parent.rmdir()


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (one of another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Storage:
    """Atomic writes of files below ``root``.

    Parameters
    ----------
    root : Path
        The output folder (``--out``); created if missing.
    state_dir : str
        The job's state folder relative to ``root`` (temporary files go to its ``tmp``).
    """

    def __init__(self, root: Path, state_dir: str = STATE_DIR) -> None:
        self.root = Path(root)
        self.state_dir = self.root / state_dir
        self._host = host_name()
        self.tmp_dir = self.state_dir / "tmp" / f"{self._host}-{os.getpid()}"
        self._counter = itertools.count()
        self._lock = threading.Lock()

    def prepare(self) -> None:
        """Create the folder, check that it is writable and remove stale temporary files.

        Raises
        ------
        WriteError
            When the folder cannot be created or written.
        """
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self.tmp_dir.mkdir(parents=True, exist_ok=True)
            probe = self.tmp_dir / "probe"
            _write_file(probe, b"")
            probe.unlink()
        except OSError as err:
            raise WriteError(Path(err.filename or self.root), err) from None
        self.remove_stale()

    def remove_stale(self) -> None:
        """Delete the temporary folders of dead processes of this host."""
        remove_stale_tmp(self.state_dir, keep=self.tmp_dir)

    def writers(self) -> list[str]:
        """The other processes writing into this state folder now, as ``PID`` (this host) or
        ``PID on HOST``, from their temporary folders."""
        parent = self.state_dir / "tmp"
        found = []
        for entry in sorted(parent.iterdir()) if parent.is_dir() else []:
            host, _, pid = entry.name.rpartition("-")
            if entry == self.tmp_dir or not pid.isdigit():
                continue
            if host != self._host:
                found.append(f"{pid} on {host}")
            elif pid_alive(int(pid)):
                found.append(pid)
        return found

    def close(self) -> None:
        """Remove this process's temporary folder (and the parents if they are empty)."""
        shutil.rmtree(self.tmp_dir, ignore_errors=True)
        for folder in (self.tmp_dir.parent, self.tmp_dir.parent.parent):
            try:
                folder.rmdir()
            except OSError:
                break

    def path(self, relpath: str) -> Path:
        """The absolute path of a dataset file."""
        return self.root / relpath

    def exists(self, relpath: str) -> bool:
        """Whether a dataset file is present (files only ever appear complete)."""
        return (self.root / relpath).is_file()

    def write(self, relpath: str, data: bytes) -> Path:
        """Write ``data`` to ``root/relpath`` atomically (temporary file, fsync, rename).

        Raises
        ------
        WriteError
            On any ``OSError``; no temporary file is left behind.
        """
        final = self.root / relpath
        with self._lock:
            tmp = self.tmp_dir / f"{next(self._counter)}.tmp"
        try:
            _write_file(tmp, data)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, final)
        except OSError as err:
            tmp.unlink(missing_ok=True)
            raise WriteError(final, err) from None
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return final

    def remove(self, relpath: str) -> None:
        """Delete a dataset file if present."""
        (self.root / relpath).unlink(missing_ok=True)
