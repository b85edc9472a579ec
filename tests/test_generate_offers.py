"""The randomised retention-offer experiment the sample generator plants
(custintel/generate/offers.py): random, balanced assignment; its own random stream; the planted
heterogeneous effect recovered from the written churn rows.

One dedicated sample (`offer_sample` in conftest.py: 4,000 customers x 15 months, no defects,
~5 s); every expectation is computed here with pandas from the landing files and the
generator's offer manifest.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from custintel.generate import generate_landing, offers
from tests.test_generate import read

START = dt.date(2024, 1, 1)
MONTHS = 15


def _outcomes(root: Path) -> pd.DataFrame:
    """Every labelled offer with churned_90d from the CRM churn rows (churn after the offer day
    and before offer day + 90), joined to the planted group and effect."""
    landed = read(root, "marketing", "retention_offers")
    manifest = pd.read_parquet(root / offers.MANIFEST_PATH)
    customers = read(root, "crm", "customers")
    churned = customers[customers["status"] == "Churned"]
    churn_day = churned.groupby("customer_id")["updated_at"].min().dt.normalize()
    frame = landed.merge(
        manifest[["offer_id", "effect_group", "planted_uplift", "control_churn_90d"]],
        on="offer_id",
        validate="1:1",
    )
    frame["offer_date"] = pd.to_datetime(frame["offer_date"])
    churn = frame["customer_id"].map(churn_day)
    frame["churned_90d"] = (churn > frame["offer_date"]) & (
        churn < frame["offer_date"] + pd.Timedelta(days=90)
    )
    last_day = pd.Timestamp(START) + pd.DateOffset(months=MONTHS) - pd.Timedelta(days=1)
    return frame[frame["offer_date"] + pd.Timedelta(days=90) <= last_day]


def test_landed_offers_match_the_manifest_and_the_contract(offer_sample: Path) -> None:
    landed = read(offer_sample, "marketing", "retention_offers")
    manifest = pd.read_parquet(offer_sample / offers.MANIFEST_PATH)
    assert landed["offer_id"].is_unique and len(landed) == len(manifest) > 3000
    merged = landed.merge(manifest, on="offer_id", suffixes=("", "_manifest"))
    assert (merged["customer_id"] == merged["customer_id_manifest"]).all()
    assert (merged["is_treatment"] == merged["is_treatment_manifest"]).all()
    assert set(landed["offer_type"]) == {offers.OFFER_TYPE}
    # offers are made on the first day of a month, from the second month on
    days = pd.to_datetime(landed["offer_date"])
    assert (days.dt.day == 1).all() and days.min() == pd.Timestamp(2024, 2, 1)
    # a customer re-enters the experiment no sooner than COOLDOWN_MONTHS later
    per_customer = landed.assign(month=days.dt.year * 12 + days.dt.month).sort_values("month")
    gaps = per_customer.groupby("customer_id")["month"].diff().dropna()
    assert gaps.min() >= offers.COOLDOWN_MONTHS
    # planted effect per group as documented
    effect = manifest.groupby("effect_group")["effect_logit"].unique().map(list).to_dict()
    assert effect == {
        name: [value] for name, value in zip(offers.EFFECT_GROUPS, offers.EFFECT_LOGIT, strict=True)
    }


def test_assignment_is_random_and_balanced(offer_sample: Path) -> None:
    """Half the entrants are treated, in every group and month, and the arms do not differ in
    what predicts churn (the planted control hazard, segment, tenure)."""
    manifest = pd.read_parquet(offer_sample / offers.MANIFEST_PATH)
    customers = read(offer_sample, "crm", "customers").drop_duplicates("customer_id")
    frame = manifest.merge(
        customers[["customer_id", "customer_segment", "signup_date"]], on="customer_id"
    )
    n = len(frame)
    share = frame["is_treatment"].mean()
    assert abs(share - 0.5) < 3 * np.sqrt(0.25 / n)
    for _, part in frame.groupby("effect_group"):
        assert abs(part["is_treatment"].mean() - 0.5) < 3.5 * np.sqrt(0.25 / len(part))
    frame["tenure_days"] = (
        pd.to_datetime(frame["offer_date"]) - pd.to_datetime(frame["signup_date"])
    ).dt.days
    frame["residential"] = frame["customer_segment"] == "Residential"
    for covariate in ("control_churn_90d", "tenure_days", "residential"):
        values = frame[covariate].astype(float)
        treated, control = values[frame["is_treatment"]], values[~frame["is_treatment"]]
        pooled_sd = np.sqrt((treated.var() + control.var()) / 2)
        standardised_difference = abs(treated.mean() - control.mean()) / pooled_sd
        assert standardised_difference < 0.1, covariate


def test_planted_effect_is_recovered_from_the_churn_rows(offer_sample: Path) -> None:
    """Difference in 90-day churn (control - treated) against the planted effect, overall and
    in every group, within 3 standard errors."""
    frame = _outcomes(offer_sample)

    def effect(part: pd.DataFrame) -> tuple[float, float]:
        treated = part.loc[part["is_treatment"], "churned_90d"].astype(float)
        control = part.loc[~part["is_treatment"], "churned_90d"].astype(float)
        se = np.sqrt(treated.var() / len(treated) + control.var() / len(control))
        return control.mean() - treated.mean(), se

    observed, se = effect(frame)
    assert abs(observed - frame["planted_uplift"].mean()) < 3 * se
    groups = dict(tuple(frame.groupby("effect_group")))
    assert set(groups) == set(offers.EFFECT_GROUPS)
    for name, part in groups.items():
        observed, se = effect(part)
        assert abs(observed - part["planted_uplift"].mean()) < 3 * se, name
    # the offer keeps price-sensitive customers, does nothing for service problems and
    # disengaged customers although they churn most, and slightly hurts settled ones
    observed, se = effect(groups["price_sensitive"])
    assert observed > 3 * se
    for name in ("service_problem", "disengaged"):
        assert (groups[name]["planted_uplift"] == 0).all()
        assert abs(effect(groups[name])[0]) < 3 * effect(groups[name])[1]
    control_churn = {
        name: part.loc[~part["is_treatment"], "churned_90d"].mean() for name, part in groups.items()
    }
    assert control_churn["disengaged"] == max(control_churn.values())
    assert control_churn["settled"] == min(control_churn.values())
    assert effect(groups["settled"])[0] < 0


def test_offers_draw_from_their_own_stream(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the effect set to zero, assigning offers changes no other file: the experiment's
    draws never shift another stream."""

    def generate(name: str) -> Path:
        return generate_landing(
            tmp_path / name, customers=300, months=6, start_date=START, seed=3, defect_rate=0.01
        ).out_dir

    monkeypatch.setattr(offers, "EFFECT_LOGIT", np.zeros(len(offers.EFFECT_GROUPS)))
    with_offers = generate("with")
    monkeypatch.setattr(offers, "ELIGIBLE_BASE", 0.0)
    monkeypatch.setattr(offers, "ELIGIBLE_RISK", 0.0)
    without = generate("without")
    assert len(read(with_offers, "marketing", "retention_offers")) > 50
    assert len(read(without, "marketing", "retention_offers")) == 0
    compared = 0
    for path in sorted(with_offers.rglob("*.parquet")):
        relative = path.relative_to(with_offers)
        if relative.parts[0] == "_manifest" or "retention_offers" in relative.as_posix():
            continue
        assert path.read_bytes() == (without / relative).read_bytes(), relative
        compared += 1
    assert compared > 40
