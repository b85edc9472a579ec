"""`python -m custintel`: the same CLI as the `custintel` script (used by the benchmark to run a
step in a child process).

With `CUSTINTEL_PEAK_MEMORY_FILE` set, the process writes its own peak resident memory (kB, the
kernel's VmHWM) to that file at exit: unlike the parent's `ru_maxrss` for a child, VmHWM starts
afresh at exec, so it is not inflated by the high-water mark of the process that spawned it.
"""

import atexit
import os
from pathlib import Path

from custintel.app.cli_errors import main


def _write_peak_memory(target: Path) -> None:
    status = Path("/proc/self/status").read_text()
    peak_kb = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))
    target.write_text(peak_kb)


if peak_file := os.environ.get("CUSTINTEL_PEAK_MEMORY_FILE"):
    atexit.register(_write_peak_memory, Path(peak_file))

main()
