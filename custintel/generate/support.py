"""One month of support: tickets (support/tickets) and portal KB views (support/kb_article_views).

Tickets come more often after outages, overdue bills and while a customer disengages; their
escalations and low satisfaction feed the churn hazard (see churn.py). Views follow tickets,
general curiosity, and - for customers drifting away - account and service-change articles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from custintel.generate import columns, vocab
from custintel.generate.knowledge import KnowledgeBase, article_ids
from custintel.generate.population import Population
from custintel.generate.timeline import SECONDS_PER_DAY, Timeline

_TICKET_RATE = np.array([0.08, 0.15, 0.35, 0.25])
_BASE_CATEGORY = np.array([0.22, 0.35, 0.08, 0.17, 0.18])
_VIEW_CATEGORY = np.array([0.20, 0.35, 0.10, 0.20, 0.15])
SIGNAL_DECAY = 0.6


@dataclass(frozen=True)
class TicketMonth:
    columns: dict[str, pa.Array | np.ndarray]
    customer: np.ndarray
    category: np.ndarray
    created_second: np.ndarray


def _window_seconds(
    rng: np.random.Generator, pop: Population, owner: np.ndarray, start: int
) -> np.ndarray:
    """Random moments within each owner's existence window this month."""
    span = (pop.exist_hi[owner] - pop.exist_lo[owner]).astype(np.int64)
    day = start + pop.exist_lo[owner] + (rng.random(len(owner)) * span).astype(np.int64)
    return columns.day_to_seconds(day) + columns.seconds_in_day(rng, len(owner), 7, 22)


def month_tickets(
    rng: np.random.Generator,
    month: int,
    pop: Population,
    timeline: Timeline,
    outage_hours: np.ndarray,
    kb: KnowledgeBase,
    customer_ids: pa.Array,
) -> TicketMonth:
    start, days = timeline.month_start(month), timeline.month_days(month)
    depth = pop.decline_depth(month)
    exist = (pop.exist_hi - pop.exist_lo) / days
    rate = (
        _TICKET_RATE[pop.segment]
        * pop.support_propensity
        * exist
        * (1 + 0.25 * np.minimum(outage_hours, 8.0))
        * (1 + 0.8 * depth)
        * (1 + 0.8 * (pop.overdue_streak > 0))
    )
    owner, _ = columns.expand(rng.poisson(rate))
    n = len(owner)
    created = _window_seconds(rng, pop, owner, start)
    weights = np.tile(_BASE_CATEGORY, (n, 1))
    weights[:, vocab.OUTAGE] += 0.6 * (outage_hours[owner] > 2)
    weights[:, vocab.TECHNICAL] += 0.1 * (outage_hours[owner] > 2)
    weights[:, vocab.BILLING] += 0.6 * (pop.overdue_streak[owner] > 0)
    weights[:, [vocab.SERVICE_CHANGE, vocab.ACCOUNT]] += 0.3 * depth[owner, None]
    category = columns.choose(rng, weights)
    outage_cat = category == vocab.OUTAGE
    big = pop.segment[owner] >= 2
    high = 0.15 + 0.35 * outage_cat + 0.10 * big
    low = 0.35 - 0.20 * outage_cat
    priority = columns.choose(rng, np.stack([high, 1 - high - low, low], axis=1))
    logit = (
        -2.6
        + 1.0 * (priority == 0)
        + 0.5 * (outage_cat | (category == vocab.BILLING))
        + 0.8 * np.log(pop.support_propensity[owner])
        + 0.8 * depth[owner]
    )
    escalated = rng.random(n) < 1 / (1 + np.exp(-logit))
    technical = (category == vocab.TECHNICAL) | outage_cat
    fcr = ~escalated & (rng.random(n) < 0.62 - 0.2 * technical)
    hours = np.where(
        fcr,
        rng.lognormal(0.0, 0.6, n),
        np.where(
            escalated, rng.lognormal(np.log(70.0), 0.7, n), rng.lognormal(np.log(20.0), 0.8, n)
        ),
    )
    latent_csat = (
        4.7
        - 1.3 * escalated
        - 0.6 * ~fcr
        - 0.25 * np.log1p(hours / 24.0)
        - 0.8 * depth[owner]
        + rng.normal(0.0, 0.8, n)
    )
    csat = np.clip(np.round(latent_csat), 1, 5).astype(np.int64)
    answered = rng.random(n) < 0.45
    resolved = created + (hours * 3600).astype(np.int64)
    end = (timeline.end_day + 1) * SECONDS_PER_DAY
    is_resolved = resolved < end
    u = rng.random(n)
    status = np.where(
        is_resolved,
        np.where((resolved < end - 7 * SECONDS_PER_DAY) & (u < 0.85), 3, 2),
        np.where(u < 0.6, 1, 0),
    )
    linked = rng.random(n) < 0.3
    article = kb.pick(rng, category, timeline.month_start(month) * SECONDS_PER_DAY)
    _update_signals(pop, owner, escalated, csat <= 2)
    order = np.lexsort((owner, created))
    prefix = f"TKT-{timeline.label(month).replace('-', '')}-"
    table = {
        "ticket_id": columns.ids(prefix, np.arange(1, n + 1), 7),
        "customer_id": customer_ids.take(pa.array(owner[order])),
        "created_at": columns.timestamps(created[order]),
        "resolved_at": columns.timestamps(resolved[order], null=~is_resolved[order]),
        "priority": columns.labels(vocab.TICKET_PRIORITIES, priority[order]),
        "status": columns.labels(vocab.TICKET_STATUSES, status[order]),
        "channel_of_contact": columns.labels(
            vocab.CHANNELS, columns.choose_fixed(rng, vocab.CHANNEL_SHARES, n)[order]
        ),
        "category": columns.labels(vocab.TICKET_CATEGORIES, category[order]),
        "is_escalated": escalated[order],
        "is_first_contact_resolution": fcr[order],
        "satisfaction_score": pa.array(
            csat[order], type=pa.int64(), mask=~(answered & is_resolved)[order]
        ),
        "kb_article_id": article_ids(article[order], null=~linked[order]),
    }
    return TicketMonth(
        columns=table,
        customer=owner[order],
        category=category[order],
        created_second=created[order],
    )


def _update_signals(
    pop: Population, owner: np.ndarray, escalated: np.ndarray, unhappy: np.ndarray
) -> None:
    """Decayed counts of recent escalations and of tickets the customer was unhappy with."""
    pop.esc_recent *= SIGNAL_DECAY
    pop.lowcsat_recent *= SIGNAL_DECAY
    pop.esc_recent += np.bincount(owner, weights=escalated, minlength=pop.size)
    pop.lowcsat_recent += np.bincount(owner, weights=unhappy, minlength=pop.size)


def month_views(
    rng: np.random.Generator,
    month: int,
    pop: Population,
    timeline: Timeline,
    tickets: TicketMonth,
    kb: KnowledgeBase,
    customer_ids: pa.Array,
) -> dict[str, pa.Array]:
    start, days = timeline.month_start(month), timeline.month_days(month)
    exist = (pop.exist_hi - pop.exist_lo) / days
    lapsed = (pop.lapse_month <= month) & (month < pop.lapse_month + 3)
    browse, _ = columns.expand(rng.poisson(0.25 * pop.engagement * exist))
    leave, _ = columns.expand(rng.poisson((1.5 * pop.decline_depth(month) + 0.8 * lapsed) * exist))
    follow, _ = columns.expand(rng.poisson(np.full(len(tickets.customer), 0.6)))
    customers = np.concatenate([browse, leave, tickets.customer[follow]])
    category = np.concatenate(
        [
            columns.choose_fixed(rng, _VIEW_CATEGORY, len(browse)),
            np.where(rng.random(len(leave)) < 0.6, vocab.ACCOUNT, vocab.SERVICE_CHANGE),
            tickets.category[follow],
        ]
    )
    window_end = (start + pop.exist_hi[tickets.customer[follow]]) * SECONDS_PER_DAY - 1
    after_ticket = np.minimum(
        tickets.created_second[follow] + rng.integers(0, SECONDS_PER_DAY, len(follow)), window_end
    )
    seconds = np.concatenate(
        [
            _window_seconds(rng, pop, browse, start),
            _window_seconds(rng, pop, leave, start),
            after_ticket,
        ]
    )
    article = kb.pick(rng, category, start * SECONDS_PER_DAY)
    order = np.lexsort((customers, seconds))
    prefix = f"KBV-{timeline.label(month).replace('-', '')}-"
    return {
        "kb_article_view_id": columns.ids(prefix, np.arange(1, len(order) + 1), 7),
        "kb_article_id": article_ids(article[order]),
        "customer_id": customer_ids.take(pa.array(customers[order])),
        "viewed_at": columns.timestamps(seconds[order]),
    }
