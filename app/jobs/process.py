"""Job processes: started detached, found again by pid, stopped by signal.

A job process is the leader of a new session (so it outlives the studio, and a signal to its
process group reaches its generator workers too) with ``SIGINT`` at its default (so cancelling
works even when the studio itself was started with ``SIGINT`` ignored, as a background job of a
shell is). Its stdout and stderr go to files, never to pipes the studio would have to drain.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Sequence
from pathlib import Path

import fdif_core
from fdif_core.datasets.storage import pid_alive

JOB_NICENESS = 10  # jobs run this much below the studio's CPU priority


def _environment() -> dict[str, str]:
    """The studio's environment, with ``fdif_core`` importable from the child wherever its
    working folder is."""
    env = dict(os.environ)
    package_root = str(Path(fdif_core.__file__).resolve().parent.parent)
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    if package_root not in paths:
        env["PYTHONPATH"] = os.pathsep.join([package_root, *paths])
    env["PYTHONUNBUFFERED"] = "1"
    return env


def spawn(command: Sequence[str], stdout: Path, stderr: Path, niceness: int = JOB_NICENESS) -> int:
    """Start ``command`` detached; its output is appended to ``stdout`` and ``stderr``.

    The job runs ``niceness`` steps below the studio's CPU priority (its worker processes
    inherit it): on an idle machine it gets every core all the same, and on a busy one the
    studio's threads come first, so the views stay responsive beside a generation job.

    Returns
    -------
    int
        The process id (also its process group and session id).
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
    actions = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
               (os.POSIX_SPAWN_OPEN, 1, str(stdout), flags, 0o644),
               (os.POSIX_SPAWN_OPEN, 2, str(stderr), flags, 0o644)]
    pid = os.posix_spawn(command[0], list(command), _environment(), file_actions=actions,
                         setsid=True, setsigdef=(signal.SIGINT, signal.SIGTERM),
                         setsigmask=())
    if niceness:
        with contextlib.suppress(OSError):  # (a process that has already ended)
            os.setpriority(os.PRIO_PROCESS, pid, os.getpriority(os.PRIO_PROCESS, 0) + niceness)
    return pid


def reap(pid: int) -> int | None:
    """The exit code of a child of this process that has ended (collecting it), else ``None``.

    Returns ``None`` too for a process that is not this process's child (one started by an
    earlier studio): :func:`is_running` tells whether that one still runs.
    """
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return None
    return os.waitstatus_to_exitcode(status) if done == pid else None


def is_running(pid: int | None, command: Sequence[str] = ()) -> bool:
    """Whether process ``pid`` runs (not a zombie) and, where ``/proc`` tells, runs
    ``command`` (a recycled pid of another program is not the job)."""
    if not pid:
        return False
    proc = Path(f"/proc/{pid}")
    if proc.is_dir():
        try:
            stat = (proc / "stat").read_text()
            if stat[stat.rindex(")") + 2] in "ZX":
                return False
            cmdline = (proc / "cmdline").read_bytes()
            if command and cmdline:  # empty while a process exits: it is not gone yet
                args = cmdline.rstrip(b"\0").split(b"\0")
                return [c.decode(errors="replace") for c in args] == list(command)
            return True
        except (OSError, ValueError, IndexError):
            return False
    return pid_alive(pid)


def signal_job(pid: int, sig: int) -> bool:
    """Send ``sig`` to the job's process group (the job and its workers); ``False`` when it is
    gone."""
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        return False
    return True
