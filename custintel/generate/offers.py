"""Randomised retention offers (marketing/retention_offers): an experiment with a held-out
control group and a planted heterogeneous effect on the churn hazard.

On the first day of every month from the second on, the retention team enters customers into
the experiment: every active customer not in it during the last `COOLDOWN_MONTHS` months is
eligible with probability `ELIGIBLE_BASE` plus `ELIGIBLE_RISK` when a risk signal is visible
(promotion ending or just ended, contract ending within 90 days, recent escalation or low
rating, usage down a quarter from its peak, an overdue invoice). Each entrant is assigned to
the offer (treatment) with probability `TREATMENT_SHARE`, else held out (control); the row is
written for both arms. All of this is drawn from the OFFERS stream alone, so the assignment
never shifts another stream.

The planted effect: a treated customer's monthly churn logit moves by `EFFECT_LOGIT[group]`
in the offer month and the `EFFECT_MONTHS - 1` months after (about the 90-day label window),
where the group is fixed at the offer date, first match wins:

| group | who | logit effect |
| --- | --- | --- |
| service_problem | a recent escalated or badly rated ticket, or 6+ outage hours last month | 0.0 |
| disengaged | usage down a quarter or more: an offer does not bring them back | 0.0 |
| price_sensitive | the latent discount-sensitive trait (~20% of customers) | -2.0 |
| at_risk_other | any other visible risk signal (contract end, overdue, promotion end) | -0.6 |
| settled | no risk signal (an offer reminds a content customer of leaving) | +0.4 |

Control customers keep their hazard. The effect on churn outcomes is the coupled draw of
`lifecycle.begin_month` (the same uniform against the moved probability), so only treated
customers' churn changes. `manifest_columns` gives, per offer, the group, the logit effect and
the planted 90-day effect (`planted_uplift`: churn probability over 3 months at the offer
month's control hazard minus the same at the treated hazard) for the evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from custintel.generate import columns, vocab
from custintel.generate.population import Population
from custintel.generate.timeline import Timeline

ELIGIBLE_BASE = 0.05
ELIGIBLE_RISK = 0.6
TREATMENT_SHARE = 0.5
COOLDOWN_MONTHS = 4
EFFECT_MONTHS = 3
FIRST_MONTH = 1
OFFER_TYPE = "Loyalty Discount"
EFFECT_GROUPS = ("service_problem", "disengaged", "price_sensitive", "at_risk_other", "settled")
EFFECT_LOGIT = np.array([0.0, 0.0, -3.0, -0.3, 0.5])
DISENGAGED_DEPTH = 0.25
SERVICE_OUTAGE_HOURS = 6.0
MANIFEST_PATH = "_manifest/retention_offers.parquet"


def risk_signal(pop: Population, month: int, timeline: Timeline) -> np.ndarray:
    """A risk signal the retention team can see at the start of `month`."""
    start = timeline.month_start(month)
    promo = (pop.promo_end >= month - 2) & (pop.promo_end <= month + 2)
    contract = (pop.contract_end_day >= start) & (pop.contract_end_day - start < 90)
    lapsed = (pop.lapse_month >= month - 2) & (pop.lapse_month <= month)
    return (
        promo
        | contract
        | lapsed
        | (pop.esc_recent >= 0.5)
        | (pop.lowcsat_recent >= 0.5)
        | (pop.decline_depth(month) >= DISENGAGED_DEPTH)
        | (pop.overdue_streak > 0)
    )


def effect_group(pop: Population, month: int, timeline: Timeline) -> np.ndarray:
    """Index into EFFECT_GROUPS for every customer at the start of `month`."""
    service = (
        (pop.esc_recent >= 0.5)
        | (pop.lowcsat_recent >= 0.5)
        | (pop.outage_hours_last >= SERVICE_OUTAGE_HOURS)
    )
    disengaged = pop.decline_depth(month) >= DISENGAGED_DEPTH
    return np.select(
        [service, disengaged, pop.discount_sensitive, risk_signal(pop, month, timeline)],
        [0, 1, 2, 3],
        4,
    ).astype(np.int8)


@dataclass
class OfferLog:
    """Every experiment entry: month, customer, arm, group and the hazard terms at entry."""

    month: list[np.ndarray] = field(default_factory=list)
    customer: list[np.ndarray] = field(default_factory=list)
    treated: list[np.ndarray] = field(default_factory=list)
    group: list[np.ndarray] = field(default_factory=list)
    control_logit: list[np.ndarray] = field(default_factory=list)

    def manifest_columns(self, customer_ids: pa.Array, timeline: Timeline) -> dict[str, pa.Array]:
        month = columns.concat(self.month, np.int64)
        customer = columns.concat(self.customer, np.int64)
        group = columns.concat(self.group, np.int8)
        logit0 = columns.concat(self.control_logit, np.float64)
        effect = EFFECT_LOGIT[group]
        return {
            "offer_id": offer_ids(timeline, month, _rank_in_month(month)),
            "customer_id": customer_ids.take(pa.array(customer)),
            "offer_date": columns.dates(timeline.month_start_days(month)),
            "is_treatment": pa.array(columns.concat(self.treated, bool)),
            "effect_group": columns.labels(EFFECT_GROUPS, group),
            "effect_logit": pa.array(effect),
            "control_churn_90d": pa.array(_three_month_churn(logit0)),
            "planted_uplift": pa.array(
                _three_month_churn(logit0) - _three_month_churn(logit0 + effect)
            ),
        }


def _three_month_churn(logit: np.ndarray) -> np.ndarray:
    hazard = 1.0 / (1.0 + np.exp(-logit))
    return 1.0 - (1.0 - hazard) ** EFFECT_MONTHS


def _rank_in_month(month: np.ndarray) -> np.ndarray:
    rank = np.ones(len(month), dtype=np.int64)
    for value in np.unique(month):
        rows = np.flatnonzero(month == value)
        rank[rows] = np.arange(1, len(rows) + 1)
    return rank


def offer_ids(timeline: Timeline, month: np.ndarray, rank: np.ndarray) -> pa.Array:
    labels = pa.array(
        [f"RO-{timeline.label(int(m)).replace('-', '')}-" for m in month], pa.string()
    )
    return columns.join(labels, columns.padded(rank, 6))


def month_offers(
    rng: np.random.Generator,
    month: int,
    pop: Population,
    timeline: Timeline,
    log: OfferLog,
    control_logit: np.ndarray,
    customer_ids: pa.Array,
) -> dict[str, pa.Array]:
    """Enter this month's customers into the experiment, set the treated customers' effect and
    return the month's rows of marketing/retention_offers (customer order)."""
    start = timeline.month_start(month)
    u = rng.random((2, pop.size))
    active = (pop.status == vocab.ACTIVE) & (pop.signup_day < start) & (pop.churn_day < 0)
    rested = pop.offer_month < month - COOLDOWN_MONTHS + 1
    chance = ELIGIBLE_BASE + ELIGIBLE_RISK * risk_signal(pop, month, timeline)
    entrants = np.flatnonzero(active & rested & (u[0] < chance) & (month >= FIRST_MONTH))
    treated = u[1][entrants] < TREATMENT_SHARE
    group = effect_group(pop, month, timeline)[entrants]
    pop.offer_month[entrants] = month
    chosen = entrants[treated]
    pop.offer_effect[chosen] = EFFECT_LOGIT[group[treated]]
    pop.offer_until[chosen] = month + EFFECT_MONTHS
    log.month.append(np.full(len(entrants), month))
    log.customer.append(entrants)
    log.treated.append(treated)
    log.group.append(group)
    log.control_logit.append(control_logit[entrants])
    n = len(entrants)
    return {
        "offer_id": offer_ids(timeline, np.full(n, month), np.arange(1, n + 1)),
        "customer_id": customer_ids.take(pa.array(entrants)),
        "offer_date": columns.dates(np.full(n, start)),
        "offer_type": pa.array([OFFER_TYPE] * n, pa.string()),
        "is_treatment": pa.array(treated),
    }
