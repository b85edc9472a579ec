"""A small hand-built landing schema for the SQLMesh tests, with one planted defect per reason.

`landing_rows(months)` returns the rows of every contract table (as landed: raw spellings,
defects included) and `planted_rejections(months)` the reason each defective row must get,
keyed by (table, 1-based row number). Both are written by hand here, independently of the SQL.
History starts 2024-01-01 (the project's sqlmesh.start); `months` = 2 lands January and
February 2024, `months` = 3 adds March (the "new month").
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from custintel.app import transform
from custintel.app.transform import ApplySummary
from custintel.core.landing import load_contract
from custintel.core.settings import Settings, load_settings
from tests.conftest import write_config

START = dt.date(2024, 1, 1)


def _day(offset: int) -> dt.date:
    return START + dt.timedelta(days=offset)


def _ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _month_starts(months: int) -> list[dt.date]:
    return [dt.date(2024, month, 1) for month in range(1, months + 1)]


def last_date(months: int) -> dt.date:
    """The last day of landed event data (the build's as-of date)."""
    return dt.date(2024, months + 1, 1) - dt.timedelta(days=1)


def _account_managers() -> list[dict]:
    return [
        {
            "account_manager_id": "AM01",
            "full_name": "Ada North",
            "email": "ada@novacom.example",
            "region": "North",
        },
        {
            "account_manager_id": "AM02",
            "full_name": " Bob South ",
            "email": "Bob@Novacom.example",
            "region": "south ",
        },
        # 3: malformed email
        {
            "account_manager_id": "AM03",
            "full_name": "Cy East",
            "email": "cy-at-novacom",
            "region": "East",
        },
        # 4: exact copy of row 1
        {
            "account_manager_id": "AM01",
            "full_name": "Ada North",
            "email": "ada@novacom.example",
            "region": "North",
        },
    ]


def _customer(customer_id: str | None, updated_at: str, **values: object) -> dict:
    row = {
        "customer_id": customer_id,
        "customer_name": f"Customer {customer_id}",
        "email": f"{(customer_id or 'x').lower()}@mail.example",
        "phone": "+44 20 0000 0000",
        "customer_segment": "Residential",
        "customer_tier": "Bronze",
        "status": "Active",
        "city": "Leeds",
        "state": "YK",
        "country": "GB",
        "region": "North",
        "account_manager_id": None,
        "signup_date": dt.date(2023, 6, 1),
        "contract_end_date": None,
        "has_marketing_consent": True,
        "updated_at": _ts(updated_at),
    }
    row.update(values)
    return row


def _customers() -> list[dict]:
    return [
        # C001's tier changed twice: Bronze -> Silver -> Gold (spelling variants standardised)
        _customer("C001", "2024-01-01 08:00:00", customer_segment="residential "),
        _customer("C001", "2024-01-15 09:00:00", customer_tier="silver"),
        _customer("C001", "2024-02-10 10:00:00", customer_tier="GOLD"),
        _customer(
            "C002",
            "2024-01-01 08:00:00",
            customer_segment="smb",
            customer_tier="PLATINUM",
            account_manager_id="AM01",
        ),
        _customer(
            "C003",
            "2024-01-01 08:00:00",
            customer_segment="Enterprise",
            customer_tier="Gold",
            account_manager_id="AM02",
            region="South",
        ),
        # 6: owned by an account manager that does not exist
        _customer(
            "C004", "2024-01-01 08:00:00", customer_segment="Government", account_manager_id="AM99"
        ),
        # 7: a segment outside the contract
        _customer("C005", "2024-01-01 08:00:00", customer_segment="Consumer"),
        # 8: no customer id
        _customer(None, "2024-01-01 08:00:00"),
        # 9: malformed email
        _customer("C007", "2024-01-01 08:00:00", email="not-an-email"),
        # 10: a version stamped far in the future
        _customer("C008", "2099-01-01 00:00:00"),
        # 11: exact copy of row 4
        _customer(
            "C002",
            "2024-01-01 08:00:00",
            customer_segment="smb",
            customer_tier="PLATINUM",
            account_manager_id="AM01",
        ),
        # 12: same key as row 5 (C003 at the same updated_at) with other values
        _customer(
            "C003",
            "2024-01-01 08:00:00",
            customer_segment="Enterprise",
            customer_tier="Gold",
            account_manager_id="AM02",
            region="South",
            city="York",
        ),
    ]


def _opportunities() -> list[dict]:
    base = {
        "owner_id": "AM01",
        "opportunity_type": "Upsell",
        "stage": "Proposal",
        "probability_of_close": 0.4,
        "created_date": _day(10),
        "close_date": _day(70),
    }
    return [
        {
            **base,
            "opportunity_id": "O1",
            "customer_id": "C002",
            "opportunity_name": "Fibre",
            "amount": 1200.0,
            "stage": "closed won",
        },
        # 2: negative amount
        {
            **base,
            "opportunity_id": "O2",
            "customer_id": "C003",
            "opportunity_name": "TV",
            "amount": -5.0,
        },
        # 3: customer unknown to the CRM
        {
            **base,
            "opportunity_id": "O3",
            "customer_id": "C404",
            "opportunity_name": "Mobile",
            "amount": 300.0,
        },
    ]


def _campaigns() -> list[dict]:
    return [
        {
            "campaign_id": "K1",
            "campaign_name": "Winter",
            "campaign_type": "Email",
            "objective": "Retention",
            "target_audience": "All",
            "budget_amount": 1000.0,
            "start_date": _day(0),
            "end_date": _day(30),
        },
        {
            "campaign_id": "K2",
            "campaign_name": "Spring",
            "campaign_type": "email",
            "objective": "win back",
            "target_audience": "SMB",
            "budget_amount": 500.0,
            "start_date": _day(31),
            "end_date": _day(59),
        },
    ]


def _retention_offers() -> list[dict]:
    def offer(
        offer_id: str, customer: str | None, day: str, offer_type: str, treated: bool
    ) -> dict:
        return {
            "offer_id": offer_id,
            "customer_id": customer,
            "offer_date": dt.date.fromisoformat(day),
            "offer_type": offer_type,
            "is_treatment": treated,
        }

    return [
        offer("O1", "C001", "2024-01-01", " loyalty discount", True),
        offer("O2", "C002", "2024-02-01", "Loyalty Discount", False),
        # 3: an offer type outside the contract
        offer("O3", "C003", "2024-02-01", "Cashback", True),
        # 4: a customer that does not exist
        offer("O4", "C999", "2024-02-01", "Free Upgrade", False),
        # 5: no customer id
        offer("O5", None, "2024-02-01", "Service Credit", True),
    ]


def _campaign_targets() -> list[dict]:
    return [
        {
            "campaign_target_id": "T1",
            "campaign_id": "K1",
            "customer_id": "C001",
            "targeted_at": _ts("2024-01-05 10:00:00"),
            "responded_at": None,
            "response_type": None,
            "attributed_revenue_amount": 0.0,
        },
        {
            "campaign_target_id": "T2",
            "campaign_id": "K2",
            "customer_id": "C002",
            "targeted_at": _ts("2024-02-03 10:00:00"),
            "responded_at": _ts("2024-02-04 12:00:00"),
            "response_type": "converted",
            "attributed_revenue_amount": 80.0,
        },
        # 3: campaign unknown
        {
            "campaign_target_id": "T3",
            "campaign_id": "K9",
            "customer_id": "C001",
            "targeted_at": _ts("2024-02-05 10:00:00"),
            "responded_at": None,
            "response_type": None,
            "attributed_revenue_amount": 0.0,
        },
    ]


def _tickets() -> list[dict]:
    base = {
        "priority": "High",
        "status": "Resolved",
        "channel_of_contact": "Phone",
        "category": "Technical",
        "is_escalated": False,
        "is_first_contact_resolution": True,
        "satisfaction_score": 4,
        "kb_article_id": "A1",
    }
    return [
        {
            **base,
            "ticket_id": "S1",
            "customer_id": "C001",
            "created_at": _ts("2024-01-10 09:00:00"),
            "resolved_at": _ts("2024-01-10 15:30:00"),
        },
        {
            **base,
            "ticket_id": "S2",
            "customer_id": "C002",
            "status": "in progress",
            "created_at": _ts("2024-02-20 09:00:00"),
            "resolved_at": None,
            "satisfaction_score": None,
            "kb_article_id": None,
        },
        # 3: opened before the warehouse's history starts
        {
            **base,
            "ticket_id": "S3",
            "customer_id": "C003",
            "created_at": _ts("2023-12-01 09:00:00"),
            "resolved_at": _ts("2023-12-02 09:00:00"),
        },
    ]


def _kb_articles() -> list[dict]:
    base = {
        "category": "Technical",
        "version_number": 1,
        "article_author": "Dee",
        "published_at": _ts("2023-11-01 00:00:00"),
        "updated_at": _ts("2023-12-01 00:00:00"),
    }
    return [
        {**base, "kb_article_id": "A1", "title": "Reset your router"},
        {**base, "kb_article_id": "A2", "title": "Read your bill", "category": "billing"},
        # 3: no title
        {**base, "kb_article_id": "A3", "title": None},
    ]


def _kb_article_views() -> list[dict]:
    return [
        {
            "kb_article_view_id": "V1",
            "kb_article_id": "A1",
            "customer_id": "C001",
            "viewed_at": _ts("2024-01-12 20:00:00"),
        },
        {
            "kb_article_view_id": "V2",
            "kb_article_id": "A2",
            "customer_id": "C003",
            "viewed_at": _ts("2024-02-12 20:00:00"),
        },
        # 3: article unknown
        {
            "kb_article_view_id": "V3",
            "kb_article_id": "A9",
            "customer_id": "C003",
            "viewed_at": _ts("2024-02-13 20:00:00"),
        },
    ]


def _services() -> list[dict]:
    return [
        {
            "service_id": "SV1",
            "service_name": "Fibre 500",
            "service_type": "Internet",
            "monthly_cost_amount": 40.0,
            "is_active": True,
            "launched_date": dt.date(2020, 1, 1),
        },
        {
            "service_id": "SV2",
            "service_name": "Mobile 10GB",
            "service_type": "mobile",
            "monthly_cost_amount": 15.0,
            "is_active": True,
            "launched_date": dt.date(2021, 1, 1),
        },
    ]


def _service_assignments() -> list[dict]:
    return [
        {
            "service_assignment_id": "SA1",
            "customer_id": "C001",
            "service_id": "SV1",
            "start_date": dt.date(2023, 6, 1),
            "end_date": None,
            "monthly_charge_amount": 40.0,
        },
        {
            "service_assignment_id": "SA2",
            "customer_id": "C002",
            "service_id": "SV2",
            "start_date": dt.date(2023, 6, 1),
            "end_date": dt.date(2024, 1, 31),
            "monthly_charge_amount": 12.5,
        },
        # 3: customer C004 has no valid CRM row (its only version is quarantined)
        {
            "service_assignment_id": "SA3",
            "customer_id": "C004",
            "service_id": "SV1",
            "start_date": dt.date(2023, 6, 1),
            "end_date": None,
            "monthly_charge_amount": 40.0,
        },
    ]


def _invoices(months: int) -> list[dict]:
    rows = []
    for month_start in _month_starts(months):
        for customer_id, gross in (("C001", 50.0), ("C002", 120.0)):
            rows.append(
                {
                    "invoice_id": f"I-{customer_id}-{month_start:%Y%m}",
                    "customer_id": customer_id,
                    "invoice_date": month_start,
                    "billing_period_start_date": month_start,
                    "billing_period_end_date": (month_start + dt.timedelta(days=32)).replace(day=1)
                    - dt.timedelta(days=1),
                    "gross_amount": gross,
                    "credit_amount": 5.0,
                    "discount_amount": 10.0,
                    "discount_end_date": dt.date(2024, 12, 31),
                    "payment_status": "paid",
                }
            )
    rows += [
        # n+1: negative credit
        {**rows[0], "invoice_id": "I-BAD-CREDIT", "credit_amount": -1.0},
        # n+2: customer C005 has no valid CRM row
        {**rows[0], "invoice_id": "I-C005", "customer_id": "C005"},
        # n+3: an infinite gross amount (pandas would land a NaN as null)
        {**rows[0], "invoice_id": "I-INF", "gross_amount": float("inf")},
    ]
    return rows


def _orders(months: int) -> list[dict]:
    base = {
        "order_type": "Device",
        "product_name": "Router X",
        "quantity": 1,
        "order_status": "Completed",
    }
    rows = [
        {
            **base,
            "order_id": f"OR{month:02d}",
            "customer_id": "C001",
            "ordered_at": _ts(f"2024-{month:02d}-20 14:00:00"),
            "gross_amount": 100.0,
            "discount_amount": 25.0 if month == 2 else 0.0,
        }
        for month in range(1, months + 1)
    ]
    # n+1: an order placed far in the future
    rows.append(
        {
            **base,
            "order_id": "OR-FUTURE",
            "customer_id": "C002",
            "ordered_at": _ts("2099-01-01 00:00:00"),
            "gross_amount": 10.0,
            "discount_amount": 0.0,
        }
    )
    return rows


def _usage(months: int) -> list[dict]:
    rows = []
    for offset in range((last_date(months) - START).days + 1):
        for customer_id, service_id in (("C001", "SV1"), ("C002", "SV2")):
            rows.append(
                {
                    "customer_id": customer_id,
                    "service_id": service_id,
                    "usage_date": _day(offset),
                    "data_volume_mb": 100.0 + offset,
                    "voice_minutes": 10.0,
                    "session_count": 3,
                    "outage_minutes": 5.0 if offset % 10 == 0 else 0.0,
                }
            )
    rows += [
        # n+1: negative data volume (customer C003 has no usage otherwise)
        {**rows[0], "customer_id": "C003", "data_volume_mb": -1.0},
        # n+2: exact copy of row 1
        dict(rows[0]),
        # n+3: service unknown
        {**rows[0], "service_id": "SV9"},
    ]
    return rows


def landing_rows(months: int = 2) -> dict[str, list[dict]]:
    """The landed rows of every contract table, in file order."""
    return {
        "crm__account_managers": _account_managers(),
        "crm__customers": _customers(),
        "crm__opportunities": _opportunities(),
        "marketing__campaigns": _campaigns(),
        "marketing__campaign_targets": _campaign_targets(),
        "marketing__retention_offers": _retention_offers(),
        "support__tickets": _tickets(),
        "support__kb_articles": _kb_articles(),
        "support__kb_article_views": _kb_article_views(),
        "provisioning__services": _services(),
        "provisioning__service_assignments": _service_assignments(),
        "billing__invoices": _invoices(months),
        "billing__orders": _orders(months),
        "network__usage": _usage(months),
    }


def planted_rejections(months: int = 2) -> dict[tuple[str, int], str]:
    """(table, row number) -> the rejection reason that row must be quarantined with."""
    invoices = 2 * months
    usage = 2 * ((last_date(months) - START).days + 1)
    return {
        ("crm__account_managers", 3): "malformed_email:email",
        ("crm__account_managers", 4): "duplicate_row",
        ("crm__customers", 6): "orphan_key:account_manager_id",
        ("crm__customers", 7): "invalid_value:customer_segment",
        ("crm__customers", 8): "missing_key:customer_id",
        ("crm__customers", 9): "malformed_email:email",
        ("crm__customers", 10): "future_date:updated_at",
        ("crm__customers", 11): "duplicate_row",
        ("crm__customers", 12): "duplicate_key:customer_id,updated_at",
        ("crm__opportunities", 2): "negative_amount:amount",
        ("crm__opportunities", 3): "orphan_key:customer_id",
        ("marketing__campaign_targets", 3): "orphan_key:campaign_id",
        ("marketing__retention_offers", 3): "invalid_value:offer_type",
        ("marketing__retention_offers", 4): "orphan_key:customer_id",
        ("marketing__retention_offers", 5): "missing_key:customer_id",
        ("support__tickets", 3): "before_start:created_at",
        ("support__kb_articles", 3): "missing_value:title",
        ("support__kb_article_views", 3): "orphan_key:kb_article_id",
        ("provisioning__service_assignments", 3): "orphan_key:customer_id",
        ("billing__invoices", invoices + 1): "negative_amount:credit_amount",
        ("billing__invoices", invoices + 2): "orphan_key:customer_id",
        ("billing__invoices", invoices + 3): "non_finite:gross_amount",
        ("billing__orders", months + 1): "future_date:ordered_at",
        ("network__usage", usage + 1): "negative_amount:data_volume_mb",
        ("network__usage", usage + 2): "duplicate_row",
        ("network__usage", usage + 3): "orphan_key:service_id",
    }


def source_file(table: str) -> str:
    system, name = table.split("__")
    return f"{system}/{name}.parquet"


def write_landing(warehouse_path: Path, months: int = 2) -> dict[str, list[dict]]:
    """(Re)create every `landing.<system>__<table>` as the loader would; return the rows."""
    contract = load_contract()
    rows_by_table = landing_rows(months)
    warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(warehouse_path)) as con:
        con.execute("create schema if not exists landing")
        for table in contract.tables:
            name = table.qualified_name
            frame = pd.DataFrame(rows_by_table[name], columns=table.column_names)
            frame["_source_file"] = source_file(name)
            frame["_source_row_number"] = range(1, len(frame) + 1)
            casts = ", ".join(
                f'cast("{c.name}" as {c.duckdb_type}) as "{c.name}"' for c in table.columns
            )
            con.register("fixture_rows", frame)
            con.execute(
                f"create or replace table landing.{name} as select {casts}, "
                "cast(_source_file as varchar) as _source_file, "
                "cast(_source_row_number as bigint) as _source_row_number from fixture_rows"
            )
            con.unregister("fixture_rows")
    return rows_by_table


# --- builds shared by the SQLMesh test modules -------------------------------------------------

REASON_CODES = {
    "duplicate_row",
    "missing_key",
    "missing_value",
    "non_finite",
    "invalid_value",
    "negative_amount",
    "malformed_email",
    "future_date",
    "before_start",
    "duplicate_key",
    "orphan_key",
}


@dataclass
class Build:
    """A prod warehouse built by SQLMesh from the fixture landing data (two months)."""

    root: Path
    settings: Settings
    rows: dict[str, list[dict]]
    first_apply: ApplySummary
    second_apply: ApplySummary


_BUILDS: dict[str, Build] = {}

PROJECT = Path(__file__).resolve().parent.parent / "sqlmesh"
#: the layers under test here: config, landing declarations, staging, dims/facts, quarantine
#: (marts, their macros and audits are built on top by their own tests)
CORE_FILES = (
    "config.py",
    "external_models/landing.yaml",
    "macros/contract.py",
    "macros/rules.py",
    "macros/references.py",
    "macros/partitions.py",
    "audits/assert_foreign_key.sql",
    "audits/assert_non_negative.sql",
    "audits/assert_scd2_history.sql",
    "audits/assert_rejection_reasons.sql",
    "models/staging/*.sql",
    "models/warehouse/*.sql",
    "models/quarantine/*.sql",
)


def core_project(destination: Path) -> Path:
    """A copy of the SQLMesh project's core layers (no marts) at `destination`."""
    for pattern in CORE_FILES:
        for source in PROJECT.glob(pattern):
            target = destination / source.relative_to(PROJECT)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    (destination / "tests").mkdir(exist_ok=True)
    return destination


def core_model_count() -> int:
    return sum(
        1
        for layer in ("staging", "warehouse", "quarantine")
        for _ in (PROJECT / "models" / layer).glob("*.sql")
    )


def settings_at(root: Path, **overrides: dict) -> Settings:
    """Settings whose warehouse and state live under `root` (config written there), building
    the core project copied to `root/project`."""
    project = root / "project"
    if not project.exists():
        core_project(project)
    sqlmesh = {"project_path": str(project), **overrides.pop("sqlmesh", {})}
    return load_settings(write_config(root, sqlmesh=sqlmesh, **overrides))


def _build_base(root: Path) -> tuple[dict, ApplySummary, ApplySummary]:
    settings = settings_at(root)
    rows = write_landing(settings.warehouse_path, months=2)
    first = transform.apply(settings, as_of=last_date(2), run_tests=False)
    second = transform.apply(settings, as_of=last_date(2), run_tests=False)
    return rows, first, second


def base_build(shared: Path) -> Build:
    """Built once per test run in the run's shared folder `shared` (conftest.py `shared_root`),
    whichever xdist worker asks first (tests/shared_build_support.py): landing (2 months),
    apply to prod, apply again. Read-only: tests that change it work on `copy_build`."""
    from tests.shared_build_support import shared_build

    if "base" not in _BUILDS:
        root, (rows, first, second) = shared_build(shared, "sqlmesh_base", _build_base)
        settings = load_settings(root / "config.yaml")
        _BUILDS["base"] = Build(root, settings, rows, first, second)
    return _BUILDS["base"]


def copy_build(build: Build, root: Path, **overrides: dict) -> Settings:
    """A copy of a build's warehouse and state under `root`, for tests that change them."""
    shutil.copytree(build.settings.warehouse_path.parent, root / "warehouse")
    return settings_at(root, **overrides)


def query(settings: Settings, sql: str) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.execute(sql).fetchall()
