"""ml.split: out-of-time split never trains on a later snapshot; stratified split by seed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.split import SplitError, out_of_time_split, stratified_split


def monthly_snapshots(months: int, customers: int = 5) -> pd.Series:
    dates = pd.date_range("2024-01-01", periods=months, freq="MS")
    times = pd.Series(np.repeat(dates, customers))
    # shuffle the row order so the split cannot rely on rows being sorted by date
    return times.sample(frac=1.0, random_state=1).reset_index(drop=True)


def test_out_of_time_split_orders_train_before_valid_before_test() -> None:
    times = monthly_snapshots(8)
    split = out_of_time_split(times)
    train, valid, test = (times.loc[getattr(split, p)] for p in ("train", "valid", "test"))
    assert train.max() < valid.min()
    assert valid.max() < test.min()
    assert set(test) == {pd.Timestamp("2024-08-01")}
    assert set(valid) == {pd.Timestamp("2024-07-01")}
    assert len(train) + len(valid) + len(test) == len(times)
    assert split.periods["test"] == ["2024-08-01"]


def test_embargo_leaves_a_label_horizon_between_parts() -> None:
    times = monthly_snapshots(12)
    split = out_of_time_split(times, embargo_days=90)
    train, valid, test = (times.loc[getattr(split, p)] for p in ("train", "valid", "test"))
    # test 2024-12-01; valid must be before 2024-12-01 - 90 days = 2024-09-02, so 2024-09-01
    # (91 days earlier); train before 2024-09-01 - 90 days = 2024-06-03, so up to 2024-06-01
    assert set(test) == {pd.Timestamp("2024-12-01")}
    assert set(valid) == {pd.Timestamp("2024-09-01")}
    assert train.max() == pd.Timestamp("2024-06-01")
    assert (valid.min() - train.max()).days >= 90
    assert (test.min() - valid.max()).days >= 90


def test_too_few_snapshots_is_a_clear_error() -> None:
    with pytest.raises(SplitError, match="2 snapshot date"):
        out_of_time_split(monthly_snapshots(2))
    with pytest.raises(SplitError, match="no snapshot with a complete label window"):
        out_of_time_split(monthly_snapshots(0))


def test_several_test_periods_keep_the_embargo_before_validation() -> None:
    times = monthly_snapshots(14)
    split = out_of_time_split(times, n_test_periods=3, embargo_days=90)
    # test 2024-12..2025-02; valid before 2024-12-01 - 90 days = 2024-09-02: 2024-09-01;
    # train before 2024-09-01 - 90 days = 2024-06-03: up to 2024-06-01
    assert split.periods["test"] == ["2024-12-01", "2025-01-01", "2025-02-01"]
    assert split.periods["valid"] == ["2024-09-01"]
    assert split.periods["train"][-1] == "2024-06-01"


def test_stratified_split_is_disjoint_keeps_class_ratio_and_repeats_with_seed() -> None:
    target = pd.Series([1] * 100 + [0] * 400)
    split = stratified_split(target, seed=3)
    parts = [set(split.train), set(split.valid), set(split.test)]
    assert set().union(*parts) == set(target.index)
    assert sum(len(p) for p in parts) == len(target)
    for labels in (split.train, split.valid, split.test):
        assert target.loc[labels].mean() == pytest.approx(0.2, abs=0.01)
    again = stratified_split(target, seed=3)
    assert np.array_equal(again.test, split.test)
    assert not np.array_equal(stratified_split(target, seed=4).test, split.test)
