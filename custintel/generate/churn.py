"""The planted churn model: a monthly hazard built from documented causes plus noise.

Every cause acts through behaviour that is visible in the landing data before the churn row:
declining usage, escalated or badly rated tickets, outage minutes, the end of a promotional
discount or a price rise for discount-sensitive customers, a contract reaching its end without
renewal, and suspension; a treated customer of the randomised retention-offer experiment gets
the offer's planted heterogeneous effect (`offers.py`). `README.md` lists the coefficients and
what each looks like in the data.
"""

from __future__ import annotations

import numpy as np

from custintel.generate import vocab
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
    logit += np.where(pop.discount_sensitive, PROMO_END_EFFECT_SENSITIVE,
                      PROMO_END_EFFECT_OTHER) * promo_ended
    since_rise = timeline.months_since_price_rise(month)
    if since_rise is not None and since_rise < WINDOW_MONTHS:
        logit += PRICE_RISE_EFFECT_SENSITIVE * pop.discount_sensitive
    logit += SUSPENDED_EFFECT * (pop.status == vocab.INACTIVE)
    logit += RETENTION_OFFER_EFFECT * (month < pop.retention_until)
    logit += pop.offer_effect * (month < pop.offer_until)  # randomised offers (offers.py)
    return logit


def churn_probability(pop: Population, month: int, timeline: Timeline) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-churn_logit(pop, month, timeline)))
