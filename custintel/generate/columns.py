"""Vectorised builders of Arrow columns from the simulation's integer arrays (no row loops)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from custintel.generate.timeline import SECONDS_PER_DAY

_MICROS = 1_000_000


def _mask(null: np.ndarray | None) -> np.ndarray | None:
    return None if null is None else np.asarray(null, dtype=bool)


def dates(days: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    """date32 from day numbers (days since 1970-01-01)."""
    values = np.asarray(days, dtype=np.int32)
    return pa.array(values, type=pa.int32(), mask=_mask(null)).view(pa.date32())


def timestamps(seconds: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    """timestamp[us] from seconds since 1970-01-01 00:00."""
    values = np.asarray(seconds, dtype=np.int64) * _MICROS
    return pa.array(values, type=pa.int64(), mask=_mask(null)).view(pa.timestamp("us"))


def day_to_seconds(days: np.ndarray) -> np.ndarray:
    return np.asarray(days, dtype=np.int64) * SECONDS_PER_DAY


def labels(
    vocabulary: Sequence[str], codes: np.ndarray, null: np.ndarray | None = None
) -> pa.Array:
    """Strings looked up by integer code in a vocabulary (null where `null` is set)."""
    indices = pa.array(np.asarray(codes, dtype=np.int32), type=pa.int32(), mask=_mask(null))
    return pc.take(pa.array(list(vocabulary), type=pa.string()), indices)


def padded(numbers: np.ndarray, width: int) -> pa.Array:
    return pc.utf8_lpad(
        pc.cast(pa.array(np.asarray(numbers, dtype=np.int64)), pa.string()),
        width=width,
        padding="0",
    )


def ids(prefix: str, numbers: np.ndarray, width: int, null: np.ndarray | None = None) -> pa.Array:
    """`prefix` + zero-padded number, e.g. ids("C", [1], 7) -> "C0000001" (null where `null`)."""
    result = pc.binary_join_element_wise(prefix, padded(numbers, width), "")
    if null is None:
        return result
    return pc.if_else(pa.array(~np.asarray(null, dtype=bool)), result, pa.scalar(None, pa.string()))


def join(*parts: pa.Array | str, separator: str = "") -> pa.Array:
    """Element-wise concatenation of string arrays and scalars (null if any part is null)."""
    return pc.binary_join_element_wise(*parts, separator)


def money(values: np.ndarray) -> np.ndarray:
    """Round currency amounts to cents."""
    return np.round(np.asarray(values, dtype=np.float64), 2)


def expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For per-entity counts, the entity index of each expanded row and its 0-based rank."""
    counts = np.asarray(counts, dtype=np.int64)
    owner = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    rank = np.arange(len(owner)) - starts[owner]
    return owner, rank


def choose(rng: np.random.Generator, probabilities: np.ndarray) -> np.ndarray:
    """One categorical draw per row of a (rows x categories) probability matrix."""
    probabilities = np.atleast_2d(probabilities)
    cumulative = np.cumsum(probabilities, axis=1)
    cumulative /= cumulative[:, -1:]
    u = rng.random((probabilities.shape[0], 1))  # one uniform draw per row, as a column
    return np.minimum((u > cumulative).sum(axis=1), probabilities.shape[1] - 1)


def choose_fixed(
    rng: np.random.Generator, shares: Sequence[float] | np.ndarray, size: int
) -> np.ndarray:
    """`size` categorical draws with fixed shares."""
    p = np.asarray(shares, dtype=float)
    return rng.choice(len(p), size=size, p=p / p.sum())


def seconds_in_day(
    rng: np.random.Generator, size: int, start_hour: int = 7, end_hour: int = 22
) -> np.ndarray:
    """Random seconds after midnight within [start_hour, end_hour)."""
    return rng.integers(start_hour * 3600, end_hour * 3600, size=size)


def concat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    """The month-by-month pieces of a log as one array (empty when nothing was logged)."""
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)
