"""ml.rules: rule parsing, indicator trips and the rate calibration of the rule score."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.rules import SEED_004_RULES, Rule, RuleBaseline, RuleError


def test_rules_parse_with_optional_name_and_string_values() -> None:
    assert Rule.parse("calls:number_customer_service_calls>=4") == Rule(
        "calls", "number_customer_service_calls", ">=", 4.0
    )
    assert Rule.parse(" international_plan == yes ") == Rule(
        "international_plan", "international_plan", "==", "yes"
    )
    with pytest.raises(RuleError, match="needs a number"):
        Rule.parse("tier>=gold")
    with pytest.raises(RuleError, match="not of the form"):
        Rule.parse("usage dropped a lot")


def test_null_values_never_trip_a_rule() -> None:
    frame = pd.DataFrame({"usage_change_30d_pct": [-0.5, -0.3, -0.29, None]})
    assert SEED_004_RULES[0].trips(frame).tolist() == [True, True, False, False]


def test_rule_probability_is_the_smoothed_training_rate_of_each_level() -> None:
    frame = pd.DataFrame(
        {
            "usage_change_30d_pct": [-0.5, -0.4, -0.1, 0.0, 0.1, -0.6, 0.2, 0.0],
            "escalated_tickets_90d": [1, 0, 0, 0, 0, 2, 0, 1],
        }
    )
    y = np.array([1, 1, 0, 0, 0, 1, 0, 0])
    baseline = RuleBaseline().fit(frame, y)
    # levels (indicators tripped): [2, 1, 0, 0, 0, 2, 0, 1]; base rate 3/8; smoothing 2
    base = 3 / 8
    expected = {
        0: (0 + 2 * base) / (4 + 2),
        1: (1 + 2 * base) / (2 + 2),
        2: (2 + 2 * base) / (2 + 2),
    }
    assert baseline.count(frame).tolist() == [2, 1, 0, 0, 0, 2, 0, 1]
    assert baseline.rates[0] == pytest.approx(expected[0])
    assert baseline.rates[1] == pytest.approx(expected[1])
    assert baseline.rates[2] == pytest.approx(expected[2])
    probabilities = baseline.predict_proba(frame)[:, 1]
    assert probabilities[0] == pytest.approx(expected[2])
    assert [r.name for r in baseline.skipped] == ["low_satisfaction", "contract_end_near"]


def test_no_rule_column_present_means_not_applicable() -> None:
    reason = RuleBaseline().applicability(["state", "total_day_minutes"])
    assert reason is not None and reason.startswith("not applicable")
    with pytest.raises(RuleError, match="not applicable"):
        RuleBaseline().fit(pd.DataFrame({"state": ["KS"]}), np.array([1]))
