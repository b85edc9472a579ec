"""The validated data model cached on disk, so a fresh process does not parse and validate it.

The cache file is `model-<key>.pickle` in a folder of the build (`api.model` uses
`<warehouse folder>/semantic_cache`). The key is a SHA-256 over the model folder's path, every
model file's name and bytes, the source of the modules that parse and validate a model, and
the Python version: editing a model file (or the loader) gives a new key, so a stale model is
never read. Only a model that validated is written. A pickle runs code when read, so a cache
file is read only when it belongs to this user and nobody else may write it (the same people
who could edit the model files or the code); anything unreadable is ignored and rebuilt.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import tempfile
from pathlib import Path

from semantic.definitions import DataModel
from semantic.model_loader import load_model, model_files

#: modules whose code decides what a loaded model holds
LOADER_MODULES = (
    "definitions.py",
    "model_loader.py",
    "validation.py",
    "references.py",
    "join_graph.py",
    "errors.py",
)
KEEP_FILES = 8


def model_key(root: Path) -> str:
    """Hash of the model's files, the loader's source and the interpreter version."""
    digest = hashlib.sha256()
    digest.update(str(root.resolve()).encode() + b"\0" + sys.version.encode() + b"\0")
    for path in model_files(root):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    package = Path(__file__).parent
    for name in LOADER_MODULES:
        digest.update(name.encode() + b"\0" + (package / name).read_bytes() + b"\0")
    return digest.hexdigest()[:40]


def load_cached_model(root: Path, cache_dir: Path | None) -> DataModel:
    """The validated model under `root`, from `cache_dir` when a file for its key is there."""
    if cache_dir is None or not root.is_dir():
        return load_model(root)
    key = model_key(root)
    path = cache_dir / f"model-{key}.pickle"
    model = _read(path, key)
    if model is None:
        model = load_model(root)  # raises ModelError on an invalid model: nothing is written
        _write(path, key, model)
    return model


def _trusted(path: Path) -> bool:
    """Owned by this user and writable by nobody else."""
    info = path.stat()
    return info.st_uid == os.getuid() and not info.st_mode & 0o022


def _read(path: Path, key: str) -> DataModel | None:
    try:
        if not path.is_file() or not _trusted(path) or not _trusted(path.parent):
            return None
        with path.open("rb") as handle:
            stored_key, model = pickle.load(handle)
    except Exception:  # noqa: BLE001 - a damaged or foreign cache file is rebuilt
        return None
    return model if stored_key == key and isinstance(model, DataModel) else None


def _write(path: Path, key: str, model: DataModel) -> None:
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".model-", suffix=".tmp")
        with os.fdopen(handle, "wb") as out:
            pickle.dump((key, model), out, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, path)  # atomic: a concurrent reader sees the old file or this
        older = sorted(path.parent.glob("model-*.pickle"), key=lambda p: p.stat().st_mtime)
        for stale in older[:-KEEP_FILES]:
            stale.unlink(missing_ok=True)
    except OSError:
        return  # a read-only build folder: the model is simply not cached
