"""ml.evaluate against hand-computed values on small hand-made examples."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from ml import evaluate

# 20 customers, 3 churners (positions 0, 3 and 9); scores strictly decreasing by position
# except that the churner at position 9 is the lowest-scored row of all.
Y = np.array([1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
SCORES = np.array([0.95 - 0.04 * i for i in range(20)])
SCORES[9] = 0.01


def test_top_decile_lift_recall_and_precision_by_hand() -> None:
    # top decile = ceil(0.1 * 20) = 2 rows: positions 0 (churner) and 1 (not)
    # churn rate there 1/2, overall 3/20 -> lift 0.5 / 0.15 = 3.333...; recall 1/3
    metrics = evaluate.binary_metrics(Y, SCORES)
    assert metrics["top_decile_rows"] == 2
    assert metrics["top_decile_lift"] == pytest.approx((1 / 2) / (3 / 20))
    assert metrics["top_decile_recall"] == pytest.approx(1 / 3)
    assert metrics["precision_at_top_decile"] == pytest.approx(1 / 2)
    # top 4 = positions 0..3: two churners
    assert evaluate.precision_at_k(Y, SCORES, 4) == pytest.approx(2 / 4)
    assert evaluate.recall_at_k(Y, SCORES, 4) == pytest.approx(2 / 3)


def test_roc_auc_brier_and_log_loss_match_their_definitions() -> None:
    positives, negatives = SCORES[Y == 1], SCORES[Y == 0]
    pairs = list(itertools.product(positives, negatives))
    auc = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in pairs) / len(pairs)
    brier = float(np.mean((SCORES - Y) ** 2))
    log_loss = float(-np.mean(Y * np.log(SCORES) + (1 - Y) * np.log(1 - SCORES)))
    metrics = evaluate.binary_metrics(Y, SCORES, capacity=5)
    assert metrics["roc_auc"] == pytest.approx(auc)
    assert metrics["brier"] == pytest.approx(brier)
    assert metrics["log_loss"] == pytest.approx(log_loss)
    assert metrics["precision_at_capacity"] == pytest.approx(2 / 5)


def test_lift_table_by_hand() -> None:
    table = evaluate.lift_table(Y, SCORES, n_bins=10)
    # deciles of 2 rows in score order: churners at positions 0 and 3 fall in deciles 1 and 2,
    # the lowest-scored row (position 9) is in decile 10
    assert [d["positives"] for d in table] == [1, 1, 0, 0, 0, 0, 0, 0, 0, 1]
    assert table[0]["lift"] == pytest.approx(0.5 / 0.15)
    assert [round(d["cumulative_recall"], 4) for d in table[:2]] == [0.3333, 0.6667]
    assert table[-1]["cumulative_recall"] == pytest.approx(1.0)


def test_ties_are_broken_by_input_order() -> None:
    y = np.array([0, 1, 1, 0])
    scores = np.array([0.5, 0.5, 0.5, 0.1])
    assert evaluate.precision_at_k(y, scores, 1) == 0.0  # first of the tied rows is row 0
    assert evaluate.precision_at_k(y, scores, 2) == 0.5


def test_calibration_table_quantile_bins_by_hand() -> None:
    # two quantile bins split the 20 rows into the 10 lowest and 10 highest scores
    table = evaluate.calibration_table(Y, SCORES, n_bins=2)
    order = np.argsort(SCORES)
    low, high = order[:10], order[10:]
    assert table[0]["mean_predicted"] == pytest.approx(SCORES[low].mean())
    assert table[0]["observed_rate"] == pytest.approx(Y[low].mean())
    assert table[1]["mean_predicted"] == pytest.approx(SCORES[high].mean())
    assert table[1]["observed_rate"] == pytest.approx(Y[high].mean())


def early_warning_frame() -> pd.DataFrame:
    churners = [
        # A: flagged 59 days before churning
        ("A", "2024-01-01", 1, "2024-02-28", 0.90),
        # B: high score only 15 days ahead (too late); 45 days ahead it scored low
        ("B", "2024-02-15", 1, "2024-03-01", 0.90),
        ("B", "2024-01-16", 1, "2024-03-01", 0.20),
        # C: 50 days ahead, medium score
        ("C", "2024-01-01", 1, "2024-02-20", 0.30),
    ]
    negative_scores = [0.8, 0.5, 0.4, 0.35, 0.25, 0.15, 0.1, 0.05, 0.02, 0.01]
    stayers = [(f"N{i}", "2024-01-01", 0, None, s) for i, s in enumerate(negative_scores)]
    return pd.DataFrame(
        churners + stayers, columns=["customer_id", "snapshot_date", "y", "churn_date", "score"]
    )


@pytest.mark.parametrize(
    ("max_fpr", "threshold", "warned"),
    [
        (0.10, 0.80, 1),  # only the stayer at 0.8 is flagged: A (0.9) is warned
        (0.30, 0.40, 1),  # stayers >= 0.4 flagged (3 of 10); C's 0.3 is still below
        # stayers >= 0.25 flagged (5 of 10); no stayer lies in [0.2, 0.25), so the lowest
        # threshold with that rate is B's 0.2: A, B (45 days ahead) and C are all warned
        (0.50, 0.20, 3),
    ],
)
def test_early_warning_share_by_hand(max_fpr: float, threshold: float, warned: int) -> None:
    result = evaluate.early_warning(
        early_warning_frame(), "customer_id", "snapshot_date", "churn_date", "score", "y", max_fpr
    )
    assert result["threshold"] == pytest.approx(threshold)
    assert result["false_positive_rate"] == pytest.approx(max_fpr)
    assert result["churners"] == 3
    assert result["churners_warned"] == warned
    assert result["share_warned"] == pytest.approx(warned / 3)


def test_paired_bootstrap_of_a_score_against_itself_and_a_worse_one() -> None:
    same = evaluate.paired_bootstrap(Y, SCORES, {"copy": SCORES.copy()}, resamples=50, seed=1)
    same = same["copy"]
    for metric in ("roc_auc", "pr_auc"):
        assert same[metric]["difference"] == 0.0
        assert same[metric]["ci_low"] == same[metric]["ci_high"] == 0.0
        assert same[metric]["share_ahead"] == 0.0
    # a perfect score (churners first) against SCORES: SCORES ranks the churner at position 9
    # below all 17 non-churners and the one at position 3 below two of them, so its AUC is
    # 1 - (17 + 2) / (3 * 17)
    perfect = Y.astype(float)
    result = evaluate.paired_bootstrap(Y, perfect, {"s": SCORES}, resamples=200, seed=1)["s"]
    assert result["roc_auc"]["difference"] == pytest.approx((17 + 2) / (3 * 17))
    # average precision of SCORES: churners at ranks 1, 4 and 20 -> (1/1 + 2/4 + 3/20) / 3
    assert result["pr_auc"]["difference"] == pytest.approx(1 - (1 + 2 / 4 + 3 / 20) / 3)
    # the perfect score is never behind; it ties when a resample drops both misranked churners
    assert result["roc_auc"]["ci_low"] >= 0.0 and result["pr_auc"]["ci_low"] >= 0.0
    assert result["roc_auc"]["share_ahead"] > 0.5
    assert 0 < result["roc_auc"]["resamples"] <= 200


def test_paired_bootstrap_resamples_equal_sklearn_on_rows_drawn_with_replacement() -> None:
    rng = np.random.default_rng(7)
    y = (rng.random(400) < 0.2).astype(int)
    challenger = np.round(y * 0.3 + rng.random(400), 2)  # rounded: ties between rows
    baselines = {
        "noise": np.round(rng.random(400), 2),
        "weak": np.round(y * 0.1 + rng.random(400), 2),
    }
    result = evaluate.paired_bootstrap(y, challenger, baselines, resamples=30, seed=3)
    draws = np.random.default_rng(3)
    expected: dict[str, dict[str, list[float]]] = {
        name: {"roc_auc": [], "pr_auc": []} for name in baselines
    }
    for _ in range(30):
        rows = draws.integers(0, len(y), len(y))
        for name, scores in baselines.items():
            expected[name]["roc_auc"].append(
                roc_auc_score(y[rows], challenger[rows]) - roc_auc_score(y[rows], scores[rows])
            )
            expected[name]["pr_auc"].append(
                average_precision_score(y[rows], challenger[rows])
                - average_precision_score(y[rows], scores[rows])
            )
    for name in baselines:
        for metric, values in expected[name].items():
            got = result[name][metric]
            assert got["resamples"] == 30
            assert got["ci_low"] == pytest.approx(np.quantile(values, 0.025), abs=1e-12)
            assert got["ci_high"] == pytest.approx(np.quantile(values, 0.975), abs=1e-12)
            assert got["share_ahead"] == pytest.approx(np.mean(np.asarray(values) > 0))
