"""ml.pipeline on a small synthetic `marts.churn_prediction_features` in a temp warehouse."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from custintel.settings import load_settings
from ml import clv
from ml.pipeline import attach_churn_dates, train_and_score
from ml.registry import Registry


def feature_mart(customers: int = 400, months: int = 12, seed: int = 0) -> pd.DataFrame:
    """Monthly snapshots; churn depends on usage decline and tickets; labels of the last 3
    snapshots are null (their 90-day window is still open)."""
    rng = np.random.default_rng(seed)
    rows = customers * months
    dates = np.repeat(pd.date_range("2024-01-01", periods=months, freq="MS"), customers)
    usage_change = rng.normal(0.0, 0.3, rows)
    tickets = rng.poisson(1.0, rows)
    segment = rng.choice(["Residential", "SMB", "Enterprise"], rows)
    logit = -1.5 - 4.0 * usage_change + 0.4 * tickets
    churned = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(float)
    churned[dates > pd.Timestamp("2024-09-01")] = np.nan
    return pd.DataFrame(
        {
            "customer_id": np.tile([f"C{i:05d}" for i in range(customers)], months),
            "snapshot_date": dates,
            "customer_segment": segment,
            "customer_tier": rng.choice(["Bronze", "Gold"], rows),
            "region": rng.choice(["North", "South"], rows),
            "usage_change_30d_pct": usage_change,
            "data_volume_mb_30d": rng.gamma(2.0, 500.0, rows),
            "usage_days_30d": rng.integers(0, 31, rows),
            "tickets_90d": tickets,
            "escalated_tickets_90d": rng.binomial(tickets, 0.3),
            "history_days": (dates - pd.Timestamp("2023-12-01")).days,
            "health_score": np.clip(60 + 60 * usage_change - 8 * tickets, 0, 100),
            "revenue_3m_amount": rng.uniform(30, 240, rows),
            "churned_within_90d": churned,
        }
    )


def churn_events(mart: pd.DataFrame) -> pd.DataFrame:
    """A churn date 20..80 days after every positive snapshot (the panel is synthetic: a
    customer can have several)."""
    positives = mart[mart["churned_within_90d"] == 1]
    lead = np.random.default_rng(1).integers(20, 80, len(positives))
    dates = positives["snapshot_date"] + pd.to_timedelta(lead, unit="D")
    return pd.DataFrame({"customer_id": positives["customer_id"], "churn_date": dates.dt.date})


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pipeline")
    warehouse = folder / "w.duckdb"
    mart = feature_mart()
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts")
        con.register("mart", mart)
        con.execute("create table marts.churn_prediction_features as select * from mart")
        con.register("events", churn_events(mart))
        con.execute("create table marts.customer_churn_events as select * from events")
    settings = load_settings(
        environ={
            "CUSTINTEL_WAREHOUSE__PATH": str(warehouse),
            "CUSTINTEL_ML__REGISTRY_PATH": str(folder / "models"),
            "CUSTINTEL_ML__RETENTION_CAPACITY": "40",
            "CUSTINTEL_ML__TEST_SNAPSHOTS": "2",
        }
    )
    result = train_and_score(settings, bootstraps=3)
    return settings, mart, result


def test_training_is_out_of_time_with_a_label_horizon_embargo(built) -> None:
    _, _, result = built
    split = result.version.metrics["split"]
    assert split["test"]["periods"] == ["2024-08-01", "2024-09-01"]  # latest labelled two
    assert split["valid"]["periods"] == ["2024-05-01"]  # > 90 days before the test set
    assert split["train"]["periods"] == ["2024-01-01"]  # > 90 days before validation
    assert result.version.metrics["models"]["catboost"]["test"]["roc_auc"] > 0.7
    assert "history_days" not in result.version.features  # time index, excluded
    assert "rule" in result.version.metrics["models"]
    assert "test" in result.version.metrics["models"]["rule"]


def test_latest_snapshot_is_scored_with_bands_reasons_and_clv(built) -> None:
    settings, mart, result = built
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        scores = con.execute("select * from ml.churn_scores order by customer_id").df()
    assert len(scores) == 400
    assert scores["score_date"].astype(str).unique().tolist() == ["2024-12-01"]
    assert scores["model_version"].unique().tolist() == ["churn/v0001"]
    bands = result.version.metrics["risk_bands"]
    high = scores["churn_probability"] >= bands["high_threshold"]
    assert (scores.loc[high, "risk_band"] == "high").all()
    assert (scores.loc[~high, "risk_band"] != "high").all()
    assert scores["reason_1"].notna().all()
    assert (scores["reason_1_contribution"].abs() >= scores["reason_2_contribution"].abs()).all()
    latest = mart[mart["snapshot_date"] == "2024-12-01"].sort_values("customer_id")
    hazard = 1 - (1 - scores["churn_probability"].to_numpy()) ** (1 / 3)
    np.testing.assert_allclose(
        scores["predicted_clv_amount"],
        clv.predicted_clv(
            latest["revenue_3m_amount"].to_numpy() / 3 * settings.ml.gross_margin_rate, hazard
        ),
    )


def test_health_score_validation_and_bands_are_in_the_model_card(built) -> None:
    _, mart, result = built
    test = mart[mart["snapshot_date"].isin(pd.to_datetime(["2024-08-01", "2024-09-01"]))]
    expected = roc_auc_score(test["churned_within_90d"], -test["health_score"])
    assert result.version.metrics["health_score"]["roc_auc"] == pytest.approx(expected)
    card = (result.version.path / "model_card.md").read_text()
    assert "## Health score validation" in card and "## Risk bands" in card
    assert "the 40 highest-scored customers per month" in card


def test_segments_are_written_for_every_snapshot_with_a_report(built) -> None:
    settings, mart, result = built
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        counts = con.execute(
            "select count(*), count(distinct snapshot_date), count(distinct segment_id) "
            "from ml.customer_segments"
        ).fetchone()
    assert counts[0] == len(mart) and counts[1] == 12 and counts[2] >= 2
    registry = Registry(settings.registry_path, "churn")
    report = (registry.latest().path / "segmentation.md").read_text()
    assert "Month-over-month migration" in report
    assert result.segments["segment_name"].nunique() == counts[2]


def test_early_warning_uses_churn_dates_from_the_churn_events_mart(built) -> None:
    warning = built[2].version.metrics["early_warning"]
    assert warning["status"] == "ok"
    assert warning["false_positive_rate"] <= 0.05
    assert warning["churners"] > 0 and 0 <= warning["share_warned"] <= 1


def test_each_snapshot_gets_the_customers_next_churn_date() -> None:
    frame = pd.DataFrame(
        {
            "customer_id": ["A", "A", "B", "C"],
            "snapshot_date": pd.to_datetime(
                ["2024-02-01", "2024-01-01", "2024-01-01", "2024-01-01"]
            ),
        }
    )
    events = pd.DataFrame(
        {
            "customer_id": ["A", "A", "B"],
            "churn_date": pd.to_datetime(["2023-06-01", "2024-03-10", "2024-01-01"]).date,
        }
    )
    dates = attach_churn_dates(frame, events)["churn_date"]
    # A's 2023 churn lies before both snapshots; B churns on the snapshot day; C never churns
    assert dates.astype(str).tolist() == ["2024-03-10", "2024-03-10", "2024-01-01", "NaT"]
