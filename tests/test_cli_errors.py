"""Case 10: every failure at the CLI boundary is one line naming its input; --debug shows the
traceback. Run as a user would, in a child process (`python -m custintel`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from custintel.app.cli_errors import one_line, report
from custintel.core.landing.files import LandingError
from custintel.core.settings import SettingsError


def _run(*args: str, env: dict[str, str] | None = None, cwd: Path) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CUSTINTEL_")}
    environ.update(env or {})
    environ["COLUMNS"] = "60"  # a narrow terminal must not wrap the one line
    return subprocess.run(
        [sys.executable, "-m", "custintel", *args],
        capture_output=True,
        text=True,
        env=environ,
        cwd=cwd,
        timeout=120,
    )


def _output(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]


def test_a_bad_config_value_is_one_line_naming_the_key(tmp_path: Path) -> None:
    result = _run(
        "generate",
        "--out",
        str(tmp_path / "out"),
        env={"CUSTINTEL_SAMPLE__MONTHS": "24 # two years"},
        cwd=tmp_path,
    )
    assert result.returncode == 2
    lines = _output(result)
    assert len(lines) == 1, lines
    assert "sample.months = '24 # two years' (from CUSTINTEL_SAMPLE__MONTHS)" in lines[0]
    assert not (tmp_path / "out").exists()


def test_a_malformed_query_argument_is_one_line_and_debug_shows_the_traceback(
    tmp_path: Path,
) -> None:
    args = ("metrics", "query", "-m", "revenue.revenue", "--as-of", "2024-13-01")
    quiet = _run(*args, cwd=tmp_path)
    assert quiet.returncode == 1
    lines = _output(quiet)
    assert len(lines) == 1 and lines[0].startswith("error: ") and "1..12" in lines[0]
    assert "Traceback" not in quiet.stderr
    loud = _run("--debug", *args, cwd=tmp_path)
    assert loud.returncode == 1 and "Traceback" in loud.stderr


def test_report_joins_lines_and_picks_the_exit_code(capsys: pytest.CaptureFixture) -> None:
    assert report(SettingsError("invalid settings: a = 1: bad;\n b = 2: worse")) == 2
    assert report(LandingError("billing/x.csv", "value 'q' is not a valid integer", row=3)) == 1
    assert report(RuntimeError("SQLMesh apply failed:\nfact_invoice: audit failed")) == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "error: invalid settings: a = 1: bad; b = 2: worse (--debug shows the traceback)",
        "error: file billing/x.csv, row 3: value 'q' is not a valid integer "
        "(--debug shows the traceback)",
        "error: RuntimeError: SQLMesh apply failed: fact_invoice: audit failed "
        "(--debug shows the traceback)",
    ]
    assert one_line(KeyError("revenue.nope")) == "unknown key 'revenue.nope'"
