"""The planted churn model: a monthly hazard built from documented causes plus noise.

Every cause acts through behaviour that is visible in the landing data before the churn row:
declining usage, escalated or badly rated tickets, outage minutes, the end of a promotional
discount or a price rise for discount-sensitive customers, a contract reaching its end without
renewal, and suspension; a treated customer of the randomised retention-offer experiment gets
the offer's planted heterogeneous effect (`offers.py`). `README.md` lists the coefficients and
what each looks like in the data.

`HazardLog` keeps the hazard every at-risk customer faced each month, split into the part a
perfect model could know and the unobservable frailty, for `_manifest/churn_hazard.parquet`
(the ceiling a churn model is measured against: ml/hazard_ceiling.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from custintel.generate import columns, vocab
from custintel.generate.population import Population
from custintel.generate.timeline import Timeline

BASE_LOGIT = -4.7
SEGMENT_EFFECT = np.array([0.0, -0.2, -0.6, -0.8])
NEW_CUSTOMER_EFFECT = 0.3  # first six months
DECLINE_EFFECT = 3.0  # per unit of usage lost (0..1)
ESCALATION_EFFECT = 0.9  # per recent escalated ticket (decayed, capped at 3)
LOW_CSAT_EFFECT = 0.7  # per recent ticket rated 1-2 (decayed, capped at 3)
OUTAGE_EFFECT = 0.45  # per log(1 + outage hours last month)
CONTRACT_LAPSE_EFFECT = 1.6  # the month a contract ends unrenewed and the two after
PROMO_END_EFFECT_SENSITIVE = 1.5  # promo discount ended in the last three months
PROMO_END_EFFECT_OTHER = 0.2
PRICE_RISE_EFFECT_SENSITIVE = 1.0  # a list-price rise in the last three months
SUSPENDED_EFFECT = 1.2
RETENTION_OFFER_EFFECT = -0.8  # accepted a retention offer in the last three months
WINDOW_MONTHS = 3
MANIFEST_PATH = "_manifest/churn_hazard.parquet"


def _within(month: int, since: np.ndarray) -> np.ndarray:
    return (since <= month) & (month < since + WINDOW_MONTHS)


def churn_logit(pop: Population, month: int, timeline: Timeline) -> np.ndarray:
    """Log-odds that each customer churns during `month` (meaningful for existing customers)."""
    tenure_days = timeline.month_start(month) - pop.signup_day
    logit = BASE_LOGIT + SEGMENT_EFFECT[pop.segment] + pop.frailty
    logit += NEW_CUSTOMER_EFFECT * (tenure_days < 183)
    logit += DECLINE_EFFECT * pop.decline_depth(month)
    logit += ESCALATION_EFFECT * np.minimum(pop.esc_recent, 3.0)
    logit += LOW_CSAT_EFFECT * np.minimum(pop.lowcsat_recent, 3.0)
    logit += OUTAGE_EFFECT * np.log1p(pop.outage_hours_last)
    logit += CONTRACT_LAPSE_EFFECT * _within(month, pop.lapse_month)
    promo_ended = _within(month, pop.promo_end)
    logit += (
        np.where(pop.discount_sensitive, PROMO_END_EFFECT_SENSITIVE, PROMO_END_EFFECT_OTHER)
        * promo_ended
    )
    since_rise = timeline.months_since_price_rise(month)
    if since_rise is not None and since_rise < WINDOW_MONTHS:
        logit += PRICE_RISE_EFFECT_SENSITIVE * pop.discount_sensitive
    logit += SUSPENDED_EFFECT * (pop.status == vocab.INACTIVE)
    logit += RETENTION_OFFER_EFFECT * (month < pop.retention_until)
    logit += pop.offer_effect * (month < pop.offer_until)  # randomised offers (offers.py)
    return logit


def hazard(logit: np.ndarray) -> np.ndarray:
    """Monthly churn probability from the churn logit (the logistic function)."""
    return 1.0 / (1.0 + np.exp(-logit))


def churn_probability(pop: Population, month: int, timeline: Timeline) -> np.ndarray:
    return hazard(churn_logit(pop, month, timeline))


@dataclass
class HazardLog:
    """The churn hazard each at-risk customer faced, month by month, as the simulation drew it.

    Recording draws nothing and changes no state: the landing files are the same with or
    without it (tests/test_generate_hazard.py).
    """

    month: list[np.ndarray] = field(default_factory=list)
    customer: list[np.ndarray] = field(default_factory=list)
    logit: list[np.ndarray] = field(default_factory=list)
    frailty: list[np.ndarray] = field(default_factory=list)
    offer_effect: list[np.ndarray] = field(default_factory=list)

    def record(self, month: int, pop: Population, logit: np.ndarray, at_risk: np.ndarray) -> None:
        """Keep `logit` (the full churn logit of `month`) for the customers in `at_risk`."""
        rows = np.flatnonzero(at_risk)
        self.month.append(np.full(len(rows), month, dtype=np.int64))
        self.customer.append(rows)
        self.logit.append(logit[rows])
        self.frailty.append(pop.frailty[rows])
        self.offer_effect.append(
            np.where(month < pop.offer_until[rows], pop.offer_effect[rows], 0.0)
        )

    def manifest_columns(self, customer_ids: pa.Array, timeline: Timeline) -> dict[str, pa.Array]:
        month = columns.concat(self.month, np.int64)
        logit = columns.concat(self.logit, np.float64)
        frailty = columns.concat(self.frailty, np.float64)
        return {
            "customer_id": customer_ids.take(pa.array(columns.concat(self.customer, np.int64))),
            "month_start": columns.dates(timeline.month_start_days(month)),
            "logit_without_frailty": pa.array(logit - frailty),
            "frailty": pa.array(frailty),
            "offer_effect_logit": pa.array(columns.concat(self.offer_effect, np.float64)),
            "churn_probability": pa.array(hazard(logit)),
        }
