"""A page with a bad block fails the build naming the page file, the block's line and why."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from reports.errors import ReportError
from tests.reports_support import build_fixture_site

FRONT = "---\ntitle: Broken\n---\n# Broken\n\n"


def line_of(text: str, needle: str) -> int:
    """1-based line of the first line containing `needle`."""
    return next(i for i, line in enumerate(text.split("\n"), 1) if needle in line)


def build_error(tmp_path: Path, text: str, name: str = "broken.md") -> ReportError:
    with pytest.raises(ReportError) as caught:
        build_fixture_site(tmp_path, {"index.md": "# Home\n", name: text})
    return caught.value


def test_unknown_member_names_page_line_and_member(tmp_path: Path) -> None:
    text = FRONT + textwrap.dedent("""\
        Some text.

        ```query revenue
        measures: [sales.revenue_typo]
        ```
        """)
    error = build_error(tmp_path, text)
    assert error.page == str(tmp_path / "docs" / "broken.md")
    assert error.line == line_of(text, "```query revenue")
    assert "unknown member 'sales.revenue_typo'" in error.reason
    assert str(error).startswith(f"{error.page}:{error.line}: query 'revenue' failed")


def test_chart_on_a_missing_column_names_the_chart_line(tmp_path: Path) -> None:
    text = FRONT + textwrap.dedent("""\
        ```query by_segment
        measures: [sales.revenue]
        dimensions: [sales.segment]
        ```

        ```chart
        type: bar
        data: by_segment
        x: sales.customer_name
        y: sales.revenue
        ```
        """)
    error = build_error(tmp_path, text)
    assert error.line == line_of(text, "```chart")
    assert "query 'by_segment' has no column 'sales.customer_name'" in error.reason
    assert "columns: sales.segment, sales.revenue" in error.reason


def test_chart_on_an_unknown_query_lists_the_page_queries(tmp_path: Path) -> None:
    text = (
        FRONT
        + "```query total\nmeasures: [sales.revenue]\n```\n\n"
        + ("```chart\ntype: line\ndata: totals\nx: a\ny: b\n```\n")
    )
    error = build_error(tmp_path, text)
    assert error.line == line_of(text, "```chart")
    assert "no query named 'totals' on this page (queries: total)" in error.reason


def test_invalid_setting_points_at_its_line(tmp_path: Path) -> None:
    text = (
        FRONT
        + "```query total\nmeasures: [sales.revenue]\n```\n\n"
        + ("```chart\ndata: total\ntype: pie\nx: sales.revenue\ny: sales.revenue\n```\n")
    )
    error = build_error(tmp_path, text)
    assert error.line == line_of(text, "type: pie")
    assert "`type`" in error.reason and "'bar'" in error.reason


def test_yaml_error_points_at_the_bad_line(tmp_path: Path) -> None:
    text = FRONT + "```query total\nmeasures: [sales.revenue\nlimit: 3\n```\n"
    error = build_error(tmp_path, text)
    assert "invalid YAML" in error.reason
    assert line_of(text, "```query total") < error.line <= line_of(text, "limit: 3")


def test_unknown_query_key_points_at_its_line(tmp_path: Path) -> None:
    text = FRONT + "```query total\nmeasures: [sales.revenue]\nmeasure: [x]\n```\n"
    error = build_error(tmp_path, text)
    assert error.line == line_of(text, "measure: [x]")
    assert "unknown query key 'measure'" in error.reason


def test_inline_value_of_an_unknown_query(tmp_path: Path) -> None:
    text = (
        FRONT
        + "Revenue: {{ totl.sales.revenue }}\n\n"
        + ("```query total\nmeasures: [sales.revenue]\n```\n")
    )
    error = build_error(tmp_path, text)
    assert error.line == line_of(text, "Revenue: {{")
    assert "inline value: no query named 'totl'" in error.reason


def test_a_query_name_used_twice(tmp_path: Path) -> None:
    text = (
        FRONT
        + "```query t\nmeasures: [sales.revenue]\n```\n\n"
        + ("```query t\nmeasures: [sales.customers]\n```\n")
    )
    error = build_error(tmp_path, text)
    assert error.line == 10 and "query 't' is defined twice" in error.reason


def test_unclosed_block(tmp_path: Path) -> None:
    text = FRONT + "```query t\nmeasures: [sales.revenue]\n"
    error = build_error(tmp_path, text)
    assert error.line == line_of(text, "```query t") and "never closed" in error.reason


def test_bad_sql_block_fails_with_the_database_error(tmp_path: Path) -> None:
    text = FRONT + "```sql raw\nselect nope from orders\n```\n"
    error = build_error(tmp_path, text)
    assert error.line == line_of(text, "```sql raw")
    assert "query 'raw' failed" in error.reason and "nope" in error.reason


def test_template_with_a_bad_pages_from_query(tmp_path: Path) -> None:
    text = "---\npages_from:\n  dimensions: [sales.segmnt]\n---\n# {{ params.segment }}\n"
    error = build_error(tmp_path, text, name="segments/[segment].md")
    assert error.page == str(tmp_path / "docs" / "segments" / "[segment].md")
    assert error.line == 2 and "unknown member 'sales.segmnt'" in error.reason


def test_error_on_a_generated_page_names_the_template_and_parameter(tmp_path: Path) -> None:
    text = (
        "---\npages_from:\n  dimensions: [sales.segment]\n---\n"
        "# {{ params.segment }}\n\n```query q\nmeasures: [sales.nope]\n```\n"
    )
    error = build_error(tmp_path, text, name="segments/[segment].md")
    template = tmp_path / "docs" / "segments" / "[segment].md"
    assert error.page.startswith(f"{template} [segment=")
    assert error.line == line_of(text, "```query q")
