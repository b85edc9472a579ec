"""Sales opportunities (crm/opportunities) for business customers.

Upsell and new-service deals open at random; a renewal deal opens when a business customer's
contract renewal is decided (two months before the contract ends) and is won exactly when the
contract is renewed. The stage is the state at the end of the history: deals whose close date
has passed are Closed Won/Lost, the others sit in an open stage with an expected close date
that may lie after the history's end.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np
import pyarrow as pa

from custintel.generate import columns, vocab
from custintel.generate.crm import customer_names
from custintel.generate.population import Population
from custintel.generate.timeline import Timeline

_WIN_RATE = np.array([0.35, 0.45, 0.0])
_SIZE = np.array([0.0, 1.0, 4.0, 2.5])


def _empty(dtype: type) -> np.ndarray:
    return np.zeros(0, dtype=dtype)


@dataclass
class SalesLog:
    month: np.ndarray = field(default_factory=lambda: _empty(np.int64))
    customer: np.ndarray = field(default_factory=lambda: _empty(np.int64))
    kind: np.ndarray = field(default_factory=lambda: _empty(np.int64))
    owner: np.ndarray = field(default_factory=lambda: _empty(np.int64))
    created_day: np.ndarray = field(default_factory=lambda: _empty(np.int64))
    close_day: np.ndarray = field(default_factory=lambda: _empty(np.int64))
    won: np.ndarray = field(default_factory=lambda: _empty(bool))
    amount: np.ndarray = field(default_factory=lambda: _empty(float))
    stage_noise: np.ndarray = field(default_factory=lambda: _empty(float))

    def extend(self, **new: np.ndarray) -> None:
        for spec in fields(self):
            setattr(self, spec.name, np.concatenate([getattr(self, spec.name), new[spec.name]]))

    def table_columns(
        self, pop: Population, timeline: Timeline
    ) -> dict[str, pa.Array | np.ndarray]:
        end = timeline.end_day
        closed = self.close_day <= end
        elapsed = (end - self.created_day) / np.maximum(self.close_day - self.created_day, 1)
        open_stage = np.minimum((elapsed * 4).astype(np.int64), 3)
        stage = np.where(closed, np.where(self.won, 4, 5), open_stage)
        probability = np.asarray(vocab.STAGE_PROBABILITY)[stage]
        probability = np.where(
            closed, probability, np.clip(probability + self.stage_noise, 0.05, 0.95)
        ).round(2)
        sequence = np.zeros(len(self.month), dtype=np.int64)
        for m in np.unique(self.month):
            rows = np.flatnonzero(self.month == m)
            sequence[rows] = np.arange(1, len(rows) + 1)
        prefixes = [f"OPP-{timeline.label(int(m)).replace('-', '')}-" for m in self.month]
        kind_label = columns.labels(vocab.OPPORTUNITY_TYPES, self.kind)
        return {
            "opportunity_id": columns.join(
                pa.array(prefixes, pa.string()), columns.padded(sequence, 5)
            ),
            "customer_id": columns.ids("C", self.customer + 1, 7),
            "owner_id": columns.ids("AM", np.maximum(self.owner, 0) + 1, 4, null=self.owner < 0),
            "opportunity_name": columns.join(
                customer_names(pop, self.customer), kind_label, separator=" - "
            ),
            "opportunity_type": kind_label,
            "stage": columns.labels(vocab.STAGES, stage),
            "amount": self.amount,
            "probability_of_close": probability,
            "created_date": columns.dates(self.created_day),
            "close_date": columns.dates(self.close_day),
        }


def month_opportunities(
    rng: np.random.Generator,
    month: int,
    pop: Population,
    timeline: Timeline,
    stable: np.ndarray,
    renewal_decided: np.ndarray,
    recurring: np.ndarray,
    log: SalesLog,
) -> None:
    start, days = timeline.month_start(month), timeline.month_days(month)
    business = pop.segment != vocab.RESIDENTIAL
    prospects = np.flatnonzero(stable & business & (rng.random(pop.size) < 0.025))
    kind = np.where(rng.random(len(prospects)) < 0.6, vocab.UPSELL_OPP, vocab.NEW_SERVICE_OPP)
    renewals = renewal_decided[business[renewal_decided]]
    customers = np.concatenate([prospects, renewals])
    kind = np.concatenate([kind, np.full(len(renewals), vocab.RENEWAL_OPP)])
    n = len(customers)
    created = start + rng.integers(0, days, n)
    created = np.minimum(created, start + pop.exist_hi[customers] - 1)
    duration = rng.lognormal(np.log(45.0), 0.5, n).astype(np.int64) + 7
    to_contract_end = pop.contract_end_day[customers] - created + rng.integers(-10, 11, n)
    duration = np.where(kind == vocab.RENEWAL_OPP, np.maximum(to_contract_end, 7), duration)
    won = np.where(
        kind == vocab.RENEWAL_OPP, pop.renewal[customers] == 1, rng.random(n) < _WIN_RATE[kind]
    )
    annual = 12 * recurring[customers]
    amount = np.select(
        [kind == vocab.UPSELL_OPP, kind == vocab.NEW_SERVICE_OPP],
        [
            annual * rng.uniform(0.1, 0.4, n),
            12 * rng.lognormal(np.log(400.0), 0.7, n) * _SIZE[pop.segment[customers]],
        ],
        annual,
    )
    owner = np.where(rng.random(n) < 0.97, pop.account_manager[customers], -1)
    log.extend(
        month=np.full(n, month),
        customer=customers,
        kind=kind,
        owner=owner,
        created_day=created,
        close_day=created + duration,
        won=won,
        amount=columns.money(amount),
        stage_noise=rng.uniform(-0.05, 0.05, n),
    )
