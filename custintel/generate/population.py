"""Customers: latent traits (drawn once, at signup) and the simulation's per-customer state.

Customer `i` (0-based) has id `C{i+1:07d}`. The opening base is drawn from the seed alone;
each month's signups from that month's stream, so ids and traits never depend on how many
months are generated. Latent traits (usage level, discount sensitivity, outage proneness, ...)
drive behaviour and churn but are never written to the landing files.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from custintel.generate import vocab
from custintel.generate.columns import choose, choose_fixed
from custintel.generate.timeline import Timeline

NO_MONTH = -100
NO_DECLINE = np.inf
CITY_REGION = np.array([city[2] for city in vocab.CITIES], dtype=np.int8)
_SENSITIVE_SHARE = np.array([0.22, 0.18, 0.08, 0.05])
_CONSENT_SHARE = np.array([0.70, 0.80, 0.80, 0.80])
_PAYMENT_RISK_SHARE = np.array([0.08, 0.05, 0.05, 0.05])
_LINES_RANGE = ((1, 2), (2, 11), (10, 81), (5, 41))
_TERMS = np.array([0, 12, 24, 36])
_TERM_SHARES = np.array(
    [
        (0.45, 0.35, 0.20, 0.0),
        (0.15, 0.35, 0.30, 0.20),
        (0.15, 0.35, 0.30, 0.20),
        (0.15, 0.35, 0.30, 0.20),
    ]
)
_PROMO_PCTS = np.array([0.10, 0.15, 0.20, 0.25, 0.30])
DAYS_PER_MONTH = 365.25 / 12


@dataclass
class Population:
    # profile (written to the CRM)
    segment: np.ndarray
    tier: np.ndarray
    city: np.ndarray
    status: np.ndarray
    name_kind: np.ndarray
    first_name: np.ndarray
    last_name: np.ndarray
    org_word: np.ndarray
    email_domain: np.ndarray
    email_number: np.ndarray
    has_email: np.ndarray
    has_phone: np.ndarray
    has_city: np.ndarray
    phone_line: np.ndarray
    contact_version: np.ndarray
    account_manager: np.ndarray
    signup_day: np.ndarray
    contract_term: np.ndarray
    contract_end_day: np.ndarray
    consent: np.ndarray
    lines: np.ndarray
    # latent traits (never written)
    usage_level: np.ndarray
    discount_sensitive: np.ndarray
    outage_prone: np.ndarray
    frailty: np.ndarray
    payment_risk: np.ndarray
    support_propensity: np.ndarray
    engagement: np.ndarray
    decline_onset: np.ndarray
    decline_rate: np.ndarray
    promo_end: np.ndarray
    promo_pct: np.ndarray
    # evolving signals of the simulation
    renewal: np.ndarray
    lapse_month: np.ndarray
    esc_recent: np.ndarray
    lowcsat_recent: np.ndarray
    outage_hours_last: np.ndarray
    overdue_streak: np.ndarray
    retention_until: np.ndarray
    offer_month: np.ndarray  # last month the customer entered the retention-offer experiment
    offer_effect: np.ndarray  # planted logit effect of the retention offer (treated only)
    offer_until: np.ndarray  # first month after the offer's effect
    pending_add: np.ndarray
    pending_optout: np.ndarray
    churn_day: np.ndarray
    # this month's windows, as day offsets within the month: exists [lo, hi), in service [lo, hi)
    exist_lo: np.ndarray
    exist_hi: np.ndarray
    act_lo: np.ndarray
    act_hi: np.ndarray

    @property
    def size(self) -> int:
        return len(self.segment)

    def append(self, other: Population) -> None:
        for spec in fields(self):
            setattr(
                self,
                spec.name,
                np.concatenate([getattr(self, spec.name), getattr(other, spec.name)]),
            )

    def decline_depth(self, month: float) -> np.ndarray:
        """Share of usage lost to a disengagement trajectory (0 for customers not declining)."""
        elapsed = np.maximum(month - self.decline_onset, 0.0)
        with np.errstate(invalid="ignore"):
            depth = 1.0 - np.exp(-self.decline_rate * elapsed)
        return np.where(np.isfinite(self.decline_onset), depth, 0.0)


def assign_managers(
    rng: np.random.Generator, regions: np.ndarray, manager_regions: np.ndarray
) -> np.ndarray:
    """A random account manager of the customer's region (any manager if the region has none)."""
    result = np.empty(len(regions), dtype=np.int32)
    for region in range(len(vocab.REGIONS)):
        members = np.flatnonzero(regions == region)
        pool = np.flatnonzero(manager_regions == region)
        if len(pool) == 0:
            pool = np.arange(len(manager_regions))
        result[members] = pool[rng.integers(0, len(pool), size=len(members))]
    return result


def draw_customers(
    rng: np.random.Generator,
    signup_days: np.ndarray,
    signup_month: int,
    timeline: Timeline,
    manager_regions: np.ndarray,
) -> Population:
    """New customers signing up on `signup_days` (signup_month < 0: the opening base)."""
    n = len(signup_days)
    segment = choose_fixed(rng, vocab.SEGMENT_SHARES, n).astype(np.int8)
    tier = choose(rng, np.asarray(vocab.TIER_SHARES)[segment]).astype(np.int8)
    city = choose_fixed(rng, vocab.CITY_SHARES, n).astype(np.int16)
    business = segment != vocab.RESIDENTIAL
    manager = np.where(business, assign_managers(rng, CITY_REGION[city], manager_regions), -1)
    lines_lo = np.array([r[0] for r in _LINES_RANGE])[segment]
    lines_hi = np.array([r[1] for r in _LINES_RANGE])[segment]
    term = _TERMS[choose(rng, _TERM_SHARES[segment])]
    sensitive = rng.random(n) < _SENSITIVE_SHARE[segment]
    contract_end = _contract_end(signup_days, term, timeline.start_day)
    if signup_month < 0:
        decline_onset = np.where(rng.random(n) < 0.04, -rng.integers(1, 6, size=n), NO_DECLINE)
        on_promo = rng.random(n) < np.where(sensitive, 0.55, 0.12)
        promo_end = np.where(on_promo, rng.integers(1, 13, size=n), NO_MONTH)
    else:
        decline_onset = np.full(n, NO_DECLINE)
        on_promo = rng.random(n) < np.where(sensitive, 0.85, 0.35)
        promo_end = np.where(on_promo, signup_month + rng.choice([6, 12], size=n), NO_MONTH)
    return Population(
        segment=segment,
        tier=tier,
        city=city,
        status=np.zeros(n, dtype=np.int8),
        name_kind=segment.copy(),
        first_name=rng.integers(0, len(vocab.FIRST_NAMES), size=n).astype(np.int16),
        last_name=rng.integers(0, len(vocab.LAST_NAMES), size=n).astype(np.int16),
        org_word=rng.integers(0, 1000, size=n).astype(np.int16),
        email_domain=rng.integers(0, len(vocab.EMAIL_DOMAINS), size=n).astype(np.int8),
        email_number=rng.integers(1, 100, size=n).astype(np.int16),
        has_email=rng.random(n) < 0.97,
        has_phone=rng.random(n) < 0.95,
        has_city=rng.random(n) < 0.99,
        phone_line=rng.integers(0, 10_000, size=n).astype(np.int32),
        contact_version=np.zeros(n, dtype=np.int16),
        account_manager=manager.astype(np.int32),
        signup_day=np.asarray(signup_days, dtype=np.int64),
        contract_term=term.astype(np.int8),
        contract_end_day=contract_end,
        consent=rng.random(n) < _CONSENT_SHARE[segment],
        lines=rng.integers(lines_lo, lines_hi).astype(np.int16),
        usage_level=rng.lognormal(0.0, 0.45, size=n),
        discount_sensitive=sensitive,
        outage_prone=rng.random(n) < 0.12,
        frailty=rng.normal(0.0, 0.5, size=n),
        payment_risk=rng.random(n) < _PAYMENT_RISK_SHARE[segment],
        support_propensity=rng.lognormal(0.0, 0.5, size=n),
        engagement=rng.lognormal(0.0, 0.6, size=n),
        decline_onset=decline_onset.astype(np.float64),
        decline_rate=rng.uniform(0.12, 0.35, size=n),
        promo_end=promo_end.astype(np.int16),
        promo_pct=_PROMO_PCTS[rng.integers(0, len(_PROMO_PCTS), size=n)],
        renewal=np.full(n, -1, dtype=np.int8),
        lapse_month=np.full(n, NO_MONTH, dtype=np.int16),
        esc_recent=np.zeros(n),
        lowcsat_recent=np.zeros(n),
        outage_hours_last=np.zeros(n),
        overdue_streak=np.zeros(n, dtype=np.int8),
        retention_until=np.full(n, NO_MONTH, dtype=np.int16),
        offer_month=np.full(n, NO_MONTH, dtype=np.int16),
        offer_effect=np.zeros(n),
        offer_until=np.full(n, NO_MONTH, dtype=np.int16),
        pending_add=np.zeros(n, dtype=bool),
        pending_optout=np.zeros(n, dtype=bool),
        churn_day=np.full(n, -1, dtype=np.int64),
        exist_lo=np.zeros(n, dtype=np.int64),
        exist_hi=np.zeros(n, dtype=np.int64),
        act_lo=np.zeros(n, dtype=np.int64),
        act_hi=np.zeros(n, dtype=np.int64),
    )


def _contract_end(signup_days: np.ndarray, term: np.ndarray, after_day: int) -> np.ndarray:
    """End of the current term: signup + k * term, the first such date after `after_day`."""
    term_days = np.round(term * DAYS_PER_MONTH).astype(np.int64)
    safe = np.maximum(term_days, 1)
    k = np.maximum((after_day - signup_days) // safe + 1, 1)
    return np.where(term > 0, signup_days + k * safe, -1)


def opening_base(
    rng: np.random.Generator, customers: int, timeline: Timeline, manager_regions: np.ndarray
) -> Population:
    """The customers already under contract when the history starts (tenure up to 10 years)."""
    tenure_days = rng.exponential(36 * DAYS_PER_MONTH, size=customers)
    tenure_days = np.where(tenure_days > 3650, rng.uniform(1, 3650, customers), tenure_days) + 1
    signup_days = timeline.start_day - tenure_days.astype(np.int64)
    return draw_customers(rng, signup_days, -1, timeline, manager_regions)


def monthly_signups(
    rng: np.random.Generator,
    customers: int,
    month: int,
    timeline: Timeline,
    manager_regions: np.ndarray,
) -> Population:
    """This month's new customers: about 2.2% of the opening base, on random days."""
    count = int(rng.poisson(0.022 * customers))
    offsets = np.sort(rng.integers(0, timeline.month_days(month), size=count))
    return draw_customers(
        rng, timeline.month_start(month) + offsets, month, timeline, manager_regions
    )
