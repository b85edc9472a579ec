"""The churn model's ceiling on generated data (ml/hazard_ceiling.py), on a hand-built hazard
manifest whose probabilities, ROC-AUC and PR-AUC are worked out by hand below; the pipeline's
entry, the model card section and the bench figures built from it."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from custintel.app.bench import BenchResults, hazard_ceiling_figures
from ml.hazard_ceiling import (
    HAZARD_MANIFEST,
    HazardCeilingError,
    ceiling_probability,
    hazard_ceiling,
    monthly_hazard_table,
)
from ml.model_card import hazard_ceiling_section
from ml.pipeline import generator_ceiling


def _logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


#: (customer, month, hazard without frailty, hazard with frailty): A at risk Jan-Mar at 0.5;
#: B at risk in January only (churned then) at 0.25; C signed up in January, at risk from
#: February (0.1, then 0.2); D at risk Jan-Mar at 0.05
HAZARDS = [
    ("A", "2025-01-01", 0.5, 0.6),
    ("A", "2025-02-01", 0.5, 0.6),
    ("A", "2025-03-01", 0.5, 0.6),
    ("B", "2025-01-01", 0.25, 0.1),
    ("C", "2025-02-01", 0.1, 0.5),
    ("C", "2025-03-01", 0.2, 0.5),
    ("D", "2025-01-01", 0.05, 0.7),
    ("D", "2025-02-01", 0.05, 0.7),
    ("D", "2025-03-01", 0.05, 0.7),
]


def _manifest() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [h[0] for h in HAZARDS],
            "month_start": pd.to_datetime([h[1] for h in HAZARDS]).date,
            "logit_without_frailty": [_logit(h[2]) for h in HAZARDS],
            "frailty": [_logit(h[3]) - _logit(h[2]) for h in HAZARDS],
            "offer_effect_logit": 0.0,
            "churn_probability": [h[3] for h in HAZARDS],
        }
    )


#: the four customers at the January snapshot; A and C churned within 90 days
ROWS = pd.DataFrame(
    {
        "customer_id": ["A", "B", "C", "D"],
        "snapshot_date": pd.to_datetime(["2025-01-01"] * 4),
        "churned_within_90d": [1, 0, 1, 0],
    }
)


def test_probability_over_the_snapshot_month_and_the_next_two() -> None:
    table = monthly_hazard_table(_manifest())
    one = ceiling_probability(table, ROWS["customer_id"], ROWS["snapshot_date"], 1)
    three = ceiling_probability(table, ROWS["customer_id"], ROWS["snapshot_date"], 3)
    # C is not at risk in its signup month: 0; B's January hazard carries past its churn
    np.testing.assert_allclose(one, [0.5, 0.25, 0.0, 0.05])
    np.testing.assert_allclose(three, [1 - 0.5**3, 1 - 0.75**3, 1 - 0.9 * 0.8, 1 - 0.95**3])
    # a February snapshot: C's February, March, and March's hazard carried into April
    feb = ceiling_probability(table, pd.Series(["C"]), pd.Series([pd.Timestamp("2025-02-01")]), 3)
    np.testing.assert_allclose(feb, [1 - 0.9 * 0.8 * 0.8])


def test_roc_and_pr_auc_of_the_ceilings_and_the_model_share() -> None:
    result = hazard_ceiling(
        _manifest(),
        ROWS,
        "customer_id",
        "snapshot_date",
        "churned_within_90d",
        {"roc_auc": 0.6, "pr_auc": 0.5, "brier": 0.1},
    )
    # snapshot month: A 0.5 (churner), B 0.25, D 0.05, C 0 (churner): pairs A>B, A>D, C<B,
    # C<D -> 2/4; precision 1/1 at A and 2/4 at C -> AP (1 + 0.5) / 2
    assert result["snapshot_month"] == pytest.approx({"roc_auc": 0.5, "pr_auc": 0.75})
    # three months: A .875, B .578, C .28, D .143: only C<B misordered -> 3/4; AP (1 + 2/3) / 2
    assert result["label_months"] == pytest.approx({"roc_auc": 0.75, "pr_auc": 5 / 6})
    # with frailty, snapshot month: D .7, A .6 (churner), B .1, C 0 (churner): only A>B
    # ordered -> 1/4; precision 1/2 at A and 2/4 at C -> AP 0.5
    assert result["with_frailty"] == pytest.approx({"roc_auc": 0.25, "pr_auc": 0.5})
    assert result["rows"] == 4 and result["positives"] == 2
    assert result["model"] == {"roc_auc": 0.6, "pr_auc": 0.5}
    assert result["model_vs_ceiling"]["label_months"] == pytest.approx(
        {"roc_auc_ratio": 0.8, "pr_auc_ratio": 0.6, "roc_auc_gain_over_chance_ratio": 0.4}
    )
    snapshot = result["model_vs_ceiling"]["snapshot_month"]
    assert snapshot["roc_auc_ratio"] == pytest.approx(1.2)
    assert snapshot["roc_auc_gain_over_chance_ratio"] is None  # the ceiling is chance


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda m, r: (m, r.assign(customer_id=["A", "B", "X", "D"])), "no hazard for customer X"),
        (lambda m, r: (m, r.assign(snapshot_date=pd.Timestamp("2024-06-01"))), "snapshot 2024-06"),
        (lambda m, r: (m.drop(columns="churn_probability"), r), "churn_probability"),
        (lambda m, r: (pd.concat([m, m.iloc[[0]]]), r), "customer A has two rows for 2025-01"),
        (lambda m, r: (m, r.assign(churned_within_90d=0)), "churners and non-churners"),
    ],
)
def test_a_manifest_that_does_not_cover_the_rows_is_refused(change: Any, message: str) -> None:
    manifest, rows = change(_manifest(), ROWS.copy())
    with pytest.raises(HazardCeilingError, match=message):
        hazard_ceiling(manifest, rows, "customer_id", "snapshot_date", "churned_within_90d")


def _result() -> Any:
    test_scores = ROWS.assign(probability_catboost=0.1)
    metrics = {"models": {"catboost": {"test": {"roc_auc": 0.6, "pr_auc": 0.5}}}}
    return SimpleNamespace(test_scores=test_scores, metrics=metrics)


def test_pipeline_entry_reads_the_landing_manifest_only_when_there(tmp_path: Path) -> None:
    settings: Any = SimpleNamespace(landing_path=tmp_path)
    assert generator_ceiling(settings, _result()) is None  # real data: no manifest, no entry
    (tmp_path / HAZARD_MANIFEST).parent.mkdir()
    _manifest().to_parquet(tmp_path / HAZARD_MANIFEST)
    found = generator_ceiling(settings, _result())
    assert found is not None and found["label_months"]["roc_auc"] == pytest.approx(0.75)
    _manifest()[lambda m: m["customer_id"] != "D"].to_parquet(tmp_path / HAZARD_MANIFEST)
    skipped = generator_ceiling(settings, _result())
    assert skipped is not None and "no hazard for customer D" in skipped["skipped"]


def test_card_and_bench_show_the_same_figures(tmp_path: Path) -> None:
    ceiling = hazard_ceiling(
        _manifest(),
        ROWS,
        "customer_id",
        "snapshot_date",
        "churned_within_90d",
        {"roc_auc": 0.6, "pr_auc": 0.5},
    )
    card = "\n".join(hazard_ceiling_section({"hazard_ceiling": ceiling}))
    assert "| CatBoost (this version) | 0.600 | 0.500 | - | - |" in card
    assert (
        "| generator hazard with frailty (unobservable), snapshot month | 0.250 | 0.500 | - | "
        "- |" in card
    )
    assert (
        "| generator hazard without frailty, the 3 label months | 0.750 | 0.833 | 0.800 | "
        "0.400 |" in card
    )
    assert (
        "| generator hazard without frailty, snapshot month | 0.500 | 0.750 | 1.200 | n/a |" in card
    )
    assert hazard_ceiling_section({}) == []
    assert "Not evaluated: boom" in hazard_ceiling_section({"hazard_ceiling": {"skipped": "boom"}})

    registry = tmp_path / "models"
    assert hazard_ceiling_figures(registry) == []
    for version, metrics in (("v0001", {}), ("v0002", {"hazard_ceiling": ceiling})):
        (registry / "churn" / version).mkdir(parents=True)
        (registry / "churn" / version / "metrics.json").write_text(json.dumps(metrics))
    figures = hazard_ceiling_figures(registry)
    assert [(f.value, f.baseline_value) for f in figures] == [(0.6, 0.5), (0.6, 0.75)]
    assert [round(f.ratio, 6) for f in figures] == [1.2, 0.8]
    assert figures[1].details["version"] == "v0002"
    assert figures[1].details["with_frailty_roc_auc"] == pytest.approx(0.25)
    assert figures[1].details["roc_auc_gain_over_chance_ratio"] == pytest.approx(0.4)
    results = BenchResults(tmp_path / "bench.json", {"customers": 4})
    results.add_figure(figures[1])
    written = json.loads((tmp_path / "bench.json").read_text())["figures"]
    assert written[0]["ratio"] == pytest.approx(0.8)
    assert written[0]["baseline_value"] == pytest.approx(0.75)
    # a version without a ceiling (real data) gives no figure
    (registry / "churn" / "v0003").mkdir()
    (registry / "churn" / "v0003" / "metrics.json").write_text("{}")
    assert hazard_ceiling_figures(registry) == []
