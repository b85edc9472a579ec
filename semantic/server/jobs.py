"""Cube's "Continue wait": a query that has not finished within the wait budget is answered
`{"error": "Continue wait"}` (HTTP 200) and keeps running; the same request polled again
(same caller, same query) gets its result once it is done.

Jobs are keyed by the caller's claims and the query, so identical queries of one caller share
one execution. A finished job is handed out and forgotten (the next request runs afresh); a
job nobody polls is dropped `keep_seconds` after it finished.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio.to_thread

CONTINUE_WAIT = "Continue wait"


class StillRunning(Exception):
    """The job did not finish within the wait budget."""


@dataclass
class _Job:
    task: asyncio.Future[Any]
    finished_at: float | None = None


class QueryJobs:
    def __init__(self, wait_seconds: float = 5.0, keep_seconds: float = 60.0):
        self.wait_seconds = wait_seconds
        self.keep_seconds = keep_seconds
        self._jobs: dict[str, _Job] = {}

    def __len__(self) -> int:
        return len(self._jobs)

    def _purge(self) -> None:
        now = time.monotonic()
        for key, job in list(self._jobs.items()):
            if job.task.done():
                job.finished_at = job.finished_at or now
                if now - job.finished_at > self.keep_seconds:
                    self._jobs.pop(key, None)

    async def run(self, key: str, work: Callable[[], Any]) -> Any:
        """The work's result (or its exception); StillRunning when the budget runs out."""
        self._purge()
        job = self._jobs.get(key)
        if job is None:
            job = _Job(asyncio.ensure_future(anyio.to_thread.run_sync(work)))
            self._jobs[key] = job
        done, _ = await asyncio.wait({job.task}, timeout=self.wait_seconds)
        if not done:
            raise StillRunning(CONTINUE_WAIT)
        if self._jobs.get(key) is job:
            del self._jobs[key]
        return job.task.result()
