"""Marketing: about four campaigns a month (marketing/campaigns) and their targets and responses
(marketing/campaign_targets).

Acquisition campaigns address prospects, who are not in the CRM, so they have no target rows.
Retention campaigns pick customers showing visible risk signals; a converted retention offer
gives a 15% discount for six months and lowers the churn hazard for three. Converted upsells
add a service the next month; an opt-out withdraws marketing consent in the CRM next month.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np
import pyarrow as pa

from custintel.generate import columns, vocab
from custintel.generate.population import Population
from custintel.generate.timeline import SECONDS_PER_DAY, Timeline

AUDIENCES = ("All",) + vocab.SEGMENTS
_OPEN_RATE = np.array([0.30, 0.45, 0.20, 0.15, 0.35])
_OPT_OUT_RATE = np.array([0.015, 0.015, 0.005, 0.005, 0.015])
CLICK_RATE = 0.30
_CONVERT_RATE = np.array([0.0, 0.15, 0.30, 0.0])
RETENTION_DISCOUNT = 0.15
RETENTION_DISCOUNT_MONTHS = 6
RETENTION_EFFECT_MONTHS = 3


@dataclass
class CampaignLog:
    month: list[int] = field(default_factory=list)
    number: list[int] = field(default_factory=list)
    campaign_type: list[int] = field(default_factory=list)
    objective: list[int] = field(default_factory=list)
    audience: list[int] = field(default_factory=list)
    budget: list[float] = field(default_factory=list)
    start_day: list[int] = field(default_factory=list)
    end_day: list[int] = field(default_factory=list)

    def table_columns(self, timeline: Timeline) -> dict[str, pa.Array | np.ndarray]:
        data = {spec.name: np.asarray(getattr(self, spec.name)) for spec in fields(self)}
        n = len(self.month)
        month_names = [str(np.datetime64(timeline.start, "M") + m) for m in self.month]
        names = [
            f"{month_names[i]} {vocab.OBJECTIVES[self.objective[i]]} "
            f"{vocab.CAMPAIGN_TYPES[self.campaign_type[i]]} ({AUDIENCES[self.audience[i]]})"
            for i in range(n)
        ]
        return {
            "campaign_id": pa.array(
                [campaign_id(timeline, m, k) for m, k in zip(self.month, self.number, strict=True)],
                pa.string(),
            ),
            "campaign_name": pa.array(names, pa.string()),
            "campaign_type": columns.labels(vocab.CAMPAIGN_TYPES, data["campaign_type"]),
            "objective": columns.labels(vocab.OBJECTIVES, data["objective"]),
            "target_audience": columns.labels(AUDIENCES, data["audience"]),
            "budget_amount": data["budget"].astype(float),
            "start_date": columns.dates(data["start_day"]),
            "end_date": columns.dates(data["end_day"]),
        }


def campaign_id(timeline: Timeline, month: int, number: int) -> str:
    return f"CMP-{timeline.label(month).replace('-', '')}-{number:02d}"


def month_campaigns(
    rng: np.random.Generator,
    month: int,
    pop: Population,
    timeline: Timeline,
    log: CampaignLog,
    customer_ids: pa.Array,
) -> dict[str, pa.Array]:
    """Launch this month's campaigns, pick and answer their targets, apply the effects."""
    start = timeline.month_start(month)
    month_end = (start + timeline.month_days(month)) * SECONDS_PER_DAY
    count = 3 + int(rng.integers(0, 3))
    objective = columns.choose_fixed(rng, vocab.OBJECTIVE_SHARES, count)
    kind = columns.choose_fixed(rng, vocab.CAMPAIGN_TYPE_SHARES, count)
    first_day = start + rng.integers(0, 20, count)
    parts: list[dict[str, np.ndarray]] = []
    for k in range(count):
        audience = _audience(rng, int(objective[k]))
        budget = round(
            float(rng.lognormal(np.log(15_000.0), 0.6)) * (1.5 if kind[k] >= 3 else 1), -2
        )
        log.month.append(month)
        log.number.append(k + 1)
        log.campaign_type.append(int(kind[k]))
        log.objective.append(int(objective[k]))
        log.audience.append(audience)
        log.budget.append(budget)
        log.start_day.append(int(first_day[k]))
        log.end_day.append(int(first_day[k] + rng.integers(14, 45)))
        targets = _targets(rng, month, pop, int(objective[k]), audience, int(first_day[k]))
        parts.append(
            _responses(
                rng,
                month,
                pop,
                targets,
                int(objective[k]),
                int(kind[k]),
                int(first_day[k]),
                month_end,
                k + 1,
            )
        )
    merged = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    order = np.lexsort((merged["customer"], merged["targeted"]))
    merged = {key: value[order] for key, value in merged.items()}
    no_response = merged["response"] < 0
    prefix = f"CT-{timeline.label(month).replace('-', '')}-"
    campaign_ids = pa.array([campaign_id(timeline, month, k) for k in range(1, count + 1)])
    return {
        "campaign_target_id": columns.ids(prefix, np.arange(1, len(order) + 1), 7),
        "campaign_id": campaign_ids.take(pa.array(merged["number"] - 1)),
        "customer_id": customer_ids.take(pa.array(merged["customer"])),
        "targeted_at": columns.timestamps(merged["targeted"]),
        "responded_at": columns.timestamps(merged["responded"], null=no_response),
        "response_type": columns.labels(
            vocab.RESPONSE_TYPES, np.maximum(merged["response"], 0), null=no_response
        ),
        "attributed_revenue_amount": merged["revenue"],
    }


def _audience(rng: np.random.Generator, objective: int) -> int:
    if objective == vocab.UPSELL and rng.random() < 0.5:
        return 1 + int(columns.choose_fixed(rng, vocab.SEGMENT_SHARES, 1)[0])
    if objective == vocab.ACQUISITION and rng.random() < 0.5:
        return 1 + vocab.RESIDENTIAL
    return 0


def _targets(
    rng: np.random.Generator, month: int, pop: Population, objective: int, audience: int, day: int
) -> np.ndarray:
    exists = (pop.signup_day <= day) & ((pop.churn_day < 0) | (pop.churn_day > day))
    eligible = pop.consent & ((pop.segment == audience - 1) if audience else True)
    if objective == vocab.ACQUISITION:
        return np.zeros(0, dtype=np.int64)
    if objective == vocab.WIN_BACK:
        recently_lost = (pop.churn_day >= 0) & (pop.churn_day <= day) & (day - pop.churn_day <= 180)
        p = np.where(eligible & recently_lost, 0.4, 0.0)
    elif objective == vocab.UPSELL:
        p = np.where(eligible & exists & (pop.status == vocab.ACTIVE), 0.15, 0.0)
    else:
        promo_ending = (pop.promo_end == month) | (pop.promo_end == month + 1)
        contract_ending = (pop.contract_end_day >= day) & (pop.contract_end_day - day <= 60)
        risk = (
            0.02
            + 0.25 * (pop.esc_recent > 0.5)
            + 0.25 * promo_ending
            + 0.15 * contract_ending
            + 0.10 * (pop.overdue_streak > 0)
        )
        p = np.where(eligible & exists, risk, 0.0)
    return np.flatnonzero(rng.random(pop.size) < p)


def _responses(
    rng: np.random.Generator,
    month: int,
    pop: Population,
    targets: np.ndarray,
    objective: int,
    kind: int,
    day: int,
    month_end: int,
    number: int,
) -> dict[str, np.ndarray]:
    n = len(targets)
    targeted = day * SECONDS_PER_DAY + rng.integers(0, 3 * SECONDS_PER_DAY, n)
    opened = rng.random(n) < _OPEN_RATE[kind]
    clicked = opened & (rng.random(n) < CLICK_RATE)
    convert_rate = _CONVERT_RATE[objective] * np.where(
        (objective == vocab.RETENTION) & pop.discount_sensitive[targets], 1.6, 1.0
    )
    converted = clicked & (rng.random(n) < convert_rate)
    opted_out = ~clicked & (rng.random(n) < _OPT_OUT_RATE[kind])
    response = np.select(
        [converted, opted_out, clicked, opened],
        [vocab.CONVERTED, vocab.OPTED_OUT, vocab.CLICKED, vocab.OPENED],
        -1,
    )
    delay = rng.exponential(1.5 * SECONDS_PER_DAY, n).astype(np.int64)
    responded = np.minimum(targeted + delay, month_end - 1)
    revenue = np.where(converted, rng.lognormal(np.log(300.0), 0.5, n), 0.0)
    _apply_effects(month, pop, targets, objective, converted, opted_out)
    return {
        "customer": targets,
        "targeted": targeted,
        "responded": responded,
        "response": response,
        "revenue": columns.money(revenue),
        "number": np.full(n, number),
    }


def _apply_effects(
    month: int,
    pop: Population,
    targets: np.ndarray,
    objective: int,
    converted: np.ndarray,
    opted_out: np.ndarray,
) -> None:
    won = targets[converted]
    if objective == vocab.UPSELL:
        pop.pending_add[won] = True
    elif objective == vocab.RETENTION:
        pop.retention_until[won] = month + 1 + RETENTION_EFFECT_MONTHS
        pop.promo_end[won] = month + 1 + RETENTION_DISCOUNT_MONTHS
        pop.promo_pct[won] = RETENTION_DISCOUNT
    pop.pending_optout[targets[opted_out]] = True
