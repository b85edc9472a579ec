"""Specification of the sample source generator (custintel.generate).

Small runs (300 customers x 6 months, 2,000 x 12 for rates and mixes); expectations are
computed here with pandas from the written files and the defect manifest.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from custintel.core.landing import load_contract
from custintel.generate import generate_landing

START = dt.date(2024, 1, 1)
EVENT_TABLES = [
    ("network", "usage"),
    ("billing", "invoices"),
    ("billing", "orders"),
    ("marketing", "campaign_targets"),
    ("support", "kb_article_views"),
]
EXPECTED_ARROW = {
    "string": pa.string(),
    "integer": pa.int64(),
    "double": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
}
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _generate(root: Path, customers: int, months: int, seed: int = 42, rate: float = 0.02) -> Path:
    generate_landing(
        root, customers=customers, months=months, start_date=START, seed=seed, defect_rate=rate
    )
    return root


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _generate(tmp_path_factory.mktemp("small"), 300, 6)


@pytest.fixture(scope="module")
def medium(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _generate(tmp_path_factory.mktemp("medium"), 2000, 12, seed=7, rate=0.01)


def _files(root: Path, system: str, name: str) -> list[Path]:
    folder = root / system / name
    return (
        sorted(folder.glob("part-*.parquet"))
        if folder.is_dir()
        else [root / system / f"{name}.parquet"]
    )


def read(root: Path, system: str, name: str) -> pd.DataFrame:
    """All rows of a table with the file and 1-based row number the loader would record."""
    frames = []
    for path in _files(root, system, name):
        frame = pq.read_table(path).to_pandas()
        frame["_source_file"] = path.relative_to(root).as_posix()
        frame["_source_row_number"] = range(1, len(frame) + 1)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def manifest(root: Path) -> pd.DataFrame:
    return pq.read_table(root / "_manifest" / "defects.parquet").to_pandas()


def _keys(frame: pd.DataFrame) -> set[tuple[str, int]]:
    return set(zip(frame["_source_file"], frame["_source_row_number"], strict=True))


def planted(
    root: Path, system: str, name: str, reason: str | None = None, kind: str | None = None
) -> set[tuple[str, int]]:
    m = manifest(root)
    m = m[(m["system"] == system) & (m["table"] == name)]
    if reason is not None:
        m = m[m["expected_reason"] == reason]
    if kind is not None:
        m = m[m["defect_kind"] == kind]
    return set(zip(m["source_file"], m["source_row_number"], strict=True))


def clean(root: Path, system: str, name: str) -> pd.DataFrame:
    """Rows without a planted defect, categorical variants standardised as staging would."""
    frame = read(root, system, name)
    m = manifest(root)
    bad = m[
        (m["system"] == system)
        & (m["table"] == name)
        & (m["defect_kind"] != "standardisable_variant")
    ]
    keys = pd.Series(list(zip(frame["_source_file"], frame["_source_row_number"], strict=True)))
    frame = frame[
        ~keys.isin(set(zip(bad["source_file"], bad["source_row_number"], strict=True))).to_numpy()
    ].copy()
    for column in load_contract().table(system, name).columns:
        if column.allowed:
            lookup = {value.lower(): value for value in column.allowed}
            frame[column.name] = frame[column.name].map(
                lambda v, lookup=lookup: lookup.get(v.strip().lower()) if isinstance(v, str) else v
            )
    return frame


def monthly_churn(root: Path) -> pd.DataFrame:
    """Per month: customers signed up before it and not yet churned, and churns in it."""
    customers = clean(root, "crm", "customers")
    signup = customers.groupby("customer_id")["signup_date"].min()
    churn = customers[customers["status"] == "Churned"].groupby("customer_id")["updated_at"].min()
    rows = []
    for start in pd.date_range(pd.Timestamp(START), periods=12, freq="MS"):
        end = start + pd.offsets.MonthBegin(1)
        alive = (pd.to_datetime(signup) < start) & ~signup.index.isin(churn[churn < start].index)
        churned = ((churn >= start) & (churn < end)).sum()
        rows.append({"month": start, "base": int(alive.sum()), "churned": int(churned)})
    return pd.DataFrame(rows)


# --- determinism and layout -------------------------------------------------------------------


def test_same_seed_writes_byte_identical_files(small: Path, tmp_path: Path) -> None:
    again = _generate(tmp_path / "again", 300, 6)
    first = sorted(p.relative_to(small) for p in small.rglob("*.parquet"))
    second = sorted(p.relative_to(again) for p in again.rglob("*.parquet"))
    assert first == second
    for relative in first:
        assert (small / relative).read_bytes() == (again / relative).read_bytes(), relative


def test_another_seed_gives_other_data(small: Path, tmp_path: Path) -> None:
    other = _generate(tmp_path / "other", 300, 6, seed=43)
    assert not read(small, "billing", "invoices").equals(read(other, "billing", "invoices"))


def test_event_months_are_identical_when_one_more_month_is_generated(
    small: Path, tmp_path: Path
) -> None:
    longer = _generate(tmp_path / "longer", 300, 7)
    for system, name in EVENT_TABLES:
        parts = _files(small, system, name)
        assert len(parts) == 6 and len(_files(longer, system, name)) == 7
        for part in parts:
            assert pq.read_table(part).equals(pq.read_table(longer / part.relative_to(small)))
    state = ["resolved_at", "status", "satisfaction_score"]
    for part in _files(small, "support", "tickets"):
        shorter = pq.read_table(part).drop_columns(state)
        assert shorter.equals(pq.read_table(longer / part.relative_to(small)).drop_columns(state))


def test_event_tables_are_monthly_part_files_and_stale_parts_are_removed(tmp_path: Path) -> None:
    root = _generate(tmp_path / "landing", 120, 3)
    assert [p.name for p in _files(root, "network", "usage")] == [
        "part-2024-01.parquet",
        "part-2024-02.parquet",
        "part-2024-03.parquet",
    ]
    _generate(root, 120, 2)
    assert [p.name for p in _files(root, "network", "usage")] == [
        "part-2024-01.parquet",
        "part-2024-02.parquet",
    ]
    assert (root / "crm" / "customers.parquet").is_file()


def test_progress_is_reported_for_every_month(tmp_path: Path) -> None:
    calls: list[tuple[str, int, int]] = []
    generate_landing(
        tmp_path,
        customers=50,
        months=2,
        start_date=START,
        seed=1,
        defect_rate=0.0,
        progress=lambda *call: calls.append(call),
    )
    assert [c for c in calls if c[0] == "simulate"] == [("simulate", 1, 2), ("simulate", 2, 2)]
    assert calls[-1][0] == "write" and calls[-1][1] == calls[-1][2]


@pytest.mark.parametrize(
    "change, word",
    [
        ({"start_date": dt.date(2024, 1, 2)}, "start_date"),
        ({"customers": 0}, "customers"),
        ({"defect_rate": 0.9}, "defect_rate"),
        ({"seed": -1}, "seed"),
    ],
)
def test_invalid_parameters_are_rejected_by_name(tmp_path: Path, change: dict, word: str) -> None:
    params = {"customers": 10, "months": 1, "start_date": START, "seed": 1, "defect_rate": 0.0}
    with pytest.raises(ValueError, match=word):
        generate_landing(tmp_path, **(params | change))


# --- conformance to the landing contract ------------------------------------------------------


def test_every_contract_table_has_its_columns_in_order_with_contract_types(small: Path) -> None:
    for table in load_contract().tables:
        for path in _files(small, table.system, table.name):
            schema = pq.read_schema(path)
            assert schema.names == table.column_names, path
            for column in table.columns:
                assert schema.field(column.name).type == EXPECTED_ARROW[column.type], (
                    path,
                    column.name,
                )


def test_non_nullable_columns_are_null_only_where_a_missing_key_is_planted(small: Path) -> None:
    for table in load_contract().tables:
        frame = read(small, table.system, table.name)
        for column in table.columns:
            if column.nullable:
                continue
            nulls = _keys(frame[frame[column.name].isna()])
            assert nulls == planted(
                small, table.system, table.name, f"missing_key:{column.name}"
            ), (table.name, column.name)


def test_categorical_values_are_allowed_except_planted_misspellings_and_variants(
    small: Path,
) -> None:
    seen_variant = False
    for table in load_contract().tables:
        frame = read(small, table.system, table.name)
        for column in table.columns:
            if not column.allowed:
                continue
            values = frame[column.name]
            outside = frame[values.notna() & ~values.isin(column.allowed)]
            standard = {v.lower() for v in column.allowed}
            fixable = outside[column.name].str.strip().str.lower().isin(standard)
            assert _keys(outside[~fixable]) == planted(
                small, table.system, table.name, f"invalid_value:{column.name}"
            )
            variants = planted(small, table.system, table.name, kind="standardisable_variant")
            assert _keys(outside[fixable]) <= variants
            seen_variant |= bool(fixable.any())
    assert seen_variant


def test_amounts_are_non_negative_except_planted_negative_amounts(small: Path) -> None:
    checked = 0
    for table in load_contract().tables:
        frame = read(small, table.system, table.name)
        for column in table.columns:
            if column.unit != "currency":
                continue
            negative = _keys(frame[frame[column.name] < 0])
            assert negative == planted(
                small, table.system, table.name, f"negative_amount:{column.name}"
            ), column.name
            checked += 1
    assert checked >= 9


def test_manifest_rows_carry_the_defect_they_name(small: Path) -> None:
    customers = read(small, "crm", "customers")
    known = set(customers["customer_id"].dropna())
    m = manifest(small)
    assert set(m["defect_kind"]) >= {
        "duplicate_row",
        "missing_key",
        "invalid_value",
        "orphan_key",
        "negative_amount",
        "future_date",
        "malformed_email",
        "standardisable_variant",
    }
    assert not m.duplicated(["source_file", "source_row_number"]).any()  # one defect per row
    for table in load_contract().tables:
        frame = read(small, table.system, table.name).set_index(
            ["_source_file", "_source_row_number"]
        )
        rows = m[(m["system"] == table.system) & (m["table"] == table.name)]
        for _, defect in rows.iterrows():
            row = frame.loc[(defect["source_file"], defect["source_row_number"])]
            reason = defect["expected_reason"]
            column = reason.split(":", 1)[1] if isinstance(reason, str) and ":" in reason else None
            if defect["defect_kind"] == "duplicate_row":
                file_rows = frame.loc[defect["source_file"]]
                earlier = file_rows.loc[: defect["source_row_number"] - 1]
                assert (earlier.fillna("<null>") == row.fillna("<null>")).all(axis=1).any()
            elif defect["defect_kind"] == "orphan_key" and column == "customer_id":
                assert row[column] not in known
            elif defect["defect_kind"] == "future_date":
                assert pd.Timestamp(row[column]).year == 2099
            elif defect["defect_kind"] == "malformed_email":
                assert not EMAIL.fullmatch(row["email"])


def test_well_formed_emails_everywhere_else(small: Path) -> None:
    emails = clean(small, "crm", "customers")["email"].dropna()
    assert len(emails) > 300 and emails.map(lambda e: bool(EMAIL.fullmatch(e))).all()


def test_customer_defects_sit_on_extra_rows_so_no_version_is_lost(small: Path) -> None:
    customers = clean(small, "crm", "customers")
    every_id = read(small, "crm", "customers")["customer_id"].dropna()
    real_ids = {c for c in every_id if not c.startswith("C9")}
    assert set(customers["customer_id"]) == real_ids
    first = customers.sort_values("updated_at").groupby("customer_id").first()
    assert (first["updated_at"].dt.date == first["signup_date"]).all()


# --- realism -----------------------------------------------------------------------------------


def test_monthly_churn_rate_is_in_the_documented_range(medium: Path) -> None:
    churn = monthly_churn(medium)
    rate = churn["churned"].sum() / churn["base"].sum()
    assert 0.015 <= rate <= 0.025, churn


def test_churned_customers_have_no_usage_or_billing_after_churn(medium: Path) -> None:
    customers = clean(medium, "crm", "customers")
    churn = customers[customers["status"] == "Churned"].groupby("customer_id")["updated_at"].min()
    assert len(churn) > 100
    churn_date = churn.dt.date.rename("churn_date")
    usage = clean(medium, "network", "usage").join(churn_date, on="customer_id", how="inner")
    assert len(usage) > 0 and (usage["usage_date"] < usage["churn_date"]).all()
    invoices = clean(medium, "billing", "invoices").join(churn_date, on="customer_id", how="inner")
    assert (invoices["billing_period_end_date"] < invoices["churn_date"]).all()
    assignments = clean(medium, "provisioning", "service_assignments").join(
        churn_date, on="customer_id", how="inner"
    )
    assert assignments["end_date"].notna().all()
    assert (assignments["end_date"] < assignments["churn_date"]).all()


def test_churn_follows_escalations_and_falling_usage(medium: Path) -> None:
    customers = clean(medium, "crm", "customers")
    churn = customers[customers["status"] == "Churned"].groupby("customer_id")["updated_at"].min()
    tickets = clean(medium, "support", "tickets")
    escalated = tickets[tickets["is_escalated"]]
    # customers with an escalated ticket churn more often within 60 days of it
    after = escalated.join(churn.rename("churned_at"), on="customer_id")
    delta = after["churned_at"] - after["created_at"]
    escalated_rate = ((delta > pd.Timedelta(0)) & (delta < pd.Timedelta(days=60))).mean()
    other = tickets[~tickets["is_escalated"]].join(churn.rename("churned_at"), on="customer_id")
    delta = other["churned_at"] - other["created_at"]
    other_rate = ((delta > pd.Timedelta(0)) & (delta < pd.Timedelta(days=60))).mean()
    assert escalated_rate > 1.5 * other_rate
    # usage falls before churn: a session drop of 30%+ over three months is far more common
    # in the month before a churn than in customer-months in general
    usage = clean(medium, "network", "usage")
    usage["month"] = pd.to_datetime(usage["usage_date"]).dt.to_period("M")
    sessions = usage.groupby(["customer_id", "month"])["session_count"].sum().unstack()
    dropped = (sessions.shift(3, axis=1) > 0) & (sessions < 0.7 * sessions.shift(3, axis=1))
    churn_month = churn.dt.to_period("M")
    months = sessions.columns
    before_churn = [
        dropped.at[c, m - 1]
        for c, m in churn_month.items()
        if c in dropped.index and m - 1 in months and m - 4 in months
    ]
    everyone = dropped[[m for m in months if m - 3 in months]].to_numpy().ravel()
    assert len(before_churn) > 100
    assert pd.Series(before_churn).mean() > 2 * everyone.mean()


def test_segment_mix_is_realistic(medium: Path) -> None:
    first = (
        clean(medium, "crm", "customers").sort_values("updated_at").groupby("customer_id").first()
    )
    shares = first["customer_segment"].value_counts(normalize=True)
    assert shares["Residential"] == pytest.approx(0.80, abs=0.03)
    assert shares["SMB"] == pytest.approx(0.12, abs=0.025)
    assert shares["Enterprise"] == pytest.approx(0.05, abs=0.015)
    assert shares["Government"] == pytest.approx(0.03, abs=0.012)
    tiers = first["customer_tier"].value_counts(normalize=True)
    assert tiers["Bronze"] > tiers["Silver"] > tiers["Gold"] > tiers["Platinum"]


def test_business_customers_have_an_account_manager_and_residential_do_not(medium: Path) -> None:
    customers = clean(medium, "crm", "customers")
    business = customers["customer_segment"] != "Residential"
    assert customers.loc[business, "account_manager_id"].notna().all()
    assert customers.loc[~business, "account_manager_id"].isna().all()
    managers = read(medium, "crm", "account_managers")
    assert set(customers["account_manager_id"].dropna()) <= set(managers["account_manager_id"])
    business_customers = customers.loc[business, "customer_id"].nunique()
    assert len(managers) >= 3
    assert 100 <= business_customers / len(managers) <= 200  # about one per 150


def test_customers_join_over_time_and_change_versions(medium: Path) -> None:
    customers = clean(medium, "crm", "customers")
    signups = customers.groupby("customer_id")["signup_date"].min()
    joined = (pd.to_datetime(signups) >= pd.Timestamp(START)).sum()
    assert 0.15 * 2000 < joined < 0.40 * 2000  # about 2.2% of the opening base a month
    versions = customers.groupby("customer_id").size()
    assert versions.max() >= 3 and (versions > 1).mean() > 0.2
    statuses = set(customers["status"])
    assert statuses == {"Active", "Inactive", "Churned"}


def test_every_allowed_value_has_a_misspelling_standardisation_cannot_repair() -> None:
    from custintel.generate.misspellings import misspell

    for table in load_contract().tables:
        for column in table.columns:
            standard = {value.lower() for value in column.allowed}
            for value in column.allowed:
                assert misspell(value).strip().lower() not in standard, (column.name, value)


def test_invoices_state_when_the_running_promotion_ends(medium: Path) -> None:
    invoices = clean(medium, "billing", "invoices").sort_values(["customer_id", "invoice_date"])
    end = pd.to_datetime(invoices["discount_end_date"])
    promoted = end.notna()
    # a discount is only given under a stated promotion, which covers the billed period
    assert (invoices.loc[~promoted, "discount_amount"] == 0).all()
    assert (invoices.loc[invoices["discount_amount"] > 0, "discount_end_date"].notna()).all()
    period_end = pd.to_datetime(invoices["billing_period_end_date"])
    assert (end[promoted] >= period_end[promoted]).all()
    assert ((end[promoted] + pd.Timedelta(days=1)).dt.day == 1).all()  # ends on a month's last day
    # the invoice of the month after the stated end carries no discount of that promotion
    following = invoices.groupby("customer_id").shift(-1)
    ended = promoted & (pd.to_datetime(following["invoice_date"]) == end + pd.Timedelta(days=1))
    assert ended.sum() > 50
    after = following[ended]
    assert (
        (after["discount_amount"] == 0) | (pd.to_datetime(after["discount_end_date"]) > end[ended])
    ).all()
    assert (after["discount_end_date"].isna()).mean() > 0.8
