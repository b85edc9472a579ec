"""Named crash points for the kill tests: `CUSTINTEL_KILL_AT=<point>` makes the process SIGKILL
itself when it reaches that point, exactly like `kill -9` from outside but at a known step.

`CUSTINTEL_FAIL_AT=<point>` raises InjectedFault there instead: a build that fails (for the
failed-build tests).

Points: `load` (landing written, nothing else), `sqlmesh:<schema>` (after the first batch of a
model in that schema: staging, warehouse, quarantine, marts), `restate` (corrections restated,
not yet published), `ml` (scores written back, marts not yet refreshed), `site` (site rendered,
not yet published). Unset (the normal case), `checkpoint` does nothing.
"""

from __future__ import annotations

import os
import signal

KILL_ENV = "CUSTINTEL_KILL_AT"
FAIL_ENV = "CUSTINTEL_FAIL_AT"


class InjectedFault(RuntimeError):
    """The failure CUSTINTEL_FAIL_AT asked for."""


def checkpoint(point: str) -> None:
    """SIGKILL this process if CUSTINTEL_KILL_AT names `point`; raise if CUSTINTEL_FAIL_AT does."""
    if os.environ.get(KILL_ENV) == point:
        os.kill(os.getpid(), signal.SIGKILL)
    if os.environ.get(FAIL_ENV) == point:
        raise InjectedFault(f"failure injected at {point} ({FAIL_ENV})")
