"""Service assignments (provisioning/service_assignments): bundles, adds, removals, churn ends."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pyarrow as pa

from custintel.generate import columns, vocab
from custintel.generate.catalogue import TYPE_TAKE_BIZ, TYPE_TAKE_RES, Catalogue
from custintel.generate.population import Population

OPEN = np.iinfo(np.int64).max
_NEGOTIATED = ((0.0, 0.0), (0.0, 0.05), (0.10, 0.20), (0.05, 0.15))


@dataclass
class Assignments:
    """All assignments so far; index + 1 is the assignment number (SA00000001, ...)."""

    customer: np.ndarray
    service: np.ndarray
    start_day: np.ndarray
    end_day: np.ndarray
    start_month: np.ndarray
    charge: np.ndarray
    level: np.ndarray

    @classmethod
    def empty(cls) -> Assignments:
        return cls(
            *(
                np.zeros(0, dtype=t)
                for t in (np.int64, np.int16, np.int64, np.int64, np.int16, float, float)
            )
        )

    @property
    def size(self) -> int:
        return len(self.customer)

    def append(self, other: Assignments) -> None:
        for spec in fields(self):
            setattr(
                self,
                spec.name,
                np.concatenate([getattr(self, spec.name), getattr(other, spec.name)]),
            )

    def overlapping(self, first_day: int, last_day: int) -> np.ndarray:
        """Indices of assignments in service on at least one day of [first_day, last_day]."""
        return np.flatnonzero((self.start_day <= last_day) & (self.end_day >= first_day))

    def table_columns(self) -> dict[str, pa.Array | np.ndarray]:
        is_open = self.end_day == OPEN
        return {
            "service_assignment_id": columns.ids("SA", np.arange(1, self.size + 1), 8),
            "customer_id": columns.ids("C", self.customer + 1, 7),
            "service_id": columns.labels([s[0] for s in vocab.SERVICES], self.service),
            "start_date": columns.dates(self.start_day),
            "end_date": columns.dates(np.where(is_open, 0, self.end_day), null=is_open),
            "monthly_charge_amount": self.charge,
        }


def _new(
    rng: np.random.Generator,
    customers: np.ndarray,
    services: np.ndarray,
    start_days: np.ndarray,
    month: int,
    pop: Population,
    catalogue: Catalogue,
) -> Assignments:
    segment = pop.segment[customers]
    lo = np.array([r[0] for r in _NEGOTIATED])[segment]
    hi = np.array([r[1] for r in _NEGOTIATED])[segment]
    negotiated = rng.uniform(lo, hi)
    lines = np.where(catalogue.is_fleet[services], pop.lines[customers], 1)
    price = catalogue.list_price(max(month, 0))[services]
    order = np.lexsort((services, start_days, customers))
    return Assignments(
        customer=customers[order].astype(np.int64),
        service=services[order].astype(np.int16),
        start_day=start_days[order].astype(np.int64),
        end_day=np.full(len(customers), OPEN, dtype=np.int64),
        start_month=np.full(len(customers), month, dtype=np.int16),
        charge=columns.money(price * (1 - negotiated) * lines)[order],
        level=(pop.usage_level[customers] * rng.lognormal(0.0, 0.3, len(customers)))[order],
    )


def _pick_per_type(
    rng: np.random.Generator, weights: np.ndarray, catalogue: Catalogue, type_code: int
) -> np.ndarray:
    """For each row, a service of `type_code` drawn by weight (-1 if none is on offer)."""
    masked = weights * (catalogue.service_type == type_code)[None, :]
    total = masked.sum(axis=1)
    choice = columns.choose(rng, np.where(total[:, None] > 0, masked, 1.0))
    return np.where(total > 0, choice, -1)


def bundles(
    rng: np.random.Generator,
    customers: np.ndarray,
    month: int,
    pop: Population,
    catalogue: Catalogue,
) -> Assignments:
    """The services new customers sign up with (at least one, at most one per type)."""
    segment, tier = pop.segment[customers], pop.tier[customers]
    weights = catalogue.bundle_weights(segment, tier, max(month, 0))
    take = np.where((segment != vocab.RESIDENTIAL)[:, None], TYPE_TAKE_BIZ, TYPE_TAKE_RES)
    takes = rng.random(take.shape) < take
    picks = np.stack([_pick_per_type(rng, weights, catalogue, t) for t in range(4)], axis=1)
    takes &= picks >= 0
    takes[~takes.any(axis=1), 0] = True  # nobody leaves without a service: give Internet
    rows, types = np.nonzero(takes)
    owners = customers[rows]
    services = picks[rows, types]
    signup = pop.signup_day[owners]
    if month < 0:  # opening base: extra services were added some time after signup
        first = np.r_[True, rows[1:] != rows[:-1]]
        span = np.maximum(catalogue.timeline.start_day - signup, 1)
        start = np.where(first, signup, signup + (rng.random(len(rows)) * span).astype(np.int64))
    else:
        start = signup
    return _new(rng, owners, services, start, month, pop, catalogue)


@dataclass(frozen=True)
class ServiceAdd:
    customer: np.ndarray
    service: np.ndarray
    day: np.ndarray


def monthly_changes(
    rng: np.random.Generator,
    month: int,
    pop: Population,
    assignments: Assignments,
    catalogue: Catalogue,
    stable: np.ndarray,
) -> ServiceAdd:
    """Adds and removals for customers in service all month (`stable`), and churn ends.

    Returns the adds (each is also a 'New Service' order).
    """
    timeline = catalogue.timeline
    start, days = timeline.month_start(month), timeline.month_days(month)
    open_idx = np.flatnonzero(assignments.end_day == OPEN)
    # churners: everything still open ends the day before the churn date
    churned = pop.churn_day[assignments.customer[open_idx]] >= 0
    ending = open_idx[churned]
    assignments.end_day[ending] = pop.churn_day[assignments.customer[ending]] - 1
    open_idx = open_idx[~churned]
    removing = _removals(rng, month, pop, assignments, open_idx, stable, start, days)
    # a customer who drops a service this month adds none, so a service never overlaps itself
    return _adds(rng, month, pop, assignments, open_idx, catalogue, stable & ~removing, start, days)


def _removals(
    rng: np.random.Generator,
    month: int,
    pop: Population,
    assignments: Assignments,
    open_idx: np.ndarray,
    stable: np.ndarray,
    start: int,
    days: int,
) -> np.ndarray:
    """End one service for some customers holding two or more; returns who removed one."""
    older = open_idx[assignments.start_day[open_idx] < start]
    owner = assignments.customer[older]
    count = np.bincount(owner, minlength=pop.size)
    p = 0.005 + 0.04 * pop.decline_depth(month)
    removing = stable & (count >= 2) & (rng.random(pop.size) < p)
    candidates = older[removing[owner]]
    if len(candidates) == 0:
        return removing
    order = np.lexsort((rng.random(len(candidates)), assignments.customer[candidates]))
    ranked = candidates[order]
    owners = assignments.customer[ranked]
    first = np.r_[True, owners[1:] != owners[:-1]]
    chosen = ranked[first]
    assignments.end_day[chosen] = start + rng.integers(1, days, size=len(chosen)) - 1
    return removing


def _adds(
    rng: np.random.Generator,
    month: int,
    pop: Population,
    assignments: Assignments,
    open_idx: np.ndarray,
    catalogue: Catalogue,
    stable: np.ndarray,
    start: int,
    days: int,
) -> ServiceAdd:
    p = 0.008 + 0.5 * pop.pending_add
    adding = np.flatnonzero(stable & (rng.random(pop.size) < p))
    pop.pending_add[:] = False
    still_open = open_idx[assignments.end_day[open_idx] == OPEN]
    row_of = np.full(pop.size, -1)
    row_of[adding] = np.arange(len(adding))
    held = np.zeros((len(adding), 4), dtype=bool)
    rows = row_of[assignments.customer[still_open]]
    mine = rows >= 0
    held[rows[mine], catalogue.service_type[assignments.service[still_open[mine]]]] = True
    weights = catalogue.bundle_weights(pop.segment[adding], pop.tier[adding], month)
    weights = weights * ~held[:, catalogue.service_type]
    possible = weights.sum(axis=1) > 0
    adding, weights = adding[possible], weights[possible]
    services = columns.choose(rng, weights)
    day = start + rng.integers(0, days, size=len(adding))
    assignments.append(_new(rng, adding, services, day, month, pop, catalogue))
    return ServiceAdd(customer=adding, service=services, day=day)
