"""Background writer threads: files are encoded and written while the next samples compute.

Each submitted sample is one task: encode (if needed), then write its files atomically in
order, the statistics file last. If any write fails the task deletes the files of that sample
it had already written, so a sample is either complete or absent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from fdif_core.datasets.storage import Storage

FileList = list[tuple[str, bytes]]


class WriterPool:
    """A bounded pool of writer threads.

    Parameters
    ----------
    storage : Storage
        Where files go.
    threads : int
        Number of writer threads.
    max_pending : int
        Samples queued or being written before :meth:`submit` blocks (bounds memory).
    """

    def __init__(self, storage: Storage, threads: int = 2, max_pending: int = 4) -> None:
        self.storage = storage
        self.max_pending = max(1, max_pending)
        self._pool = ThreadPoolExecutor(max_workers=max(1, threads),
                                        thread_name_prefix="fdif-writer")
        self._pending: dict[Future, int] = {}
        self._finished: list[Future] = []

    def _write(self, index: int, produce: Callable[[], FileList]) -> tuple[int, list[str]]:
        written: list[str] = []
        try:
            for relpath, data in produce():
                self.storage.write(relpath, data)
                written.append(relpath)
        except BaseException:
            for relpath in written:
                self.storage.remove(relpath)
            raise
        return index, written

    def submit(self, index: int, produce: Callable[[], FileList]) -> None:
        """Queue sample ``index``; ``produce()`` returns its files (it runs in a writer thread).

        Blocks while the pool is :attr:`full` (callers that must not block wait for
        :meth:`completed` with a timeout first).
        """
        while self.full:
            self._collect(timeout=None)
        self._pending[self._pool.submit(self._write, index, produce)] = index

    def _collect(self, timeout: float | None) -> None:
        if not self._pending:
            return
        done, _ = wait(list(self._pending), timeout=timeout, return_when=FIRST_COMPLETED)
        for fut in done:
            self._pending.pop(fut)
            self._finished.append(fut)

    def completed(self, timeout: float | None = 0) -> Iterator[tuple[int, list[str]]]:
        """Samples whose files are all written, as ``(index, paths)``, waiting up to
        ``timeout`` seconds (``None``: until one is) for the first when none is yet.

        Raises the first write error (a :class:`~fdif_core.datasets.storage.WriteError`).
        """
        if not self._finished:
            self._collect(timeout)
        self._collect(0)
        finished, self._finished = self._finished, []
        for n, fut in enumerate(finished):
            try:
                yield fut.result()
            except BaseException:
                self._finished = finished[n + 1:] + self._finished
                raise

    @property
    def full(self) -> bool:
        """Whether :meth:`submit` would block."""
        return len(self._pending) >= self.max_pending

    @property
    def busy(self) -> bool:
        """Whether samples are queued, being written, or written but not yet collected."""
        return bool(self._pending or self._finished)

    def shutdown(self) -> None:
        """Cancel queued samples and wait for the writes in progress."""
        for fut in self._pending:
            fut.cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)
