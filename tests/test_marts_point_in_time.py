"""churn_prediction_features is point in time, and incremental builds recompute only what new
data can change.

Sample data: 300 customers over January-August 2024 (the generator, no planted defects). The
full build sees all eight months. The truncated build sees what the source systems would have
exported on 2024-08-01 (tests/marts_support.py: `truncate_landing`): no later rows, and later
state changes (resolutions, responses, service ends) undone. Features of every snapshot up to the
cut-off must be identical in both builds, and so must every label the truncated build knows.
The truncated warehouse then receives August and is applied again: only the snapshots within
the model's 92-day lookback are recomputed, and the result equals the full build.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from custintel.core.settings import Settings
from custintel.generate import generate_landing
from tests.marts_support import (
    build_warehouse,
    physical_table,
    project_settings,
    query,
    truncate_landing,
)

START = dt.date(2024, 1, 1)
CUTOFF = dt.date(2024, 8, 1)
FULL_AS_OF = dt.date(2024, 8, 31)
LABELS = ["churned_within_90d", "churn_date"]
KEY = ["snapshot_date", "customer_id"]
FEATURES_MODEL = "marts.churn_prediction_features"
TAMPERED_SNAPSHOT = dt.date(2024, 2, 1)
TAMPERED_HISTORY_DAYS = 99_999


def features(warehouse: Path) -> pd.DataFrame:
    frame = pd.DataFrame(query(warehouse, f"select * from {FEATURES_MODEL}"))
    return frame.sort_values(KEY).reset_index(drop=True)


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out_dir = tmp_path_factory.mktemp("sample_landing")
    generate_landing(out_dir, customers=300, months=8, start_date=START, seed=1, defect_rate=0.0)
    return out_dir


@pytest.fixture(scope="module")
def full_build(tmp_path_factory: pytest.TempPathFactory, landing: Path) -> Settings:
    settings = project_settings(tmp_path_factory.mktemp("full"))
    assert build_warehouse(landing, settings).as_of == FULL_AS_OF
    return settings


@pytest.fixture(scope="module")
def truncated_build(
    tmp_path_factory: pytest.TempPathFactory, landing: Path
) -> tuple[Settings, pd.DataFrame]:
    """The warehouse built from the 2024-08-01 export, and its features before any update."""
    truncated = truncate_landing(landing, tmp_path_factory.mktemp("truncated_landing"), CUTOFF)
    settings = project_settings(tmp_path_factory.mktemp("truncated"))
    assert build_warehouse(truncated, settings).as_of == CUTOFF - dt.timedelta(days=1)
    return settings, features(settings.warehouse_path)


def test_truncated_build_has_snapshots_and_known_labels(
    truncated_build: tuple[Settings, pd.DataFrame],
) -> None:
    _, before = truncated_build
    assert sorted(before["snapshot_date"].unique()) == [
        dt.date(2024, month, 1) for month in range(2, 8)
    ]
    # labels are known for snapshots whose 90 days end by 2024-07-31: February .. May 2
    labelled = before[before["churned_within_90d"].notna()]
    assert sorted(labelled["snapshot_date"].unique()) == [
        dt.date(2024, month, 1) for month in range(2, 6)
    ]
    assert labelled["churned_within_90d"].astype(bool).sum() > 0


def test_features_before_the_cutoff_ignore_later_data(
    full_build: Settings, truncated_build: tuple[Settings, pd.DataFrame]
) -> None:
    _, truncated = truncated_build
    full = features(full_build.warehouse_path)
    full = full[full["snapshot_date"] < CUTOFF].reset_index(drop=True)
    assert len(full) == len(truncated) > 1000
    columns = [c for c in full.columns if c not in LABELS]
    pd.testing.assert_frame_equal(full[columns], truncated[columns], check_exact=False, rtol=1e-9)
    known = truncated["churned_within_90d"].notna()
    pd.testing.assert_frame_equal(full.loc[known, LABELS], truncated.loc[known, LABELS])
    # the later data fills labels the truncated build could not know yet
    assert full.loc[~known, "churned_within_90d"].notna().any()


def test_a_new_month_recomputes_only_the_lookback(
    full_build: Settings, truncated_build: tuple[Settings, pd.DataFrame], landing: Path
) -> None:
    settings, before = truncated_build
    # mark rows of an old snapshot in the physical table: a recomputation would overwrite them
    table = physical_table(settings.warehouse_path, FEATURES_MODEL)
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute(
            f"update {table} set history_days = ? where snapshot_date = ?",
            [TAMPERED_HISTORY_DAYS, TAMPERED_SNAPSHOT],
        )

    summary = build_warehouse(landing, settings)

    assert summary.as_of == FULL_AS_OF
    end = dt.datetime.combine(FULL_AS_OF + dt.timedelta(days=1), dt.time())
    lookbacks = {
        FEATURES_MODEL: 92,
        "marts.customer_signals": 92,
        "marts.customer_daily_activity": 31,
        "marts.customer_monthly_activity": 31,
        "marts.customer_active_30d_days": 31,
        "marts.active_customers_30d": 31,
    }
    for model, lookback_days in lookbacks.items():
        batches = summary.batches(model)
        assert batches, model
        first_start = min(batch.start for batch in batches)
        assert first_start == dt.datetime.combine(CUTOFF, dt.time()) - dt.timedelta(
            days=lookback_days
        ), model
        assert max(batch.end for batch in batches) == end, model

    updated = features(settings.warehouse_path)
    full = features(full_build.warehouse_path)
    untouched = updated["snapshot_date"] == TAMPERED_SNAPSHOT
    assert (updated.loc[untouched, "history_days"] == TAMPERED_HISTORY_DAYS).all()
    assert untouched.sum() == (before["snapshot_date"] == TAMPERED_SNAPSHOT).sum() > 0
    # everything else equals a build from scratch, labels of recent snapshots now filled
    updated.loc[untouched, "history_days"] = full.loc[untouched, "history_days"]
    pd.testing.assert_frame_equal(updated, full, check_exact=False, rtol=1e-9)
    june = dt.date(2024, 6, 1)
    assert before.loc[before["snapshot_date"] == june, "churned_within_90d"].isna().all()
    assert updated.loc[updated["snapshot_date"] == june, "churned_within_90d"].notna().all()


def test_population_excludes_customers_churned_on_or_before_the_snapshot_day(
    landing: Path, full_build: Settings
) -> None:
    """The old mart kept customers whose churn date was the snapshot day itself (their CRM
    version just before it was still Active): their services ended the day before, so their
    features showed them removed and they topped the scores. The churn dates here come from the
    raw CRM export, not from the warehouse."""
    crm = pd.read_parquet(landing / "crm" / "customers.parquet")
    churned = crm[crm["status"] == "Churned"]
    churn_day = pd.to_datetime(churned["updated_at"]).dt.date
    churn_dates = dict(zip(churned["customer_id"], churn_day, strict=True))
    frame = features(full_build.warehouse_path)
    on_or_after_churn = [
        (row.customer_id, row.snapshot_date)
        for row in frame.itertuples()
        if row.customer_id in churn_dates and churn_dates[row.customer_id] <= row.snapshot_date
    ]
    assert on_or_after_churn == []
    # this sample has two customers churning on a snapshot day: they are in the month before
    on_snapshot_day = {c: d for c, d in churn_dates.items() if d.day == 1}
    assert on_snapshot_day == {"C0000113": dt.date(2024, 4, 1), "C0000099": dt.date(2024, 6, 1)}
    keys = set(zip(frame["customer_id"], frame["snapshot_date"], strict=True))
    for customer, day in on_snapshot_day.items():
        assert (customer, day) not in keys
        assert (customer, dt.date(day.year, day.month - 1, 1)) in keys


def test_retention_offer_features_use_only_entries_before_the_snapshot_day(
    landing: Path, full_build: Settings
) -> None:
    """The experiment enters customers on the first of a month, the snapshot day itself: those
    entries are the label window's, not a feature. Recomputed here from the raw landing export
    with a strict `<`; the mart computed with `<=` would show 0 days since the last entry for
    every customer entered on a snapshot day."""
    offers = pd.read_parquet(landing / "marketing" / "retention_offers")
    offers["offer_date"] = pd.to_datetime(offers["offer_date"]).dt.date
    frame = features(full_build.warehouse_path)
    pairs = frame[["customer_id", "snapshot_date"]].merge(offers, on="customer_id")
    pairs["days_back"] = [
        (snapshot - offer).days
        for snapshot, offer in zip(pairs["snapshot_date"], pairs["offer_date"], strict=True)
    ]
    before = pairs[pairs["days_back"] >= 1]
    window = before[before["days_back"] <= 90]
    expected = frame[["customer_id", "snapshot_date"]].copy()
    expected["days_since_retention_offer"] = expected.merge(
        before.groupby(["customer_id", "snapshot_date"], as_index=False)["days_back"].min(),
        how="left",
        on=["customer_id", "snapshot_date"],
    )["days_back"].to_numpy()
    for column, arm in (
        ("retention_offers_made_90d", True),
        ("retention_offers_held_out_90d", False),
    ):
        counts = (
            window[window["is_treatment"] == arm]
            .groupby(["customer_id", "snapshot_date"], as_index=False)
            .size()
        )
        expected[column] = (
            expected.merge(counts, how="left", on=["customer_id", "snapshot_date"])["size"]
            .fillna(0)
            .to_numpy()
        )
    columns = [
        "days_since_retention_offer",
        "retention_offers_made_90d",
        "retention_offers_held_out_90d",
    ]
    pd.testing.assert_frame_equal(
        frame[columns].astype("float64"), expected[columns].astype("float64")
    )
    # the sample really has entries on snapshot days among the customers in the base, both arms
    keys = set(zip(frame["customer_id"], frame["snapshot_date"], strict=True))
    on_snapshot_day = offers[
        [(c, d) in keys for c, d in zip(offers["customer_id"], offers["offer_date"], strict=True)]
    ]
    assert len(on_snapshot_day) > 50 and on_snapshot_day["is_treatment"].nunique() == 2
    assert frame["retention_offers_made_90d"].sum() > 0
    assert frame["retention_offers_held_out_90d"].sum() > 0
