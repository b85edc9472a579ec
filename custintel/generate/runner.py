"""`generate_landing`: simulate the company month by month and write the landing files."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from custintel.generate import (
    billing,
    churn,
    columns,
    lifecycle,
    marketing,
    network,
    offers,
    sales,
    services,
    staff,
    support,
    writer,
)
from custintel.generate.catalogue import Catalogue
from custintel.generate.crm import ChangeLog
from custintel.generate.knowledge import KnowledgeBase
from custintel.generate.population import Population, monthly_signups, opening_base
from custintel.generate.report import GenerationReport
from custintel.generate.streams import Stream, global_rng, month_rng
from custintel.generate.timeline import Timeline

Progress = Callable[[str, int, int], None]
MAX_CUSTOMERS = 5_000_000  # orphan customer ids (C9xxxxxx) must stay unused


def _validate(
    customers: int, months: int, start_date: dt.date, seed: int, defect_rate: float
) -> None:
    problems = []
    if not 1 <= customers <= MAX_CUSTOMERS:
        problems.append(f"customers={customers} must be between 1 and {MAX_CUSTOMERS}")
    if not 1 <= months <= 240:
        problems.append(f"months={months} must be between 1 and 240")
    if start_date.day != 1:
        problems.append(f"start_date={start_date} must be the first day of a month")
    if seed < 0:
        problems.append(f"seed={seed} must be non-negative")
    if not 0.0 <= defect_rate <= 0.5:
        problems.append(f"defect_rate={defect_rate} must be between 0 and 0.5")
    if problems:
        raise ValueError("invalid generation parameters: " + "; ".join(problems))


def generate_landing(
    out_dir: Path,
    customers: int,
    months: int,
    start_date: dt.date,
    seed: int,
    defect_rate: float,
    progress: Progress | None = None,
) -> GenerationReport:
    """Simulate `customers` (the opening base) over `months` and write the landing contract.

    `progress(stage, done, total)` is called after every simulated month and written table.
    """
    _validate(customers, months, start_date, seed, defect_rate)
    started = time.perf_counter()
    out_dir = Path(out_dir)
    timeline = Timeline(start_date, months)
    report = GenerationReport(out_dir=out_dir, customers=customers, months=months, seed=seed)
    landing = writer.LandingWriter(out_dir, seed, defect_rate, report)
    landing.clear_previous()
    catalogue = Catalogue(timeline)
    kb = KnowledgeBase.draw(global_rng(seed, Stream.CATALOGUE, 1), timeline)
    managers = staff.manager_count(customers)
    regions = staff.manager_regions(managers)
    pop = opening_base(global_rng(seed, Stream.TRAITS), customers, timeline, regions)
    assignments = services.Assignments.empty()
    assignments.append(
        services.bundles(global_rng(seed, Stream.SERVICES), np.arange(pop.size), -1, pop, catalogue)
    )
    log = ChangeLog()
    log.record(
        pop,
        np.arange(pop.size),
        columns.day_to_seconds(pop.signup_day)
        + columns.seconds_in_day(global_rng(seed, Stream.CRM), pop.size, 8, 20),
    )
    campaigns, opportunities = marketing.CampaignLog(), sales.SalesLog()
    offer_log, hazard_log = offers.OfferLog(), churn.HazardLog()
    for month in range(months):
        _simulate_month(
            month,
            seed,
            customers,
            pop,
            assignments,
            catalogue,
            kb,
            log,
            campaigns,
            opportunities,
            offer_log,
            hazard_log,
            regions,
            landing,
        )
        if progress:
            progress("simulate", month + 1, months)
    finals: list[tuple[str, str, Mapping[str, writer.ColumnData]]] = [
        ("crm", "customers", log.table_columns(pop)),
        (
            "crm",
            "account_managers",
            staff.table_columns(global_rng(seed, Stream.CATALOGUE, 2), managers),
        ),
        ("crm", "opportunities", opportunities.table_columns(pop, timeline)),
        ("marketing", "campaigns", campaigns.table_columns(timeline)),
        ("support", "kb_articles", kb.table_columns(timeline)),
        ("provisioning", "services", catalogue.table_columns()),
        ("provisioning", "service_assignments", assignments.table_columns()),
    ]
    for done, (system, name, data) in enumerate(finals, start=1):
        landing.write(system, name, data)
        if progress:
            progress("write", done, len(finals))
    landing.write_manifest()
    customer_ids = columns.ids("C", np.arange(1, pop.size + 1), 7)
    landing.write_truth(offers.MANIFEST_PATH, offer_log.manifest_columns(customer_ids, timeline))
    landing.write_truth(churn.MANIFEST_PATH, hazard_log.manifest_columns(customer_ids, timeline))
    report.seconds = time.perf_counter() - started
    return report


def _simulate_month(
    month: int,
    seed: int,
    customers: int,
    pop: Population,
    assignments: services.Assignments,
    catalogue: Catalogue,
    kb: KnowledgeBase,
    log: ChangeLog,
    campaigns: marketing.CampaignLog,
    opportunities: sales.SalesLog,
    offer_log: offers.OfferLog,
    hazard_log: churn.HazardLog,
    regions: np.ndarray,
    landing: writer.LandingWriter,
) -> None:
    timeline = catalogue.timeline
    label = timeline.label(month)

    def rng(stream: Stream) -> np.random.Generator:
        return month_rng(seed, stream, month)

    first_new = pop.size
    pop.append(monthly_signups(rng(Stream.SIGNUPS), customers, month, timeline, regions))
    ids = columns.ids("C", np.arange(1, pop.size + 1), 7)
    landing.write(
        "marketing",
        "retention_offers",
        offers.month_offers(
            rng(Stream.OFFERS),
            month,
            pop,
            timeline,
            offer_log,
            churn.churn_logit(pop, month, timeline),
            ids,
        ),
        month,
        label,
    )
    outcome = lifecycle.begin_month(
        rng(Stream.LIFECYCLE), month, pop, first_new, log, timeline, regions
    )
    hazard_log.record(month, pop, outcome.churn_logit, outcome.at_risk)
    service_rng = rng(Stream.SERVICES)
    assignments.append(services.bundles(service_rng, outcome.signups, month, pop, catalogue))
    adds = services.monthly_changes(service_rng, month, pop, assignments, catalogue, outcome.stable)
    outages = network.draw_outages(rng(Stream.OUTAGES), pop, timeline.month_days(month))
    outage_hours = network.outage_hours(pop, outages)
    data_mb = np.zeros(assignments.size)
    with landing.file("network", "usage", month, label) as part:
        for k, chunk in enumerate(network.chunks(month, assignments, timeline)):
            usage = network.usage_chunk(
                month_rng(seed, Stream.USAGE, month, k),
                month,
                chunk,
                pop,
                assignments,
                catalogue,
                outages,
                ids,
            )
            data_mb[chunk] = usage.data_mb
            part.write(usage.columns)
    landing.write(
        "billing",
        "invoices",
        billing.month_invoices(
            rng(Stream.INVOICES), month, pop, assignments, catalogue, data_mb, outage_hours, ids
        ),
        month,
        label,
    )
    landing.write(
        "billing",
        "orders",
        billing.month_orders(rng(Stream.ORDERS), month, pop, adds, catalogue, ids),
        month,
        label,
    )
    tickets = support.month_tickets(
        rng(Stream.TICKETS), month, pop, timeline, outage_hours, kb, ids
    )
    landing.write("support", "tickets", tickets.columns, month, label)
    landing.write(
        "support",
        "kb_article_views",
        support.month_views(rng(Stream.KB_VIEWS), month, pop, timeline, tickets, kb, ids),
        month,
        label,
    )
    pop.outage_hours_last = outage_hours
    landing.write(
        "marketing",
        "campaign_targets",
        marketing.month_campaigns(rng(Stream.CAMPAIGNS), month, pop, timeline, campaigns, ids),
        month,
        label,
    )
    recurring = billing.recurring_charges(month, pop, assignments, catalogue)
    sales.month_opportunities(
        rng(Stream.SALES),
        month,
        pop,
        timeline,
        outcome.stable,
        outcome.renewal_decided,
        recurring,
        opportunities,
    )
