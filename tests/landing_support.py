"""Shared by the landing tests: a writable copy of the hand-written CSV landing fixture."""

from __future__ import annotations

import shutil
from pathlib import Path

FIXTURE = Path(__file__).parent / "fixtures" / "landing_csv"


def copy_fixture(tmp_path: Path) -> Path:
    """A copy of tests/fixtures/landing_csv under tmp_path, free to change."""
    target = tmp_path / "landing"
    shutil.copytree(FIXTURE, target)
    return target
