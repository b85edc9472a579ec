"""ml.survival: landmark lifetimes, Weibull AFT fit, remaining lifetime, CLV and evaluation,
checked against hand-computed lifetimes, planted coefficients and the Weibull formula."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from ml.survival import (
    DURATION,
    EVENT,
    SurvivalError,
    evaluate_survival,
    fit_survival,
    lifetimes_from,
)

DAYS_PER_MONTH = 365.25 / 12


def test_lifetimes_run_to_the_churn_date_or_are_censored() -> None:
    snapshots = pd.Series(pd.to_datetime(["2024-01-01", "2024-01-01", "2024-02-01"]))
    churn = pd.Series(pd.to_datetime(["2024-03-01", "2024-09-01", None]))
    lifetimes = lifetimes_from(snapshots, churn, pd.Timestamp("2024-06-30"))
    assert lifetimes[EVENT].tolist() == [1, 0, 0]
    np.testing.assert_allclose(lifetimes[DURATION], np.array([60, 181, 150]) / DAYS_PER_MONTH)
    with pytest.raises(SurvivalError, match="after the censoring date"):
        lifetimes_from(snapshots, churn, pd.Timestamp("2023-12-31"))


def _weibull_sample(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """log T = 3 + 0.8 x - 0.5 z + 0.5 W (W standard minimum-Gumbel: Weibull with rho = 2),
    censored at 24 months."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"x": rng.normal(size=n), "z": rng.integers(0, 2, n).astype(float)})
    gumbel = np.log(-np.log(rng.random(n)))
    time = np.exp(3.0 + 0.8 * frame["x"] - 0.5 * frame["z"] + 0.5 * gumbel)
    lifetimes = pd.DataFrame({DURATION: np.minimum(time, 24.0), EVENT: (time <= 24.0).astype(int)})
    return frame, lifetimes


def test_weibull_aft_recovers_the_planted_effects() -> None:
    frame, lifetimes = _weibull_sample(4000, 1)
    model = fit_survival(frame, lifetimes, ["x", "z"], penalizer=0.0)
    params = model.fitter.params_
    # covariates are standardised: the coefficient per raw unit is coefficient / sd
    assert params[("lambda_", "x")] / model.scales["x"] == pytest.approx(0.8, abs=0.06)
    assert params[("lambda_", "z")] / model.scales["z"] == pytest.approx(-0.5, abs=0.08)
    assert np.exp(params[("rho_", "Intercept")]) == pytest.approx(2.0, rel=0.08)


def test_remaining_months_and_clv_follow_the_weibull_survival_curve() -> None:
    frame, lifetimes = _weibull_sample(2000, 2)
    model = fit_survival(frame, lifetimes, ["x", "z"])
    row = pd.DataFrame({"x": [0.4], "z": [1.0]})
    params = model.fitter.params_
    scaled = (row - model.means) / model.scales
    log_lambda = params[("lambda_", "Intercept")] + sum(
        params[("lambda_", c)] * scaled[c].iloc[0] for c in ("x", "z")
    )
    rho = np.exp(params[("rho_", "Intercept")])
    months = np.arange(1, 37)
    by_hand = np.exp(-((months / np.exp(log_lambda)) ** rho))
    assert model.expected_remaining_months(row)[0] == pytest.approx(by_hand.sum(), rel=1e-6)
    d = 1.10 ** (1 / 12) - 1
    explicit = sum(40.0 * s / (1 + d) ** t for t, s in zip(months, by_hand, strict=True))
    assert model.discounted_clv(row, np.array([40.0]))[0] == pytest.approx(explicit, rel=1e-6)
    # a missing covariate takes the training mean
    missing = pd.DataFrame({"x": [np.nan], "z": [1.0]})
    at_mean = pd.DataFrame({"x": [model.means["x"]], "z": [1.0]})
    assert model.risk(missing)[0] == pytest.approx(model.risk(at_mean)[0])


def test_evaluation_concordance_and_time_dependent_auc_on_fresh_rows() -> None:
    frame, lifetimes = _weibull_sample(3000, 3)
    model = fit_survival(frame, lifetimes, ["x", "z"])
    test, test_lifetimes = _weibull_sample(1500, 4)
    result = evaluate_survival(model, test, test_lifetimes)
    # a fitted model ranks about as well as the true linear predictor
    from lifelines.utils import concordance_index

    truth = concordance_index(
        test_lifetimes[DURATION], 0.8 * test["x"] - 0.5 * test["z"], test_lifetimes[EVENT]
    )
    assert result["concordance"] == pytest.approx(truth, abs=0.01)
    assert result["concordance"] > 0.7
    duration, event = test_lifetimes[DURATION], test_lifetimes[EVENT]
    followed = (duration >= 3) | (event == 1)
    expected = roc_auc_score(
        ((duration <= 3) & (event == 1))[followed], model.risk(test, 3)[followed.to_numpy()]
    )
    assert result["time_dependent_auc"]["3m"] == pytest.approx(expected)


def test_lifetime_value_is_out_of_time_and_adds_subscription_and_order_value() -> None:
    from ml.lifetime_value import fit_lifetime_value
    from ml.split import out_of_time_split

    rng = np.random.default_rng(5)
    customers, months = 400, 10
    ids = [f"C{i:04d}" for i in range(customers)]
    risk = rng.normal(size=customers)
    # monthly hazard 2% x e^risk: churn month drawn once per customer
    churn_month = rng.geometric(np.clip(0.02 * np.exp(risk), 0, 0.9))
    churn = pd.Series(
        pd.Timestamp("2024-01-01") + pd.to_timedelta(churn_month * 30.4, "D"), index=ids
    )
    rows = []
    for snapshot in pd.date_range("2024-01-01", periods=months, freq="MS"):
        alive = churn > snapshot
        for i in np.flatnonzero(alive.to_numpy()):
            rows.append(
                {
                    "customer_id": ids[i],
                    "snapshot_date": snapshot,
                    "risk": risk[i],
                    "noise": rng.normal(),
                    "label": float(churn.iloc[i] < snapshot + pd.Timedelta(days=90)),
                }
            )
    frame = pd.DataFrame(rows)
    split = out_of_time_split(frame["snapshot_date"], n_valid_periods=1, n_test_periods=2)
    events = pd.DataFrame({"customer_id": ids, "churn_date": churn.to_numpy()})
    orders = pd.DataFrame(
        {
            "customer_id": rng.choice(ids, 3000),
            "ordered_at": pd.Timestamp("2023-06-01")
            + pd.to_timedelta(rng.integers(0, 500, 3000), "D"),
            "net_amount": rng.gamma(2.0, 30.0, 3000),
        }
    )
    as_of = pd.Timestamp("2024-12-31")
    models = fit_lifetime_value(
        frame,
        frame,
        split,
        events,
        as_of,
        ["risk", "noise"],
        "customer_id",
        "snapshot_date",
        orders,
        0.5,
    )
    subscription = models.metrics["subscription"]
    first_test = pd.to_datetime(frame.loc[split.test, "snapshot_date"]).min()
    assert subscription["train_censored_at"] == str(first_test.date())
    assert subscription["test"]["concordance"] > 0.65  # the planted risk ranks lifetimes
    assert models.metrics["orders"]["customers"] > 300
    latest = frame[frame["snapshot_date"] == frame["snapshot_date"].max()]
    values = models.values(latest, "customer_id", "snapshot_date", np.full(len(latest), 20.0))
    np.testing.assert_allclose(
        values["predicted_clv_amount"],
        values["subscription_clv_amount"] + values["order_clv_amount"],
    )
    assert (values["order_clv_amount"] > 0).mean() > 0.5
    # riskier customers are expected to stay fewer months
    order = np.argsort(latest["risk"].to_numpy())
    remaining = values["expected_remaining_months"][order]
    assert remaining[: len(order) // 4].mean() > remaining[-len(order) // 4 :].mean()
