"""ml.reasons: driver-family reasons in the team's words, from hand-made SHAP contributions,
and the reviewed playbook file covers every feature of the churn mart."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ml.reasons import PlaybookError, family_reasons, load_playbook

MART_SQL = Path(__file__).parents[1] / "sqlmesh/models/marts/churn_prediction_features.sql"
FEATURES = [
    "usage_vs_peak_12m_ratio",
    "usage_days_30d",
    "outage_minutes_30d",
    "days_to_contract_end",
    "escalated_tickets_90d",
    "customer_segment",
]


def mart_columns() -> list[str]:
    text = MART_SQL.read_text()
    block = text[text.index("column_descriptions") : text.index("audits (")]
    return re.findall(r"\n\s+(\w+) = '", block)


def test_every_mart_column_is_in_a_family_or_explicitly_not_a_reason() -> None:
    playbook = load_playbook()
    columns = mart_columns()
    assert len(columns) > 70
    assert playbook.unclassified(columns) == []
    # and the playbook names no column the mart does not have
    assert set(playbook.family_of()) - set(columns) == set()
    assert {f.name for f in playbook.families} >= {
        "usage_decline",
        "service_problems",
        "price_discount",
        "contract_end",
        "support_experience",
    }
    assert all(family.action for family in playbook.families)


def test_only_risk_raising_families_are_reasons_with_the_customers_own_numbers() -> None:
    playbook = load_playbook()
    frame = pd.DataFrame(
        {
            "usage_vs_peak_12m_ratio": [0.18, 1.0],
            "usage_days_30d": [9, 30],
            "outage_minutes_30d": [150.0, 0.0],
            "days_to_contract_end": [-20, 400],
            "escalated_tickets_90d": [2, 0],
            "customer_segment": ["Residential", "SMB"],
        },
        index=[10, 11],
    )
    contributions = np.array(
        [
            # usage: 0.9 + 0.3 = 1.2; outages 0.5; contract -0.4 (lowers); support 0.2;
            # segment 2.0 is not in a family and never a reason
            [0.9, 0.3, 0.5, -0.4, 0.2, 2.0],
            # only the contract raises risk, by a sum of 0.1
            [-0.5, -0.1, -0.2, 0.1, -0.3, 0.0],
        ]
    )
    reasons = family_reasons(contributions, frame, FEATURES, playbook)
    assert list(reasons.index) == [10, 11]
    first = reasons.loc[10]
    assert first["reason_1"] == "Usage down 82% from its 12-month peak"
    assert first["reason_1_driver"] == "Usage decline"
    assert first["reason_1_contribution"] == pytest.approx(1.2)
    assert first["reason_1_action"].startswith("Usage review call")
    assert first["reason_2"] == "2.5 hours of outages in the last 30 days"
    assert first["reason_2_contribution"] == pytest.approx(0.5)
    assert first["reason_3"] == "2 escalated ticket(s) in the last 90 days"
    assert first["reason_3_driver"] == "Support experience"
    second = reasons.loc[11]
    # 400 days to the contract end raises the risk by 0.1, but no template applies: a sentence
    # the customer's numbers do not back is never given, so this customer has no reason
    assert second[["reason_1", "reason_2", "reason_3", "reason_1_driver"]].isna().all()
    assert np.isnan(second["reason_1_contribution"])


def test_a_lapsed_contract_reads_as_days_since_it_ended() -> None:
    playbook = load_playbook()
    frame = pd.DataFrame({"days_to_contract_end": [-20.0], "usage_days_30d": [30]})
    reasons = family_reasons(
        np.array([[0.7, 0.1]]), frame, ["days_to_contract_end", "usage_days_30d"], playbook
    )
    assert reasons.loc[0, "reason_1"] == "Contract ended 20 days ago without renewal"
    # usage 30 of 30 days raises the risk a little, but its template does not apply
    assert reasons.loc[0, "reason_2"] is None


def test_missing_values_of_nullable_columns_fall_back_to_the_next_feature() -> None:
    playbook = load_playbook()
    frame = pd.DataFrame(
        {
            "months_since_discount": pd.array([pd.NA], dtype="Int64"),
            "gross_change_3m_pct": [0.05],
        }
    )
    reasons = family_reasons(
        np.array([[0.6, 0.2]]), frame, ["months_since_discount", "gross_change_3m_pct"], playbook
    )
    assert reasons.loc[0, "reason_1"] == "Bill up 5% on 3 months ago"
    assert reasons.loc[0, "reason_1_contribution"] == pytest.approx(0.8)


def test_a_malformed_playbook_is_refused_naming_the_entry(tmp_path: Path) -> None:
    bad = tmp_path / "playbook.yaml"
    bad.write_text(
        "families:\n  usage_decline:\n    label: Usage\n    action: Call\n"
        "    features:\n      sessions_30d:\n        - {when: {over: 1}, text: 'x'}\n"
    )
    with pytest.raises(
        PlaybookError,
        match=r"families.usage_decline.features.sessions_30d: "
        r"unknown condition\(s\) \['over'\]",
    ):
        load_playbook(bad)
    bad.write_text("families:\n  usage_decline:\n    label: Usage\n    features: {}\n")
    with pytest.raises(PlaybookError, match="families.usage_decline: missing `action`"):
        load_playbook(bad)
