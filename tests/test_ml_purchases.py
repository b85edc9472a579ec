"""ml.purchases: BG/NBD + Gamma-Gamma for one-off orders, checked on CDNOW (lifetimes ships it)
against the parameters Fader, Hardie & Lee (2005) publish, and on hand-built orders."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifetimes.datasets import load_cdnow_summary, load_cdnow_summary_data_with_monetary_value

from ml.purchases import fit_purchases, rfm_summary

#: "Counting your customers the easy way", Marketing Science 24(2), 2005, table 1
PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
#: Fader & Hardie, "The Gamma-Gamma model of monetary value" (2013): p 6.25, q 3.74, v 15.44
PUBLISHED_GAMMA_GAMMA = {"gg_p": 6.25, "gg_q": 3.74, "gg_v": 15.44}


def test_bgnbd_on_cdnow_recovers_the_published_parameters() -> None:
    summary = load_cdnow_summary(index_col=[0])
    assert len(summary) == 2357  # the 1/10th CDNOW sample of the paper
    params = fit_purchases(summary.assign(monetary_value=0.0)).parameters()
    for name, published in PUBLISHED_BGNBD.items():
        assert params[name] == pytest.approx(published, abs=0.002), name


def test_gamma_gamma_on_cdnow_recovers_the_published_parameters() -> None:
    summary = load_cdnow_summary_data_with_monetary_value()
    params = fit_purchases(summary).parameters()
    for name, published in PUBLISHED_GAMMA_GAMMA.items():
        assert params[name] == pytest.approx(published, rel=0.01), name


def test_rfm_summary_counts_repeat_days_in_weeks_before_the_reference() -> None:
    orders = pd.DataFrame(
        {
            "customer_id": ["A", "A", "A", "A", "B", "C"],
            "ordered_at": pd.to_datetime(
                [
                    "2024-01-01 10:00",
                    "2024-01-01 15:00",  # same day: one purchase
                    "2024-01-15 09:00",
                    "2024-03-04 09:00",  # the second is on/after the reference
                    "2024-01-08 12:00",
                    "2024-03-10 12:00",  # C only after the reference
                ]
            ),
            "net_amount": [10.0, 20.0, 40.0, 999.0, 5.0, 7.0],
        }
    )
    summary = rfm_summary(
        orders, "customer_id", "ordered_at", "net_amount", pd.Timestamp("2024-03-04")
    )
    assert sorted(summary.index) == ["A", "B"]
    a, b = summary.loc["A"], summary.loc["B"]
    # reference 2024-03-04: observation ends 2024-03-03, 62 days after A's first order
    assert a["frequency"] == 1 and a["recency"] == 2 and a["T"] == pytest.approx(62 / 7)
    assert a["monetary_value"] == 40.0  # the repeat day only
    assert b["frequency"] == 0 and b["T"] == pytest.approx(55 / 7)


def test_discounted_value_grows_with_frequency_and_never_goes_negative() -> None:
    summary = load_cdnow_summary_data_with_monetary_value()
    model = fit_purchases(summary)
    value = model.discounted_value(summary, margin_rate=0.5)
    assert (value >= 0).all()
    by_frequency = value.groupby(summary["frequency"].clip(upper=3)).mean()
    assert np.all(np.diff(by_frequency.to_numpy()) > 0)
    # 36 discounted months of value x 0.5 margin <= undiscounted orders x value x 0.5
    undiscounted = model.expected_orders(summary) * model.order_value(summary) * 0.5
    assert (value <= undiscounted + 1e-9).all()
