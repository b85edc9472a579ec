"""Behavioural segmentation: K-means on standardised behaviour features.

- Features are median-imputed, compressed with a signed log (sign(x) * log(1 + |x|), so
  heavy-tailed counts and volumes do not make one-customer clusters) and standardised.

- k is chosen by the silhouette score (on a seeded sample of at most 3,000 rows) over k = 2..8.
- Stability: the model is refitted on bootstrap resamples; each refit labels all rows and is
  compared with the reference labelling by the adjusted Rand index (ARI; 1 = identical
  partition, ~0 = chance). Mean and minimum ARI are reported.
- Names come from each cluster's profile: the two features whose centroid is furthest from the
  overall mean (in standard deviations), each said in the retention team's words
  (`BEHAVIOUR_WORDS`), e.g. "Heavy data users, few calls"; a cluster within
  `TYPICAL_WITHIN` standard deviations of the mean on every feature is "Typical usage".
- Applied to every snapshot with the same fitted model, so a customer's segment is comparable
  across months; `migration_matrix` counts moves from one snapshot month to the next.
- K-means runs with its OpenMP pool limited to one thread (`threadpoolctl`): on a few
  thousand rows threads gain nothing, and on a busy machine they spin (the 20 bootstrap
  refits took ~50 s instead of ~1 s with two contended cores).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.impute import SimpleImputer
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from threadpoolctl import threadpool_limits

K_RANGE = range(2, 9)
SILHOUETTE_SAMPLE = 3000
#: behaviour feature -> (words for a cluster above the mean, words for one below it)
BEHAVIOUR_WORDS: dict[str, tuple[str, str]] = {
    "usage_days_30d": ("daily users", "rarely online"),
    "data_volume_mb_30d": ("heavy data users", "light data users"),
    "voice_minutes_30d": ("many calls", "few calls"),
    "sessions_30d": ("many sessions", "few sessions"),
    "kb_views_90d": ("help-centre readers", "no help-centre visits"),
    "orders_90d": ("recent buyers", "no recent orders"),
    "campaign_responses_90d": ("answer campaigns", "ignore campaigns"),
    "tickets_90d": ("frequent support contacts", "no support contacts"),
    "services_used_30d": ("multi-service", "single service"),
    "revenue_3m_amount": ("high spenders", "low spenders"),
    "discount_share_12m": ("discount-reliant", "full-price payers"),
}
#: no centroid deviation above this (standard deviations): the cluster is the typical customer
TYPICAL_WITHIN = 0.25


def describe_deviation(feature: str, z: float) -> str:
    """One centroid deviation in words ("heavy data users"); a feature without words in
    BEHAVIOUR_WORDS reads "more/less <feature in words>"."""
    high, low = BEHAVIOUR_WORDS.get(
        feature, (f"more {feature.replace('_', ' ')}", f"less {feature.replace('_', ' ')}")
    )
    return high if z > 0 else low


@dataclass
class Segmentation:
    features: list[str]
    scaler: Pipeline
    model: KMeans
    silhouette_by_k: dict[int, float]
    stability_ari: list[float]
    names: dict[int, str]
    profiles: pd.DataFrame = field(repr=False)

    @property
    def k(self) -> int:
        return int(self.model.n_clusters)

    def labels(self, frame: pd.DataFrame) -> np.ndarray:
        with threadpool_limits(limits=1):
            return self.model.predict(self.scaler.transform(frame[self.features]))

    def assign(self, frame: pd.DataFrame) -> pd.DataFrame:
        """segment_id and segment_name per row (indexed like `frame`)."""
        labels = self.labels(frame)
        return pd.DataFrame(
            {"segment_id": labels, "segment_name": [self.names[int(x)] for x in labels]},
            index=frame.index,
        )

    def summary(self) -> dict[str, Any]:
        return {
            "k": self.k,
            "features": self.features,
            "silhouette_by_k": {str(k): v for k, v in self.silhouette_by_k.items()},
            "stability_ari_mean": float(np.mean(self.stability_ari)),
            "stability_ari_min": float(np.min(self.stability_ari)),
            "bootstraps": len(self.stability_ari),
            "segments": self.profiles.reset_index().to_dict("records"),
        }


def signed_log(values: np.ndarray) -> np.ndarray:
    return np.sign(values) * np.log1p(np.abs(values))


def _scaler() -> Pipeline:
    return make_pipeline(
        SimpleImputer(strategy="median"), FunctionTransformer(signed_log), StandardScaler()
    )


def _kmeans(k: int, seed: int) -> KMeans:
    return KMeans(n_clusters=k, n_init=10, random_state=seed)


def choose_k(z: np.ndarray, seed: int, k_range: range = K_RANGE) -> dict[int, float]:
    """Silhouette score of K-means for each k (on a seeded sample for large data)."""
    sample = min(SILHOUETTE_SAMPLE, len(z))
    scores = {}
    for k in k_range:
        labels = _kmeans(k, seed).fit_predict(z)
        scores[k] = float(silhouette_score(z, labels, sample_size=sample, random_state=seed))
    return scores


def bootstrap_ari(
    z: np.ndarray, reference: np.ndarray, k: int, seed: int, bootstraps: int
) -> list[float]:
    rng = np.random.default_rng(seed)
    scores = []
    for b in range(bootstraps):
        rows = rng.integers(0, len(z), len(z))
        refit = _kmeans(k, seed + b + 1).fit(z[rows])
        scores.append(float(adjusted_rand_score(reference, refit.predict(z))))
    return scores


def name_segments(z_centroids: pd.DataFrame) -> dict[int, str]:
    """Cluster id -> name from the two strongest centroid deviations, in words; unique."""
    names: dict[int, str] = {}
    for cluster, row in z_centroids.iterrows():
        strongest = row.abs().sort_values(ascending=False, kind="stable").index[:2]
        if abs(row[strongest[0]]) <= TYPICAL_WITHIN:
            name = "Typical usage"
        else:
            parts = [
                describe_deviation(f, row[f]) for f in strongest if abs(row[f]) > TYPICAL_WITHIN
            ]
            name = ", ".join(parts)
            name = name[0].upper() + name[1:]
        if name in names.values():
            name = f"{name} ({cluster})"
        names[int(cluster)] = name
    return names


def fit_segmentation(
    frame: pd.DataFrame,
    features: list[str],
    seed: int,
    k_range: range = K_RANGE,
    bootstraps: int = 20,
) -> Segmentation:
    """Fit scaler + K-means with k by silhouette; measure stability; name the segments."""
    with threadpool_limits(limits=1):
        return _fit_segmentation(frame, features, seed, k_range, bootstraps)


def _fit_segmentation(
    frame: pd.DataFrame, features: list[str], seed: int, k_range: range, bootstraps: int
) -> Segmentation:
    scaler = _scaler().fit(frame[features])
    z = scaler.transform(frame[features])
    silhouettes = choose_k(z, seed, k_range)
    k = max(silhouettes, key=lambda key: (silhouettes[key], -key))
    model = _kmeans(k, seed).fit(z)
    labels = model.labels_
    z_centroids = pd.DataFrame(model.cluster_centers_, columns=features)
    names = name_segments(z_centroids)
    profiles = frame[features].groupby(labels).mean()
    profiles.insert(0, "rows", pd.Series(labels).value_counts().sort_index().to_numpy())
    profiles.insert(0, "segment_name", [names[int(c)] for c in profiles.index])
    profiles.index.name = "segment_id"
    stability = bootstrap_ari(z, labels, k, seed, bootstraps)
    return Segmentation(features, scaler, model, silhouettes, stability, names, profiles)


def migration_matrix(
    assignments: pd.DataFrame, id_column: str, time_column: str, segment_column: str
) -> pd.DataFrame:
    """Counts of customers by segment in one snapshot (rows) and the next snapshot (columns),
    summed over all consecutive snapshot pairs."""
    ordered = assignments.sort_values([id_column, time_column])
    dates = np.sort(ordered[time_column].unique())
    following = dict(zip(dates[:-1], dates[1:], strict=True))
    current = ordered.assign(_next=ordered[time_column].map(following))
    moves = current.merge(
        ordered[[id_column, time_column, segment_column]],
        left_on=[id_column, "_next"],
        right_on=[id_column, time_column],
        suffixes=("", "_to"),
    )
    return pd.crosstab(
        moves[segment_column].rename("from_segment"),
        moves[f"{segment_column}_to"].rename("to_segment"),
    )
