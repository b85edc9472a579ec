"""```registry``` queries and the ```model_card``` block, on a model registry written by hand."""

from __future__ import annotations

import base64
import dataclasses
import html
import json
import re
from pathlib import Path
from typing import Any

import pytest

from reports.errors import ReportError
from tests.reports_support import build_fixture_site, fixture_runner

HOSTILE_FEATURE = "<img src=x onerror=alert(1)>"

PAGE = """\
    # Churn model

    ```registry metrics
    model: churn
    table: metrics
    ```

    ```table
    data: metrics
    ```

    ```registry lift
    model: churn
    table: lift
    ```

    ```chart
    type: bar
    data: lift
    x: decile
    y: lift
    ```

    ```registry importance
    model: churn
    table: importance
    limit: 2
    ```

    ```table
    data: importance
    ```

    ```registry migration
    model: churn
    table: migration
    ```

    ```chart
    type: heatmap
    data: migration
    x: to segment
    y: from segment
    value: moves
    ```

    ```model_card
    model: churn
    open: true
    ```
"""

CARD = f"""# Model card: churn v0002

- data: `marts.features`, 1000 rows

## Metrics on the test set

| model | ROC-AUC |
| --- | --- |
| `catboost` | 0.750 |

Feature {HOSTILE_FEATURE} and a [link](javascript:alert(2)) stay text.
"""


def metrics(roc_auc: float) -> dict[str, Any]:
    test = {"rows": 400, "positives": 40, "roc_auc": roc_auc, "pr_auc": 0.25}
    return {
        "dataset": {
            "source": "marts.features",
            "rows": 1000,
            "labelled_rows": 900,
            "positive_rate": 0.1,
        },
        "split": {"strategy": "out_of_time"},
        "models": {
            "prior": {"test": {**test, "roc_auc": 0.5}},
            "catboost": {"test": test},
            "rule": {"skipped": "no rule columns"},
        },
        "calibration": {"catboost": [{"mean_predicted": 0.05, "observed_rate": 0.04}]},
        "lift": {
            "catboost": [
                {
                    "decile": d,
                    "rows": 40,
                    "positives": 10 - d,
                    "positive_rate": (10 - d) / 40,
                    "lift": (10 - d) / 4,
                    "cumulative_recall": d / 10,
                }
                for d in range(1, 4)
            ]
        },
        "feature_importance": [
            {"feature": HOSTILE_FEATURE, "importance": 40.0},
            {"feature": "tenure_months", "importance": 25.5},
            {"feature": "tickets_90d", "importance": 10.0},
        ],
    }


def write_version(root: Path, version: str, roc_auc: float) -> None:
    folder = root / "churn" / version
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(
        json.dumps({"created_at": "2024-07-01T00:00:00+00:00", "features": ["a", "b"]})
    )
    (folder / "metrics.json").write_text(json.dumps(metrics(roc_auc)))
    (folder / "model_card.md").write_text(CARD.replace("v0002", version))
    (folder / "segmentation.json").write_text(
        json.dumps(
            {
                "segments": [],
                "migration_counts": {"busy": {"busy": 7, "quiet": 2}, "quiet": {"busy": 1}},
            }
        )
    )


def build(tmp_path: Path, registry: Path, page: str = PAGE) -> Path:
    runner = dataclasses.replace(fixture_runner(), registry=registry)
    return build_fixture_site(tmp_path / "site", {"index.md": page}, runner)


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    root = tmp_path / "models"
    write_version(root, "v0001", 0.61)
    write_version(root, "v0002", 0.75)
    return root


def cells(text: str, after: str) -> list[list[str]]:
    start = text.index(after)
    body = text[text.index("<tbody>", start) : text.index("</tbody>", start)]
    return [
        [
            html.unescape(re.sub(r"<[^>]+>", "", c))
            for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def test_registry_tables_come_from_the_latest_version(tmp_path: Path, registry: Path) -> None:
    text = (build(tmp_path, registry) / "index.html").read_text()
    assert "model registry: churn/v0002" in text and "churn/v0001" not in text
    rows = cells(text, 'data-query="lift"')  # the first table after the lift chart: importance
    assert [row[0] for row in rows] == [HOSTILE_FEATURE, "Tenure months"]  # limit: 2, titled
    assert "<img" not in text
    metric_rows = cells(text, "<h1")
    assert [row[0] for row in metric_rows] == ["catboost", "prior"]  # skipped rule left out
    assert metric_rows[0][3:5] == ["0.75", "0.25"]  # ROC-AUC, PR-AUC of v0002
    lift = json.loads(
        re.search(r'data-query="lift".*?class="ci-chart-spec">(.*?)</script>', text, re.S)[1]
    )
    assert lift["data"][0]["y"] == [(10 - d) / 4 for d in range(1, 4)]
    heatmap = json.loads(
        re.search(r'data-query="migration".*?class="ci-chart-spec">(.*?)</script>', text, re.S)[1]
    )
    assert heatmap["data"][0]["z"] == [[7.0, 2.0], [1.0, None]]


def test_model_card_is_shown_as_text_with_its_headings_under_the_page_title(
    tmp_path: Path, registry: Path
) -> None:
    text = (build(tmp_path, registry) / "index.html").read_text()
    card = text[text.index('<details class="ci-model-card"') :]
    card = card[: card.index("</details>")]
    assert 'data-model="churn/v0002" open' in card
    assert "<h2>Model card: churn v0002</h2>" in card
    assert "<h3>Metrics on the test set</h3>" in card
    assert '<table class="ci-data">' in card and "<code>catboost</code>" in card
    assert html.escape(HOSTILE_FEATURE, quote=False) in card and "<img" not in card
    assert "<a " not in card and "javascript:alert(2)" in card


def test_before_any_training_pages_build_and_say_there_is_no_model(tmp_path: Path) -> None:
    text = (build(tmp_path, tmp_path / "empty") / "index.html").read_text()
    assert text.count("model registry: churn (no version yet)") == 4
    assert (
        '<div class="ci-empty-state" data-query="lift"><p class="ci-empty">No data to show '
        "for the period covered.</p></div>"
    ) in text
    assert "No version of model <code>churn</code> in the model registry yet" in text


@pytest.mark.parametrize(
    ("body", "line", "reason"),
    [
        ("model: churn\ntable: lifts", 5, "registry: `table`: Input should be 'version'"),
        (
            "model: churn\ntable: lift\nversion: v0009",
            3,
            "model 'churn' has no version 'v0009' (stored: v0001, v0002)",
        ),
    ],
)
def test_a_bad_registry_block_names_its_line(
    tmp_path: Path, registry: Path, body: str, line: int, reason: str
) -> None:
    page = f"# X\n\n```registry lift\n{body}\n```\n"
    with pytest.raises(ReportError) as caught:
        build(tmp_path, registry, page)
    assert caught.value.line == line
    assert reason in caught.value.reason


MONITORING_PAGE = """\
    # Monitoring

    ```registry reliability
    model: churn
    table: reliability
    ```

    ```chart
    type: line
    data: reliability
    x: mean predicted
    y: observed churn rate
    series: probabilities
    ```

    ```registry calibration_summary
    model: churn
    table: calibration_summary
    ```

    ```table
    data: calibration_summary
    formats: {ECE: percent}
    ```

    ```registry feature_drift
    model: churn
    table: feature_drift
    ```

    ```table
    data: feature_drift
    ```

    ```registry backtest
    model: churn
    table: backtest
    ```

    ```table
    data: backtest
    formats: {observed churn rate: percent}
    empty: No stored score's window has closed yet.
    ```
"""

CALIBRATION = {
    "calibrator": {"method": "sigmoid"},
    **{
        part: {
            "observed_rate": rate,
            "before": {"ece": 0.02, "brier": 0.05, "mean_predicted": rate + 0.02},
            "after": {"ece": 0.01, "brier": 0.049, "mean_predicted": rate + 0.005},
        }
        for part, rate in (("valid", 0.06), ("test", 0.05))
    },
    "reliability_test": {
        "before": [
            {"mean_predicted": 0.02, "observed_rate": 0.01},
            {"mean_predicted": 0.30, "observed_rate": 0.20},
        ],
        "after": [
            {"mean_predicted": 0.015, "observed_rate": 0.01},
            {"mean_predicted": 0.22, "observed_rate": 0.20},
        ],
    },
}
MONITORING = {
    "drift": {
        "training_window": {
            "first": "2024-01-01",
            "last": "2024-09-01",
            "snapshots": 9,
            "rows": 900,
        },
        "latest_snapshot": {"date": "2024-12-01", "rows": 100},
        "score": {
            "psi": 0.04,
            "verdict": "stable",
            "training_mean": 0.05,
            "latest_mean": 0.06,
            "bins": [{"bin": "<= 0.1", "training_share": 0.5, "latest_share": 0.4, "psi": 0.02}],
        },
        "features": [
            {
                "feature": "escalated_tickets_weighted_12m",
                "kind": "numeric",
                "psi": 0.31,
                "verdict": "major shift",
            },
            {"feature": "data_volume_mb_30d", "kind": "numeric", "psi": 0.02, "verdict": "stable"},
        ],
    },
    "backtest": {
        "as_of": "2024-12-31",
        "horizon_days": 90,
        "pending": [],
        "bands": [],
        "dates": [
            {
                "score_date": "2024-09-01",
                "model_version": "churn/v0007",
                "customers": 101,
                "labelled": 100,
                "churners": 5,
                "roc_auc": 0.71,
                "mean_predicted": 0.06,
                "observed_rate": 0.05,
                "brier": 0.045,
            }
        ],
    },
}


def tables(text: str) -> list[list[list[str]]]:
    """The cells of every table of a page, in page order."""
    found, start = [], 0
    while (start := text.find("<tbody>", start)) != -1:
        found.append(cells(text[start:], "<tbody>"))
        start += 7
    return found


def test_reliability_drift_and_backtest_tables_are_titled_and_formatted(
    tmp_path: Path, registry: Path
) -> None:
    folder = registry / "churn" / "v0002"
    stored = json.loads((folder / "metrics.json").read_text())
    (folder / "metrics.json").write_text(
        json.dumps({**stored, "probability_calibration": CALIBRATION})
    )
    (folder / "monitoring.json").write_text(json.dumps(MONITORING))
    text = (build(tmp_path, registry, MONITORING_PAGE) / "index.html").read_text()
    chart = json.loads(
        re.search(r'data-query="reliability".*?class="ci-chart-spec">(.*?)</script>', text, re.S)[1]
    )
    traces = {trace["name"]: (trace["x"], trace["y"]) for trace in chart["data"]}
    assert traces["before calibration (raw)"] == ([0.02, 0.30], [0.01, 0.20])
    assert traces["after calibration"] == ([0.015, 0.22], [0.01, 0.20])
    # the diagonal spans the points drawn
    assert traces["perfectly calibrated"] == ([0.015, 0.30], [0.015, 0.30])
    summary, drift, backtest = tables(text)
    assert summary[0][:3] == ["validation", "before calibration (raw)", "2.0%"]
    assert summary[3][:3] == ["test", "after calibration", "1.0%"]
    assert [row[0] for row in drift] == [
        "Escalated tickets weighted (12 months)",
        "data, MB (30 days)",
    ]
    assert drift[0][2:] == ["0.31", "major shift"]
    # Brier in the default 2 decimals
    assert backtest == [["2024-09-01", "v0007", "100", "5", "0.71", "0.06", "5.0%", "0.04"]]
    assert "churn/v0007" not in text


def test_a_version_without_monitoring_shows_the_empty_sentences(
    tmp_path: Path, registry: Path
) -> None:
    text = (build(tmp_path, registry, MONITORING_PAGE) / "index.html").read_text()
    assert (
        "No stored score&#x27;s window has closed yet." in text
        or "No stored score's window has closed yet." in text
    )


def test_the_cards_own_svg_chart_is_shown_as_an_image_and_nothing_else_is(
    tmp_path: Path, registry: Path
) -> None:
    folder = registry / "churn" / "v0002"
    svg = '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(3)</script></svg>'
    (folder / "reliability.svg").write_text(svg)
    (folder / "model_card.md").write_text(
        CARD + "\n![Reliability <b>diagram</b>](reliability.svg)\n\n"
        "![Missing](other.svg)\n\n![Outside](../../secret.svg)\n"
    )
    text = (build(tmp_path, registry) / "index.html").read_text()
    card = text[text.index('<details class="ci-model-card"') :]
    card = card[: card.index("</details>")]
    images = re.findall(r'<img alt="([^"]*)" src="data:image/svg\+xml;base64,([^"]+)">', card)
    assert len(images) == 1  # only the stored file of the version, and only as an <img>
    assert images[0][0] == "Reliability &lt;b&gt;diagram&lt;/b&gt;"
    assert base64.b64decode(images[0][1]).decode() == svg
    assert "<script>" not in card
    assert '<p class="ci-empty">Missing (no other.svg stored)</p>' in card
    assert "![Outside](../../secret.svg)" in card  # a path is not a chart of the card: text


def test_action_list_table_compares_the_value_and_the_risk_ranking(tmp_path: Path) -> None:
    from reports.registry import registry_frame
    from reports.specs import RegistrySpec

    root = tmp_path / "models"
    write_version(root, "v0001", 0.7)
    stored = json.loads((root / "churn" / "v0001" / "metrics.json").read_text())
    value = {
        "expected_retained_value": 1500.0,
        "realised_retained_value": 1200.5,
        "churners_reached": 9,
    }
    risk = {
        "expected_retained_value": 600.0,
        "realised_retained_value": 450.25,
        "churners_reached": 20,
    }
    stored["action_list"] = {
        "list_size": 30,
        "economics": {"save_rate": 0.25, "contact_cost_amount": 15.0},
        "value": value,
        "risk": risk,
        "overlap": 4,
        "value_gain_expected_retained_value": 900.0,
        "value_gain_realised_retained_value": 750.25,
    }
    (root / "churn" / "v0001" / "metrics.json").write_text(json.dumps(stored))
    label, frame = registry_frame(RegistrySpec(model="churn", table="action_list"), root)
    assert label == "churn/v0001"
    assert frame["ranking"].tolist() == [
        "by expected retained value",
        "by churn risk",
        "value ranking gains",
    ]
    assert frame["expected retained value"].tolist() == [1500.0, 600.0, 900.0]
    assert frame["realised retained value"].tolist() == [1200.5, 450.25, 750.25]
    # the gain in churners is the difference of the two lists: the value list reaches fewer
    assert frame["churners reached"].tolist() == [9, 20, 9 - 20]
    assert frame["customers called"].tolist()[:2] == [30, 30]


def test_action_list_table_is_empty_with_its_columns_for_a_version_without_it(
    tmp_path: Path,
) -> None:
    from reports.registry import TABLE_COLUMNS, registry_frame
    from reports.specs import RegistrySpec

    root = tmp_path / "models"
    write_version(root, "v0001", 0.7)
    _, frame = registry_frame(RegistrySpec(model="churn", table="action_list"), root)
    assert frame.empty and tuple(frame.columns) == TABLE_COLUMNS["action_list"]
