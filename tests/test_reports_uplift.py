"""The Churn Model page's uplift tables (```registry``` tables `uplift`, `uplift_effects`) on
a model registry written by hand: titles instead of ids, formats, no uplift = the page's
sentence."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

from tests.test_reports_registry import build, write_version

PAGE = """\
    # Churn model

    ```registry uplift_ranking
    model: churn
    table: uplift
    ```

    ```table
    data: uplift_ranking
    formats: {effect in the top 30%: percent}
    empty: No uplift was evaluated.
    ```

    ```registry uplift_effects
    model: churn
    table: uplift_effects
    ```

    ```table
    data: uplift_effects
    formats: {planted effect: percent, observed effect: percent, predicted effect: percent}
    empty: No uplift was evaluated either.
    ```
"""

HOSTILE_GROUP = "<b>Price</b>"


def uplift_metrics() -> dict[str, Any]:
    def ranking(uplift: float, risk: float) -> dict[str, Any]:
        return {
            "uplift": uplift,
            "uplift_interval": [uplift - 0.002, uplift + 0.002],
            "risk": risk,
            "risk_interval": [risk - 0.002, risk + 0.002],
            "difference": uplift - risk,
            "difference_interval": [0.001, 0.01],
            "verdict": "beats",
        }

    return {
        "ranking": {
            "qini": ranking(0.0125, 0.004),
            "auuc": ranking(0.02, 0.01),
            "top": {"share": 0.3, "offers": 90, "uplift": 0.12, "risk": 0.03},
        },
        "effects": [
            {
                "group": "all offers",
                "group_title": "All offers",
                "offers": 300,
                "treated": 150,
                "planted": None,
                "observed": 0.04,
                "observed_interval": [0.01, 0.07],
                "predicted": 0.035,
            },
            {
                "group": "price_sensitive",
                "group_title": HOSTILE_GROUP,
                "offers": 60,
                "treated": 31,
                "planted": 0.09,
                "observed": 0.1,
                "observed_interval": [0.02, 0.2],
                "predicted": 0.08,
            },
        ],
    }


def _with_uplift(root: Path, uplift: dict[str, Any]) -> None:
    path = root / "churn" / "v0001" / "metrics.json"
    metrics = json.loads(path.read_text())
    path.write_text(json.dumps({**metrics, "uplift": uplift}))


def tables(text: str) -> list[list[list[str]]]:
    """The cells of every data table of a page, in page order."""
    found = []
    for table in text.split('<table class="ci-data">')[1:]:
        body = table[table.index("<tbody>") : table.index("</tbody>")]
        found.append(
            [
                [
                    html.unescape(re.sub(r"<[^>]+>", "", cell))
                    for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
                ]
                for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
            ]
        )
    return found


def test_uplift_tables_show_titles_and_formats(tmp_path: Path) -> None:
    root = tmp_path / "models"
    write_version(root, "v0001", 0.7)
    _with_uplift(root, uplift_metrics())
    text = (build(tmp_path, root, PAGE) / "index.html").read_text()
    ranking, effects = tables(text)
    assert [row[0] for row in ranking] == ["by predicted uplift", "by churn risk"]
    # Qini 0.0125 per offer = 12.50 per 1,000 offers, interval +- 0.002 -> 10.50 .. 14.50
    assert ranking[0][1:5] == ["12.50", "10.50", "14.50", "20"] and ranking[0][-1] == "12.0%"
    assert ranking[1][1] == "4" and ranking[1][-1] == "3.0%"
    assert [row[0] for row in effects] == ["All offers", HOSTILE_GROUP]
    assert effects[1][3:5] == ["9.0%", "10.0%"] and effects[1][-1] == "8.0%"
    assert effects[0][3] == "–"  # nothing planted on real data
    assert "<b>Price</b>" not in text and "price_sensitive" not in text


def test_a_version_that_skipped_uplift_shows_the_sentence(tmp_path: Path) -> None:
    root = tmp_path / "models"
    write_version(root, "v0001", 0.7)
    _with_uplift(root, {"skipped": "3 labelled offer dates: need more than the 3 test months"})
    text = (build(tmp_path, root, PAGE) / "index.html").read_text()
    assert "No uplift was evaluated." in text and "No uplift was evaluated either." in text
