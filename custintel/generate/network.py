"""One month of network/usage: a row per customer, active service and day with any activity.

Usage follows the customer's latent level, a weekly pattern (home services peak at weekends,
business services on weekdays), a disengagement trajectory for declining customers, and
outages (regional incidents plus local faults, more often for outage-prone customers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from custintel.generate import columns, vocab
from custintel.generate.catalogue import Catalogue
from custintel.generate.population import CITY_REGION, Population
from custintel.generate.services import Assignments
from custintel.generate.timeline import Timeline

REGIONAL_INCIDENT_RATE = 0.025  # per region and day
_MOBILE = vocab.SERVICE_TYPES.index("Mobile")


@dataclass(frozen=True)
class Outages:
    """Sparse customer-day outage minutes of one month (sorted by key = customer * 31 + day)."""

    key: np.ndarray
    minutes: np.ndarray

    def lookup(self, customers: np.ndarray, days: np.ndarray) -> np.ndarray:
        """Outage minutes of each (customer, day offset); 0 where there was none."""
        keys = customers * 31 + days
        if len(self.key) == 0:
            return np.zeros(len(keys))
        pos = np.minimum(np.searchsorted(self.key, keys), len(self.key) - 1)
        return np.where(self.key[pos] == keys, self.minutes[pos], 0.0)


#: assignments simulated together; bounds memory (about 2.7M usage rows per chunk)
CHUNK_ASSIGNMENTS = 100_000


@dataclass(frozen=True)
class UsageChunk:
    columns: dict[str, pa.Array | np.ndarray]
    data_mb: np.ndarray  # per assignment of the chunk


def draw_outages(rng: np.random.Generator, pop: Population, days: int) -> Outages:
    in_service = np.flatnonzero(pop.act_hi > pop.act_lo)
    region = CITY_REGION[pop.city[in_service]]
    prone = pop.outage_prone[in_service]
    keys, minutes = [], []
    incidents = np.argwhere(rng.random((len(vocab.REGIONS), days)) < REGIONAL_INCIDENT_RATE)
    for incident_region, day in incidents:
        members = np.flatnonzero(region == incident_region)
        hit = members[rng.random(len(members)) < np.where(prone[members], 0.7, 0.25)]
        duration = rng.lognormal(np.log(100.0), 0.7)
        keys.append(in_service[hit] * 31 + day)
        minutes.append(duration * rng.uniform(0.5, 1.0, len(hit)))
    faults = rng.poisson(np.where(prone, 0.6, 0.06) * days / 31)
    owner, _ = columns.expand(faults)
    keys.append(in_service[owner] * 31 + rng.integers(0, days, len(owner)))
    minutes.append(rng.lognormal(np.log(90.0), 0.8, len(owner)))
    key = np.concatenate(keys) if keys else np.zeros(0, dtype=np.int64)
    value = np.concatenate(minutes) if minutes else np.zeros(0)
    unique, inverse = np.unique(key, return_inverse=True)
    total = np.minimum(np.bincount(inverse, weights=value, minlength=len(unique)), 1440.0)
    return Outages(key=unique.astype(np.int64), minutes=np.round(total, 1))


def chunks(month: int, assignments: Assignments, timeline: Timeline) -> list[np.ndarray]:
    """The assignments in service during `month`, in fixed-size chunks."""
    start = timeline.month_start(month)
    idx = assignments.overlapping(start, start + timeline.month_days(month) - 1)
    return [idx[i : i + CHUNK_ASSIGNMENTS] for i in range(0, max(len(idx), 1), CHUNK_ASSIGNMENTS)]


def usage_chunk(
    rng: np.random.Generator,
    month: int,
    idx: np.ndarray,
    pop: Population,
    assignments: Assignments,
    catalogue: Catalogue,
    outages: Outages,
    customer_ids: pa.Array,
) -> UsageChunk:
    """Daily usage rows of the assignments `idx` (while the customer is in service)."""
    timeline = catalogue.timeline
    start, days = timeline.month_start(month), timeline.month_days(month)
    cust = assignments.customer[idx]
    lo = np.maximum(assignments.start_day[idx] - start, pop.act_lo[cust])
    hi = np.minimum(
        np.minimum(assignments.end_day[idx], start + days - 1) - start + 1, pop.act_hi[cust]
    )
    owner, rank = columns.expand(np.maximum(hi - lo, 0))
    a = idx[owner]
    c = cust[owner]
    s = assignments.service[a]
    day = lo[owner] + rank
    outage = outages.lookup(c, day)
    weekend = (start + day + 3) % 7 >= 5
    business = catalogue.business_hours[s]
    pattern = np.where(business, np.where(weekend, 0.35, 1.15), np.where(weekend, 1.25, 0.9))
    elapsed = np.maximum(month + day / days - pop.decline_onset[c], 0.0)
    decline = np.where(
        np.isfinite(pop.decline_onset[c]), np.exp(-pop.decline_rate[c] * elapsed), 1.0
    )
    lines = np.where(catalogue.is_fleet[s], pop.lines[c], 1)
    mult = (
        assignments.level[a]
        * lines
        * pattern
        * decline
        * (1.0 - outage / 1440.0)
        * rng.lognormal(0.0, 0.25, len(a))
    )
    means = catalogue.usage_means[s]
    sessions = rng.poisson(means[:, 2] * mult)
    active = sessions > 0
    data = np.where(active, rng.gamma(2.0, means[:, 0] * mult / 2.0 + 1e-9), 0.0)
    voice = np.where(active, rng.gamma(2.0, means[:, 1] * mult / 2.0 + 1e-9), 0.0)
    data = np.round(np.where(means[:, 0] > 0, data, 0.0), 1)
    voice = np.round(np.where(means[:, 1] > 0, voice, 0.0), 1)
    service_outage = np.round(outage * np.where(catalogue.service_type[s] == _MOBILE, 0.1, 1.0), 1)
    keep = active | (service_outage > 0)
    table = {
        "customer_id": customer_ids.take(pa.array(c[keep])),
        "service_id": columns.labels([x[0] for x in vocab.SERVICES], s[keep]),
        "usage_date": columns.dates(start + day[keep]),
        "data_volume_mb": data[keep],
        "voice_minutes": voice[keep],
        "session_count": sessions[keep].astype(np.int64),
        "outage_minutes": service_outage[keep],
    }
    return UsageChunk(columns=table, data_mb=np.bincount(owner, weights=data, minlength=len(idx)))


def outage_hours(pop: Population, outages: Outages) -> np.ndarray:
    """Per customer: hours of outage while in service this month."""
    customer, day = np.divmod(outages.key, 31)
    in_window = (day >= pop.act_lo[customer]) & (day < pop.act_hi[customer])
    return (
        np.bincount(customer[in_window], weights=outages.minutes[in_window], minlength=pop.size)
        / 60.0
    )
