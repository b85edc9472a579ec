"""ml.segmentation: k by silhouette, stability, names from profiles, migration counts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.pipeline import MART
from ml.segmentation import (
    BEHAVIOUR_WORDS,
    TYPICAL_WITHIN,
    fit_segmentation,
    migration_matrix,
    name_segments,
)


def three_groups(seed: int = 0, per_group: int = 100) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    centres = {"heavy": (10.0, 1.0), "support": (2.0, 8.0), "quiet": (1.0, 1.0)}
    parts = [
        pd.DataFrame(
            {
                "data_volume_mb_30d": rng.normal(x, 0.3, per_group),
                "tickets_90d": rng.normal(y, 0.3, per_group),
                "group": name,
            }
        )
        for name, (x, y) in centres.items()
    ]
    return pd.concat(parts, ignore_index=True)


def test_well_separated_groups_are_found_stable_and_named_by_profile() -> None:
    frame = three_groups()
    segmentation = fit_segmentation(
        frame, ["data_volume_mb_30d", "tickets_90d"], seed=1, k_range=range(2, 6), bootstraps=5
    )
    assert segmentation.k == 3
    assert max(segmentation.silhouette_by_k, key=segmentation.silhouette_by_k.get) == 3
    assert min(segmentation.stability_ari) > 0.95
    assigned = segmentation.assign(frame)
    # each true group maps to exactly one segment
    assert pd.crosstab(frame["group"], assigned["segment_id"]).gt(0).sum(axis=1).eq(1).all()
    heavy = assigned.loc[frame["group"] == "heavy", "segment_name"].iloc[0]
    support = assigned.loc[frame["group"] == "support", "segment_name"].iloc[0]
    # names in words from the centroids: the heavy group's strongest deviation is data, the
    # support group's tickets (both above the mean)
    assert heavy.startswith("Heavy data users")
    assert support.startswith("Frequent support contacts")
    assert "_" not in heavy + support
    profile = segmentation.profiles.set_index("segment_name").loc[heavy]
    assert profile["rows"] == 100
    assert abs(profile["data_volume_mb_30d"] - 10.0) < 0.2


def test_names_say_the_two_strongest_deviations_in_words_or_typical() -> None:
    centroids = pd.DataFrame(
        {
            "revenue_3m_amount": [1.8, -0.1, 0.2, -1.2],
            "discount_share_12m": [-0.9, 0.1, 1.5, 0.1],
            "voice_minutes_30d": [0.1, 0.2, 0.1, -0.2],
        }
    )
    names = name_segments(centroids)
    assert names[0] == "High spenders, full-price payers"
    assert names[1] == "Typical usage"  # nothing beyond TYPICAL_WITHIN standard deviations
    assert names[2] == "Discount-reliant"  # the second deviation (0.2) is within the typical
    assert names[3] == "Low spenders"  # -0.2 is not a difference worth naming
    assert 0.2 < TYPICAL_WITHIN < 0.5


def test_every_behaviour_feature_of_the_pipeline_has_words() -> None:
    """A behaviour feature added to ml.pipeline.MART without words would name clusters by its
    column name."""
    assert set(MART.behaviour) <= set(BEHAVIOUR_WORDS)


def test_migration_matrix_counts_moves_between_consecutive_snapshots() -> None:
    rows = [
        ("C1", "2024-01-01", "a"),
        ("C1", "2024-02-01", "b"),
        ("C1", "2024-03-01", "b"),
        ("C2", "2024-01-01", "a"),
        ("C2", "2024-02-01", "a"),
        ("C3", "2024-02-01", "b"),
        ("C3", "2024-03-01", "a"),
        ("C4", "2024-01-01", "b"),
        ("C4", "2024-03-01", "a"),  # skips February: no move counted
    ]
    frame = pd.DataFrame(rows, columns=["customer_id", "snapshot_date", "segment"])
    frame["snapshot_date"] = pd.to_datetime(frame["snapshot_date"])
    matrix = migration_matrix(frame, "customer_id", "snapshot_date", "segment")
    assert matrix.loc["a", "a"] == 1  # C2 Jan->Feb
    assert matrix.loc["a", "b"] == 1  # C1 Jan->Feb
    assert matrix.loc["b", "b"] == 1  # C1 Feb->Mar
    assert matrix.loc["b", "a"] == 1  # C3 Feb->Mar
    assert matrix.to_numpy().sum() == 4
