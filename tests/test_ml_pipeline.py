"""ml.pipeline on a small synthetic `marts.churn_prediction_features` in a temp warehouse."""

from __future__ import annotations

import json
from types import SimpleNamespace

import duckdb
import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss, roc_auc_score

from custintel.core.settings import load_settings
from ml import clv
from ml.features import model_input
from ml.monitoring import psi
from ml.monitoring_step import monitoring_report
from ml.pipeline import active_population, attach_churn_dates, load_mart, train_and_score
from ml.registry import Registry
from ml.reliability_chart import reliability_svg
from ml.score import score_frame
from reports.registry import calibration_summary_table, find_version, reliability_table


def feature_mart(customers: int = 800, months: int = 12, seed: int = 0) -> pd.DataFrame:
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


LATEST = pd.Timestamp("2024-12-01")
#: customers whose churn date is the latest snapshot day itself, still in the mart at it (what
#: the old feature mart produced: their services ended the day before, so they scored highest)
LEAKERS = ["C00001", "C00002", "C00003", "C00004", "C00005"]


def with_churn_events(mart: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A churn date 20..80 days after each customer's first positive snapshot, and the mart
    without the snapshots after it; plus churn events on the latest snapshot day for LEAKERS."""
    first = mart[mart["churned_within_90d"] == 1].groupby("customer_id")["snapshot_date"].min()
    lead = np.random.default_rng(1).integers(20, 80, len(first))
    churn = first + pd.to_timedelta(lead, unit="D")
    for customer in LEAKERS:
        churn[customer] = LATEST
    after = mart["snapshot_date"] > mart["customer_id"].map(churn)
    events = pd.DataFrame({"customer_id": churn.index, "churn_date": churn.dt.date.to_numpy()})
    return mart[~after.fillna(False)].reset_index(drop=True), events


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pipeline")
    warehouse = folder / "w.duckdb"
    mart, events = with_churn_events(feature_mart())
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts")
        con.register("mart", mart)
        con.execute("create table marts.churn_prediction_features as select * from mart")
        con.register("events", events)
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
    return settings, mart, result, events


def test_no_scored_customer_had_churned_on_or_before_the_score_date(built) -> None:
    settings, mart, _, events = built
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        scored = con.execute("select customer_id, score_date from ml.churn_scores").df()
    joined = scored.merge(events, on="customer_id")
    assert not (pd.to_datetime(joined["churn_date"]) <= pd.to_datetime(joined["score_date"])).any()
    assert not scored["customer_id"].isin(LEAKERS).any()
    # everyone else in the mart at the latest snapshot is scored
    at_latest = mart[mart["snapshot_date"] == LATEST]["customer_id"]
    assert sorted(scored["customer_id"]) == sorted(at_latest[~at_latest.isin(LEAKERS)])


def test_training_is_out_of_time_with_a_label_horizon_embargo(built) -> None:
    _, _, result, _ = built
    split = result.version.metrics["split"]
    assert split["test"]["periods"] == ["2024-08-01", "2024-09-01"]  # latest labelled two
    assert split["valid"]["periods"] == ["2024-05-01"]  # > 90 days before the test set
    assert split["train"]["periods"] == ["2024-01-01"]  # > 90 days before validation
    assert result.version.metrics["models"]["catboost"]["test"]["roc_auc"] > 0.7
    assert "history_days" not in result.version.features  # time index, excluded
    assert "rule" in result.version.metrics["models"]
    assert "test" in result.version.metrics["models"]["rule"]


def test_latest_snapshot_is_scored_with_bands_reasons_and_clv(built) -> None:
    settings, mart, result, _ = built
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        scores = con.execute("select * from ml.churn_scores order by customer_id").df()
    assert scores["score_date"].astype(str).unique().tolist() == ["2024-12-01"]
    assert scores["model_version"].unique().tolist() == ["churn/v0001"]
    bands = result.version.metrics["risk_bands"]
    high = scores["churn_probability"] >= bands["high_threshold"]
    assert (scores.loc[high, "risk_band"] == "high").all()
    assert (scores.loc[~high, "risk_band"] != "high").all()
    # calibrated: the stored production calibrator applied to the stored raw output
    calibrator = result.version.calibrator()
    np.testing.assert_allclose(
        scores["churn_probability"], calibrator.transform(scores["churn_probability_raw"])
    )
    # reasons only raise the risk; each has a driver family and a playbook action
    for i in (1, 2, 3):
        given = scores[f"reason_{i}"].notna()
        assert (scores.loc[given, f"reason_{i}_contribution"] > 0).all()
        assert scores.loc[given, f"reason_{i}_action"].notna().all()
        assert scores.loc[~given, f"reason_{i}_driver"].isna().all()
    assert scores["reason_1"].notna().mean() > 0.5
    latest = mart[mart["snapshot_date"] == LATEST].set_index("customer_id")
    latest = latest.loc[scores["customer_id"]]
    p = scores["churn_probability"].to_numpy()
    hazard = 1 - (1 - p) ** (1 / 3)
    margin = latest["revenue_3m_amount"].to_numpy() / 3 * settings.ml.gross_margin_rate
    clv_amount = clv.predicted_clv(margin, hazard)
    np.testing.assert_allclose(scores["predicted_clv_amount"], clv_amount)
    np.testing.assert_allclose(scores["monthly_margin_amount"], margin)
    expected_value = p * clv_amount * settings.ml.save_rate - settings.ml.contact_cost_amount
    np.testing.assert_allclose(scores["expected_retained_value_amount"], expected_value)
    # both rankings: 1 = highest
    by_value = scores.sort_values("value_rank")["expected_retained_value_amount"].to_numpy()
    assert (np.diff(by_value) <= 0).all() and scores["value_rank"].min() == 1
    by_risk = scores.sort_values("risk_rank")["churn_probability"].to_numpy()
    assert (np.diff(by_risk) <= 0).all()
    # no retention-offer experiment in this warehouse: no uplift model, the columns are null
    assert "skipped" in result.version.metrics["uplift"]
    assert scores["predicted_uplift"].isna().all()
    assert scores["recommended_contact"].isna().all()


def test_action_list_compares_value_and_risk_ranking_on_the_test_set(built) -> None:
    _, _, result, _ = built
    action = result.version.metrics["action_list"]
    assert action["list_size"] == 40 * 2
    # the value list maximises expected retained value, so it can only gain on that
    assert action["value"]["expected_retained_value"] >= action["risk"]["expected_retained_value"]
    assert action["value_gain_expected_retained_value"] == pytest.approx(
        action["value"]["expected_retained_value"] - action["risk"]["expected_retained_value"]
    )


def test_health_score_validation_and_bands_are_in_the_model_card(built) -> None:
    _, mart, result, events = built
    churned = mart["customer_id"].map(events.set_index("customer_id")["churn_date"])
    active = ~(pd.to_datetime(churned) <= mart["snapshot_date"])  # churned on the snapshot day
    test = mart[active & mart["snapshot_date"].isin(pd.to_datetime(["2024-08-01", "2024-09-01"]))]
    expected = roc_auc_score(test["churned_within_90d"], -test["health_score"])
    assert result.version.metrics["health_score"]["roc_auc"] == pytest.approx(expected)
    card = (result.version.path / "model_card.md").read_text()
    assert "## Health score validation" in card and "## Risk bands" in card
    assert "## Probability calibration" in card and "**production** model" in card
    assert "## Action list: value ranking vs risk ranking" in card
    assert "the 40 highest-scored customers per month" in card


def test_segments_are_written_for_every_snapshot_with_a_report(built) -> None:
    settings, mart, result, events = built
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        counts = con.execute(
            "select count(*), count(distinct snapshot_date), count(distinct segment_id) "
            "from ml.customer_segments"
        ).fetchone()
    churned = mart["customer_id"].map(events.set_index("customer_id")["churn_date"])
    leaked = pd.to_datetime(churned) <= mart["snapshot_date"]
    assert leaked.sum() >= len(LEAKERS)
    assert counts[0] == len(mart) - leaked.sum() and counts[1] == 12 and counts[2] >= 2
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


def test_monitoring_report_is_attached_with_drift_and_a_pending_backtest(built) -> None:
    settings, mart, result, events = built
    report = json.loads((result.version.path / "monitoring.json").read_text())
    drift = report["drift"]
    # the production model was fitted on every labelled snapshot (2024-01-01 .. 2024-09-01)
    assert drift["training_window"]["first"] == "2024-01-01"
    assert drift["training_window"]["last"] == "2024-09-01"
    assert drift["latest_snapshot"]["date"] == "2024-12-01"
    features = {f["feature"]: f for f in drift["features"]}
    assert set(features) == set(result.version.features)
    # recomputed from the mart: the feature's PSI between the two populations
    active = active_population(mart, events)
    window = active[active["churned_within_90d"].notna()]
    latest = active[active["snapshot_date"] == LATEST]
    assert features["tickets_90d"]["psi"] == pytest.approx(
        psi(window["tickets_90d"], latest["tickets_90d"])
    )
    assert features["customer_segment"]["psi"] == pytest.approx(
        psi(window["customer_segment"], latest["customer_segment"], categorical=True)
    )
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        latest_scores = con.execute("select churn_probability from ml.churn_scores").df()
    assert drift["score"]["latest_mean"] == pytest.approx(latest_scores["churn_probability"].mean())
    # one build, one score date: its window is open until 90 days after it
    assert report["backtest"]["dates"] == []
    assert report["backtest"]["pending"][0]["labels_mature_on"] == "2025-03-01"


def test_backtest_of_stored_scores_of_earlier_dates(built) -> None:
    """Scores written for two labelled snapshots (as earlier builds would have) are checked
    against the mart's labels, recomputed here with SQL and scikit-learn."""
    settings, mart, result, events = built
    frame = active_population(mart, events)
    registry = Registry(settings.registry_path, "churn")
    version = registry.latest()
    for date in ("2024-08-01", "2024-09-01"):
        rows = frame[frame["snapshot_date"] <= pd.Timestamp(date)]
        scored = score_frame(version, rows[rows["snapshot_date"] == pd.Timestamp(date)], reasons=0)
        scored = scored.assign(
            score_date=pd.Timestamp(date).date(),
            risk_band=np.where(scored["churn_probability"] > 0.3, "high", "low"),
        )
        with duckdb.connect(str(settings.warehouse_path)) as con:
            con.register("scored", scored)
            con.execute(
                "insert into ml.churn_scores by name select customer_id, score_date, "
                "churn_probability, risk_band, model_version from scored"
            )
    dataset = load_mart(attach_churn_dates(frame, events))
    report = monitoring_report(
        settings,
        version,
        _train_result(version, dataset),
        dataset,
        result.scores,
        pd.Timestamp("2024-11-30"),
        90,
    )["backtest"]
    assert [d["score_date"] for d in report["dates"]] == ["2024-08-01", "2024-09-01"]
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        joined = con.execute(
            "select s.score_date, s.churn_probability, s.risk_band, f.churned_within_90d "
            "from ml.churn_scores s join marts.churn_prediction_features f "
            "on f.customer_id = s.customer_id and f.snapshot_date = s.score_date "
            "where s.score_date < date '2024-12-01'"
        ).df()
    for row in report["dates"]:
        part = joined[joined["score_date"].astype(str) == row["score_date"]]
        assert row["labelled"] == len(part) and row["churners"] == part["churned_within_90d"].sum()
        assert row["roc_auc"] == pytest.approx(
            roc_auc_score(part["churned_within_90d"], part["churn_probability"])
        )
        high = part[part["risk_band"] == "high"]
        band = next(
            b
            for b in report["bands"]
            if b["score_date"] == row["score_date"] and b["band"] == "high"
        )
        assert band["customers"] == len(high)
        assert band["observed_rate"] == pytest.approx(high["churned_within_90d"].mean())
        assert band["mean_predicted"] == pytest.approx(high["churn_probability"].mean())


def _train_result(version, dataset) -> SimpleNamespace:
    """What monitoring_report reads of a training result: the production model exists."""
    return SimpleNamespace(production_model=version.load_model("production"), split=None)


def test_reliability_diagram_numbers_match_sklearn_calibration_curve(built) -> None:
    """The Churn Model page's reliability diagram (registry table `reliability`) and its ECE /
    Brier table, recomputed from the stored evaluated model and calibrator on the test rows."""
    settings, mart, result, events = built
    version = result.version
    test = active_population(mart, events)
    test = test[test["snapshot_date"].isin(pd.to_datetime(["2024-08-01", "2024-09-01"]))]
    y = test["churned_within_90d"].astype(int).to_numpy()
    raw = version.load_model().predict_proba(
        model_input(test, version.features, version.categorical)
    )[:, 1]
    calibrated = version.calibrator("evaluated").transform(raw)
    found = find_version(settings.registry_path, "churn")
    diagram = reliability_table(found)
    for stage, scores in (("before calibration (raw)", raw), ("after calibration", calibrated)):
        observed, predicted = calibration_curve(y, scores, n_bins=10, strategy="quantile")
        points = diagram[diagram["probabilities"] == stage]
        np.testing.assert_allclose(points["mean predicted"], predicted, rtol=1e-9)
        np.testing.assert_allclose(points["observed churn rate"], observed, rtol=1e-9)
    diagonal = diagram[diagram["probabilities"] == "perfectly calibrated"]
    assert diagonal["mean predicted"].tolist() == diagonal["observed churn rate"].tolist()
    summary = calibration_summary_table(found).set_index(["data", "probabilities"])
    for stage, scores in (("before calibration (raw)", raw), ("after calibration", calibrated)):
        row = summary.loc[("test", stage)]
        assert row["Brier"] == pytest.approx(brier_score_loss(y, scores))
        assert row["mean predicted"] == pytest.approx(scores.mean())
        assert row["observed churn rate"] == pytest.approx(y.mean())
        # ECE: 10 equal-count bins of the rows sorted by score
        bins = np.array_split(np.argsort(-scores, kind="stable"), 10)
        ece = sum(len(b) * abs(y[b].mean() - scores[b].mean()) for b in bins) / len(y)
        assert row["ECE"] == pytest.approx(ece)
    card = (version.path / "model_card.md").read_text()
    assert "Reliability on the test set" in card


def test_the_model_card_shows_its_reliability_diagram(built) -> None:
    version = built[2].version
    svg = (version.path / "reliability.svg").read_text()
    assert "![Reliability diagram" in (version.path / "model_card.md").read_text()
    test = version.metrics["probability_calibration"]["test"]
    for stage in ("before", "after"):  # the legend carries the test ECE and Brier
        assert f"ECE {test[stage]['ece']:.4f}, Brier {test[stage]['brier']:.4f}" in svg
    assert reliability_svg(version.metrics) == svg  # reproducible byte for byte
