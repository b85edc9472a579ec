"""The data model as of a git ref: exported with `git archive` into a temporary folder."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

from semantic.errors import DiffError


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, check=False, timeout=120
        )
    except FileNotFoundError as exc:
        raise DiffError("git is not installed") from exc


def repo_root(path: Path) -> Path:
    """The top folder of the git repository holding `path`."""
    result = _git(path if path.is_dir() else path.parent, "rev-parse", "--show-toplevel")
    if result.returncode != 0:
        raise DiffError(f"{path} is not inside a git repository")
    return Path(result.stdout.decode().strip()).resolve()


def verify_ref(repo: Path, ref: str) -> str:
    """The commit id of `ref`; DiffError naming the ref when it does not exist."""
    if not ref or ref.startswith("-"):
        raise DiffError(f"invalid git ref '{ref}'")
    result = _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if result.returncode != 0:
        raise DiffError(
            f"unknown git ref '{ref}' in {repo} (try a branch, tag or commit, e.g. origin/main)"
        )
    return result.stdout.decode().strip()


def export_model(repo: Path, ref: str, model_dir: Path, target: Path) -> Path | None:
    """Write `model_dir` (relative to the repo) as of `ref` under `target`; None if absent."""
    commit = verify_ref(repo, ref)
    relative = model_dir.as_posix()
    listing = _git(repo, "ls-tree", "-d", "--name-only", commit, "--", relative)
    if listing.returncode != 0 or not listing.stdout.strip():
        return None
    archive = _git(repo, "archive", "--format=tar", commit, "--", relative)
    if archive.returncode != 0:
        raise DiffError(f"git archive {ref} {relative} failed: {archive.stderr.decode().strip()}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as bundle:
        bundle.extractall(target, filter="data")
    return target / relative
