"""Planted data-quality defects and standardisable variants, with a manifest of where they are.

`defect_rate` is the share of a file's rows that carry a defect; as many rows again carry a
case/whitespace variant of a categorical value (loaded after standardisation, not a defect).
Each row carries at most one of either. Kinds and reasons are documented in README.md.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from custintel.core.landing import Table
from custintel.generate import misspellings
from custintel.generate.timeline import SECONDS_PER_DAY, day_number

VARIANT = "standardisable_variant"
FUTURE_YEAR = 2099
#: identifiers that never exist: (prefix, random digits)
ORPHAN_IDS = {
    "customer_id": ("C9", 6),
    "service_id": ("S9", 2),
    "campaign_id": ("CMP-000000-", 2),
    "kb_article_id": ("KB9", 3),
    "account_manager_id": ("AM9", 3),
}
MANIFEST_SCHEMA = pa.schema(
    [
        ("system", pa.string()),
        ("table", pa.string()),
        ("source_file", pa.string()),
        ("source_row_number", pa.int64()),
        ("defect_kind", pa.string()),
        ("expected_reason", pa.string()),
    ]
)


@dataclass(frozen=True)
class DefectPlan:
    """Which defects a table can carry (column names per kind)."""

    missing_key: tuple[str, ...] = ()
    invalid_value: tuple[str, ...] = ()
    orphan_key: tuple[str, ...] = ()
    negative_amount: tuple[str, ...] = ()
    future_date: tuple[str, ...] = ()
    malformed_email: tuple[str, ...] = ()
    duplicate_row: bool = True
    #: plant defects on inserted copies of rows (a change log keeps every real version)
    extra_rows: bool = False
    #: timestamp moved 1-59 s later on inserted copies, so they are new versions
    shift_column: str | None = None

    def kinds(self) -> list[tuple[str, tuple[str, ...]]]:
        kinds = [
            (kind, getattr(self, kind))
            for kind in (
                "missing_key",
                "invalid_value",
                "orphan_key",
                "negative_amount",
                "future_date",
                "malformed_email",
            )
        ]
        result = [(kind, cols) for kind, cols in kinds if cols]
        if self.duplicate_row:
            result.append(("duplicate_row", ()))
        return result


_REFERENCE = DefectPlan()
PLANS: dict[tuple[str, str], DefectPlan] = {
    ("crm", "account_managers"): _REFERENCE,
    ("crm", "customers"): DefectPlan(
        missing_key=("customer_id",),
        invalid_value=("customer_segment", "customer_tier", "status", "region"),
        orphan_key=("account_manager_id",),
        future_date=("updated_at",),
        malformed_email=("email",),
        extra_rows=True,
        shift_column="updated_at",
    ),
    ("crm", "opportunities"): DefectPlan(
        missing_key=("customer_id",),
        invalid_value=("stage", "opportunity_type"),
        orphan_key=("customer_id",),
        negative_amount=("amount",),
        future_date=("created_date",),
    ),
    ("marketing", "campaigns"): _REFERENCE,
    ("marketing", "campaign_targets"): DefectPlan(
        missing_key=("campaign_id", "customer_id"),
        invalid_value=("response_type",),
        orphan_key=("campaign_id", "customer_id"),
        negative_amount=("attributed_revenue_amount",),
        future_date=("targeted_at",),
    ),
    ("marketing", "retention_offers"): DefectPlan(
        missing_key=("customer_id",),
        invalid_value=("offer_type",),
        orphan_key=("customer_id",),
        future_date=("offer_date",),
    ),
    ("support", "tickets"): DefectPlan(
        missing_key=("customer_id",),
        invalid_value=("priority", "status", "channel_of_contact", "category"),
        orphan_key=("customer_id",),
        future_date=("created_at",),
    ),
    ("support", "kb_articles"): _REFERENCE,
    ("support", "kb_article_views"): DefectPlan(
        missing_key=("kb_article_id", "customer_id"),
        orphan_key=("kb_article_id", "customer_id"),
        future_date=("viewed_at",),
    ),
    ("provisioning", "services"): _REFERENCE,
    ("provisioning", "service_assignments"): DefectPlan(
        missing_key=("customer_id", "service_id"),
        orphan_key=("customer_id", "service_id"),
        negative_amount=("monthly_charge_amount",),
        future_date=("start_date",),
    ),
    ("billing", "invoices"): DefectPlan(
        missing_key=("customer_id",),
        invalid_value=("payment_status",),
        orphan_key=("customer_id",),
        negative_amount=("gross_amount", "credit_amount", "discount_amount"),
        future_date=("invoice_date",),
    ),
    ("billing", "orders"): DefectPlan(
        missing_key=("customer_id",),
        invalid_value=("order_type", "order_status"),
        orphan_key=("customer_id",),
        negative_amount=("gross_amount", "discount_amount"),
        future_date=("ordered_at",),
    ),
    ("network", "usage"): DefectPlan(
        missing_key=("customer_id", "service_id"),
        orphan_key=("customer_id", "service_id"),
        future_date=("usage_date",),
    ),
}


@dataclass(frozen=True)
class _Edit:
    kind: str
    column: str | None
    rows: np.ndarray  # source row indices in the clean table
    copy: bool  # planted on an inserted copy of the row


def reason(kind: str, column: str | None) -> str | None:
    if kind == VARIANT:
        return None
    return kind if column is None else f"{kind}:{column}"


def plant(
    data: pa.Table, table: Table, rate: float, rng: np.random.Generator, source_file: str
) -> tuple[pa.Table, pa.Table]:
    """Plant defects and variants in one file's rows; returns (rows, manifest rows)."""
    plan = PLANS[(table.system, table.name)]
    n = data.num_rows
    used = np.zeros(n, dtype=bool)
    order = rng.permutation(n)
    edits: list[_Edit] = []
    defect_count = int(round(rate * n))
    kinds = plan.kinds()
    quotas = rng.multinomial(defect_count, [1 / len(kinds)] * len(kinds))
    for (kind, cols), quota in zip(kinds, quotas, strict=True):
        for col, q in _split(rng, quota, cols):
            rows = _take_rows(order, used, _eligible(data, kind, col), q)
            edits.append(_Edit(kind, col, rows, copy=plan.extra_rows or kind == "duplicate_row"))
    categorical = tuple(c.name for c in table.columns if c.allowed)
    for col, q in _split(rng, int(round(rate * n)), categorical) if categorical else []:
        rows = _take_rows(order, used, _eligible(data, VARIANT, col), q)
        edits.append(_Edit(VARIANT, col, rows, copy=False))
    return _apply(data, table, edits, plan, rng, source_file)


def _split(
    rng: np.random.Generator, quota: int, cols: tuple[str, ...]
) -> list[tuple[str | None, int]]:
    if not cols:
        return [(None, quota)]
    return list(zip(cols, rng.multinomial(quota, [1 / len(cols)] * len(cols)), strict=True))


def _eligible(data: pa.Table, kind: str, column: str | None) -> np.ndarray:
    if column is None or kind in ("missing_key", "future_date", "negative_amount"):
        return np.ones(data.num_rows, dtype=bool)
    return pc.is_valid(data.column(column)).to_numpy(zero_copy_only=False)


def _take_rows(order: np.ndarray, used: np.ndarray, eligible: np.ndarray, quota: int) -> np.ndarray:
    candidates = order[eligible[order] & ~used[order]][:quota]
    used[candidates] = True
    return np.sort(candidates)


def _apply(
    data: pa.Table,
    table: Table,
    edits: list[_Edit],
    plan: DefectPlan,
    rng: np.random.Generator,
    source_file: str,
) -> tuple[pa.Table, pa.Table]:
    n = data.num_rows
    copies = [e for e in edits if e.copy]
    sources = np.concatenate([e.rows for e in copies]) if copies else np.zeros(0, np.int64)
    extended = pa.concat_tables([data, data.take(pa.array(sources, pa.int64()))])
    targets: list[np.ndarray] = []
    offset = n
    for edit in edits:
        if edit.copy:
            targets.append(offset + np.arange(len(edit.rows)))
            offset += len(edit.rows)
        else:
            targets.append(edit.rows)
    changes: dict[str, list[tuple[np.ndarray, pa.Array]]] = {}
    for edit, rows in zip(edits, targets, strict=True):
        if edit.kind == "duplicate_row" or len(rows) == 0:
            continue
        assert edit.column is not None, f"a {edit.kind} edit names its column"
        column = extended.column(edit.column).combine_chunks()
        original = column.take(pa.array(rows))
        changes.setdefault(edit.column, []).append(
            (rows, _replacement(edit.kind, edit.column, original, table, rng))
        )
        if edit.copy and plan.shift_column and edit.kind != "future_date":
            shifted = extended.column(plan.shift_column).combine_chunks().take(pa.array(rows))
            seconds = pa.array(rng.integers(1, 60, len(rows)) * 1_000_000, pa.int64())
            later = pc.add(shifted.cast(pa.int64()), seconds).cast(shifted.type)
            changes.setdefault(plan.shift_column, []).append((rows, later))
    for name, parts in changes.items():
        rows = np.concatenate([p[0] for p in parts])
        values = pa.concat_arrays([p[1] for p in parts])
        sort = np.argsort(rows, kind="stable")
        mask = np.zeros(extended.num_rows, dtype=bool)
        mask[rows] = True
        column = extended.column(name).combine_chunks()
        replaced = pc.replace_with_mask(column, pa.array(mask), values.take(pa.array(sort)))
        extended = extended.set_column(extended.schema.get_field_index(name), name, replaced)
    keys = np.concatenate([2 * np.arange(n), 2 * sources + 1])
    final_order = np.argsort(keys, kind="stable")
    position = np.empty(len(keys), dtype=np.int64)
    position[final_order] = np.arange(len(keys))
    manifest = _manifest(edits, targets, position, table, source_file)
    return extended.take(pa.array(final_order)), manifest


def _manifest(
    edits: list[_Edit],
    targets: list[np.ndarray],
    position: np.ndarray,
    table: Table,
    source_file: str,
) -> pa.Table:
    rows = np.concatenate([position[t] + 1 for t in targets]) if targets else np.zeros(0)
    kinds = [e.kind for e, t in zip(edits, targets, strict=True) for _ in range(len(t))]
    reasons = [
        reason(e.kind, e.column) for e, t in zip(edits, targets, strict=True) for _ in range(len(t))
    ]
    n = len(kinds)
    result = pa.table(
        {
            "system": pa.array([table.system] * n, pa.string()),
            "table": pa.array([table.name] * n, pa.string()),
            "source_file": pa.array([source_file] * n, pa.string()),
            "source_row_number": pa.array(rows, pa.int64()),
            "defect_kind": pa.array(kinds, pa.string()),
            "expected_reason": pa.array(reasons, pa.string()),
        },
        schema=MANIFEST_SCHEMA,
    )
    return result.sort_by("source_row_number")


def _replacement(
    kind: str, column: str, original: pa.Array, table: Table, rng: np.random.Generator
) -> pa.Array:
    n = len(original)
    if kind == "missing_key":
        return pa.nulls(n, original.type)
    if kind == VARIANT:
        return misspellings.variants(rng, original)
    if kind == "invalid_value":
        return misspellings.misspelt(original, table.column(column).allowed)
    if kind == "orphan_key":
        prefix, digits = ORPHAN_IDS[column]
        numbers = pc.cast(pa.array(rng.integers(0, 10**digits, n)), pa.string())
        return pc.binary_join_element_wise(
            prefix, pc.utf8_lpad(numbers, width=digits, padding="0"), ""
        )
    if kind == "negative_amount":
        values = original.to_numpy(zero_copy_only=False)
        return pa.array(np.where(values > 0, -values, -np.round(rng.uniform(1, 500, n), 2)))
    if kind == "future_date":
        return _future(rng, n, original.type)
    if kind == "malformed_email":
        return _malformed_emails(rng, original)
    raise ValueError(f"unknown defect kind {kind!r}")


def _future(rng: np.random.Generator, n: int, arrow_type: pa.DataType) -> pa.Array:
    days = day_number(dt.date(FUTURE_YEAR, 1, 1)) + rng.integers(0, 365, n)
    if pa.types.is_date32(arrow_type):
        return pa.array(days.astype(np.int32), pa.int32()).view(pa.date32())
    seconds = days * SECONDS_PER_DAY + rng.integers(0, SECONDS_PER_DAY, n)
    return pa.array(seconds * 1_000_000, pa.int64()).view(pa.timestamp("us"))


def _malformed_emails(rng: np.random.Generator, emails: pa.Array) -> pa.Array:
    """'john.doe@', 'john.doe.example.com', 'john.doe@@example.com', 'john.doe @example.com'."""
    forms = [
        pc.replace_substring_regex(emails, "@.*$", "@"),
        pc.replace_substring(emails, "@", "."),
        pc.replace_substring(emails, "@", "@@"),
        pc.replace_substring(emails, "@", " @"),
    ]
    pick = pa.array(rng.integers(0, len(forms), len(emails)), pa.int8())
    return pc.choose(pick, *forms)
