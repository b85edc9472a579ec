"""Rule baseline: the churn-risk indicators a customer-success team would use without a model.

The default indicators are seed 004's ("Churn Risk Indicators"), written against the column
names of `marts.churn_prediction_features`:
  usage decline    30%+ drop in usage over 30 days
  support escalation   at least one escalated ticket
  low satisfaction     average CSAT (1..5) of 2 or less
  contract end near    contract ends within 60 days
Each indicator is a `Rule` on one column; the rule score of a row is the number of indicators
it trips. Rules whose column is absent are skipped (and reported); if none applies the baseline
is "not applicable". Other tables pass their own rules, e.g. for modeldata's `mlc_churn`
(`number_customer_service_calls>=4`, `international_plan==yes`).

The score is turned into a probability by the training churn rate of rows with the same number
of tripped indicators (smoothed towards the overall rate), so Brier score and log loss are
comparable with the models'.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

OPERATORS = (">=", "<=", "==", ">", "<")
_RULE_PATTERN = re.compile(r"^\s*(?:(\w+)\s*:)?\s*(\w+)\s*(>=|<=|==|>|<)\s*(.+?)\s*$")


class RuleError(ValueError):
    """A rule text cannot be parsed."""


@dataclass(frozen=True)
class Rule:
    """`column op threshold`; a row trips the rule when the comparison holds (null never trips)."""

    name: str
    column: str
    op: str
    threshold: float | str

    @classmethod
    def parse(cls, text: str) -> Rule:
        """`[name:]column<op>value`, e.g. `calls:number_customer_service_calls>=4`."""
        match = _RULE_PATTERN.match(text)
        if not match:
            raise RuleError(
                f"rule {text!r} is not of the form [name:]column<op>value with op in {OPERATORS}"
            )
        name, column, op, raw = match.groups()
        try:
            threshold: float | str = float(raw)
        except ValueError:
            if op != "==":
                raise RuleError(f"rule {text!r}: {op} needs a number, got {raw!r}") from None
            threshold = raw
        return cls(name or column, column, op, threshold)

    def describe(self) -> str:
        return f"{self.column} {self.op} {self.threshold}"

    def trips(self, frame: pd.DataFrame) -> pd.Series:
        values = frame[self.column]
        if isinstance(self.threshold, str):
            text = values.astype("string").str.strip().str.lower()
            return (text == self.threshold.strip().lower()).fillna(False).astype(bool)
        numbers = pd.to_numeric(values, errors="coerce")
        compare = {
            ">=": numbers >= self.threshold,
            "<=": numbers <= self.threshold,
            "==": numbers == self.threshold,
            ">": numbers > self.threshold,
            "<": numbers < self.threshold,
        }[self.op]
        return compare.fillna(False).astype(bool)


SEED_004_RULES: tuple[Rule, ...] = (
    Rule("usage_decline", "usage_change_30d_pct", "<=", -0.30),
    Rule("support_escalation", "escalated_tickets_90d", ">=", 1.0),
    Rule("low_satisfaction", "avg_satisfaction_score_90d", "<=", 2.0),
    Rule("contract_end_near", "days_to_contract_end", "<=", 60.0),
)


class RuleBaseline:
    """Count of tripped indicators, calibrated to a churn probability on the training rows."""

    def __init__(self, rules: tuple[Rule, ...] | list[Rule] = SEED_004_RULES) -> None:
        self.rules = tuple(rules)
        self.applied: tuple[Rule, ...] = ()
        self.skipped: tuple[Rule, ...] = ()
        self.rates: dict[int, float] = {}
        self.base_rate = float("nan")

    def applicability(self, columns: list[str]) -> str | None:
        """None if at least one rule applies, else the reason the baseline is not applicable."""
        if any(rule.column in columns for rule in self.rules):
            return None
        wanted = ", ".join(rule.describe() for rule in self.rules) or "no rules given"
        return f"not applicable: none of the rule columns are present ({wanted})"

    def count(self, frame: pd.DataFrame) -> np.ndarray:
        """Number of applied indicators each row trips."""
        tripped = [rule.trips(frame).to_numpy() for rule in self.applied]
        return np.sum(tripped, axis=0).astype(int)

    def fit(self, frame: pd.DataFrame, y: np.ndarray, smoothing: float = 2.0) -> RuleBaseline:
        reason = self.applicability(list(frame.columns))
        if reason:
            raise RuleError(reason)
        self.applied = tuple(r for r in self.rules if r.column in frame.columns)
        self.skipped = tuple(r for r in self.rules if r.column not in frame.columns)
        y = np.asarray(y, dtype=float)
        self.base_rate = float(y.mean())
        counts = self.count(frame)
        self.rates = {
            int(level): float(
                (y[counts == level].sum() + smoothing * self.base_rate)
                / ((counts == level).sum() + smoothing)
            )
            for level in range(len(self.applied) + 1)
        }
        return self

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Churn probability (second column) per row, as sklearn's predict_proba."""
        counts = self.count(frame)
        positive = np.array([self.rates.get(int(c), self.base_rate) for c in counts])
        return np.column_stack([1.0 - positive, positive])

    def notes(self) -> list[str]:
        applied = "; ".join(f"{r.name}: {r.describe()}" for r in self.applied)
        notes = [f"rule score = number of tripped indicators ({applied})"]
        if self.skipped:
            missing = "; ".join(f"{r.name} ({r.column})" for r in self.skipped)
            notes.append(f"skipped, column not present: {missing}")
        return notes
