"""Speed of the semantic layer, each figure beside a baseline measured in the same run.

- CLI start-up: wall seconds of fresh `custintel --help` and `custintel metrics query`
  processes (median of `cli_repeats`), beside a bare `python -c pass` start, and the CPU
  seconds (user + system) each process used: on a shared machine the wall time grows with
  the load, the CPU time does not.
- View queries on `customer_months` (the engagement view) against hand-written SQL giving the
  same rows: the two alternate `repeats` times on the engine's one connection; medians and
  their ratio.

Run with `custintel metrics bench` on a built warehouse.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from semantic.engine import Engine

MONTHLY = {"dimension": "engagement.month", "granularity": "month"}
_BASE = """
  from marts.customer_monthly_activity as m
  left join marts.customer_360_view as c on c.customer_id = m.customer_id"""
VIEW_CASES: tuple[tuple[str, dict[str, Any], str], ...] = (
    (
        "active customers by segment and month",
        {
            "measures": ["engagement.active_customers"],
            "dimensions": ["engagement.segment"],
            "timeDimensions": [MONTHLY],
        },
        f"""select c.customer_segment, date_trunc('month', m.month_start_date) as month,
               count(*) filter (where m.is_active_30d_at_month_end) as active_customers
        {_BASE} group by all order by month""",
    ),
    (
        "active customers and revenue by segment and month (fan-out)",
        {
            "measures": ["engagement.active_customers", "engagement.revenue"],
            "dimensions": ["engagement.segment"],
            "timeDimensions": [MONTHLY],
        },
        f"""with base as (
          select c.customer_segment as segment, date_trunc('month', m.month_start_date) as month,
                 count(*) filter (where m.is_active_30d_at_month_end) as active_customers
          {_BASE} group by all
        ), revenue as (
          select c.customer_segment as segment, date_trunc('month', m.month_start_date) as month,
                 sum(i.gross_amount - i.credit_amount - i.discount_amount) as revenue
          {_BASE}
          left join warehouse.fact_invoice as i on i.customer_id = m.customer_id
            and i.invoice_date >= m.month_start_date
            and i.invoice_date < m.month_end_reference_date
          group by all
        )
        select * from base join revenue using (segment, month) order by month""",
    ),
)


@dataclass
class Figure:
    name: str
    seconds: float
    baseline_name: str
    baseline_seconds: float
    cpu_seconds: float | None = None

    @property
    def ratio(self) -> float:
        return self.seconds / self.baseline_seconds


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _wall(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one fresh process."""
    cpu = _cpu_of_children()
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    return time.perf_counter() - started, _cpu_of_children() - cpu


def cli_figures(config: Path | None, repeats: int = 5) -> list[Figure]:
    """Fresh-process wall times of the CLI beside a bare interpreter start."""
    script = str(Path(sys.executable).with_name("custintel"))
    env = dict(os.environ)
    configured = [script, "--config", str(config)] if config is not None else [script]
    commands = {
        "custintel --help": [script, "--help"],
        "custintel metrics query": [
            *configured,
            "metrics",
            "query",
            "-m",
            "engagement.active_customers",
            "-d",
            "engagement.segment",
            "--role",
            "analyst",
            "--format",
            "csv",
        ],
    }
    bare = [sys.executable, "-c", "pass"]
    times: dict[str, list[tuple[float, float]]] = {
        name: [] for name in [*commands, "python -c pass"]
    }
    for _ in range(repeats):
        times["python -c pass"].append(_wall(bare, env))
        for name, command in commands.items():
            times[name].append(_wall(command, env))
    baseline = statistics.median(wall for wall, _cpu in times["python -c pass"])
    return [
        Figure(
            name,
            statistics.median(wall for wall, _cpu in times[name]),
            "python -c pass",
            baseline,
            statistics.median(cpu for _wall, cpu in times[name]),
        )
        for name in commands
    ]


def view_figures(engine: Engine, repeats: int = 20) -> list[Figure]:
    """Engine query vs hand SQL, alternating, medians of `repeats` runs each."""
    figures = []
    for name, query, hand_sql in VIEW_CASES:
        engine.load(query, role="executive")  # compile once (cached), warm the file
        semantic, hand = [], []
        for _ in range(repeats):
            started = time.perf_counter()
            engine.load(query, role="executive")
            semantic.append(time.perf_counter() - started)
            with engine.connection() as con:
                started = time.perf_counter()
                con.execute(hand_sql).df()
                hand.append(time.perf_counter() - started)
        figures.append(
            Figure(name, statistics.median(semantic), "hand SQL", statistics.median(hand))
        )
    return figures
