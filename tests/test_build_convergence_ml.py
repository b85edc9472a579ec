"""A build killed in the churn model's write-back or in the site step converges too: the next
run restores the last finished state (warehouse, SQLMesh state, model registry; the published
site is untouched) and the rerun equals a clean build of the same landing.

Its own module (and so its own CI worker under `--dist loadfile`): the model needs a longer
history than tests/test_build_convergence.py's, 300 customers x 12 months, test and validation
one snapshot each. The comparison leaves out score history (tests/build_convergence_support.py).
The same clean build also serves the reproducibility test: the ML step run in two processes
(the second on its inputs in another row order) writes the same ml tables and registry files.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from custintel.app.build_journal import BuildJournal
from custintel.core.settings import load_settings
from custintel.generate import generate_landing
from tests.build_convergence_support import (
    WALL_CLOCK_COLUMNS,
    build_ok,
    cli_build,
    copy_build,
    differences,
    digest,
    warehouse_of,
)
from tests.conftest import write_config
from tests.marts_support import truncate_landing

pytestmark = pytest.mark.slow


ML_MONTHS = 12
ML_SETTINGS = {"test_snapshots": 1, "valid_snapshots": 1}


@pytest.fixture(scope="module")
def ml_builds(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """300 customers x 12 months with the model: a clean build of M1 and a build of M0 (exported
    on the first day of the last month, with the site) to start the new-month build from."""
    root = tmp_path_factory.mktemp("ml_landings")
    m1 = root / "m1"
    generate_landing(
        m1,
        customers=300,
        months=ML_MONTHS,
        start_date=dt.date(2024, 1, 1),
        seed=11,
        defect_rate=0.01,
    )
    m0 = truncate_landing(m1, root / "m0", dt.date(2024, ML_MONTHS, 1))
    builds: dict = {"landing": {"m0": m0, "m1": m1}, "roots": {}}
    for name in ("m0", "m1"):
        build_root = tmp_path_factory.mktemp(f"ml_clean_{name}")
        write_config(build_root, ml=ML_SETTINGS)
        # the site is rendered where a test reads it: M0's, the state the killed builds start
        # from (M1's is never read: digests cover the warehouse, the ML test its ml tables)
        build_ok(
            build_root / "config.yaml",
            builds["landing"][name],
            with_ml=True,
            with_reports=name == "m0",
        )
        builds["roots"][name] = build_root
    builds["digests"] = {name: digest(warehouse_of(root)) for name, root in builds["roots"].items()}
    return builds


def test_a_build_killed_in_the_ml_write_back_or_the_site_step_converges(
    tmp_path_factory: pytest.TempPathFactory, ml_builds: dict
) -> None:
    root = tmp_path_factory.mktemp("ml_killed")
    shutil.rmtree(root)
    copy_build(ml_builds["roots"]["m0"], root)
    config = root / "config.yaml"
    settings = load_settings(config, environ={})
    site_before = (settings.site_path / "index.html").read_text()
    scores_before = ml_builds["digests"]["m0"]["ml.churn_scores"]
    assert scores_before[0] > 0  # the model trained and scored
    for point in ("ml", "site"):
        killed = cli_build(
            config, ml_builds["landing"]["m1"], kill_at=point, with_ml=True, with_reports=True
        )
        assert killed.returncode == -9, (point, killed.stdout[-2000:], killed.stderr[-2000:])
        assert BuildJournal(settings).recover() is not None
        restored = differences(digest(settings.warehouse_path), ml_builds["digests"]["m0"])
        assert restored == [], point
        assert (settings.site_path / "index.html").read_text() == site_before, point
    build_ok(config, ml_builds["landing"]["m1"], with_ml=True, with_reports=True)
    # the model version is registry history (the killed builds' versions were rolled back,
    # the m0 build's version 1 stays): compare everything else
    assert differences(digest(settings.warehouse_path), ml_builds["digests"]["m1"]) == []

    # nothing new, nothing done: the next build skips SQLMesh, the model and the site
    idle = cli_build(config, ml_builds["landing"]["m1"], with_ml=True, with_reports=True)
    assert idle.returncode == 0, idle.stderr[-2000:]
    output = " ".join(idle.stdout.split())
    for step in ("sqlmesh", "churn model", "report site"):
        assert f"{step} │ skipped" in output, step


#: what a training records that is the run's, not the data's: timings and the creation time
RUN_KEYS = {"fit_seconds", "created_at"}
#: the registry files two runs on the same warehouse must write alike
REGISTRY_FILES = (
    "metrics.json",
    "manifest.json",
    "calibration.json",
    "monitoring.json",
    "segmentation.json",
    "segmentation.md",
)


def _without_run_keys(value: object) -> object:
    if isinstance(value, dict):
        return {k: _without_run_keys(v) for k, v in value.items() if k not in RUN_KEYS}
    if isinstance(value, list):
        return [_without_run_keys(v) for v in value]
    return value


def _ml_tables(warehouse: Path) -> dict[str, list[tuple]]:
    """Every row of every ml table, doubles rounded to 6 decimals, wall-clock columns left out,
    in a total order."""
    import duckdb

    tables: dict[str, list[tuple]] = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for (table,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'ml' order by 1"
        ).fetchall():
            columns = con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = 'ml' and table_name = ? order by ordinal_position",
                [table],
            ).fetchall()
            select = ", ".join(
                f"round({name}, 6)" if kind == "DOUBLE" else name
                for name, kind in columns
                if name not in WALL_CLOCK_COLUMNS or name == "model_version"
            )
            tables[table] = con.execute(f"select {select} from ml.{table} order by all").fetchall()
    return tables


def _shuffle_inputs(warehouse: Path) -> None:
    """The ML step's inputs as tables in another physical order (the mart reversed, orders and
    churn events by a hash): what another build of the same landing may hold."""
    import duckdb

    with duckdb.connect(str(warehouse)) as con:
        for table, order in (
            ("marts.churn_prediction_features", "snapshot_date desc, customer_id desc"),
            ("marts.customer_churn_events", "hash(customer_id)"),
            ("warehouse.fact_order", "hash(order_id)"),
        ):
            con.execute(f"create temp table shuffled as select * from {table} order by {order}")
            kind = con.execute(
                "select table_type from information_schema.tables where "
                "table_schema || '.' || table_name = ?",
                [table],
            ).fetchone()[0]
            con.execute(f"drop {'view' if kind == 'VIEW' else 'table'} {table}")
            con.execute(f"create table {table} as select * from shuffled")
            con.execute("drop table shuffled")


def test_the_ml_step_writes_the_same_tables_in_two_processes(
    tmp_path_factory: pytest.TempPathFactory, ml_builds: dict
) -> None:
    """The build's ML step (`custintel ml pipeline`: train, calibrate, refit, bootstrap, reasons,
    survival and order CLV, segments, monitoring) run in two fresh processes on two copies of
    one warehouse, the second with its inputs in another row order, writes the same ml tables
    (every row, doubles to 6 decimals) and the same registry files (timings aside)."""
    runs = []
    for name in ("first", "second"):
        root = tmp_path_factory.mktemp(f"ml_twice_{name}")
        shutil.rmtree(root)
        copy_build(ml_builds["roots"]["m1"], root)
        settings = load_settings(root / "config.yaml", environ={})
        if name == "second":
            _shuffle_inputs(settings.warehouse_path)
        environ = {k: v for k, v in os.environ.items() if not k.startswith("CUSTINTEL_")}
        environ["CUSTINTEL_CONFIG"] = str(root / "config.yaml")
        done = subprocess.run(
            [sys.executable, "-m", "custintel", "ml", "pipeline"],
            env=environ,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        runs.append(settings)
    first, second = (_ml_tables(s.warehouse_path) for s in runs)
    assert sorted(first) == ["churn_scores", "customer_segments"]
    for table in first:
        assert len(first[table]) == len(second[table]) > 0, table
        different = [a for a, b in zip(first[table], second[table], strict=True) if a != b]
        assert different == [], f"ml.{table}: {len(different)} rows differ, e.g. {different[0]}"
    folders = [s.registry_path / "churn" / "v0002" for s in runs]  # v0001: the clean build's
    for filename in REGISTRY_FILES:
        texts = [(folder / filename).read_text() for folder in folders]
        if filename.endswith(".json"):
            texts = [_without_run_keys(json.loads(text)) for text in texts]
        assert texts[0] == texts[1], filename
