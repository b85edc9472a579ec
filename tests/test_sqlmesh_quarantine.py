"""Every landed row is either loaded into its dimension or fact, or quarantined with a reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sqlmesh_fixtures import (
    REASON_CODES,
    Build,
    base_build,
    planted_rejections,
    query,
    source_file,
)

#: landing table -> the models its valid rows are loaded into
TARGETS = {
    "crm__account_managers": ["dim_account_manager"],
    "crm__customers": ["dim_customer"],
    "crm__opportunities": ["dim_opportunity"],
    "marketing__campaigns": ["dim_campaign"],
    "marketing__campaign_targets": ["fact_campaign_target"],
    "marketing__retention_offers": ["fact_retention_offer"],
    "support__tickets": ["dim_support_ticket", "fact_support_ticket"],
    "support__kb_articles": ["dim_kb_article"],
    "support__kb_article_views": ["fact_kb_article_view"],
    "provisioning__services": ["dim_service"],
    "provisioning__service_assignments": ["fact_service_assignment"],
    "billing__invoices": ["fact_invoice"],
    "billing__orders": ["fact_order"],
    "network__usage": ["fact_network_usage"],
}


@pytest.fixture(scope="module")
def build(shared_root: Path) -> Build:
    return base_build(shared_root)


def _quarantined(build: Build) -> dict[tuple[str, int], str]:
    found = {}
    for table in TARGETS:
        rows = query(
            build.settings,
            f"select _source_file, _source_row_number, rejection_reason "
            f"from quarantine.rejects_{table}",
        )
        for file, row_number, reason in rows:
            assert file == source_file(table)
            found[(table, row_number)] = reason
    return found


def test_each_planted_defect_is_quarantined_with_its_reason(build: Build) -> None:
    assert _quarantined(build) == planted_rejections(months=2)


def test_every_reason_code_of_the_vocabulary_is_exercised(build: Build) -> None:
    codes = {reason.split(":")[0] for reason in _quarantined(build).values()}
    assert codes == REASON_CODES


def test_rejects_keep_the_values_as_landed(build: Build) -> None:
    rows = query(
        build.settings,
        "select rejection_code, customer_segment, account_manager_id "
        "from quarantine.rejects_crm__customers where _source_row_number in (6, 7) "
        "order by _source_row_number",
    )
    landed = build.rows["crm__customers"]
    assert rows == [
        ("orphan_key", landed[5]["customer_segment"], landed[5]["account_manager_id"]),
        ("invalid_value", landed[6]["customer_segment"], landed[6]["account_manager_id"]),
    ]


def test_landed_equals_loaded_plus_rejected_for_every_source(build: Build) -> None:
    planted = planted_rejections(months=2)
    expected = set()
    for table, models in TARGETS.items():
        landed = len(build.rows[table])
        rejected = sum(1 for (name, _row) in planted if name == table)
        for model in models:
            expected.add((table, model, landed, landed - rejected, rejected))
    reconciliation = query(build.settings, "select * from quarantine.landing_reconciliation")
    assert set(reconciliation) == expected
    for table, models in TARGETS.items():
        for model in models:
            loaded = query(build.settings, f"select count(*) from warehouse.{model}")[0][0]
            landed = len(build.rows[table])
            rejected = sum(1 for (name, _row) in planted if name == table)
            assert loaded == landed - rejected, model
