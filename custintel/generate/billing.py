"""One month of billing: invoices (billing/invoices) and one-off orders (billing/orders)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from custintel.generate import columns, vocab
from custintel.generate.catalogue import Catalogue
from custintel.generate.population import Population
from custintel.generate.services import Assignments, ServiceAdd

OUTAGE_CREDIT_MIN_HOURS = 3.0
OUTAGE_CREDIT_PER_HOUR = 1.5
_ORDER_RATE = np.array([0.035, 0.07, 0.12, 0.08])
_PRODUCT_TYPE = np.array([p[1] for p in vocab.PRODUCTS])
_PRODUCT_PRICE = np.array([p[2] for p in vocab.PRODUCTS])
_PRODUCT_NAMES = [p[0] for p in vocab.PRODUCTS] + [s[1] for s in vocab.SERVICES]
_NEW_SERVICE_PRODUCT = len(vocab.PRODUCTS)  # + service index


def month_invoices(
    rng: np.random.Generator,
    month: int,
    pop: Population,
    assignments: Assignments,
    catalogue: Catalogue,
    data_mb: np.ndarray,
    outage_hours: np.ndarray,
    customer_ids: pa.Array,
) -> dict[str, pa.Array]:
    """One invoice per customer who existed on at least one day of the month."""
    timeline = catalogue.timeline
    start, days = timeline.month_start(month), timeline.month_days(month)
    billed = np.flatnonzero(pop.exist_hi > pop.exist_lo)
    recurring, overage = _charges(month, pop, assignments, catalogue, data_mb, start, days)
    recurring, overage = recurring[billed], overage[billed]
    gross = columns.money(recurring + overage)
    hours = outage_hours[billed]
    credit = np.where(
        hours >= OUTAGE_CREDIT_MIN_HOURS,
        np.minimum(0.5 * recurring, OUTAGE_CREDIT_PER_HOUR * hours),
        0.0,
    )
    goodwill = rng.random(len(billed)) < 0.01
    credit = credit + goodwill * rng.uniform(5.0, 20.0, len(billed))
    credit = columns.money(np.minimum(credit, gross))
    on_promo = month < pop.promo_end[billed]
    discount = columns.money(
        np.minimum(on_promo * pop.promo_pct[billed] * recurring, gross - credit)
    )
    # the bill states when the running promotion ends: the day before its first full-price month
    discount_end = timeline.month_start_days(np.where(on_promo, pop.promo_end[billed], 0)) - 1
    p_overdue = 0.01 + 0.2 * pop.payment_risk[billed] + 0.1 * (pop.status[billed] == vocab.INACTIVE)
    u = rng.random(len(billed))
    status = np.where(
        u < p_overdue, vocab.OVERDUE, np.where(u < p_overdue + 0.02, vocab.UNPAID, vocab.PAID)
    )
    pop.overdue_streak[billed] = np.where(
        status == vocab.OVERDUE, pop.overdue_streak[billed] + 1, 0
    )
    prefix = f"INV-{timeline.label(month).replace('-', '')}-"
    return {
        "invoice_id": columns.ids(prefix, np.arange(1, len(billed) + 1), 7),
        "customer_id": customer_ids.take(pa.array(billed)),
        "invoice_date": columns.dates(np.full(len(billed), start)),
        "billing_period_start_date": columns.dates(start + pop.exist_lo[billed]),
        "billing_period_end_date": columns.dates(start + pop.exist_hi[billed] - 1),
        "gross_amount": gross,
        "credit_amount": credit,
        "discount_amount": discount,
        "discount_end_date": columns.dates(discount_end, null=~on_promo),
        "payment_status": columns.labels(vocab.PAYMENT_STATUSES, status),
    }


def recurring_charges(
    month: int, pop: Population, assignments: Assignments, catalogue: Catalogue
) -> np.ndarray:
    """Each customer's monthly recurring charge for the services open on the month's first day."""
    start = catalogue.timeline.month_start(month)
    idx = assignments.overlapping(start, start)
    price = assignments.charge[idx] * catalogue.timeline.price_factor(
        month, assignments.start_month[idx]
    )
    return np.bincount(assignments.customer[idx], weights=price, minlength=pop.size)


def _charges(
    month: int,
    pop: Population,
    assignments: Assignments,
    catalogue: Catalogue,
    data_mb: np.ndarray,
    start: int,
    days: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Per customer: prorated recurring charges in the billing window, and data overage."""
    idx = assignments.overlapping(start, start + days - 1)
    cust = assignments.customer[idx]
    first = np.maximum(assignments.start_day[idx] - start, pop.exist_lo[cust])
    last = np.minimum(
        np.minimum(assignments.end_day[idx], start + days - 1) - start + 1, pop.exist_hi[cust]
    )
    share = np.maximum(last - first, 0) / days
    price = assignments.charge[idx] * catalogue.timeline.price_factor(
        month, assignments.start_month[idx]
    )
    recurring = np.bincount(cust, weights=price * share, minlength=pop.size)
    service = assignments.service[idx]
    lines = np.where(catalogue.is_fleet[service], pop.lines[cust], 1)
    allowance = catalogue.allowance_mb[service] * lines
    over_gb = np.maximum(data_mb[idx] - allowance, 0.0) / 1024.0
    overage = np.bincount(cust, weights=np.ceil(over_gb) * vocab.OVERAGE_PER_GB, minlength=pop.size)
    return recurring, overage


def month_orders(
    rng: np.random.Generator,
    month: int,
    pop: Population,
    adds: ServiceAdd,
    catalogue: Catalogue,
    customer_ids: pa.Array,
) -> dict[str, pa.Array]:
    """Device and add-on orders (Poisson per customer in service) plus one per service add."""
    timeline = catalogue.timeline
    start = timeline.month_start(month)
    days = timeline.month_days(month)
    in_service = (pop.act_hi - pop.act_lo) / days
    rate = _ORDER_RATE[pop.segment] * np.where(pop.discount_sensitive, 1.8, 1.0) * in_service
    owner, _ = columns.expand(rng.poisson(rate))
    span = (pop.act_hi[owner] - pop.act_lo[owner]).astype(np.int64)
    day = start + pop.act_lo[owner] + (rng.random(len(owner)) * span).astype(np.int64)
    is_device = rng.random(len(owner)) < 0.55
    product = np.where(is_device, rng.integers(0, 6, len(owner)), rng.integers(6, 12, len(owner)))
    business = pop.segment[owner] != vocab.RESIDENTIAL
    max_qty = np.where(business & is_device, np.maximum(pop.lines[owner], 2), 2)
    quantity = np.where(rng.random(len(owner)) < 0.9, 1, rng.integers(1, max_qty + 1))
    gross = _PRODUCT_PRICE[product] * quantity
    customers = np.concatenate([owner, adds.customer])
    order_type = np.concatenate([_PRODUCT_TYPE[product], np.full(len(adds.customer), 2)])
    product = np.concatenate([product, _NEW_SERVICE_PRODUCT + adds.service])
    quantity = np.concatenate([quantity, np.ones(len(adds.customer), dtype=np.int64)])
    gross = np.concatenate([gross, np.full(len(adds.customer), vocab.NEW_SERVICE_FEE)])
    day = np.concatenate([day, adds.day])
    sensitive = pop.discount_sensitive[customers]
    discounted = rng.random(len(customers)) < np.where(sensitive, 0.8, 0.15)
    pct = np.where(
        sensitive, rng.uniform(0.10, 0.40, len(customers)), rng.uniform(0.05, 0.20, len(customers))
    )
    waived = (order_type == 2) & discounted & (rng.random(len(customers)) < 0.5)
    discount = columns.money(np.where(waived, gross, discounted * pct * gross))
    status = columns.choose_fixed(rng, vocab.ORDER_STATUS_SHARES, len(customers))
    status = np.where((status == 2) & (order_type != 0), 1, status)  # only devices are returned
    seconds = columns.day_to_seconds(day) + columns.seconds_in_day(rng, len(customers), 8, 22)
    order = np.lexsort((customers, seconds))
    prefix = f"ORD-{timeline.label(month).replace('-', '')}-"
    return {
        "order_id": columns.ids(prefix, np.arange(1, len(order) + 1), 7),
        "customer_id": customer_ids.take(pa.array(customers[order])),
        "ordered_at": columns.timestamps(seconds[order]),
        "order_type": columns.labels(vocab.ORDER_TYPES, order_type[order]),
        "product_name": columns.labels(_PRODUCT_NAMES, product[order]),
        "quantity": quantity[order].astype(np.int64),
        "gross_amount": columns.money(gross[order]),
        "discount_amount": discount[order],
        "order_status": columns.labels(vocab.ORDER_STATUSES, status[order]),
    }
