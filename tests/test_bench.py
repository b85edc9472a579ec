"""custintel.bench: steps run in a child process report the child's own time and memory."""

from __future__ import annotations

import json
import resource
import subprocess
from pathlib import Path

import duckdb
import pytest

from custintel.bench import StepResult, run_bench, run_isolated


def test_a_child_step_reports_its_own_peak_memory() -> None:
    ballast = bytearray(1024**3)  # this process: over 1 GiB resident
    ballast[:: resource.getpagesize()] = b"\1" * len(range(0, len(ballast), resource.getpagesize()))
    seconds, peak_mb = run_isolated("--help")
    assert seconds > 0
    # the CLI's imports only: a few hundred MB, not the 1 GiB of the process that spawned it
    assert 10 < peak_mb < 700
    del ballast


def test_a_failing_child_step_raises_with_its_command() -> None:
    with pytest.raises(subprocess.CalledProcessError, match="no-such-command"):
        run_isolated("no-such-command")


def test_ratio_is_against_the_same_run_baseline() -> None:
    assert StepResult("query", 0.3, 1.0, "hand SQL", 0.1).ratio == pytest.approx(3.0)
    assert StepResult("generate", 5.0, 1.0).ratio is None


def test_a_rerun_starts_from_an_empty_build_folder(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUSTINTEL_CONFIG", raising=False)  # run_bench points it at its build
    build_dir = tmp_path / "60x3"
    stale = build_dir / "warehouse" / "left-over.duckdb"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"an earlier run's warehouse")
    results = run_bench(build_dir, 60, 3, with_ml=False, with_reports=False, repeats=1)
    assert not stale.exists()
    recorded = json.loads((build_dir / "bench.json").read_text())
    assert [step["name"] for step in recorded["steps"]] == [r.name for r in results]
    with duckdb.connect(str(build_dir / "warehouse" / "novacom.duckdb"), read_only=True) as con:
        customers = con.execute("select count(*) from marts.customer_360_view").fetchone()[0]
    assert customers >= 60  # the opening base, plus customers acquired over the months
