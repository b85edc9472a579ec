"""Fixture data, query runner and site for the report tests (tests/test_reports_*.py).

`fixture_orders()` is a small order table; `fixture_runner()` answers Cube queries on it with
plain pandas (measures, dimensions, time granularities, equals/notEquals filters, order,
limit) and raises on unknown members, as the semantic layer does. `write_fixture_site(root)`
writes pages using every component; tests compute expected values from the same frame.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import yaml

from reports.runner import MemberInfo, QueryRunner

AS_OF = dt.date(2024, 6, 30)
EVIL_NAME = '<script>alert("x")</script> & <b>Co</b>'
SEGMENTS = ["Enterprise", "SMB", "Residential"]

#: measure -> (column, pandas aggregation)
MEASURES = {
    "sales.revenue": ("revenue", "sum"),
    "sales.order_count": ("order_id", "count"),
    "sales.customers": ("customer_id", "nunique"),
    "sales.avg_churn_probability": ("churn_probability", "mean"),
}
DIMENSIONS = {
    "sales.segment": "segment",
    "sales.customer_id": "customer_id",
    "sales.customer_name": "customer_name",
    "sales.ordered_at": "ordered_at",
}
FORMATS = {
    "sales.revenue": "currency",
    "sales.avg_churn_probability": "percent",
    "sales.order_count": "integer",
    "sales.customers": "integer",
}
TITLES = {
    "sales.revenue": "Revenue",
    "sales.order_count": "Orders",
    "sales.customers": "Customers",
    "sales.avg_churn_probability": "Average churn probability",
    "sales.segment": "Segment",
    "sales.customer_id": "Customer ID",
    "sales.customer_name": "Customer name",
    "sales.ordered_at": "Order date",
}
PERIODS = {"month": "M", "quarter": "Q", "year": "Y", "day": "D"}


def fixture_orders() -> pd.DataFrame:
    """12 customers x 6 months (H1 2024); customer C03 has a name with HTML in it."""
    rows = []
    for number in range(1, 13):
        segment = SEGMENTS[number % 3]
        name = EVIL_NAME if number == 3 else f"Customer {number}"
        for month in range(1, 7):
            if (number + month) % 4 == 0:
                continue  # some months without orders
            rows.append(
                {
                    "order_id": f"O{number:02d}{month}",
                    "customer_id": f"C{number:02d}",
                    "customer_name": name,
                    "segment": segment,
                    "ordered_at": pd.Timestamp(2024, month, 1 + number),
                    "revenue": float(10 * number + 7 * month + (month * number) % 5),
                    "churn_probability": round(((number * 7) % 10) / 10 + 0.05, 2),
                }
            )
    return pd.DataFrame(rows)


def _check_members(query: dict[str, Any]) -> None:
    named = list(query.get("measures", [])) + list(query.get("dimensions", []))
    named += [td["dimension"] for td in query.get("timeDimensions", [])]
    named += [f["member"] for f in query.get("filters", [])]
    for member in named:
        if member not in MEASURES and member not in DIMENSIONS:
            raise ValueError(f"unknown member {member!r}")


def _filtered(frame: pd.DataFrame, query: dict[str, Any]) -> pd.DataFrame:
    for item in query.get("filters", []):
        column = DIMENSIONS[item["member"]]
        values = [str(v) for v in item.get("values", [])]
        keep = frame[column].astype(str).isin(values)
        frame = frame[keep if item["operator"] == "equals" else ~keep]
    for td in query.get("timeDimensions", []):
        if "dateRange" in td:
            start, end = (pd.Timestamp(v) for v in td["dateRange"])
            column = DIMENSIONS[td["dimension"]]
            frame = frame[(frame[column] >= start) & (frame[column] <= end)]
    return frame


def answer(frame: pd.DataFrame, query: dict[str, Any]) -> pd.DataFrame:
    """A Cube query answered with pandas on the fixture order table."""
    _check_members(query)
    frame = _filtered(frame.copy(), query)
    keys = []
    for member in query.get("dimensions", []):
        frame[member] = frame[DIMENSIONS[member]]
        keys.append(member)
    for td in query.get("timeDimensions", []):
        if "granularity" in td:
            name = f"{td['dimension']}.{td['granularity']}"
            period = PERIODS[td["granularity"]]
            frame[name] = frame[DIMENSIONS[td["dimension"]]].dt.to_period(period).dt.start_time
            keys.append(name)
    measures = list(query.get("measures", []))
    aggregations = {m: pd.NamedAgg(MEASURES[m][0], MEASURES[m][1]) for m in measures}
    if keys and measures:
        result = frame.groupby(keys, dropna=False).agg(**aggregations).reset_index()
    elif keys:
        result = frame[keys].drop_duplicates().reset_index(drop=True)
    else:
        result = pd.DataFrame({m: [frame[c].agg(a)] for m, (c, a) in aggregations.items()})
    order = query.get("order", {})
    pairs = list(order.items()) if isinstance(order, dict) else [tuple(p) for p in order]
    if pairs:
        result = result.sort_values([p[0] for p in pairs], ascending=[p[1] == "asc" for p in pairs])
    elif keys:
        result = result.sort_values(keys)
    if "limit" in query:
        result = result.head(int(query["limit"]))
    return result.reset_index(drop=True)


def fixture_runner(frame: pd.DataFrame | None = None) -> QueryRunner:
    """A QueryRunner on the fixture orders; ungoverned SQL runs on DuckDB with `orders`."""
    orders = fixture_orders() if frame is None else frame

    def run_sql(text: str) -> pd.DataFrame:
        con = duckdb.connect()
        try:
            con.register("orders", orders)
            return con.execute(text).df()
        finally:
            con.close()

    members = {
        name: MemberInfo(
            name=name,
            title=TITLES[name],
            format=FORMATS.get(name),
            kind="measure" if name in MEASURES else "dimension",
            description=f"fixture member {name}",
            owner="reports-tests",
            certified=name == "sales.revenue",
            sql=f"fixture({name})",
        )
        for name in [*MEASURES, *DIMENSIONS]
    }
    return QueryRunner(load=lambda q: answer(orders, q), members=members, sql=run_sql, as_of=AS_OF)


OVERVIEW = """\
    ---
    title: Sales overview
    ---
    # Sales overview

    Total revenue is {{ total.sales.revenue }} from {{ total.sales.order_count }} orders.

    ```query total
    measures: [sales.revenue, sales.order_count, sales.customers]
    ```

    ```query monthly
    measures: [sales.revenue, sales.avg_churn_probability]
    timeDimensions: [{dimension: sales.ordered_at, granularity: month}]
    ```

    ```query by_segment
    measures: [sales.revenue, sales.order_count]
    dimensions: [sales.segment]
    order: {sales.revenue: desc}
    ```

    ```query segment_month
    measures: [sales.revenue]
    dimensions: [sales.segment]
    timeDimensions: [{dimension: sales.ordered_at, granularity: month}]
    ```

    ```query customers
    measures: [sales.revenue, sales.avg_churn_probability, sales.order_count]
    dimensions: [sales.customer_id, sales.customer_name, sales.segment]
    ```

    ```kpi
    data: monthly
    value: sales.revenue
    title: Revenue
    ```

    ```kpi
    data: monthly
    value: sales.avg_churn_probability
    title: Churn risk
    good: down
    ```

    ## Revenue by segment

    ```chart
    type: bar
    data: by_segment
    x: sales.segment
    y: sales.revenue
    ```

    ```chart
    type: line
    data: segment_month
    x: sales.ordered_at
    y: sales.revenue
    series: sales.segment
    ```

    ```chart
    type: area
    data: segment_month
    x: sales.ordered_at
    y: sales.revenue
    series: sales.segment
    ```

    ```chart
    type: heatmap
    data: segment_month
    x: sales.ordered_at.month
    y: sales.segment
    value: sales.revenue
    ```

    ## Customers

    ```chart
    type: scatter
    data: customers
    x: sales.avg_churn_probability
    y: sales.revenue
    series: sales.segment
    size: sales.order_count
    label: sales.customer_name
    ```

    ```table
    data: customers
    download: true
    link: {column: sales.segment, to: "segments/[segment].md"}
    ```

    ## Raw orders

    ```sql big_orders
    select customer_id, count(*) as order_count, sum(revenue) as revenue_amount
    from orders where revenue > 100 group by customer_id order by customer_id
    ```

    ```table
    data: big_orders
    ```
"""

SEGMENT_TEMPLATE = """\
    ---
    title: "Segment {{ params.segment }}"
    pages_from:
      dimensions: [sales.segment]
    ---
    # Segment {{ params.segment }}

    Revenue in {{ params.segment }}: {{ segment_total.sales.revenue }}.

    ```query segment_total
    measures: [sales.revenue]
    filters: [{member: sales.segment, operator: equals, values: ["{{ params.segment }}"]}]
    ```

    ```query segment_customers
    measures: [sales.revenue]
    dimensions: [sales.customer_name]
    filters: [{member: sales.segment, operator: equals, values: ["{{ params.segment }}"]}]
    ```

    ```chart
    type: bar
    data: segment_customers
    x: sales.customer_name
    y: sales.revenue
    title: Revenue by customer
    ```
"""

CUSTOMER_TEMPLATE = """\
    ---
    title: "Customer {{ params.customer_name }}"
    pages_from:
      dimensions: [sales.customer_id, sales.customer_name]
      filters: [{member: sales.customer_id, operator: equals, values: [C03, C05]}]
    ---
    Customer {{ params.customer_name }} ({{ params.customer_id }}).

    ```query history
    measures: [sales.revenue]
    timeDimensions: [{dimension: sales.ordered_at, granularity: month}]
    filters: [{member: sales.customer_id, operator: equals, values: ["{{ params.customer_id }}"]}]
    ```

    ```chart
    type: line
    data: history
    x: sales.ordered_at
    y: sales.revenue
    ```
"""

PAGES = {
    "index.md": OVERVIEW,
    "segments/[segment].md": SEGMENT_TEMPLATE,
    "customers/[customer_id].md": CUSTOMER_TEMPLATE,
}


def write_pages(docs: Path, pages: dict[str, str] | None = None) -> Path:
    """Write fixture pages (dedented) under `docs`; returns `docs`."""
    for name, text in (PAGES if pages is None else pages).items():
        path = docs / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return docs


def fixture_mkdocs(root: Path) -> Path:
    """The project's mkdocs.yml without its `nav` (which lists the project's own pages)."""
    from reports.site import MKDOCS_FILE

    config = yaml.safe_load(MKDOCS_FILE.read_text())
    config.pop("nav", None)
    path = root / "mkdocs.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def build_fixture_site(
    root: Path, pages: dict[str, str] | None = None, runner: QueryRunner | None = None
) -> Path:
    """Write the pages under root/docs and build them with the project's mkdocs.yml (less
    its nav)."""
    from reports.site import render_site

    root.mkdir(parents=True, exist_ok=True)
    docs = write_pages(root / "docs", pages)
    return render_site(
        fixture_mkdocs(root),
        docs_dir=docs,
        site_dir=root / "site",
        runner=runner or fixture_runner(),
    )


#: axe-core, the accessibility engine the browser tests run on every page (from npm, pinned)
AXE_VERSION = "4.14.1"
AXE_FOLDER = Path(__file__).resolve().parents[1] / "build" / "ci" / f"axe-core-{AXE_VERSION}"


def axe_script() -> Path:
    """axe.min.js of AXE_VERSION, fetched once with `npm pack` from the npm registry."""
    import subprocess
    import tarfile

    script = AXE_FOLDER / "axe.min.js"
    if script.exists():
        return script
    AXE_FOLDER.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [
            "npm",
            "pack",
            f"axe-core@{AXE_VERSION}",
            "--pack-destination",
            str(AXE_FOLDER),
            "--silent",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"npm pack axe-core@{AXE_VERSION} failed: {done.stderr.strip()}")
    archive = AXE_FOLDER / done.stdout.strip().splitlines()[-1]
    with tarfile.open(archive) as tar:
        member = tar.extractfile("package/axe.min.js")
        assert member is not None
        script.write_bytes(member.read())
    archive.unlink()
    return script


if __name__ == "__main__":  # .ci/run: `python -m tests.reports_support` fetches axe-core
    print(axe_script())
