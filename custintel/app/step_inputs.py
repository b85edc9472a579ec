"""Fingerprints of what each build step reads, so a step whose inputs did not change is skipped.

- `sqlmesh:<env>`: the landed data (the loader's content fingerprint), the SQLMesh project
  files, the landing contract and the settings SQLMesh is built from;
- `ml`: the `sqlmesh:prod` fingerprint (the marts the model reads), the `ml` package source
  and the `ml` settings;
- `site`: the `ml` fingerprint (or `sqlmesh:prod` without ML), the report pages and the
  `reports` / `semantic` packages and semantic model, and their settings.

A fingerprint is a SHA-256 of file paths and bytes plus the JSON of the settings sections, so it
changes with any edit and never with a time stamp.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from custintel.core.landing.contract import CONTRACT_PATH
from custintel.core.settings import Settings

_SKIPPED_PARTS = {"__pycache__", ".pytest_cache", "build", "node_modules"}


def package_dir(name: str) -> Path | None:
    """Where a top-level package's source lives (without importing it)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def tree_digest(paths: Iterable[Path | None]) -> str:
    """SHA-256 of every file under `paths` (relative path and bytes), in a stable order."""
    digest = hashlib.sha256()
    for root in paths:
        if root is None or not root.exists():
            digest.update(b"<missing>\n")
            continue
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            if _SKIPPED_PARTS & set(path.parts) or path.suffix in (".pyc", ".pyo"):
                continue
            relative = path.name if path == root else path.relative_to(root).as_posix()
            digest.update(f"{relative}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def combine(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _settings_json(settings: Settings, *sections: str) -> str:
    return json.dumps(
        {section: getattr(settings, section).model_dump(mode="json") for section in sections},
        sort_keys=True,
    )


@dataclass(frozen=True)
class StepInputs:
    sqlmesh: str
    ml: str
    site: str


def step_inputs(settings: Settings, landing_fingerprint: str, environment: str) -> StepInputs:
    """The input fingerprints of the SQLMesh, churn model and site steps of one build."""
    sqlmesh = combine(
        landing_fingerprint,
        environment,
        tree_digest([settings.sqlmesh_path, CONTRACT_PATH]),
        _settings_json(settings, "sqlmesh", "warehouse"),
    )
    ml = combine(sqlmesh, tree_digest([package_dir("ml")]), _settings_json(settings, "ml"))
    site = combine(
        ml,
        tree_digest(
            [
                settings.pages_path,
                settings.semantic_model_path,
                package_dir("reports"),
                package_dir("semantic"),
            ]
        ),
        _settings_json(settings, "reports", "semantic"),
    )
    return StepInputs(sqlmesh, ml, site)
