"""custintel.bench: steps run in a child process report the child's own time and memory."""

from __future__ import annotations

import resource
import subprocess

import pytest

from custintel.bench import StepResult, run_isolated


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
