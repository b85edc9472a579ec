"""The build's ML step: train on the feature mart out-of-time, register, score, write back.

`train_and_score(settings)` (called by `custintel build`):
1. reads `marts.churn_prediction_features` (one row per customer x snapshot_date; label
   `churned_within_90d`, null while the 90-day window is open);
2. trains CatBoost + baselines with an out-of-time split and a 90-day embargo, risk bands for
   `ml.retention_capacity`, and (if the mart has `health_score`) validates the health score on
   the test snapshot; stores the version in the registry with its model card;
3. scores every customer at the latest snapshot: probability, risk band, top-3 SHAP reasons
   and discounted CLV (margin = net revenue of the last 3 months / 3 x ml.gross_margin_rate,
   hazard from the probability; see ml/clv.py), written to `ml.churn_scores`;
4. segments customers by behaviour (K-means on `MART.behaviour`), assigns
   every snapshot, writes `ml.customer_segments` and attaches the segmentation report
   (profiles, silhouette, stability, month-over-month migration) to the model version.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from custintel.settings import Settings
from ml import clv, gateway
from ml.dataset import Dataset, DatasetError, DatasetSpec, build_dataset
from ml.health import health_validation
from ml.registry import ModelVersion, Registry
from ml.rules import SEED_004_RULES
from ml.score import score_frame
from ml.segmentation import Segmentation, fit_segmentation, migration_matrix
from ml.train import TrainConfig, TrainResult, train

MODEL_NAME = "churn"
LABEL_HORIZON_DAYS = 90
CHURN_EVENTS_TABLE = "marts.customer_churn_events"
#: share of net revenue kept as margin: the sources hold no cost data, so CLV uses this
#: stated assumption (move it to config.yaml's ml section to change it per deployment)


@dataclass(frozen=True)
class MartColumns:
    """Column names of the feature mart this step relies on."""

    table: str = "marts.churn_prediction_features"
    id: str = "customer_id"
    time: str = "snapshot_date"
    target: str = "churned_within_90d"
    churn_date: str = "churn_date"  # early-warning figure; from CHURN_EVENTS_TABLE if absent
    health: str = "health_score"  # optional: health-score validation
    revenue_3m: str = "revenue_3m_amount"  # CLV margin = revenue_3m / 3 x ml.gross_margin_rate
    #: not features: `history_days` is the snapshot date in disguise (it grows with time, so an
    #: out-of-time test set only holds values never seen in training)
    not_features: tuple[str, ...] = ("history_days",)
    #: behaviour features for the K-means segmentation (usage, engagement, support, value)
    behaviour: tuple[str, ...] = (
        "usage_days_30d",
        "data_volume_mb_30d",
        "voice_minutes_30d",
        "sessions_30d",
        "kb_views_90d",
        "orders_90d",
        "campaign_responses_90d",
        "tickets_90d",
        "services_used_30d",
        "revenue_3m_amount",
        "discount_share_12m",
    )


MART = MartColumns()


@dataclass
class PipelineResult:
    version: ModelVersion
    score_date: dt.date
    scores: pd.DataFrame
    segments: pd.DataFrame


def attach_churn_dates(
    frame: pd.DataFrame, events: pd.DataFrame, columns: MartColumns = MART
) -> pd.DataFrame:
    """Add `churn_date`: each snapshot's next churn event of the customer (on or after the
    snapshot date), from `marts.customer_churn_events`; null if none follows."""
    left = frame.assign(_at=pd.to_datetime(frame[columns.time]).astype("datetime64[ns]"))
    left = left.reset_index()
    right = events[[columns.id, "churn_date"]].dropna().copy()
    right["_churn_at"] = pd.to_datetime(right["churn_date"]).astype("datetime64[ns]")
    merged = pd.merge_asof(
        left.sort_values("_at"),
        right[[columns.id, "_churn_at"]].sort_values("_churn_at"),
        left_on="_at",
        right_on="_churn_at",
        by=columns.id,
        direction="forward",
    ).set_index("index")
    return frame.assign(**{columns.churn_date: merged["_churn_at"].reindex(frame.index)})


def load_mart(frame: pd.DataFrame, columns: MartColumns = MART) -> Dataset:
    churn_date = columns.churn_date if columns.churn_date in frame.columns else None
    exclude = tuple(c for c in columns.not_features if c in frame.columns)
    spec = DatasetSpec(columns.id, columns.target, columns.time, churn_date, exclude)
    return build_dataset(frame, spec, columns.table)


def train_on_mart(dataset: Dataset, settings: Settings, columns: MartColumns = MART) -> TrainResult:
    config = TrainConfig(
        seed=settings.ml.seed,
        embargo_days=LABEL_HORIZON_DAYS,
        valid_periods=settings.ml.valid_snapshots,
        test_periods=settings.ml.test_snapshots,
        capacity=settings.ml.retention_capacity,
        rules=SEED_004_RULES,
    )
    result = train(dataset, config)
    if columns.health in dataset.frame.columns:
        test = dataset.labelled.loc[result.split.test]
        result.metrics["health_score"] = health_validation(
            test[columns.health], test[columns.target]
        )
    return result


def score_latest(
    version: ModelVersion,
    result: TrainResult,
    frame: pd.DataFrame,
    scored_at: dt.datetime,
    columns: MartColumns = MART,
    gross_margin_rate: float = 0.5,
) -> pd.DataFrame:
    """Scores for every customer at the latest snapshot date, in `ml.churn_scores` columns."""
    latest = frame[frame[columns.time] == frame[columns.time].max()]
    scored = score_frame(version, latest)
    if result.bands is None:
        raise ValueError("risk bands need a retention capacity (ml.retention_capacity)")
    scored["risk_band"] = result.bands.assign(scored["churn_probability"])
    scored["score_date"] = pd.to_datetime(scored[columns.time]).dt.date
    hazard = clv.monthly_hazard(scored["churn_probability"].to_numpy())
    if columns.revenue_3m in latest.columns:
        margin = latest[columns.revenue_3m].to_numpy(dtype=float) / 3.0 * gross_margin_rate
        scored["predicted_clv_amount"] = clv.predicted_clv(margin, hazard)
    else:
        scored["predicted_clv_amount"] = np.nan
    scored["scored_at"] = pd.Timestamp(scored_at)
    return scored.rename(columns={columns.id: "customer_id"})


def behaviour_features(dataset: Dataset, columns: MartColumns = MART) -> list[str]:
    return [c for c in columns.behaviour if c in dataset.frame.columns]


def segment(
    dataset: Dataset,
    version: ModelVersion,
    seed: int,
    segmented_at: dt.datetime,
    columns: MartColumns = MART,
    bootstraps: int = 20,
) -> tuple[Segmentation, pd.DataFrame]:
    """Fit on the latest snapshot, assign every snapshot with the same model."""
    features = behaviour_features(dataset, columns)
    if len(features) < 2:
        raise DatasetError(
            f"{columns.table}: segmentation needs >= 2 of the behaviour columns "
            f"{list(columns.behaviour)}; found {features}"
        )
    frame = dataset.frame
    latest = frame[frame[columns.time] == frame[columns.time].max()]
    segmentation = fit_segmentation(latest, features, seed, bootstraps=bootstraps)
    assigned = segmentation.assign(frame)
    segments = pd.DataFrame(
        {
            "customer_id": frame[columns.id],
            "snapshot_date": pd.to_datetime(frame[columns.time]).dt.date,
            "segment_id": assigned["segment_id"].astype(int),
            "segment_name": assigned["segment_name"],
            "model_version": f"{version.name}/{version.version}",
            "segmented_at": pd.Timestamp(segmented_at),
        }
    )
    return segmentation, segments


def segmentation_report(segmentation: Segmentation, segments: pd.DataFrame) -> dict[str, Any]:
    migration = migration_matrix(segments, "customer_id", "snapshot_date", "segment_name")
    return {
        **segmentation.summary(),
        "migration_counts": {
            source: {target: int(n) for target, n in row.items()}
            for source, row in migration.iterrows()
        },
    }


def segmentation_markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Behavioural segments",
        "",
        f"K-means on {len(report['features'])} standardised behaviour features, k = "
        f"{report['k']} (best silhouette: "
        + ", ".join(f"k={k}: {v:.3f}" for k, v in report["silhouette_by_k"].items())
        + f"). Bootstrap stability ({report['bootstraps']} refits): mean ARI "
        f"{report['stability_ari_mean']:.3f}, min {report['stability_ari_min']:.3f}.",
        "",
        "| segment | customers (latest snapshot) |",
        "| --- | --- |",
    ]
    lines += [f"| {s['segment_name']} | {s['rows']} |" for s in report["segments"]]
    names = sorted(report["migration_counts"])
    targets = sorted({t for row in report["migration_counts"].values() for t in row})
    lines += ["", "## Month-over-month migration (customers, summed over months)", ""]
    lines += ["| from \\ to | " + " | ".join(targets) + " |", "|" + " --- |" * (len(targets) + 1)]
    for name in names:
        row = report["migration_counts"][name]
        lines.append(f"| {name} | " + " | ".join(str(row.get(t, 0)) for t in targets) + " |")
    return "\n".join(lines) + "\n"


def train_and_score(
    settings: Settings, columns: MartColumns = MART, bootstraps: int = 20
) -> PipelineResult:
    """Train, register, score the latest snapshot and segment; write both ml tables."""
    frame = gateway.read_table(settings, columns.table)
    if columns.churn_date not in frame.columns:
        events = gateway.read_table(settings, CHURN_EVENTS_TABLE)
        frame = attach_churn_dates(frame, events, columns)
    dataset = load_mart(frame, columns)
    result = train_on_mart(dataset, settings, columns)
    registry = Registry(settings.registry_path, MODEL_NAME)
    version = registry.save(result)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    scores = score_latest(
        version, result, dataset.frame, now, columns, settings.ml.gross_margin_rate
    )
    gateway.write_churn_scores(settings, scores)
    segmentation, segments = segment(dataset, version, settings.ml.seed, now, columns, bootstraps)
    gateway.write_customer_segments(settings, segments)
    report = segmentation_report(segmentation, segments)
    registry.attach(version.version, "segmentation.json", json.dumps(report, indent=2, default=str))
    registry.attach(version.version, "segmentation.md", segmentation_markdown(report))
    return PipelineResult(version, scores["score_date"].iloc[0], scores, segments)
