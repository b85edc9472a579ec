"""One month of customer lifecycle: churn, contract renewals, suspensions and CRM changes.

Each customer has at most one CRM change per month besides signup and churn; when several are
due, the first in `EVENT_PRIORITY` wins and the rest wait (forced ones) or lapse (voluntary).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from custintel.generate import vocab
from custintel.generate.churn import churn_logit, hazard
from custintel.generate.columns import day_to_seconds, seconds_in_day
from custintel.generate.crm import ChangeLog
from custintel.generate.population import (
    CITY_REGION,
    DAYS_PER_MONTH,
    NO_DECLINE,
    NO_MONTH,
    Population,
    assign_managers,
)
from custintel.generate.timeline import Timeline

EVENT_PRIORITY = (
    "renewal",
    "consent_withdrawn",
    "suspension",
    "reactivation",
    "segment_move",
    "region_move",
    "tier_up",
    "tier_down",
    "contact_change",
)
DECLINE_ONSET_RATE = 0.011
DECLINE_RECOVERY_RATE = 0.03


@dataclass(frozen=True)
class MonthOutcome:
    churners: np.ndarray  # customers who churned this month
    stable: np.ndarray  # bool per customer: in service all month, no status change
    renewal_decided: np.ndarray  # customers whose contract renewal was decided this month
    signups: np.ndarray  # customers who signed up this month
    at_risk: np.ndarray  # bool per customer: existed at the month's start, so could churn in it
    churn_logit: np.ndarray  # the churn logit each customer's draw was made against


def begin_month(
    rng: np.random.Generator,
    month: int,
    pop: Population,
    first_new: int,
    log: ChangeLog,
    timeline: Timeline,
    manager_regions: np.ndarray,
) -> MonthOutcome:
    """Advance every customer into `month`; customers >= first_new signed up this month."""
    start, days = timeline.month_start(month), timeline.month_days(month)
    index = np.arange(pop.size)
    signups = index[first_new:]
    existing = (index < first_new) & (pop.status != vocab.CHURNED)
    _set_windows(pop, existing, signups, start, days)
    log.record(
        pop,
        signups,
        day_to_seconds(pop.signup_day[signups]) + seconds_in_day(rng, len(signups), 8, 20),
    )

    logit = churn_logit(pop, month, timeline)
    churn = existing & (rng.random(pop.size) < hazard(logit))
    churners = np.flatnonzero(churn)
    churn_offset = rng.integers(0, days, size=len(churners))
    pop.churn_day[churners] = start + churn_offset
    pop.exist_hi[churners] = churn_offset
    pop.act_hi[churners] = np.minimum(pop.act_hi[churners], churn_offset)
    pop.act_lo[churners] = np.minimum(pop.act_lo[churners], pop.act_hi[churners])
    pop.status[churners] = vocab.CHURNED

    staying = existing & ~churn
    decided = _decide_renewals(rng, month, pop, staying, timeline)
    changed = _apply_changes(rng, month, pop, staying, log, timeline, manager_regions)
    log.record(
        pop,
        churners,
        day_to_seconds(pop.churn_day[churners]) + seconds_in_day(rng, len(churners), 8, 20),
    )
    _evolve_decline(rng, month, pop, staying)
    stable = staying & ~changed & (pop.status == vocab.ACTIVE)
    return MonthOutcome(
        churners=churners,
        stable=stable,
        renewal_decided=decided,
        signups=signups,
        at_risk=existing,
        churn_logit=logit,
    )


def _set_windows(
    pop: Population, existing: np.ndarray, signups: np.ndarray, start: int, days: int
) -> None:
    pop.exist_lo[:] = 0
    pop.exist_hi[:] = np.where(existing, days, 0)
    pop.act_lo[:] = 0
    pop.act_hi[:] = np.where(existing & (pop.status == vocab.ACTIVE), days, 0)
    offset = pop.signup_day[signups] - start
    pop.exist_lo[signups] = offset
    pop.act_lo[signups] = offset
    pop.exist_hi[signups] = days
    pop.act_hi[signups] = days


def _decide_renewals(
    rng: np.random.Generator, month: int, pop: Population, staying: np.ndarray, timeline: Timeline
) -> np.ndarray:
    """Two months ahead of a contract's end, decide whether it will be renewed."""
    end_month = timeline.month_of(pop.contract_end_day)
    due = staying & (pop.contract_end_day >= 0) & (pop.renewal < 0) & (end_month <= month + 2)
    due &= pop.lapse_month == NO_MONTH
    idx = np.flatnonzero(due)
    business = pop.segment[idx] != vocab.RESIDENTIAL
    logit = (
        0.9
        + 0.8 * business
        - 2.5 * pop.decline_depth(month)[idx]
        - 0.4 * np.minimum(pop.esc_recent[idx], 3.0)
        + rng.normal(0.0, 0.5, len(idx))
    )
    pop.renewal[idx] = (rng.random(len(idx)) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int8)
    return idx


def _candidates(
    rng: np.random.Generator, month: int, pop: Population, staying: np.ndarray, timeline: Timeline
) -> dict[str, np.ndarray]:
    n = pop.size
    u = rng.random((len(EVENT_PRIORITY), n))
    ending = staying & (timeline.month_of(pop.contract_end_day) == month)
    ending &= pop.contract_end_day >= 0
    depth = pop.decline_depth(month)
    return {
        "renewal": ending & (pop.renewal == 1),
        "consent_withdrawn": staying & pop.pending_optout & pop.consent,
        "suspension": staying
        & (pop.status == vocab.ACTIVE)
        & (pop.overdue_streak >= 2)
        & (u[2] < 0.5),
        "reactivation": staying & (pop.status == vocab.INACTIVE) & (u[3] < 0.4),
        "segment_move": staying & (pop.segment == vocab.RESIDENTIAL) & (u[4] < 0.0015),
        "region_move": staying & (u[5] < 0.001),
        "tier_up": staying & (pop.tier < 3) & (u[6] < 0.003 + 0.003 * (pop.usage_level > 1.5)),
        "tier_down": staying & (pop.tier > 0) & (u[7] < 0.003 + 0.02 * depth),
        "contact_change": staying & (u[8] < 0.006),
    }


def _apply_changes(
    rng: np.random.Generator,
    month: int,
    pop: Population,
    staying: np.ndarray,
    log: ChangeLog,
    timeline: Timeline,
    manager_regions: np.ndarray,
) -> np.ndarray:
    """Apply this month's CRM changes; returns who changed status or plan this month."""
    start, days = timeline.month_start(month), timeline.month_days(month)
    candidates = _candidates(rng, month, pop, staying, timeline)
    lapsing = staying & (timeline.month_of(pop.contract_end_day) == month)
    lapsing &= (pop.contract_end_day >= 0) & (pop.renewal == 0)
    pop.lapse_month[lapsing] = month
    pop.renewal[lapsing] = -1
    matrix = np.stack([candidates[name] for name in EVENT_PRIORITY])
    has_event = matrix.any(axis=0)
    event = np.where(has_event, matrix.argmax(axis=0), -1)
    offset = rng.integers(0, days, size=pop.size)
    day = start + offset
    changed = np.zeros(pop.size, dtype=bool)

    def who(name: str) -> np.ndarray:
        return np.flatnonzero(event == EVENT_PRIORITY.index(name))

    renew = who("renewal")
    day[renew] = np.maximum(pop.contract_end_day[renew], start)
    term_days = np.round(pop.contract_term[renew] * DAYS_PER_MONTH).astype(np.int64)
    pop.contract_end_day[renew] += term_days
    pop.renewal[renew] = -1
    optout = who("consent_withdrawn")
    pop.consent[optout] = False
    pop.pending_optout[optout] = False
    suspend = who("suspension")
    pop.status[suspend] = vocab.INACTIVE
    pop.act_hi[suspend] = offset[suspend]
    reactivate = who("reactivation")
    pop.status[reactivate] = vocab.ACTIVE
    pop.overdue_streak[reactivate] = 0
    pop.act_lo[reactivate] = offset[reactivate]
    pop.act_hi[reactivate] = days
    changed[suspend] = changed[reactivate] = True
    moved = who("segment_move")
    pop.segment[moved] = 1
    pop.account_manager[moved] = assign_managers(rng, CITY_REGION[pop.city[moved]], manager_regions)
    relocate = who("region_move")
    shift = rng.integers(1, len(vocab.REGIONS), size=len(relocate))
    new_region = (CITY_REGION[pop.city[relocate]] + shift) % len(vocab.REGIONS)
    pop.city[relocate] = _city_in(rng, new_region)
    pop.tier[who("tier_up")] += 1
    pop.tier[who("tier_down")] -= 1
    pop.contact_version[who("contact_change")] += 1
    changes = np.flatnonzero(has_event)
    log.record(
        pop, changes, day_to_seconds(day[changes]) + seconds_in_day(rng, len(changes), 8, 20)
    )
    return changed


def _city_in(rng: np.random.Generator, regions: np.ndarray) -> np.ndarray:
    """A random city of each given region."""
    cities = np.empty(len(regions), dtype=np.int16)
    for region in range(len(vocab.REGIONS)):
        members = np.flatnonzero(regions == region)
        pool = np.flatnonzero(region == CITY_REGION)
        cities[members] = pool[rng.integers(0, len(pool), size=len(members))]
    return cities


def _evolve_decline(
    rng: np.random.Generator, month: int, pop: Population, staying: np.ndarray
) -> None:
    """Some customers start to disengage (a latent trajectory); a few recover."""
    u = rng.random((2, pop.size))
    declining = np.isfinite(pop.decline_onset)
    start = staying & ~declining & (u[0] < DECLINE_ONSET_RATE)
    pop.decline_onset[start] = month + rng.random(int(start.sum()))
    recover = staying & declining & (u[1] < DECLINE_RECOVERY_RATE)
    pop.decline_onset[recover] = NO_DECLINE
