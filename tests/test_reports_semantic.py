"""The report site on the real semantic layer (embedded engine on the semantic fixture model)."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from custintel.core.settings import Settings, load_settings
from reports.errors import ReportError
from reports.site import build_site
from tests.conftest import write_config
from tests.semantic_support import MODEL_PATH, build_warehouse, fixture_frames

PAGE = """\
    # Customers by segment

    There are {{ total.customer_360.count }} customers.

    ```query total
    measures: [customer_360.count]
    ```

    ```query by_segment
    measures: [customer_360.count, customer_360.revenue]
    dimensions: [customer_360.segment]
    order: {customer_360.segment: asc}
    ```

    ```chart
    type: bar
    data: by_segment
    x: customer_360.segment
    y: customer_360.revenue
    ```
"""


def settings_with(tmp_path: Path, pages: dict[str, str]) -> Settings:
    docs = tmp_path / "pages"
    for name, text in pages.items():
        (docs / name).parent.mkdir(parents=True, exist_ok=True)
        (docs / name).write_text(textwrap.dedent(text))
    config = write_config(
        tmp_path, semantic={"model_path": str(MODEL_PATH)}, reports={"pages_path": str(docs)}
    )
    settings = load_settings(config)
    build_warehouse(settings.warehouse_path)
    return settings


def catalogue_rows(text: str) -> dict[str, list[str]]:
    """Catalogue rows by member (the row id): cell texts without tags."""
    return {
        member: [
            re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        for member, row in re.findall(r'<tr id="([^"]+)">(.*?)</tr>', text, re.S)
    }


def test_pages_query_the_semantic_layer(tmp_path: Path) -> None:
    catalogue_page = "# Catalogue\n\n```catalog\n```\n"
    settings = settings_with(tmp_path, {"index.md": PAGE, "catalogue.md": catalogue_page})
    site = build_site(settings)
    customers = fixture_frames()["customers"]
    text = (site / "index.html").read_text()
    assert f"There are {len(customers)} customers." in text
    counts = customers.groupby("segment").size()
    spec = re.search(r'class="ci-chart-spec">(.*?)</script>', text, re.S)[1]
    assert '"x":' + str(list(counts.index)).replace("'", '"').replace(" ", "") in spec
    catalogue = (site / "catalogue.html").read_text()
    assert "<code>customer_360.revenue</code>" in catalogue
    # the row of a member: its id is the row's anchor; columns by title, Format the fourth
    assert catalogue_rows(catalogue)["customer_360.active_rate"][3] == "percent"


def test_unknown_member_error_comes_from_the_semantic_layer(tmp_path: Path) -> None:
    page = "# X\n\n```query q\nmeasures: [customer_360.revenu]\n```\n"
    settings = settings_with(tmp_path, {"index.md": page})
    with pytest.raises(ReportError) as caught:
        build_site(settings)
    assert caught.value.line == 3
    assert "QueryError: unknown member 'customer_360.revenu'" in caught.value.reason


def test_catalogue_traces_each_member_to_its_sqlmesh_models(tmp_path: Path) -> None:
    settings = settings_with(tmp_path, {"index.md": "# Catalogue\n\n```catalog\n```\n"})
    text = (build_site(settings) / "index.html").read_text()
    rows = {member: cells[-1] for member, cells in catalogue_rows(text).items()}
    # sql_table of the cubes in tests/fixtures/semantic/model/cubes: orders.revenue_per_customer
    # divides order revenue by customers.count, so it reads both tables
    assert rows["customer_360.segment"] == "marts.fixture_customers"
    assert rows["customer_360.order_count"] == "warehouse.fact_order"
    assert rows["customer_360.revenue_per_customer"] == (
        "warehouse.fact_order, marts.fixture_customers"
    )


PROJECT_MODEL = Path(__file__).resolve().parents[1] / "semantic" / "model"


def test_every_project_member_has_a_title_unique_in_its_view_and_numbers_a_format() -> None:
    """What readers see comes from the model: no member falls back to its id."""
    from semantic.member_catalog import build_catalog
    from semantic.model_loader import load_model

    entries = build_catalog(load_model(PROJECT_MODEL))
    assert len(entries) > 200
    assert [e.name for e in entries if not e.title] == []
    titles: dict[tuple[str, str], list[str]] = {}
    for entry in entries:
        titles.setdefault((entry.name.split(".")[0], entry.title or ""), []).append(entry.name)
    assert [names for names in titles.values() if len(names) > 1] == []
    numeric = [e for e in entries if e.kind == "measure" or e.type == "number"]
    assert [e.name for e in numeric if e.format not in ("currency", "percent", "number")] == []


def test_display_formats_follow_format_type_and_meta() -> None:
    from reports.runner import display_format
    from semantic.member_catalog import build_catalog
    from semantic.model_loader import load_model

    shown = {e.name: display_format(e) for e in build_catalog(load_model(PROJECT_MODEL))}
    assert shown["customer_health.recency_days"] == "days"  # meta.unit
    assert shown["customer_health.tenure_months"] == "months"
    assert shown["support.mean_time_to_resolve_hours"] == "hours"
    assert shown["customer_health.customers"] == "integer"  # a count
    assert shown["customer_health.health_score"] == "integer"  # meta.decimals: 0
    assert shown["marketing.roi"] == "percent"
    assert shown["revenue.revenue"] == "currency"
    assert shown["support.csat"] == "number"


@pytest.mark.parametrize(
    ("meta", "reason"),
    [
        ("{unit: weeks}", "unknown meta.unit 'weeks' (expected days, months, hours)"),
        ("{decimals: two}", "meta.decimals must be a whole number 0..6, not 'two'"),
        ("{decimals: 9}", "meta.decimals must be a whole number 0..6, not 9"),
    ],
)
def test_a_bad_display_meta_is_a_model_error_naming_the_member(
    tmp_path: Path, meta: str, reason: str
) -> None:
    from semantic.errors import ModelError
    from semantic.model_loader import load_model

    (tmp_path / "cubes").mkdir()
    (tmp_path / "cubes" / "things.yml").write_text(
        textwrap.dedent(f"""\
        cubes:
          - name: things
            sql_table: main.things
            dimensions:
              - name: thing_id
                sql: thing_id
                type: string
                primary_key: true
            measures:
              - name: waiting
                type: avg
                sql: waiting_days
                format: number
                meta: {meta}
        """)
    )
    with pytest.raises(ModelError) as caught:
        load_model(tmp_path)
    assert "measure waiting" in str(caught.value) and reason in str(caught.value)
