"""ml.dataset: column roles, target mapping, categorical detection, fingerprint, loading."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from ml.dataset import (
    DatasetError,
    DatasetSpec,
    build_dataset,
    encode_target,
    load_dataset,
    round_significant,
)


def small_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["C1", "C2", "C3", "C4"],
            "churned": ["yes", "No", " YES ", "no"],
            "tier": ["Gold", "Silver", None, "Gold"],
            "is_business": [True, False, True, False],
            "monthly_amount": [10.0, 20.5, None, 7.0],
            "tickets": [0, 3, 1, 2],
            "signup_date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"]),
            "notes": [None, None, None, None],
        }
    )


def test_target_maps_yes_no_true_false_and_one_zero_to_integers() -> None:
    values = pd.Series(["yes", "NO", True, False, 1, 0, "1", "false", None], name="churn")
    assert encode_target(values, "t").tolist() == [1, 0, 1, 0, 1, 0, 1, 0, pd.NA]


def test_unknown_target_value_names_column_row_and_value() -> None:
    values = pd.Series(["yes", "no", "maybe", "perhaps"], name="churn")
    with pytest.raises(DatasetError, match=r"'churn' row 3 has value 'maybe'.*2 bad rows"):
        encode_target(values, "file.csv")


def test_roles_and_categorical_detection() -> None:
    dataset = build_dataset(small_frame(), DatasetSpec("customer_id", "churned"), "mem")
    assert dataset.feature_columns == ["tier", "is_business", "monthly_amount", "tickets"]
    assert dataset.categorical_columns == ["tier", "is_business"]
    assert set(dataset.dropped_columns) == {"signup_date", "notes"}
    assert dataset.frame["churned"].tolist() == [1, 0, 1, 0]


def test_high_cardinality_text_is_dropped_as_id_like() -> None:
    frame = small_frame().assign(email=["a@x", "b@x", "c@x", "d@x"])
    dataset = build_dataset(frame, DatasetSpec("customer_id", "churned"), "mem", max_categories=3)
    assert "email" in dataset.dropped_columns
    assert "email" not in dataset.feature_columns


def test_missing_role_column_is_reported_with_available_columns() -> None:
    with pytest.raises(DatasetError, match=r"\['churn_flag'\] not found; available"):
        build_dataset(small_frame(), DatasetSpec("customer_id", "churn_flag"), "mem")


def test_duplicate_key_is_reported() -> None:
    frame = small_frame()
    frame.loc[3, "customer_id"] = "C1"
    with pytest.raises(DatasetError, match=r"row 1 repeats \{'customer_id': 'C1'\}"):
        build_dataset(frame, DatasetSpec("customer_id", "churned"), "mem")


def test_time_column_allows_one_row_per_customer_and_snapshot() -> None:
    frame = small_frame().assign(customer_id=["C1", "C1", "C2", "C2"])
    frame["snapshot_date"] = ["2024-01-01", "2024-02-01", "2024-01-01", "2024-02-01"]
    dataset = build_dataset(frame, DatasetSpec("customer_id", "churned", "snapshot_date"), "m")
    assert "snapshot_date" not in dataset.feature_columns
    # rows come back in canonical order: by snapshot date, then customer
    assert dataset.frame["snapshot_date"].dt.month.tolist() == [1, 1, 2, 2]
    assert dataset.frame["customer_id"].tolist() == ["C1", "C2", "C1", "C2"]


def test_fingerprint_ignores_row_and_column_order_but_not_values() -> None:
    spec = DatasetSpec("customer_id", "churned")
    frame = small_frame()
    reference = build_dataset(frame, spec, "a").fingerprint()
    shuffled = frame.sample(frac=1.0, random_state=3)[list(reversed(frame.columns))]
    assert build_dataset(shuffled, spec, "b").fingerprint() == reference
    changed = frame.copy()
    changed.loc[1, "monthly_amount"] = 20.6
    assert build_dataset(changed, spec, "c").fingerprint() != reference
    assert len(reference) == 64


def test_file_and_warehouse_table_load_the_same_data(tmp_path) -> None:
    frame = small_frame().drop(columns=["notes"])
    frame.to_parquet(tmp_path / "f.parquet")
    frame.to_csv(tmp_path / "f.csv", index=False)
    warehouse = tmp_path / "w.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts")
        con.register("frame", frame)
        con.execute("create table marts.features as select * from frame")
    spec = DatasetSpec("customer_id", "churned")
    from_parquet = load_dataset(spec, file=tmp_path / "f.parquet")
    from_table = load_dataset(spec, table="marts.features", warehouse_path=warehouse)
    from_csv = load_dataset(spec, file=tmp_path / "f.csv")
    assert from_table.fingerprint() == from_parquet.fingerprint()
    assert from_csv.feature_columns == from_parquet.feature_columns
    with pytest.raises(DatasetError, match="marts.missing"):
        load_dataset(spec, table="marts.missing", warehouse_path=warehouse)
    with pytest.raises(DatasetError, match="unsupported file type"):
        load_dataset(spec, file=tmp_path / "w.duckdb")


def test_float_noise_of_a_warehouse_sum_is_settled_on_load() -> None:
    """Two reads of one value summed in another order differ in the last bits; on load both
    become the same number (10 significant digits), so the model and the reasons' quoted
    numbers ("24,102 MB") are the same whichever build summed it."""
    exact = 24102.5
    below, above = np.nextafter(exact, 0), np.nextafter(exact, np.inf)
    frame = pd.DataFrame(
        {
            "id": ["a", "b", "c", "d"],
            "churned": [0, 1, 0, 1],
            "volume_mb": [below, above, 0.1 + 0.2, 1e-300],
            "tickets": [1, 2, 3, 4],
        }
    )
    loaded = build_dataset(frame, DatasetSpec("id", "churned"), "t").frame
    assert loaded["volume_mb"].tolist() == [24102.5, 24102.5, 0.3, 1e-300]
    assert f"{below:,.0f}" != f"{above:,.0f}"  # what the reasons quoted before
    assert loaded["tickets"].dtype.kind == "i"  # integers untouched
    np.testing.assert_array_equal(
        round_significant(np.array([-0.1234567890123, 123456789012.5, np.nan, -np.inf, 0.0])),
        [-0.123456789, 123456789000.0, np.nan, -np.inf, 0.0],
    )
