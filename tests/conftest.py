"""Shared pytest fixtures: temporary project configurations pointing at temporary warehouses."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from custintel.core.settings import write_relocated_config

#: marks of a test file that needs Spark: `-m spark` selects it, and it is skipped without
#: PySpark or Java
SPARK_ONLY = [
    pytest.mark.spark,
    pytest.mark.skipif(
        importlib.util.find_spec("pyspark") is None or shutil.which("java") is None,
        reason="needs PySpark (pip install -e '.[spark]') and Java 17",
    ),
]


def write_config(tmp_path: Path, **overrides: dict) -> Path:
    """A copy of the project's config.yaml with build paths under tmp_path, plus overrides."""
    return write_relocated_config(tmp_path, overrides=overrides)


@pytest.fixture(scope="session")
def shared_root(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """The temporary folder common to every xdist worker of the run, where the builds shared by
    the whole run live (tests/shared_build_support.py)."""
    from tests.shared_build_support import run_root

    return run_root(tmp_path_factory, worker_id)


@pytest.fixture(scope="session")
def generated_warehouse(tmp_path_factory: pytest.TempPathFactory, shared_root: Path):
    """A generated 300-customer warehouse, scored, shared by the report-site and served-app
    tests (tests/site_support.py); CUSTINTEL_CONFIG points at its config for the session.

    Built once for the whole run: under `pytest -n 2` the first worker to ask builds it in the
    run's shared temporary folder while holding a file lock, the other waits and reads the same
    files (every test opens it read-only; each worker renders its sites in a folder of its own).
    """
    from tests.site_support import shared_generated_warehouse

    warehouse = shared_generated_warehouse(shared_root, tmp_path_factory.mktemp("sites"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CUSTINTEL_CONFIG", str(warehouse.config))
        yield warehouse


@pytest.fixture(scope="session")
def default_site(generated_warehouse):
    """The report site of the generated warehouse built with the configured site role, shared
    by the served-app tests (tests/test_serve_*.py): (settings, site folder)."""
    from tests.site_support import site_for

    return site_for(generated_warehouse, None)


@pytest.fixture(scope="session")
def landing_csv_warehouse(shared_root: Path):
    """The whole SQLMesh project built to prod from tests/fixtures/landing_csv (landing loader,
    then one apply at the landing's as-of date, unit tests not run), once per run for every
    worker (tests/marts_support.py `shared_landing_csv_warehouse`): root, settings, summary.
    Read-only: a test that changes it works on `tests.shared_build_support.copy_project`."""
    from tests.marts_support import shared_landing_csv_warehouse

    return shared_landing_csv_warehouse(shared_root)


@pytest.fixture(scope="session")
def offer_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generated landing files (4,000 customers x 15 months from 2024-01, seed 11, no defects)
    with the retention-offer experiment's manifest, shared by tests/test_generate_offers.py
    and tests/test_ml_uplift.py."""
    import datetime as dt

    from custintel.generate import generate_landing

    root = tmp_path_factory.mktemp("offer_sample")
    generate_landing(
        root, customers=4000, months=15, start_date=dt.date(2024, 1, 1), seed=11, defect_rate=0.0
    )
    return root


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest files first: the `spark` file (one JVM, two builds, 5.5-9 min), then the
    `slow` ones (the convergence builds, 10-14 min each under load), then the rest in their
    usual order. `.ci/run` passes `--no-loadscope-reorder`, so `pytest -n 2 --dist loadfile`
    hands files out in this order (xdist's default reorders them by test count, which left these
    few-test files for the end, one worker running them while the other had nothing left to
    do); with them first the many short files fill in behind and the workers end together."""

    def weight(item: pytest.Item) -> int:
        if item.get_closest_marker("spark") is not None:
            return 0
        return 1 if item.get_closest_marker("slow") is not None else 2

    items.sort(key=weight)
