"""Referential integrity: the foreign keys of every landing table and the orphan rule.

A row whose reference has no valid target (an invoice whose customer_id has no valid CRM row)
is rejected with 'orphan_key:<landing column>'. This needs the target dimension, so it is
decided after staging: dims and facts keep only `@is_loadable(<table>)` rows and the quarantine
models add `@orphan_reason(<table>)` to the staging reason, both from the one map below.
"""

from __future__ import annotations

from sqlglot import exp
from sqlmesh import macro
from sqlmesh.core.macros import MacroEvaluator

#: landing table -> (staging column, landing column, target model, target column) per reference
FOREIGN_KEYS: dict[str, tuple[tuple[str, str, str, str], ...]] = {
    "crm__account_managers": (),
    "crm__customers": (
        (
            "account_manager_id",
            "account_manager_id",
            "warehouse.dim_account_manager",
            "account_manager_id",
        ),
    ),
    "crm__opportunities": (
        ("customer_id", "customer_id", "warehouse.dim_customer", "customer_id"),
        ("account_manager_id", "owner_id", "warehouse.dim_account_manager", "account_manager_id"),
    ),
    "marketing__campaigns": (),
    "marketing__campaign_targets": (
        ("campaign_id", "campaign_id", "warehouse.dim_campaign", "campaign_id"),
        ("customer_id", "customer_id", "warehouse.dim_customer", "customer_id"),
    ),
    "marketing__retention_offers": (
        ("customer_id", "customer_id", "warehouse.dim_customer", "customer_id"),
    ),
    "support__tickets": (
        ("customer_id", "customer_id", "warehouse.dim_customer", "customer_id"),
        ("kb_article_id", "kb_article_id", "warehouse.dim_kb_article", "kb_article_id"),
    ),
    "support__kb_articles": (),
    "support__kb_article_views": (
        ("kb_article_id", "kb_article_id", "warehouse.dim_kb_article", "kb_article_id"),
        ("customer_id", "customer_id", "warehouse.dim_customer", "customer_id"),
    ),
    "provisioning__services": (),
    "provisioning__service_assignments": (
        ("customer_id", "customer_id", "warehouse.dim_customer", "customer_id"),
        ("service_id", "service_id", "warehouse.dim_service", "service_id"),
    ),
    "billing__invoices": (("customer_id", "customer_id", "warehouse.dim_customer", "customer_id"),),
    "billing__orders": (("customer_id", "customer_id", "warehouse.dim_customer", "customer_id"),),
    "network__usage": (
        ("customer_id", "customer_id", "warehouse.dim_customer", "customer_id"),
        ("service_id", "service_id", "warehouse.dim_service", "service_id"),
    ),
}


def _table_name(table: exp.Expression) -> str:
    return table.name if not isinstance(table, exp.Literal) else table.this


def _foreign_keys(table: exp.Expression) -> tuple[tuple[str, str, str, str], ...]:
    name = _table_name(table)
    if name not in FOREIGN_KEYS:
        raise ValueError(f"no foreign keys declared for landing table {name!r}")
    return FOREIGN_KEYS[name]


def _orphan_case(table: exp.Expression) -> str:
    """A correlated `not exists` on the key's equality rather than `not in (select ...)`: inside
    a CASE, Spark plans a `not in` as a null-aware existence join, a broadcast nested loop over
    every staged row and every target row (hours for the usage rows); `not exists` on an
    equality is a hash join on both engines. The two agree because a target key is never null
    (the dimensions' not_null audits). The staged column is qualified with the staging table,
    which every caller reads unaliased (`from staging.stg_<table>`)."""
    staged = f"stg_{_table_name(table)}"
    whens = [
        f"when {staged}.{column} is not null and not exists (select 1 from {target} as "
        f"orphan_target where orphan_target.{target_column} = {staged}.{column}) "
        f"then 'orphan_key:{landing_column}'"
        for column, landing_column, target, target_column in _foreign_keys(table)
    ]
    return f"case {' '.join(whens)} end" if whens else "cast(null as varchar)"


@macro()
def orphan_reason(evaluator: MacroEvaluator, table: exp.Expression) -> exp.Expression:
    """'orphan_key:<c>' for the first reference of a staged row with no valid target, else null."""
    return evaluator.parse_one(_orphan_case(table))


@macro()
def is_loadable(evaluator: MacroEvaluator, table: exp.Expression) -> exp.Expression:
    """True for a staged row with no rejection reason and no orphan reference."""
    return evaluator.parse_one(f"rejection_reason is null and ({_orphan_case(table)}) is null")
