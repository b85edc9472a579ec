"""The churn hazard the sample generator writes beside the landing files
(`_manifest/churn_hazard.parquet`, custintel/generate/churn.py `HazardLog`): recording it changes
no landing file; its rows are the customers at risk each month; its probability is the one the
churn draws were made against; the retention offer's planted effect is in it.

Expectations come from the landing files (CRM churn rows, signups) and the offer manifest with
pandas, and from a content hash of the landing files taken before the hazard manifest existed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from custintel.generate import churn, generate_landing, offers
from tests.test_generate import read

#: sha256 over (relative path, CSV of the rows) of every landing file (not `_manifest/`) of
#: 300 customers x 6 months, seed 3, defect rate 0.01, computed on the generator before it
#: recorded the hazard. A deliberate change to the generator's draws updates it.
LANDING_CONTENT_SHA256 = "3a2016f85b977a0368ed6511e48e4926133bb68d5e3a6d7c9f6ca3c36ef755c6"


def landing_content_sha256(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.parquet")):
        relative = path.relative_to(root)
        if relative.parts[0] == "_manifest":
            continue
        digest.update(relative.as_posix().encode())
        digest.update(pq.read_table(path).to_pandas().to_csv(index=False).encode())
    return digest.hexdigest()


def _hazard(root: Path) -> pd.DataFrame:
    frame = pd.read_parquet(root / churn.MANIFEST_PATH)
    frame["month_start"] = pd.to_datetime(frame["month_start"])
    return frame


def test_recording_the_hazard_changes_no_landing_file(tmp_path: Path) -> None:
    root = tmp_path / "landing"
    generate_landing(
        root, customers=300, months=6, start_date=dt.date(2024, 1, 1), seed=3, defect_rate=0.01
    )
    assert (root / churn.MANIFEST_PATH).is_file()
    assert landing_content_sha256(root) == LANDING_CONTENT_SHA256
    # and a re-run into the same folder replaces the manifest (no stale rows)
    generate_landing(
        root, customers=300, months=2, start_date=dt.date(2024, 1, 1), seed=3, defect_rate=0.01
    )
    assert _hazard(root)["month_start"].nunique() == 2


def test_rows_are_the_customers_at_risk_each_month(offer_sample: Path) -> None:
    """A customer is at risk in a month when it signed up before the month's first day and had
    not churned before it (CRM rows of crm/customers)."""
    hazard = _hazard(offer_sample)
    customers = read(offer_sample, "crm", "customers")
    signup = customers.groupby("customer_id")["updated_at"].min().dt.normalize()
    churned = customers[customers["status"] == "Churned"]
    churn_day = churned.groupby("customer_id")["updated_at"].min().dt.normalize()
    months = sorted(hazard["month_start"].unique())
    assert len(months) == 15 and not hazard.duplicated(["customer_id", "month_start"]).any()
    for start in months:
        left = churn_day.reindex(signup.index)
        expected = set(signup.index[(signup < start) & ~(left < start)])
        recorded = set(hazard.loc[hazard["month_start"] == start, "customer_id"])
        assert recorded == expected, start
    # every churner is at risk in its churn month
    churn_month = churn_day.dt.to_period("M").dt.to_timestamp()
    at_risk = set(zip(hazard["customer_id"], hazard["month_start"], strict=True))
    assert all((c, m) in at_risk for c, m in churn_month.items())


def test_probability_is_the_one_the_churn_draws_were_made_against(offer_sample: Path) -> None:
    hazard = _hazard(offer_sample)
    logit = hazard["logit_without_frailty"] + hazard["frailty"]
    np.testing.assert_allclose(hazard["churn_probability"], 1 / (1 + np.exp(-logit)), rtol=1e-12)
    assert (hazard.groupby("customer_id")["frailty"].nunique() == 1).all()
    assert hazard["frailty"].drop_duplicates().std() == pytest.approx(0.5, abs=0.03)
    # churners per month against the sum of the recorded probabilities (a Poisson-binomial
    # count: within 4 sd each month, 3 sd overall)
    customers = read(offer_sample, "crm", "customers")
    churned = customers[customers["status"] == "Churned"]
    month = churned.groupby("customer_id")["updated_at"].min().dt.to_period("M").dt.to_timestamp()
    observed = month.value_counts()
    p = hazard["churn_probability"]
    expected = p.groupby(hazard["month_start"]).sum()
    sd = (p * (1 - p)).groupby(hazard["month_start"]).sum() ** 0.5
    observed = observed.reindex(expected.index, fill_value=0)
    assert ((observed - expected).abs() < 4 * sd).all()
    assert abs(observed.sum() - expected.sum()) < 3 * np.sqrt((sd**2).sum())
    assert observed.sum() > 800


def test_offer_effect_is_in_the_hazard_for_three_months(offer_sample: Path) -> None:
    """`offer_effect_logit` is the offer manifest's `effect_logit` in the treated offer's month
    and the two after, 0 otherwise (control arm, no offer)."""
    hazard = _hazard(offer_sample)
    planted = pd.read_parquet(offer_sample / offers.MANIFEST_PATH)
    treated = planted[planted["is_treatment"]]
    expected = pd.Series(
        0.0, index=pd.MultiIndex.from_frame(hazard[["customer_id", "month_start"]])
    )
    for row in treated.itertuples():
        for k in range(offers.EFFECT_MONTHS):
            key = (row.customer_id, pd.Timestamp(row.offer_date) + pd.DateOffset(months=k))
            if key in expected.index:
                expected[key] = row.effect_logit
    np.testing.assert_array_equal(hazard["offer_effect_logit"].to_numpy(), expected.to_numpy())
    assert (hazard["offer_effect_logit"] == -3.0).sum() > 500
    assert (hazard["offer_effect_logit"] == 0.5).sum() > 500
