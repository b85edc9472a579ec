"""Risk bands with thresholds chosen on validation data for the retention team's capacity.

- `high`: the `capacity` highest-scored customers per snapshot month on validation data (the
  customers the retention team can call: `ml.retention_capacity` in config.yaml). The threshold
  is the score of the last row inside that capacity; its validation precision is reported.
- `medium`: the rows just below `high`, down to the lowest score at which the band's own
  validation churn rate is still at least `medium_lift` (default 1) times the overall
  validation churn rate, i.e. above-average risk beyond the team's capacity: worth a cheaper
  touch (e-mail, offer), not a call. Empty when no such depth exists.
- `low`: everything else.
A score on the threshold belongs to the higher band.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from ml.evaluate import ranking_order

BANDS = ("high", "medium", "low")


@dataclass(frozen=True)
class RiskBands:
    high_threshold: float
    medium_threshold: float
    capacity: int
    medium_lift: float

    def assign(self, scores: np.ndarray | pd.Series) -> np.ndarray:
        scores = np.asarray(scores, dtype=float)
        return np.select(
            [scores >= self.high_threshold, scores >= self.medium_threshold],
            ["high", "medium"],
            default="low",
        )

    def summary(
        self, scores: np.ndarray, y: np.ndarray, periods: int = 1
    ) -> dict[str, dict[str, float | int]]:
        """Per band: rows, rows per period, churners, churn rate (precision), share of churners."""
        bands = self.assign(scores)
        y = np.asarray(y, dtype=int)
        result = {}
        for band in BANDS:
            inside = bands == band
            result[band] = {
                "rows": int(inside.sum()),
                "rows_per_period": float(inside.sum() / periods),
                "churners": int(y[inside].sum()),
                "churn_rate": float(y[inside].mean()) if inside.any() else float("nan"),
                "share_of_churners": float(y[inside].sum() / y.sum()) if y.sum() else float("nan"),
            }
        return result

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def choose_bands(
    scores: np.ndarray, y: np.ndarray, capacity: int, periods: int = 1, medium_lift: float = 1.0
) -> RiskBands:
    """Thresholds from validation scores and labels; `periods` = snapshot months they span."""
    scores = np.asarray(scores, dtype=float)
    y = np.asarray(y, dtype=int)
    order = ranking_order(scores)
    ranked_scores, ranked_y = scores[order], y[order]
    flagged = min(capacity * periods, len(scores))
    high = float(ranked_scores[flagged - 1])
    below = ranked_y[flagged:]
    band_rate = np.cumsum(below) / np.arange(1, len(below) + 1)
    good = np.flatnonzero(band_rate >= medium_lift * y.mean())
    medium = float(ranked_scores[flagged + good[-1]]) if len(good) else high
    return RiskBands(high, min(medium, high), capacity, medium_lift)
