"""One folder per job: ``job.json`` (what runs where), ``events.jsonl`` (the process's
``--json`` events) and ``stderr.log``.

The folders live under ``fdif_core.library.user_root() / "jobs"`` so that a studio started
later finds the jobs an earlier one left running.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fdif_core.files import atomic_write_bytes
from fdif_core.library import user_root

JOB_FILE, EVENTS_FILE, STDERR_FILE = "job.json", "events.jsonl", "stderr.log"

#: states a job moves through; the last four are final
STATES = ("queued", "running", "cancelling", "done", "failed", "cancelled", "ended")
FINAL = ("done", "failed", "cancelled", "ended")


def default_root() -> Path:
    """Where job folders go: ``<user data>/jobs``."""
    return user_root() / "jobs"


@dataclass
class JobRecord:
    """What ``job.json`` holds."""

    id: str
    kind: str
    """``generate``, ``train`` or ``finetune``."""
    argv: list[str]
    """The ``fdif`` arguments (without ``--json``)."""
    out: str
    """The output folder (dataset or run folder)."""
    source: str = ""
    """The preset or dataset the job reads (shown in its row)."""
    parallel: bool = False
    """Start at once instead of waiting for the queue."""
    state: str = "queued"
    command: list[str] = field(default_factory=list)
    """The process's full command line, once started."""
    pid: int | None = None
    started: float | None = None
    created: float = field(default_factory=time.time)
    exit_code: int | None = None
    message: str = ""
    """Why it ended, when it did not end with ``done``."""

    @property
    def final(self) -> bool:
        """The job has ended (it may be resumed)."""
        return self.state in FINAL

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobRecord:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


class JobStore:
    """The job folders under ``root``."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_root()

    def folder(self, job_id: str) -> Path:
        return self.root / job_id

    def create(self, kind: str, argv: list[str], out: str, source: str = "",
               parallel: bool = False) -> JobRecord:
        """A new queued job with its own folder (and ``job.json``)."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        number = 1
        while self.folder(f"{stamp}-{kind}-{number}").exists():
            number += 1
        record = JobRecord(f"{stamp}-{kind}-{number}", kind, list(argv), out, source, parallel)
        self.folder(record.id).mkdir(parents=True)
        self.save(record)
        return record

    def save(self, record: JobRecord) -> None:
        """Write ``job.json`` atomically."""
        data = json.dumps(asdict(record), indent=2).encode()
        atomic_write_bytes(self.folder(record.id) / JOB_FILE, data)

    def load_all(self) -> list[JobRecord]:
        """Every readable ``job.json`` under the root, oldest first."""
        records = []
        if not self.root.is_dir():
            return records
        for path in sorted(self.root.glob(f"*/{JOB_FILE}")):
            try:
                records.append(JobRecord.from_dict(json.loads(path.read_text())))
            except (OSError, ValueError, TypeError):
                continue  # a folder a crashed write left half made: not a job to show
        return sorted(records, key=lambda r: r.created)

    def events_path(self, job_id: str) -> Path:
        return self.folder(job_id) / EVENTS_FILE

    def stderr_path(self, job_id: str) -> Path:
        return self.folder(job_id) / STDERR_FILE
