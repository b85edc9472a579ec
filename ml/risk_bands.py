"""Risk bands on calibrated churn probabilities, each with a meaning for the retention team.

- `high` (the **call band**): the `capacity` highest-scored customers per snapshot month on
  validation data (the customers the retention team can call: `ml.retention_capacity` in
  config.yaml). The threshold is the score of the last row inside that capacity.
- `medium` (the **watch band**): below `high`, a calibrated probability of at least
  `watch_lift` (`ml.watch_lift`, default 2) times the validation churn rate: customers at
  least twice as likely to churn as the average one, beyond the team's capacity; worth a
  cheaper touch (e-mail, offer) and a look next month. Empty when `high` already reaches that
  probability.
- `low`: everything else.
Because the probabilities are calibrated, the watch threshold is an absolute risk, and each
band's realised churn rate (validation and test) is reported next to it. A score on a
threshold belongs to the higher band.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from ml.evaluate import ranking_order

BANDS = ("high", "medium", "low")
BAND_MEANINGS = {
    "high": "call: within the retention team's monthly capacity",
    "medium": "watch: beyond capacity, at least watch_lift x the average churn risk",
    "low": "no action",
}


@dataclass(frozen=True)
class RiskBands:
    high_threshold: float
    medium_threshold: float
    capacity: int
    watch_lift: float
    base_rate: float

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
        """Per band: rows, rows per period, churners, realised churn rate, mean predicted
        probability, share of churners."""
        bands = self.assign(scores)
        scores = np.asarray(scores, dtype=float)
        y = np.asarray(y, dtype=int)
        result = {}
        for band in BANDS:
            inside = bands == band
            result[band] = {
                "rows": int(inside.sum()),
                "rows_per_period": float(inside.sum() / periods),
                "churners": int(y[inside].sum()),
                "churn_rate": float(y[inside].mean()) if inside.any() else float("nan"),
                "mean_predicted": float(scores[inside].mean()) if inside.any() else float("nan"),
                "share_of_churners": float(y[inside].sum() / y.sum()) if y.sum() else float("nan"),
            }
        return result

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "meanings": BAND_MEANINGS}


def choose_bands(
    scores: np.ndarray, y: np.ndarray, capacity: int, periods: int = 1, watch_lift: float = 2.0
) -> RiskBands:
    """Thresholds from calibrated validation scores and labels; `periods` = snapshot months
    they span."""
    scores = np.asarray(scores, dtype=float)
    y = np.asarray(y, dtype=int)
    ranked_scores = scores[ranking_order(scores)]
    flagged = min(capacity * periods, len(scores))
    high = float(ranked_scores[flagged - 1])
    base_rate = float(y.mean())
    medium = min(watch_lift * base_rate, high)
    return RiskBands(high, medium, capacity, watch_lift, base_rate)
