"""The generated warehouse the report-site tests share (tests/test_reports_site.py,
tests/test_reports_governance.py), built once per session by the `generated_warehouse` fixture
of conftest.py.

300 customers x 12 months of generated landing data (12 months, not 6: the churn model's
out-of-time split needs training, validation and test snapshots 90 days apart), every generated
customer name given a `<script>` suffix (the hostile name of the CSV fixture's customer C004,
so the action list and every Customer 360 page carry one), loaded, built by SQLMesh and scored
by the churn-model pipeline. Each test module renders its own site from it with the role it
checks (`site_for`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from custintel.core.settings import Settings, load_settings
from tests.conftest import write_config

HOSTILE = "<script>alert(1)</script>"  # as in tests/fixtures/landing_csv/crm/customers.csv


@dataclass(frozen=True)
class GeneratedWarehouse:
    root: Path
    config: Path
    settings: Settings
    as_of: dt.date
    site_root: Path  # where this worker renders its sites (one folder per role)


def hostile_names(landing: Path) -> None:
    """Append the hostile fragment to every generated customer name (types kept)."""
    path = landing / "crm" / "customers.parquet"
    table = pq.read_table(path)
    index = table.schema.get_field_index("customer_name")
    names = pc.binary_join_element_wise(table["customer_name"], HOSTILE, " ")
    pq.write_table(table.set_column(index, table.schema.field(index), names), path)


def build_generated_warehouse(root: Path) -> GeneratedWarehouse:
    """Generate, load, transform and score; CUSTINTEL_CONFIG must point at the config."""
    from custintel.app import transform
    from custintel.core.landing.as_of import landing_as_of_date
    from custintel.core.landing.loader import load_landing
    from custintel.generate import generate_landing
    from ml.pipeline import train_and_score

    config = write_config(root, ml={"retention_capacity": 10, "test_snapshots": 2})
    settings = load_settings(config)
    generate_landing(
        settings.landing_path,
        customers=300,
        months=12,
        start_date=dt.date(2024, 1, 1),
        seed=42,
        defect_rate=0.01,
    )
    hostile_names(settings.landing_path)
    load_landing(settings.landing_path, settings.warehouse_path)
    as_of = landing_as_of_date(settings.warehouse_path)
    transform.apply(settings, as_of=as_of, run_tests=False)
    train_and_score(settings, bootstraps=3)
    transform.refresh_score_consumers(settings, as_of=as_of)
    return GeneratedWarehouse(root, config, settings, as_of, root / "sites")


def shared_generated_warehouse(shared: Path, site_root: Path) -> GeneratedWarehouse:
    """The generated warehouse in `shared`/generated_warehouse, built once per run by the first
    caller (tests/shared_build_support.py); sites go to `site_root` (one per worker)."""
    from tests.shared_build_support import shared_build

    root, as_of = shared_build(
        shared, "generated_warehouse", lambda root: build_generated_warehouse(root).as_of
    )
    config = root / "config.yaml"
    return GeneratedWarehouse(root, config, load_settings(config), as_of, site_root)


#: sites already rendered in this worker, by (warehouse folder, role): the governance and the
#: served-app tests read the same default-role site, rendered once
_SITES: dict[tuple[Path, str | None], tuple[Settings, Path]] = {}


def site_for(warehouse: GeneratedWarehouse, role: str | None) -> tuple[Settings, Path]:
    """The report site built from the shared warehouse with `role` as reports.site_role
    (None: the configured default), in a folder of its own; rendered once per worker."""
    from reports.site import build_site

    key = (warehouse.root, role)
    if key not in _SITES:
        settings = warehouse.settings
        if role is not None:
            reports = settings.reports.model_copy(update={"site_role": role})
            settings = settings.model_copy(update={"reports": reports})
        site_dir = warehouse.site_root / f"site_{role or 'default'}"
        _SITES[key] = (settings, build_site(settings, site_dir=site_dir))
    return _SITES[key]
