"""Atomic builds: a snapshot of everything a build changes, and a journal saying whether the
last build finished.

A build changes three things in place: the DuckDB warehouse, the SQLMesh state (another DuckDB
file) and the model registry (on the spark gateway with a local session, also the Spark tables'
folder and their Derby catalogue; a Spark Connect cluster's tables are outside the snapshot).
SQLMesh shares physical tables between environments and commits
model by model, so no single transaction covers a build. Instead, before a build the three are
copied into `<warehouse folder>/_snapshot/` and the journal (`build_journal.json` beside them)
says `running`. A build that raises restores the copy before the error reaches the user; a build
that was killed leaves `running` behind, and the next build restores the copy before doing
anything, then redoes the work from that last complete state. A finished build writes `done`
(with the fingerprints of its steps' inputs) and drops the copy.

Crash safety: the copy is written to `_snapshot.partial/` and renamed when complete, and only then
is `running` written; restoring copies the files back (through a temporary name and an atomic
rename each) and deletes DuckDB write-ahead logs left by the killed process, so a restore that is
itself interrupted is simply redone. Files that did not exist before the build are deleted.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from custintel.core.settings import Settings

JOURNAL_NAME = "build_journal.json"
SNAPSHOT_NAME = "_snapshot"
RUNNING = "running"
DONE = "done"


@dataclass
class Snapshot:
    """What one build may change: two DuckDB files and a folder."""

    files: list[Path]
    folders: list[Path]

    @classmethod
    def of(cls, settings: Settings) -> Snapshot:
        folders = [settings.registry_path]
        if settings.sqlmesh.gateway == "spark" and not settings.spark.connect_url:
            # a local Spark session's tables: their Parquet files and their Derby catalogue (a
            # Spark Connect server owns its own warehouse: not a copy this machine can take)
            folders += [settings.spark_warehouse_path, settings.spark_metastore_path]
        return cls([settings.warehouse_path, settings.state_path], folders)

    def members(self) -> list[tuple[str, Path]]:
        """(name in the snapshot, live path) of every file and folder."""
        named = [(f"file{i}_{p.name}", p) for i, p in enumerate(self.files)]
        return named + [(f"folder{i}_{p.name}", p) for i, p in enumerate(self.folders)]


@dataclass
class JournalState:
    status: str = DONE
    started_at: str | None = None
    finished_at: str | None = None
    #: fingerprint of each step's inputs as of the last finished build
    steps: dict[str, str] = field(default_factory=dict)
    #: what the last recovery did (shown in the build summary)
    recovered: str | None = None


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def _copy_file(source: Path, target: Path) -> None:
    """Copy through a temporary name and an atomic rename."""
    partial = target.with_name(target.name + ".restoring")
    shutil.copyfile(source, partial)
    os.replace(partial, target)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


class BuildJournal:
    """The journal and snapshot of one warehouse folder."""

    def __init__(self, settings: Settings) -> None:
        self.folder = settings.warehouse_path.parent
        self.path = self.folder / JOURNAL_NAME
        self.snapshot_dir = self.folder / SNAPSHOT_NAME
        self.partial_dir = self.folder / f"{SNAPSHOT_NAME}.partial"
        self.snapshot = Snapshot.of(settings)
        self.snapshot_seconds = 0.0

    # --- journal file ------------------------------------------------------------------------

    def read(self) -> JournalState:
        if not self.path.is_file():
            return JournalState()
        raw: dict[str, Any] = json.loads(self.path.read_text())
        return JournalState(**raw)

    def _write(self, state: JournalState) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + ".partial")
        with open(partial, "w") as handle:
            json.dump(state.__dict__, handle, indent=2, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, self.path)

    # --- the three moves ---------------------------------------------------------------------

    def recover(self) -> str | None:
        """Restore the last complete state if the last build did not finish; what was done."""
        _remove(self.partial_dir)  # a snapshot interrupted while being taken: never used
        state = self.read()
        if state.status != RUNNING:
            _remove(self.snapshot_dir)  # left by a build killed after it finished
            return None
        self._restore()
        message = (
            f"the build started {state.started_at} did not finish: warehouse, SQLMesh state "
            "and model registry restored to the last finished build"
        )
        self._write(JournalState(DONE, state.started_at, None, state.steps, message))
        _remove(self.snapshot_dir)
        return message

    def begin(self) -> JournalState:
        """Snapshot what a build changes, then mark the build running."""
        started = time.perf_counter()
        self.recover()
        state = self.read()
        self.partial_dir.mkdir(parents=True)
        manifest = {}
        for name, live in self.snapshot.members():
            manifest[name] = live.exists()
            if live.is_dir():
                shutil.copytree(live, self.partial_dir / name)
            elif live.exists():
                if _wal(live).exists():
                    shutil.copyfile(_wal(live), self.partial_dir / f"{name}.wal")
                shutil.copyfile(live, self.partial_dir / name)
        (self.partial_dir / "manifest.json").write_text(json.dumps(manifest))
        os.replace(self.partial_dir, self.snapshot_dir)
        running = JournalState(RUNNING, _now(), None, dict(state.steps))
        self._write(running)
        self.snapshot_seconds = time.perf_counter() - started
        return running

    def commit(self, steps: dict[str, str]) -> None:
        """Mark the build finished with its steps' input fingerprints; drop the snapshot."""
        state = self.read()
        self._write(JournalState(DONE, state.started_at, _now(), steps))
        _remove(self.snapshot_dir)

    def rollback(self) -> None:
        """Restore the snapshot after a failed build (prod as it was before it)."""
        state = self.read()
        if state.status != RUNNING:
            return
        self._restore()
        self._write(JournalState(DONE, state.started_at, None, state.steps, "rolled back"))
        _remove(self.snapshot_dir)

    def _restore(self) -> None:
        manifest = json.loads((self.snapshot_dir / "manifest.json").read_text())
        for name, live in self.snapshot.members():
            saved = self.snapshot_dir / name
            _remove(_wal(live))
            if not manifest.get(name):
                _remove(live)
            elif saved.is_dir():
                partial = live.with_name(live.name + ".restoring")
                _remove(partial)
                shutil.copytree(saved, partial)
                _remove(live)
                os.replace(partial, live)
            else:
                if (self.snapshot_dir / f"{name}.wal").exists():
                    _copy_file(self.snapshot_dir / f"{name}.wal", _wal(live))
                _copy_file(saved, live)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
