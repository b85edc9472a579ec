"""A build killed in the churn model's write-back or in the site step converges too: the next
run restores the last finished state (warehouse, SQLMesh state, model registry; the published
site is untouched) and the rerun equals a clean build of the same landing.

Its own module (and so its own CI worker under `--dist loadfile`): the model needs a longer
history than tests/test_build_convergence.py's, 300 customers x 12 months, test and validation
one snapshot each. The comparison leaves out score history (tests/build_convergence_support.py).
"""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from custintel.build_journal import BuildJournal
from custintel.generate import generate_landing
from custintel.settings import load_settings
from tests.build_convergence_support import (
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
    """300 customers x 12 months with the model and site: a clean build of M1 and a build of M0
    (exported on the first day of the last month) to start the new-month build from."""
    root = tmp_path_factory.mktemp("ml_landings")
    m1 = root / "m1"
    generate_landing(m1, customers=300, months=ML_MONTHS, start_date=dt.date(2024, 1, 1),
                     seed=11, defect_rate=0.01)
    m0 = truncate_landing(m1, root / "m0", dt.date(2024, ML_MONTHS, 1))
    builds: dict = {"landing": {"m0": m0, "m1": m1}, "roots": {}}
    for name in ("m0", "m1"):
        build_root = tmp_path_factory.mktemp(f"ml_clean_{name}")
        write_config(build_root, ml=ML_SETTINGS)
        build_ok(build_root / "config.yaml", builds["landing"][name], with_ml=True,
                  with_reports=True)
        builds["roots"][name] = build_root
    builds["digests"] = {name: digest(warehouse_of(root)) for name, root in builds["roots"].items()}
    return builds


@pytest.mark.xfail(strict=False, reason=(
    "open: since the churn-model changes of issue 15 (survival / purchase CLV, reasons by driver "
    "family) a rerun after a kill in the ML write-back scores differently from the clean build "
    "(customer_churn_reasons 500 vs 480 rows in the fresh-clone CI of 2026-12-03); the ML step "
    "is not yet reproducible across processes"))
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
        killed = cli_build(config, ml_builds["landing"]["m1"], kill_at=point, with_ml=True,
                           with_reports=True)
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
