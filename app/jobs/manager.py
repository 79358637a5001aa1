"""The job queue: starts jobs as detached processes, follows their events on a timer, cancels
and resumes them, and finds again the jobs an earlier studio left running.

Nothing here blocks the GUI thread: each tick reads only the bytes the jobs appended since the
last one. A job ends when its last event is ``done`` or ``error``, or when its process is gone
(then the end of its stderr says why).
"""

from __future__ import annotations

import signal
import time
from collections import deque
from pathlib import Path

from PyQt6.QtCore import QObject, QTimer, pyqtSignal

from app.jobs.commands import process_command, resume_argv, shell_line, torchrun_line
from app.jobs.process import is_running, reap, signal_job, spawn
from app.jobs.progress import EventTail, FileTail, Progress
from app.jobs.store import JobRecord, JobStore

POLL_MS = 200
GRACE_S = 10.0  # SIGINT first; SIGKILL if the job still runs this long after
LOG_LINES = 5000
STDERR_TAIL = 5  # lines of stderr quoted when a job ends without a result
ACTIVE = ("running", "cancelling")
TRAINING_CHECKPOINT = "training_checkpoint.pth"  # fdif_core.training.loop.CHECKPOINT


class Job:
    """A job in the studio: its record, what its events say so far, and its log."""

    def __init__(self, record: JobRecord, store: JobStore) -> None:
        self.record = record
        self.progress = Progress(kind=record.kind)
        self.events = EventTail(store.events_path(record.id))
        self.stderr = FileTail(store.stderr_path(record.id))
        self.log: deque[tuple[str, str]] = deque(maxlen=LOG_LINES)
        """``(stream, text)`` lines: stream ``event``, ``stderr`` or ``studio``."""
        self.stderr_tail: deque[str] = deque(maxlen=STDERR_TAIL)
        self.own_child = False  # started by this studio: its exit code can be collected
        self.cancel_requested = False
        self.kill_at: float | None = None

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def state(self) -> str:
        return self.record.state

    @property
    def kind(self) -> str:
        return self.record.kind

    @property
    def out(self) -> Path:
        return Path(self.record.out)

    @property
    def active(self) -> bool:
        """The process runs (or is being stopped)."""
        return self.record.state in ACTIVE

    def command_line(self) -> str:
        """The job as one ``fdif …`` line."""
        return shell_line(self.record.argv)

    def torchrun_line(self, nproc: int = 2) -> str:
        """The job under ``torchrun`` (training and fine-tuning)."""
        return torchrun_line(self.record.argv, nproc)


class JobManager(QObject):
    """The studio's jobs, in the order they were added.

    Parameters
    ----------
    store : JobStore, optional
        Where job folders go (default: the user data folder's ``jobs``).
    grace_s : float
        How long a cancelled job gets to stop after ``SIGINT`` before ``SIGKILL``.
    """

    added = pyqtSignal(object)
    changed = pyqtSignal(object)
    logged = pyqtSignal(object, list)
    removed = pyqtSignal(object)

    def __init__(self, store: JobStore | None = None, grace_s: float = GRACE_S,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store = store or JobStore()
        self.grace_s = grace_s
        self.jobs: dict[str, Job] = {}
        self._unreaped: set[int] = set()
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)
        self.timer.start()

    # -- commands ------------------------------------------------------------------------------
    def submit(self, kind: str, argv: list[str], out: str, source: str = "",
               parallel: bool = False) -> Job:
        """Queue a job (it starts at once when the queue is free or ``parallel``)."""
        job = Job(self.store.create(kind, argv, out, source, parallel), self.store)
        self.jobs[job.id] = job
        self.added.emit(job)
        self._schedule()
        return job

    def active(self) -> list[Job]:
        """Jobs whose process runs."""
        return [job for job in self.jobs.values() if job.active]

    def queued(self) -> list[Job]:
        return [job for job in self.jobs.values() if job.state == "queued"]

    def cancel(self, job: Job) -> None:
        """Stop a job: ``SIGINT`` (the core saves its progress), ``SIGKILL`` after the grace
        period; a second cancel kills at once. A queued job is taken off the queue."""
        if job.state == "queued":
            self._finish(job, "cancelled", "cancelled before it started")
            return
        if not job.active:
            return
        job.cancel_requested = True
        if job.state == "cancelling":
            signal_job(job.record.pid, signal.SIGKILL)
            return
        signal_job(job.record.pid, signal.SIGINT)
        job.kill_at = time.monotonic() + self.grace_s
        self._set_state(job, "cancelling")
        self._note(job, "cancel requested (SIGINT)")

    def resume(self, job: Job) -> bool:
        """Run an ended job's command again into the same folder (training: ``--resume``
        once its run folder holds a checkpoint); it joins the queue."""
        if not job.record.final:
            return False
        has_checkpoint = (job.out / TRAINING_CHECKPOINT).is_file()
        job.record.argv = resume_argv(job.record.argv, has_checkpoint)
        job.record.message = ""
        job.cancel_requested, job.kill_at = False, None
        self._set_state(job, "queued")
        self._note(job, "resume queued")
        self._schedule()
        return True

    def remove(self, job: Job) -> bool:
        """Drop an ended job from the list (its folder and files stay)."""
        if job.active or job.id not in self.jobs:
            return False
        if job.state == "queued":
            self._finish(job, "cancelled", "removed before it started")
        del self.jobs[job.id]
        self.removed.emit(job)
        return True

    def stop_all(self, wait_s: float | None = None) -> None:
        """Cancel every queued and running job and wait (up to the grace period) for them to
        stop; what still runs then is killed. For closing the studio."""
        for job in self.queued():
            self.cancel(job)
        running = self.active()
        for job in running:
            if job.state == "running":
                self.cancel(job)
        deadline = time.monotonic() + (self.grace_s if wait_s is None else wait_s)
        while time.monotonic() < deadline and any(self._alive(job) for job in running):
            time.sleep(0.05)
        for job in running:
            if self._alive(job):
                signal_job(job.record.pid, signal.SIGKILL)
        kill_deadline = time.monotonic() + 5.0
        while time.monotonic() < kill_deadline and any(self._alive(job) for job in running):
            time.sleep(0.02)
        self.poll()

    def restore(self) -> list[Job]:
        """List again the jobs an earlier studio left running: those whose process still runs
        are followed as before; those that ended meanwhile show how they ended."""
        found = []
        for record in self.store.load_all():
            if record.id in self.jobs:
                continue
            if record.state == "queued":
                record.state, record.message = "cancelled", "never started (the studio closed)"
                self.store.save(record)
                continue
            if record.state not in ACTIVE:
                continue
            job = Job(record, self.store)
            self.jobs[job.id] = job
            self.added.emit(job)
            found.append(job)
            self._note(job, f"found again: pid {record.pid}")
            self._poll(job)
        return found

    def shutdown(self) -> None:
        """Stop following the jobs (they keep running)."""
        self.timer.stop()

    # -- the tick ------------------------------------------------------------------------------
    def poll(self) -> None:
        """Read what the running jobs wrote, end those that ended, start queued ones."""
        for pid in list(self._unreaped):
            if reap(pid) is not None or not is_running(pid):
                self._unreaped.discard(pid)
        for job in self.active():
            self._poll(job)
        self._schedule()

    def _alive(self, job: Job) -> bool:
        pid = job.record.pid
        if job.own_child and job.record.exit_code is None:
            code = reap(pid)
            if code is not None:
                job.record.exit_code = code
                return False
        elif job.own_child:
            return False
        return is_running(pid, job.record.command)

    def _poll(self, job: Job) -> None:
        alive = self._alive(job)  # before reading: what a process wrote before it ended is read
        self._read(job, everything=not alive)
        if job.progress.last is not None:
            if alive and job.own_child:
                self._unreaped.add(job.record.pid)
            self._end_from_events(job)
        elif not alive:
            self._end_without_result(job)
        elif job.state == "cancelling" and job.kill_at and time.monotonic() >= job.kill_at:
            signal_job(job.record.pid, signal.SIGKILL)
            self._note(job, f"still running {self.grace_s:g} s after SIGINT: killed")
            job.kill_at = None

    def _read(self, job: Job, everything: bool = False) -> None:
        lines: list[tuple[str, str]] = []
        count = job.progress.events
        while True:
            events = job.events.read_events()
            for event in events:
                line = job.progress.apply(event)
                if line is not None:
                    lines.append(("event", line))
            errors = job.stderr.read()
            for text in errors:
                if text.strip():
                    job.stderr_tail.append(text)
                    lines.append(("stderr", text))
            if not everything or not (events or errors):
                break
        if lines:
            job.log.extend(lines)
            self.logged.emit(job, lines)
        if job.progress.events != count:
            self.changed.emit(job)

    def _end_from_events(self, job: Job) -> None:
        if job.progress.last == "done":
            self._finish(job, "done", "")
        else:
            self._finish(job, "failed", job.progress.error)

    def _end_without_result(self, job: Job) -> None:
        errors = [line for line in job.stderr_tail if line.startswith("fdif: error:")]
        code = job.record.exit_code
        if errors:
            self._finish(job, "failed", errors[-1].removeprefix("fdif: error:").strip())
        elif job.cancel_requested or code == 130 or any(
                "fdif: interrupted" in line for line in job.stderr_tail):
            self._finish(job, "cancelled", "Resume continues where it stopped")
        else:
            why = f"exit code {code}" if code is not None else "its process is gone"
            tail = " | ".join(job.stderr_tail)
            self._finish(job, "ended", f"ended without a result ({why})"
                         + (f": {tail}" if tail else ""))

    # -- state ---------------------------------------------------------------------------------
    def _schedule(self) -> None:
        busy = any(job.active and not job.record.parallel for job in self.jobs.values())
        for job in self.queued():
            if job.record.parallel:
                self._start(job)
            elif not busy:
                self._start(job)
                busy = True

    def _start(self, job: Job) -> None:
        record = job.record
        record.command = process_command(record.argv)
        record.exit_code, record.message, record.started = None, "", time.time()
        job.progress.result, job.progress.error = None, ""  # a resumed job's earlier end
        job.stderr_tail.clear()
        self._note(job, f"started: {job.command_line()}")
        try:
            self.store.folder(record.id).mkdir(parents=True, exist_ok=True)
            record.pid = spawn(record.command, self.store.events_path(record.id),
                               self.store.stderr_path(record.id))
        except OSError as err:
            self._finish(job, "failed", f"cannot start {record.command[0]}: {err}")
            return
        job.own_child = True
        self._set_state(job, "running")

    def _finish(self, job: Job, state: str, message: str) -> None:
        job.record.message = message
        job.kill_at = None
        self._set_state(job, state)
        self._note(job, f"{state}" + (f": {message}" if message else ""))

    def _set_state(self, job: Job, state: str) -> None:
        job.record.state = state
        self.store.save(job.record)
        self.changed.emit(job)

    def _note(self, job: Job, text: str) -> None:
        line = ("studio", f"{time.strftime('%H:%M:%S')} — {text}")
        job.log.append(line)
        self.logged.emit(job, [line])
