"""Uplift of retention offers (ml/uplift.py): Qini and AUUC against hand-computed cases, the
out-of-time split, and the T-learner against ranking by risk, on a hand-built experiment and
on the generator's planted one.

The generated case uses the 4,000 x 15 sample `offer_sample` (conftest.py) with a few
churn features computed here with pandas from the landing files (the warehouse's mart is the
build's job; this keeps the test at seconds).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from custintel.generate import offers
from ml import uplift
from tests.test_generate import read

# ranked offers (highest score first): treated?, churned?
HAND = [(1, 0), (0, 1), (1, 0), (0, 0), (1, 1), (0, 0)]


def _hand() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    treated = np.array([t for t, _ in HAND], dtype=bool)
    churned = np.array([y for _, y in HAND])
    return churned, treated, np.arange(len(HAND), 0, -1, dtype=float)


def test_qini_curve_and_coefficient_by_hand() -> None:
    churned, treated, score = _hand()
    # k: N_t N_c C_t C_c -> Q = C_c N_t / N_c - C_t
    # 1: 1 0 0 0 -> 0 (no control yet); 2: 1 1 0 1 -> 1; 3: 2 1 0 1 -> 2; 4: 2 2 0 1 -> 1;
    # 5: 3 2 1 1 -> 0.5; 6: 3 3 1 1 -> 0
    assert uplift.qini_curve(churned, treated, score).tolist() == [0, 1, 2, 1, 0.5, 0]
    # Q(n) = 0, so random targeting is the zero line: mean(Q) / n = (4.5 / 6) / 6
    assert uplift.qini_coefficient(churned, treated, score) == pytest.approx(0.125)
    # U(k) = (C_c/N_c - C_t/N_t) k: 0, 2, 3, 2, (1/2 - 1/3) 5, 0
    assert uplift.uplift_curve(churned, treated, score) == pytest.approx([0, 2, 3, 2, 5 / 6, 0])
    assert uplift.auuc(churned, treated, score) == pytest.approx((47 / 6) / 36)


def test_qini_subtracts_random_targeting_and_keeps_input_order_on_ties() -> None:
    churned, treated, score = _hand()
    # the reversed ranking (rows 6..1): k=1 no treated; 2: C_t 1 -> -1; 3, 4: -1;
    # 5: 1 * 2 / 3 - 1 = -1/3; 6: 1 - 1 = 0
    reverse = uplift.qini_curve(churned, treated, -score)
    assert reverse == pytest.approx([0, -1, -1, -1, -1 / 3, 0])
    assert uplift.qini_coefficient(churned, treated, -score) == pytest.approx(-10 / 3 / 36)
    # equal scores: the input order decides, so it equals the hand ranking
    assert uplift.qini_coefficient(churned, treated, np.zeros(6)) == pytest.approx(0.125)
    # a curve ending above 0: the random line k/n * Q(n) is subtracted
    churned2 = np.array([0, 0, 1, 0])
    treated2 = np.array([False, True, False, True])
    # Q = 0, 0, 1 * 1 / 2, 1 * 2 / 2 ; random = 0.25, 0.5, 0.75, 1 -> mean(-.25, -.5, -.25, 0) / 4
    assert uplift.qini_curve(churned2, treated2, np.arange(4, 0, -1)).tolist() == [0, 0, 0.5, 1]
    assert uplift.qini_coefficient(churned2, treated2, np.arange(4, 0, -1)) == pytest.approx(
        -0.25 / 4
    )


def test_observed_effect_and_verdict() -> None:
    churned, treated, _ = _hand()
    assert uplift.observed_effect(churned, treated) == pytest.approx(1 / 3 - 1 / 3)
    assert np.isnan(uplift.observed_effect(churned[:1], treated[:1]))
    assert uplift.verdict([0.01, 0.2]) == "beats"
    assert uplift.verdict([-0.2, -0.01]) == "loses"
    assert uplift.verdict([-0.01, 0.2]) == "ties"


def _monthly_offers(rng: np.random.Generator, months: int, per_month: int) -> pd.DataFrame:
    """A hand-built experiment: segment A (a price-driven churner) is kept by the offer, segment
    B (high risk, a service problem) is not, segment C (low risk) slightly less so."""
    rows = []
    for month in range(months):
        date = pd.Timestamp(2024, 1, 1) + pd.DateOffset(months=month)
        segment = rng.choice(["A", "B", "C"], size=per_month, p=[0.3, 0.3, 0.4])
        noise = rng.normal(size=per_month)
        treated = rng.random(per_month) < 0.5
        base = np.select([segment == "A", segment == "B"], [0.25, 0.35], 0.05)
        effect = np.select([segment == "A", segment == "B"], [0.18, 0.0], -0.03)
        churned = rng.random(per_month) < base - effect * treated
        for i in range(per_month):
            rows.append(
                {
                    "customer_id": f"C{month:02d}{i:05d}",
                    "snapshot_date": date,
                    "segment": segment[i],
                    "noise": noise[i],
                    "churned_within_90d": int(churned[i]),
                    "offer_id": f"O{month:02d}{i:05d}",
                    "offer_date": date,
                    "is_treatment": bool(treated[i]),
                    "effect": effect[i],
                }
            )
    return pd.DataFrame(rows)


def test_t_learner_beats_risk_ranking_on_a_hand_built_experiment() -> None:
    frame = _monthly_offers(np.random.default_rng(5), months=10, per_month=600)
    mart = frame[["customer_id", "snapshot_date", "segment", "noise", "churned_within_90d"]]
    offers_table = frame[["offer_id", "customer_id", "offer_date", "is_treatment"]]
    planted = frame[["offer_id"]].assign(
        effect_group=frame["segment"], planted_uplift=frame["effect"]
    )
    config = uplift.UpliftConfig(iterations=100, bootstraps=100)
    _, metrics = uplift.uplift_analysis(
        mart, offers_table, ["segment", "noise"], ["segment"], config, planted
    )
    # months 0..9: test = Aug, Sep, Oct; training = offers whose 90 days end before Aug 1:
    # Jan..May (May 1 + 90 days = Jul 30), 5 x 600
    assert metrics["offers"]["test"] == 1800 and metrics["offers"]["train"] == 3000
    assert metrics["offers"]["test_period"] == ["2024-08-01", "2024-10-01"]
    qini = metrics["ranking"]["qini"]
    assert qini["verdict"] == "beats" and qini["difference_interval"][0] > 0
    effects = {row["group"]: row for row in metrics["effects"]}
    assert effects["all offers"]["group_title"] == "All offers"
    assert effects["A"]["group_title"] == "A"
    assert effects["A"]["predicted"] == pytest.approx(0.18, abs=0.05)
    assert effects["B"]["predicted"] == pytest.approx(0.0, abs=0.05)
    assert effects["C"]["predicted"] == pytest.approx(-0.03, abs=0.04)
    test = frame[frame["offer_date"] >= pd.Timestamp(2024, 8, 1)]
    assert effects["all offers"]["planted"] == pytest.approx(test["effect"].mean())
    treated, control = test[test["is_treatment"]], test[~test["is_treatment"]]
    assert effects["all offers"]["observed"] == pytest.approx(
        control["churned_within_90d"].mean() - treated["churned_within_90d"].mean()
    )
    text = uplift.uplift_markdown(metrics)
    a_offers = int((test["segment"] == "A").sum())
    assert f"| A | {a_offers:,} | 18.0% |" in text
    assert "**beats**" in text


def test_too_few_offer_months_or_one_arm_is_a_clear_error() -> None:
    frame = _monthly_offers(np.random.default_rng(1), months=3, per_month=50)
    mart = frame[["customer_id", "snapshot_date", "segment", "noise", "churned_within_90d"]]
    offers_table = frame[["offer_id", "customer_id", "offer_date", "is_treatment"]]
    with pytest.raises(uplift.UpliftError, match="3 labelled offer dates"):
        uplift.uplift_analysis(mart, offers_table, ["noise"], [], uplift.UpliftConfig())
    frame = _monthly_offers(np.random.default_rng(1), months=8, per_month=50)
    frame["is_treatment"] = True
    with pytest.raises(uplift.UpliftError, match="both arms"):
        uplift.out_of_time_split(
            uplift.offer_rows(
                frame[["customer_id", "snapshot_date", "noise", "churned_within_90d"]],
                frame[["offer_id", "customer_id", "offer_date", "is_treatment"]],
            ),
            3,
        )
    with pytest.raises(uplift.UpliftError, match="missing column"):
        uplift.offer_rows(mart, offers_table.drop(columns="is_treatment"))


# --- the generator's planted experiment ------------------------------------------------------

START = dt.date(2024, 1, 1)
MONTHS = 15


def _window_sum(
    events: pd.DataFrame, keys: pd.DataFrame, time: str, value: str, days: int
) -> pd.Series:
    """Per key row (customer_id, offer_date): sum of `value` of the customer's events in
    [offer_date - days, offer_date)."""
    merged = keys[["offer_id", "customer_id", "offer_date"]].merge(events, on="customer_id")
    inside = (merged[time] < merged["offer_date"]) & (
        merged[time] >= merged["offer_date"] - pd.Timedelta(days=days)
    )
    sums = merged[inside].groupby("offer_id")[value].sum()
    return keys["offer_id"].map(sums).fillna(0.0)


def _usage_vs_peak(root: Path, rows: pd.DataFrame) -> pd.Series:
    """Sessions of the month before the offer / the customer's highest earlier month."""
    usage = pd.read_parquet(
        root / "network" / "usage", columns=["customer_id", "usage_date", "session_count"]
    )
    usage["month"] = pd.to_datetime(usage["usage_date"]).dt.to_period("M")
    monthly = usage.groupby(["customer_id", "month"])["session_count"].sum().reset_index()
    keyed = rows[["offer_id", "customer_id", "offer_date"]].merge(monthly, on="customer_id")
    offer_month = keyed["offer_date"].dt.to_period("M")
    last = keyed[keyed["month"] == offer_month - 1].set_index("offer_id")["session_count"]
    peak = keyed[keyed["month"] < offer_month - 1].groupby("offer_id")["session_count"].max()
    return rows["offer_id"].map(last / peak.replace(0, np.nan))


def _features_at_offer(root: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(mart-like rows at each offer date with a few churn features and the 90-day label,
    the offers): discount share of the last 3 months' invoices, discounted orders in 12 months,
    escalated and low-rated tickets in 90 days, outage credits, contract and discount end,
    usage against its peak, tenure and segment."""
    landed = read(root, "marketing", "retention_offers")
    landed["offer_date"] = pd.to_datetime(landed["offer_date"])
    customers = read(root, "crm", "customers")
    churned = customers[customers["status"] == "Churned"]
    churn_day = churned.groupby("customer_id")["updated_at"].min().dt.normalize()
    invoices = read(root, "billing", "invoices")
    invoices["invoice_date"] = pd.to_datetime(invoices["invoice_date"])
    orders = read(root, "billing", "orders")
    orders["discounted"] = (orders["discount_amount"] > 0).astype(float)
    tickets = read(root, "support", "tickets")
    tickets["escalated"] = tickets["is_escalated"].astype(float)
    tickets["low_rating"] = (tickets["satisfaction_score"] <= 2).astype(float)
    rows = landed[["offer_id", "customer_id", "offer_date"]].copy()
    gross = _window_sum(invoices, rows, "invoice_date", "gross_amount", 92)
    rows["discount_share_3m"] = _window_sum(
        invoices, rows, "invoice_date", "discount_amount", 92
    ) / gross.replace(0, np.nan)
    rows["credit_3m"] = _window_sum(invoices, rows, "invoice_date", "credit_amount", 92)
    billed = invoices.sort_values("invoice_date").merge(rows, on="customer_id")
    last_invoice = (
        billed[billed["invoice_date"] < billed["offer_date"]]
        .groupby("offer_id")
        .tail(1)
        .set_index("offer_id")
    )
    discount_end = pd.to_datetime(rows["offer_id"].map(last_invoice["discount_end_date"]))
    rows["days_to_discount_end"] = (discount_end - rows["offer_date"]).dt.days
    rows["discounted_orders_12m"] = _window_sum(orders, rows, "ordered_at", "discounted", 365)
    rows["escalated_90d"] = _window_sum(tickets, rows, "created_at", "escalated", 90)
    rows["low_rating_90d"] = _window_sum(tickets, rows, "created_at", "low_rating", 90)
    profile = customers.sort_values("updated_at").merge(rows, on="customer_id")
    profile = profile[profile["updated_at"] < profile["offer_date"]]
    latest = profile.groupby("offer_id").tail(1).set_index("offer_id")
    contract_end = pd.to_datetime(rows["offer_id"].map(latest["contract_end_date"]))
    rows["days_to_contract_end"] = (contract_end - rows["offer_date"]).dt.days
    rows["segment"] = rows["offer_id"].map(latest["customer_segment"]).fillna("unknown")
    rows["tenure_days"] = (
        rows["offer_date"] - pd.to_datetime(rows["offer_id"].map(latest["signup_date"]))
    ).dt.days
    rows["usage_vs_peak"] = _usage_vs_peak(root, rows)
    churn = rows["customer_id"].map(churn_day)
    rows["churned_within_90d"] = (
        (churn > rows["offer_date"]) & (churn < rows["offer_date"] + pd.Timedelta(days=90))
    ).astype(int)
    last_day = pd.Timestamp(START) + pd.DateOffset(months=MONTHS) - pd.Timedelta(days=1)
    labelled = rows["offer_date"] + pd.Timedelta(days=90) <= last_day
    mart = rows[labelled].rename(columns={"offer_date": "snapshot_date"}).drop(columns="offer_id")
    return mart, landed


GENERATED_FEATURES = [
    "discount_share_3m",
    "credit_3m",
    "days_to_discount_end",
    "discounted_orders_12m",
    "escalated_90d",
    "low_rating_90d",
    "days_to_contract_end",
    "segment",
    "tenure_days",
    "usage_vs_peak",
]


def test_uplift_model_on_the_generated_experiment(offer_sample: Path) -> None:
    """On the planted experiment the model puts the price-sensitive group (the only strong
    planted effect) above the groups with none, and its average effect matches the planted
    and the observed one. At this size (~1,350 test offers, ~2,900 training offers) the Qini
    of the uplift ranking is not distinguishable from the risk ranking's (ml/README.md: even
    the planted effect as a ranking ties with the true risk on ~1,500 test offers), so the
    comparison is checked for consistency here and reported on the model card."""
    mart, landed = _features_at_offer(offer_sample)
    planted = pd.read_parquet(offer_sample / offers.MANIFEST_PATH)
    _, metrics = uplift.uplift_analysis(
        mart, landed, GENERATED_FEATURES, ["segment"], uplift.UpliftConfig(), planted
    )
    assert metrics["learner"] == "X-learner on CatBoost"
    effects = {row["group"]: row for row in metrics["effects"]}
    assert set(effects) == {"all offers", *offers.EFFECT_GROUPS}
    price = effects["price_sensitive"]["predicted"]
    for name in ("service_problem", "disengaged", "all offers"):
        assert price > effects[name]["predicted"], name
    overall = effects["all offers"]
    assert abs(overall["predicted"] - overall["planted"]) < 0.02
    low, high = overall["observed_interval"]
    assert low < overall["planted"] < high and low < overall["observed"] < high
    qini = metrics["ranking"]["qini"]
    assert qini["difference"] == pytest.approx(qini["uplift"] - qini["risk"])
    low, high = qini["difference_interval"]
    assert low < qini["difference"] < high
    assert qini["verdict"] == uplift.verdict([low, high])


# --- the build's step ------------------------------------------------------------------------


def test_build_step_reads_the_warehouse_and_the_planted_manifest(tmp_path: Path) -> None:
    """ml.uplift_step on a DuckDB warehouse with the mart and the offers fact: the metrics
    carry the manifest's planted effect; the model card renders them; without the offers table
    or with too few offer months the step says why it skipped."""
    import duckdb

    from custintel.core.settings import DEFAULT_CONFIG_PATH, load_settings
    from ml.dataset import DatasetSpec, build_dataset
    from ml.model_card import uplift_section
    from ml.uplift_step import retention_uplift, retention_uplift_model

    frame = _monthly_offers(np.random.default_rng(3), months=8, per_month=300)
    mart = frame[["customer_id", "snapshot_date", "segment", "noise", "churned_within_90d"]]
    offers_table = frame[["offer_id", "customer_id", "offer_date", "is_treatment"]]
    landing = tmp_path / "landing"
    (landing / "_manifest").mkdir(parents=True)
    frame[["offer_id"]].assign(
        effect_group="price_sensitive", planted_uplift=frame["effect"]
    ).to_parquet(landing / uplift.PLANTED_MANIFEST)
    warehouse = tmp_path / "w.duckdb"
    # the project's config.yaml (a session fixture may point CUSTINTEL_CONFIG elsewhere)
    settings = load_settings(
        DEFAULT_CONFIG_PATH,
        environ={
            "CUSTINTEL_WAREHOUSE__PATH": str(warehouse),
            "CUSTINTEL_LANDING__PATH": str(landing),
        },
    )
    dataset = build_dataset(
        mart, DatasetSpec("customer_id", "churned_within_90d", "snapshot_date"), "marts.features"
    )
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema warehouse")
    assert "not readable" in retention_uplift(settings, dataset)["skipped"]
    assert retention_uplift_model(settings, dataset)[1] is None
    with duckdb.connect(str(warehouse)) as con:
        con.register("offers", offers_table.head(300))  # one offer month only
        con.execute("create table warehouse.fact_retention_offer as select * from offers")
    test_months = settings.ml.test_snapshots
    assert retention_uplift(settings, dataset) == {
        "skipped": f"1 labelled offer dates: need more than the {test_months} test months"
    }
    with duckdb.connect(str(warehouse)) as con:
        con.register("offers", offers_table)
        con.execute(
            "create or replace table warehouse.fact_retention_offer as select * from offers"
        )
    metrics, learner = retention_uplift_model(settings, dataset)
    assert learner is not None and metrics["production"] == {
        "scored_with": "refit on every labelled offer",
        "offers": len(frame),
    }
    assert learner.treated_share == pytest.approx(frame["is_treatment"].mean())
    overall = metrics["effects"][0]
    test = frame[frame["offer_date"] >= pd.Timestamp(2024, 6, 1)]
    assert overall["offers"] == len(test) == 900
    assert overall["planted"] == pytest.approx(test["effect"].mean())
    assert [row["group_title"] for row in metrics["effects"]] == ["All offers", "Price-sensitive"]
    card = "\n".join(uplift_section({"uplift": metrics}))
    assert card.startswith("## Uplift of retention offers")
    assert f"| All offers | 900 | {test['effect'].mean():.1%} |" in card
    assert uplift_section({"uplift": {"skipped": "no offers"}})[-1] == "Not evaluated: no offers"
    assert uplift_section({}) == []


# --- the offers file at the landing ----------------------------------------------------------


def test_an_unreadable_treatment_flag_names_file_row_and_column(tmp_path: Path) -> None:
    """A retention-offers CSV whose arm flag is not a boolean stops the load with the file,
    the row and the column (rows that parse but break a rule are quarantined instead:
    tests/test_sqlmesh_quarantine.py)."""
    from custintel.core.landing.files import LandingError
    from custintel.core.landing.loader import load_landing
    from tests.landing_support import copy_fixture

    landing = copy_fixture(tmp_path)
    path = landing / "marketing" / "retention_offers.csv"
    lines = path.read_text().splitlines()
    lines[2] = lines[2].replace(",false", ",maybe")  # data row 2: C003's control entry
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(LandingError) as error:
        load_landing(landing, tmp_path / "wh.duckdb")
    assert error.value.row == 2
    assert error.value.column == "is_treatment"
    assert "marketing/retention_offers.csv" in str(error.value)
    assert "maybe" in str(error.value)


def test_recommended_contact_follows_the_sign_of_the_predicted_uplift() -> None:
    labels = uplift.recommended_contact(np.array([0.12, 1e-9, 0.0, -0.02, np.nan]))
    assert labels.tolist() == ["offer", "offer", "call", "call", None]


def test_production_learner_predicts_each_customers_uplift_and_the_contact() -> None:
    """The learner that scores is refit on every labelled offer; the scores' uplift columns
    are its propensity-weighted effect models (computed here by hand) and follow the planted
    effects of the hand-built experiment: segment A kept by the offer, B not at all."""
    from ml.features import model_input
    from ml.pipeline import uplift_columns

    frame = _monthly_offers(np.random.default_rng(5), months=10, per_month=600)
    mart = frame[["customer_id", "snapshot_date", "segment", "noise", "churned_within_90d"]]
    offers_table = frame[["offer_id", "customer_id", "offer_date", "is_treatment"]]
    config = uplift.UpliftConfig(iterations=100)
    learner = uplift.production_learner(
        mart, offers_table, ["segment", "noise"], ["segment"], config
    )
    assert learner.kind == "X-learner"
    # every one of the 6,000 labelled offers, not only the out-of-time training months
    assert learner.treated_share == pytest.approx(frame["is_treatment"].mean())
    assert learner.control_model.tree_count_ == 100
    rows = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "none"],
            "segment": ["A", "B", "C", "A"],
            "noise": [0.0, 0.0, 0.0, 0.0],
        }
    )
    columns = uplift_columns(learner, rows)
    x = model_input(rows, ["segment", "noise"], ["segment"])
    share = frame["is_treatment"].mean()
    by_hand = share * learner.control_effect.predict(x) + (
        1 - share
    ) * learner.treated_effect.predict(x)
    np.testing.assert_allclose(columns["predicted_uplift"], by_hand)
    a, b, _, _ = columns["predicted_uplift"]
    assert a == pytest.approx(0.18, abs=0.06) and b == pytest.approx(0.0, abs=0.05)
    assert columns["recommended_contact"][0] == "offer"
    assert columns["recommended_contact"].tolist() == [
        "offer" if value > 0 else "call" for value in by_hand
    ]
    # no uplift model (no experiment in the warehouse): both columns null
    empty = uplift_columns(None, rows)
    assert np.isnan(empty["predicted_uplift"]).all()
    assert empty["recommended_contact"].tolist() == [None] * 4
