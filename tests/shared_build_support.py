"""Builds shared by the whole test run, whichever xdist worker asks first.

`shared_build(shared, name, build)` runs `build(root)` once per run in `shared`/`name` while
holding `shared`/`name`.lock: the first caller (worker or lone process) builds, later callers
wait for the lock and read what was built. `build` returns a picklable value (an apply
summary, an as-of date) that every caller gets back. A build that failed half-way leaves no
marker and is started again from an empty folder by the next caller.

Shared builds are read-only for the tests: they open the warehouse with `read_only=True` (two
processes may hold read-only DuckDB connections at once, never a writer). A test that changes a
warehouse, its SQLMesh state or its registry works on `copy_project(...)` of it.

`run_root(tmp_path_factory, worker_id)` is the folder common to every worker of one run
(pytest's base temporary folder of the run, the parent of each worker's own).
"""

from __future__ import annotations

import pickle
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

T = TypeVar("T")

_MARKER = "built.pickle"


def run_root(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """The temporary folder shared by every xdist worker of this run (this process's own
    base folder when not under xdist)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if worker_id != "master" else base


def shared_build(shared: Path, name: str, build: Callable[[Path], T]) -> tuple[Path, T]:
    """(`shared`/`name`, what `build` returned), built once per run under a file lock."""
    from filelock import FileLock

    root = shared / name
    marker = shared / f"{name}.{_MARKER}"
    with FileLock(str(shared / f"{name}.lock")):
        if not marker.exists():
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir(parents=True)
            result = build(root)
            marker.write_bytes(pickle.dumps(result))
    return root, pickle.loads(marker.read_bytes())


def copy_project(source_root: Path, target_root: Path) -> Path:
    """A copy of a project folder written by tests.conftest.write_config (config, warehouse,
    SQLMesh state, registry, site) whose config names the copy's paths; returns its config."""
    source_root, target_root = source_root.resolve(), target_root.resolve()
    shutil.copytree(source_root, target_root, symlinks=True, dirs_exist_ok=True)
    config = target_root / "config.yaml"
    config.write_text(config.read_text().replace(str(source_root), str(target_root)))
    return config
