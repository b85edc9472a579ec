"""Helpers of the convergence tests: CLI builds in child processes (so they can be killed) and a
table-by-table digest of a warehouse to compare it with a clean build.

A digest holds, for every table and view of the user-facing schemas, its row count and the sum
of a hash of each row, with doubles rounded to 6 decimals. Equal digests mean equal tables, row
for row (duplicates included). Left out, because they are history rather than data: the
wall-clock columns of the scores, the model version (a count of trainings in this registry), and
the scores of earlier builds (`ml` keeps them by design for trend reports; a clean build has only
the latest date).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb

SCHEMAS = ("landing", "staging", "warehouse", "quarantine", "marts", "ml")
#: columns holding the time the scores were computed (now()), not data
WALL_CLOCK_COLUMNS = {"scored_at", "segmented_at", "model_version"}
#: ml tables keep every build's scores: compare the latest date only
LATEST_ONLY = {"ml.churn_scores": "score_date", "ml.customer_segments": "snapshot_date"}


def cli_build(
    config: Path,
    landing: Path,
    *,
    kill_at: str | None = None,
    fail_at: str | None = None,
    with_ml: bool = False,
    with_reports: bool = False,
) -> subprocess.CompletedProcess:
    """`custintel build` in a child process; returncode -9 when it was killed."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CUSTINTEL_")}
    if kill_at:
        environ["CUSTINTEL_KILL_AT"] = kill_at
    if fail_at:
        environ["CUSTINTEL_FAIL_AT"] = fail_at
    args = [sys.executable, "-m", "custintel", "--config", str(config), "build"]
    args += ["--landing", str(landing)]
    if not with_ml:
        args.append("--skip-ml")
    if not with_reports:
        args.append("--skip-reports")
    return subprocess.run(args, capture_output=True, text=True, env=environ, timeout=1800)


def build_ok(config: Path, landing: Path, **kwargs: Any) -> None:
    """A CLI build that must succeed (its output tail in the failure message)."""
    result = cli_build(config, landing, **kwargs)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def warehouse_of(root: Path) -> Path:
    """The warehouse file of a project folder written by tests.conftest.write_config."""
    from custintel.core.settings import load_settings

    return load_settings(root / "config.yaml", environ={}).warehouse_path


def _select_list(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> str:
    columns = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()
    parts = []
    for name, data_type in columns:
        if name in WALL_CLOCK_COLUMNS:
            continue
        quoted = '"' + name.replace('"', '""') + '"'
        if data_type in ("DOUBLE", "FLOAT", "REAL") or data_type.startswith("DECIMAL"):
            parts.append(f"round({quoted}, 6)")
        else:
            parts.append(quoted)
    return ", ".join(parts)


def digest(warehouse: Path) -> dict[str, tuple[int, int]]:
    """`schema.table` -> (rows, sum of row hashes) for every table and view users read."""
    result: dict[str, tuple[int, int]] = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            f"where table_schema in {SCHEMAS} order by 1, 2"
        ).fetchall()
        for schema, table in tables:
            columns = _select_list(con, schema, table)
            relation = f'"{schema}"."{table}"'
            latest = LATEST_ONLY.get(f"{schema}.{table}")
            where = f"where {latest} = (select max({latest}) from {relation})" if latest else ""
            rows, total = con.execute(
                f"select count(*), coalesce(sum(hash({columns})::hugeint), 0) "
                f"from {relation} {where}"
            ).fetchone()
            result[f"{schema}.{table}"] = (int(rows), int(total))
    return result


def differences(actual: dict, expected: dict) -> list[str]:
    """Readable differences between two digests (empty when equal)."""
    lines = [f"only in the build: {name}" for name in sorted(set(actual) - set(expected))]
    lines += [f"missing: {name}" for name in sorted(set(expected) - set(actual))]
    for name in sorted(set(actual) & set(expected)):
        if actual[name] != expected[name]:
            lines.append(
                f"{name}: {actual[name][0]} rows vs {expected[name][0]} in the clean build"
                + (" (same count, other values)" if actual[name][0] == expected[name][0] else "")
            )
    return lines


def copy_build(source_root: Path, target_root: Path) -> None:
    """A copy of a built project folder (warehouse, state, registry, site, config)."""
    shutil.copytree(source_root, target_root, symlinks=True)
    config = target_root / "config.yaml"
    config.write_text(config.read_text().replace(str(source_root), str(target_root)))
