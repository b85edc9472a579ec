"""Train / validation / test split of the labelled rows.

With a time column the split is out-of-time and never random across time: the latest labelled
snapshot(s) are the test set, the snapshot(s) before them the validation set and all earlier
ones the training set. `embargo_days` (set it to the label horizon, e.g. 90) additionally
leaves out snapshots whose label window would overlap the next part's snapshot dates, so no
training label is observed after a validation/test snapshot. Without a time column the split
is stratified random with a seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split


class SplitError(ValueError):
    """The data cannot be split as asked (too few snapshots, too few rows of a class)."""


@dataclass(frozen=True)
class Split:
    """Row labels (index values of the labelled frame) of each part, and how they were chosen."""

    strategy: str
    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    periods: dict[str, list[str]]

    def summary(self, target: pd.Series) -> dict[str, object]:
        """Rows, positives and (for out-of-time) snapshot dates of each part."""
        parts: dict[str, object] = {"strategy": self.strategy}
        for name in ("train", "valid", "test"):
            labels = getattr(self, name)
            y = target.loc[labels]
            parts[name] = {
                "rows": len(labels),
                "positives": int(y.sum()),
                "positive_rate": round(float(y.mean()), 6) if len(labels) else None,
                "periods": self.periods.get(name, []),
            }
        return parts


def out_of_time_split(
    times: pd.Series, n_valid_periods: int = 1, n_test_periods: int = 1, embargo_days: int = 0
) -> Split:
    """Split labelled rows by their snapshot date (see module docstring)."""
    dates = np.sort(times.unique())
    if len(dates) < n_test_periods:
        raise SplitError(_too_few(dates, n_valid_periods, n_test_periods, embargo_days))
    test_dates = dates[-n_test_periods:]
    valid_end = test_dates[0] - np.timedelta64(embargo_days, "D")
    before_test = dates[dates < valid_end]
    valid_dates = before_test[-n_valid_periods:]
    if len(valid_dates) < n_valid_periods:
        raise SplitError(_too_few(dates, n_valid_periods, n_test_periods, embargo_days))
    train_end = valid_dates[0] - np.timedelta64(embargo_days, "D")
    train_dates = dates[dates < train_end]
    if len(train_dates) == 0:
        raise SplitError(_too_few(dates, n_valid_periods, n_test_periods, embargo_days))

    def rows(selected: np.ndarray) -> np.ndarray:
        return times.index[times.isin(selected)].to_numpy()

    def iso(selected: np.ndarray) -> list[str]:
        return [str(pd.Timestamp(d).date()) for d in selected]

    return Split(
        strategy=f"out_of_time (embargo {embargo_days} days)",
        train=rows(train_dates),
        valid=rows(valid_dates),
        test=rows(test_dates),
        periods={"train": iso(train_dates), "valid": iso(valid_dates), "test": iso(test_dates)},
    )


def _too_few(dates: np.ndarray, n_valid: int, n_test: int, embargo_days: int) -> str:
    held = (
        f"{len(dates)} snapshot date(s) from {pd.Timestamp(dates[0]).date()} "
        f"to {pd.Timestamp(dates[-1]).date()}"
        if len(dates)
        else "no snapshot with a complete label window"
    )
    return (
        f"out-of-time split needs training snapshots before {n_valid} validation and {n_test} "
        f"test snapshot(s) with a {embargo_days}-day embargo; the labelled data has {held}"
    )


def stratified_split(
    target: pd.Series, seed: int, valid_size: float = 0.2, test_size: float = 0.2
) -> Split:
    """Stratified random split (only for data without a time column)."""
    if target.value_counts().min() < 5:
        raise SplitError(f"stratified split needs >= 5 rows of each class: {target.value_counts()}")
    rest, test = train_test_split(
        target.index.to_numpy(), test_size=test_size, stratify=target, random_state=seed
    )
    train, valid = train_test_split(
        rest,
        test_size=valid_size / (1.0 - test_size),
        stratify=target.loc[rest],
        random_state=seed,
    )
    return Split("stratified_random", np.sort(train), np.sort(valid), np.sort(test), {})
