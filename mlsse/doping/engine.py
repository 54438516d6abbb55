"""Where a screen's chunks run: a local process pool (or this process, for one worker) or a Dask cluster, the
same chunks and the same function either way, their results taken in chunk order."""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from concurrent.futures import ProcessPoolExecutor


class Engine:
    """``submit(fn, *args) -> future`` on a local process pool (in this process for one worker) or a Dask
    cluster; the same chunks and the same function either way."""

    def __init__(self, workers: int | None, scheduler):
        self.workers = workers or os.cpu_count() or 1
        self.scheduler, self.pool, self.client = scheduler, None, None
        self.slots = self.workers  # chunks that run at once

    def __enter__(self):
        if self.scheduler is not None:
            from distributed import Client

            self.client = self.scheduler if isinstance(self.scheduler, Client) else Client(self.scheduler)
            self.slots = max(1, sum(self.client.nthreads().values()))
            return lambda fn, *args: self.client.submit(fn, *args, pure=False)
        if self.workers == 1:
            return Done
        # spawn: workers start clean (no copy of the parent's threads or XGBoost state); each loads the model once
        self.pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
        return self.pool.submit

    def __exit__(self, *exc):
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
        if self.client is not None and self.client is not self.scheduler:
            self.client.close()


class Done:
    """A finished future: the local engine with one worker runs each chunk when it is submitted."""

    def __init__(self, fn, *args):
        self.value = fn(*args)

    def result(self):
        return self.value


def in_order(submit, fn, n_chunks: int, args: tuple, in_flight: int):
    """Yield ``(chunk, fn(*args[:1], chunk, *args[1:]))`` for each chunk in order, with at most ``in_flight`` chunks
    submitted and not yet yielded (memory stays flat however many chunks there are)."""
    spec, rest = args[0], args[1:]
    pending: deque = deque()
    next_chunk = 0
    while next_chunk < n_chunks or pending:
        while next_chunk < n_chunks and len(pending) < in_flight:
            pending.append((next_chunk, submit(fn, spec, next_chunk, *rest)))
            next_chunk += 1
        chunk, future = pending.popleft()
        yield chunk, future.result()
