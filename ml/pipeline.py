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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from custintel.core.model_registry import SEGMENTATION_FILE
from custintel.core.settings import Settings
from ml import clv, evaluate, gateway
from ml.dataset import Dataset, DatasetError, DatasetSpec, build_dataset
from ml.hazard_ceiling import HAZARD_MANIFEST, HazardCeilingError, hazard_ceiling
from ml.health import health_validation
from ml.lifetime_value import LifetimeValueModels, fit_lifetime_value
from ml.monitoring_step import attach_monitoring, monitoring_report
from ml.reasons import load_playbook
from ml.registry import ModelVersion, Registry
from ml.rules import SEED_004_RULES
from ml.score import score_frame
from ml.segmentation import Segmentation, fit_segmentation, migration_matrix
from ml.train import TrainConfig, TrainResult, train
from ml.uplift import UpliftLearner, recommended_contact
from ml.uplift_step import retention_uplift_model

MODEL_NAME = "churn"
LABEL_HORIZON_DAYS = 90
CHURN_EVENTS_TABLE = "marts.customer_churn_events"
AS_OF_TABLE = "marts.data_as_of"
ORDERS_TABLE = "warehouse.fact_order"
#: fewer survival covariates than this in the mart: CLV from the constant hazard (ml/clv.py)
MIN_SURVIVAL_FEATURES = 2
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
    #: forward-looking features (promotion and contract ends ahead): the model card measures
    #: what they add against the same CatBoost without them
    forward_looking: tuple[str, ...] = (
        "discount_ends_within_90d",
        "discount_months_left",
        "contract_ends_within_90d",
    )
    #: the randomised retention-offer experiment before the snapshot (entries dated strictly
    #: before it, both arms): a treated offer acts on the churn hazard for three months from its
    #: date; the model card measures what they add like the forward-looking group
    retention_offer_history: tuple[str, ...] = (
        "days_since_retention_offer",
        "retention_offers_made_90d",
        "retention_offers_held_out_90d",
    )
    #: covariates of the subscription survival model (Weibull AFT, ml/survival.py)
    survival_features: tuple[str, ...] = (
        "tenure_days",
        "usage_vs_peak_12m_ratio",
        "escalated_tickets_weighted_12m",
        "low_csat_tickets_weighted_12m",
        "outage_minutes_30d",
        "account_kb_views_90d",
        "is_month_to_month",
        "contract_ends_within_90d",
        "discount_ends_within_90d",
        "discount_months_left",
        "order_discount_rate_12m",
        "monthly_recurring_charge_amount",
        "services_removed_90d",
        "active_services_count",
    )
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


def _churn_date_asof(
    frame: pd.DataFrame, events: pd.DataFrame, direction: str, columns: MartColumns
) -> pd.Series:
    """Per row of `frame`, the customer's churn date nearest its snapshot date in `direction`
    (`forward`: on or after it; `backward`: on or before it); NaT if none."""
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
        direction=direction,
    ).set_index("index")
    return merged["_churn_at"].reindex(frame.index)


def read_as_of(settings: Settings, latest_snapshot: pd.Timestamp) -> pd.Timestamp:
    """The warehouse's as-of date (marts.data_as_of): what may be known, for censoring. A
    warehouse without it (a mart loaded on its own) is known up to the day before its latest
    snapshot."""
    try:
        frame = gateway.read_table(settings, AS_OF_TABLE)
    except DatasetError:
        return pd.Timestamp(latest_snapshot) - pd.Timedelta(days=1)
    return pd.Timestamp(frame["as_of_date"].iloc[0])


def read_orders(settings: Settings) -> pd.DataFrame | None:
    """Completed one-off orders (customer, time, net amount) for BG/NBD + Gamma-Gamma; None
    when the warehouse has no order fact."""
    try:
        orders = gateway.read_table(settings, ORDERS_TABLE)
    except DatasetError:
        return None
    completed = orders[orders["order_status"] == "Completed"]
    columns = ["customer_id", "ordered_at", "net_amount"]
    # a table read without ORDER BY comes in any order: sorted, the per-customer sums the
    # BG/NBD and Gamma-Gamma inputs are built from add up in the same order every run
    return completed[columns].sort_values(columns, kind="stable").reset_index(drop=True)


def lifetime_value_models(
    dataset: Dataset,
    result: TrainResult,
    events: pd.DataFrame,
    settings: Settings,
    columns: MartColumns,
    margin_rate: float,
) -> LifetimeValueModels | None:
    """Survival + order models for CLV, or None (constant-hazard CLV) when the mart has fewer
    than MIN_SURVIVAL_FEATURES of the survival covariates."""
    features = [c for c in columns.survival_features if c in dataset.frame.columns]
    if len(features) < MIN_SURVIVAL_FEATURES:
        return None
    latest = pd.Timestamp(pd.to_datetime(dataset.frame[columns.time]).max())
    return fit_lifetime_value(
        dataset.labelled,
        dataset.frame,
        result.split,
        events,
        read_as_of(settings, latest),
        features,
        columns.id,
        columns.time,
        read_orders(settings),
        margin_rate,
    )


def attach_churn_dates(
    frame: pd.DataFrame, events: pd.DataFrame, columns: MartColumns = MART
) -> pd.DataFrame:
    """Add `churn_date`: each snapshot's next churn event of the customer (on or after the
    snapshot date), from `marts.customer_churn_events`; null if none follows."""
    return frame.assign(**{columns.churn_date: _churn_date_asof(frame, events, "forward", columns)})


def active_population(
    frame: pd.DataFrame, events: pd.DataFrame, columns: MartColumns = MART
) -> pd.DataFrame:
    """The rows of customers still active at their snapshot: drops every row whose customer has
    a churn event on or before the snapshot date. The mart already excludes them; this guards a
    mart (or any table) that does not, so no one who has already left is trained on or scored."""
    churned = _churn_date_asof(frame, events, "backward", columns).notna()
    return frame[~churned.to_numpy()]


def generator_ceiling(
    settings: Settings, result: TrainResult, columns: MartColumns = MART
) -> dict[str, Any] | None:
    """The test rows ranked by the sample generator's own churn hazard (ml/hazard_ceiling.py)
    against CatBoost's test metrics, when the landing folder has the generator's hazard
    manifest; None otherwise (real data), `{skipped: why}` when it does not cover the rows."""
    path = settings.landing_path / HAZARD_MANIFEST
    if not path.is_file():
        return None
    test = result.test_scores
    try:
        return hazard_ceiling(
            pd.read_parquet(path),
            test,
            columns.id,
            columns.time,
            columns.target,
            result.metrics["models"]["catboost"]["test"],
        )
    except HazardCeilingError as exc:
        return {"skipped": str(exc)}


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
        watch_lift=settings.ml.watch_lift,
        calibration=settings.ml.calibration,
        rules=SEED_004_RULES,
        ablations=(
            ("forward_looking", columns.forward_looking),
            ("retention_offer_history", columns.retention_offer_history),
        ),
    )
    result = train(dataset, config)
    if columns.health in dataset.frame.columns:
        test = dataset.labelled.loc[result.split.test]
        result.metrics["health_score"] = health_validation(
            test[columns.health], test[columns.target]
        )
    return result


@dataclass(frozen=True)
class ActionEconomics:
    """Assumptions of the value-ranked action list (config.yaml `ml`)."""

    gross_margin_rate: float = 0.5
    save_rate: float = 0.25
    contact_cost_amount: float = 15.0

    @classmethod
    def from_settings(cls, settings: Settings) -> ActionEconomics:
        ml = settings.ml
        return cls(ml.gross_margin_rate, ml.save_rate, ml.contact_cost_amount)


def customer_value(
    probability: np.ndarray,
    revenue_3m: np.ndarray,
    economics: ActionEconomics,
    model_values: Callable[[np.ndarray], dict[str, np.ndarray]] | None = None,
) -> dict[str, np.ndarray]:
    """Monthly margin, monthly hazard (from the calibrated 90-day probability), CLV and the
    expected retained value of one retention contact: probability x CLV x save rate - contact
    cost. `model_values(margin)` gives CLV from the survival and order models
    (ml/lifetime_value.py); without it CLV assumes the constant hazard (ml/clv.py)."""
    margin = np.asarray(revenue_3m, dtype=float) / 3.0 * economics.gross_margin_rate
    hazard = clv.monthly_hazard(probability)
    values = {"monthly_margin_amount": margin, "monthly_churn_hazard": hazard}
    if model_values is not None:
        values.update(model_values(margin))
    else:
        values["predicted_clv_amount"] = clv.predicted_clv(margin, hazard)
    retained = np.asarray(probability) * values["predicted_clv_amount"] * economics.save_rate
    values["expected_retained_value_amount"] = retained - economics.contact_cost_amount
    return values


def score_latest(
    version: ModelVersion,
    result: TrainResult,
    frame: pd.DataFrame,
    scored_at: dt.datetime,
    columns: MartColumns = MART,
    economics: ActionEconomics | None = None,
    lifetime_value: LifetimeValueModels | None = None,
    uplift_model: UpliftLearner | None = None,
) -> pd.DataFrame:
    """Scores for every customer at the latest snapshot date, in `ml.churn_scores` columns:
    calibrated probability from the production model, risk band, reasons in the team's words
    with their playbook actions, CLV, expected retained value and both rankings; with an
    `uplift_model` (ml/uplift.py) the predicted uplift of a retention offer and the contact it
    recommends (`offer` when > 0, else `call`), otherwise both null."""
    economics = economics or ActionEconomics()
    latest = frame[frame[columns.time] == frame[columns.time].max()]
    scored = score_frame(version, latest, playbook=load_playbook())
    if result.bands is None:
        raise ValueError("risk bands need a retention capacity (ml.retention_capacity)")
    scored["risk_band"] = result.bands.assign(scored["churn_probability"])
    scored["score_date"] = pd.to_datetime(scored[columns.time]).dt.date
    probability = scored["churn_probability"].to_numpy()
    revenue = (
        latest[columns.revenue_3m].to_numpy(dtype=float)
        if columns.revenue_3m in latest.columns
        else np.full(len(latest), np.nan)
    )
    model_values = None
    if lifetime_value is not None:

        def model_values(margin: np.ndarray) -> dict[str, np.ndarray]:
            return lifetime_value.values(latest, columns.id, columns.time, margin)

    for name, values in customer_value(probability, revenue, economics, model_values).items():
        scored[name] = values
    for name in ("expected_remaining_months", "subscription_clv_amount", "order_clv_amount"):
        if name not in scored.columns:  # constant-hazard CLV: no survival or order model
            scored[name] = np.nan
    for name, values in uplift_columns(uplift_model, latest).items():
        scored[name] = values
    scored["risk_rank"] = _rank(probability)
    scored["value_rank"] = _rank(scored["expected_retained_value_amount"].to_numpy())
    scored["scored_at"] = pd.Timestamp(scored_at)
    return scored.rename(columns={columns.id: "customer_id"})


def uplift_columns(uplift_model: UpliftLearner | None, rows: pd.DataFrame) -> dict[str, np.ndarray]:
    """`predicted_uplift` (churn prevented by a retention offer) and `recommended_contact`
    (`offer` when > 0, else `call`) for `rows`, in their order; null without an uplift model."""
    uplift = (
        uplift_model.predict(rows)[0] if uplift_model is not None else np.full(len(rows), np.nan)
    )
    return {"predicted_uplift": uplift, "recommended_contact": recommended_contact(uplift)}


def _rank(values: np.ndarray) -> np.ndarray:
    """1 = highest value; ties in input order; missing values last."""
    filled = np.where(np.isnan(values), -np.inf, values)
    order = evaluate.ranking_order(filled)
    ranks = np.empty(len(values), dtype=np.int64)
    ranks[order] = np.arange(1, len(values) + 1)
    return ranks


def action_list_comparison(
    probability: np.ndarray,
    churned: np.ndarray,
    revenue_3m: np.ndarray,
    capacity: int,
    periods: int,
    economics: ActionEconomics,
    model_values: Callable[[np.ndarray], dict[str, np.ndarray]] | None = None,
) -> dict[str, Any]:
    """Value-ranked vs risk-ranked call list on labelled rows (the test snapshots): for each
    list of `capacity` x `periods` customers, the expected and the realised retained value
    (realised: churners actually in the list x CLV x save rate - contact cost of everyone in
    it). CLV uses the calibrated probability, so both lists are valued the same way."""
    values = customer_value(probability, revenue_3m, economics, model_values)
    expected = values["expected_retained_value_amount"]
    realised = (
        np.asarray(churned) * values["predicted_clv_amount"] * economics.save_rate
        - economics.contact_cost_amount
    )
    size = min(capacity * periods, len(probability))
    result: dict[str, Any] = {"list_size": size, "economics": economics.__dict__}
    for name, ranking in (("risk", probability), ("value", np.nan_to_num(expected, nan=-np.inf))):
        chosen = evaluate.ranking_order(ranking)[:size]
        result[name] = {
            "expected_retained_value": float(np.nansum(expected[chosen])),
            "realised_retained_value": float(np.nansum(realised[chosen])),
            "churners_reached": int(np.asarray(churned)[chosen].sum()),
        }
    for kind in ("expected_retained_value", "realised_retained_value"):
        result[f"value_gain_{kind}"] = result["value"][kind] - result["risk"][kind]
    overlap = set(evaluate.ranking_order(probability)[:size]) & set(
        evaluate.ranking_order(np.nan_to_num(expected, nan=-np.inf))[:size]
    )
    result["overlap"] = len(overlap)
    return result


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
    events = gateway.read_table(settings, CHURN_EVENTS_TABLE)
    frame = active_population(frame, events, columns)
    if columns.churn_date not in frame.columns:
        frame = attach_churn_dates(frame, events, columns)
    dataset = load_mart(frame, columns)
    result = train_on_mart(dataset, settings, columns)
    economics = ActionEconomics.from_settings(settings)
    lifetime_value = lifetime_value_models(
        dataset, result, events, settings, columns, economics.gross_margin_rate
    )
    if lifetime_value is not None:
        result.metrics["lifetime_value"] = lifetime_value.metrics
    if columns.revenue_3m in dataset.frame.columns:
        test = dataset.labelled.loc[result.split.test]
        test_values = None
        if lifetime_value is not None:
            models = lifetime_value

            def test_values(margin: np.ndarray) -> dict[str, np.ndarray]:
                return models.values(test, columns.id, columns.time, margin, out_of_time=True)

        result.metrics["action_list"] = action_list_comparison(
            result.test_scores["probability_catboost"].to_numpy(),
            result.test_scores[columns.target].to_numpy(),
            test[columns.revenue_3m].to_numpy(dtype=float),
            settings.ml.retention_capacity,
            max(1, len(result.split.periods.get("test", []))),
            economics,
            test_values,
        )
    result.metrics["uplift"], uplift_model = retention_uplift_model(settings, dataset)
    ceiling = generator_ceiling(settings, result, columns)
    if ceiling is not None:
        result.metrics["hazard_ceiling"] = ceiling
    registry = Registry(settings.registry_path, MODEL_NAME)
    version = registry.save(result)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    scores = score_latest(
        version, result, dataset.frame, now, columns, economics, lifetime_value, uplift_model
    )
    gateway.write_churn_scores(settings, scores)
    segmentation, segments = segment(dataset, version, settings.ml.seed, now, columns, bootstraps)
    gateway.write_customer_segments(settings, segments)
    report = segmentation_report(segmentation, segments)
    registry.attach(version.version, SEGMENTATION_FILE, json.dumps(report, indent=2, default=str))
    registry.attach(version.version, "segmentation.md", segmentation_markdown(report))
    latest = pd.Timestamp(pd.to_datetime(dataset.frame[columns.time]).max())
    attach_monitoring(
        registry,
        version,
        monitoring_report(
            settings,
            version,
            result,
            dataset,
            scores,
            read_as_of(settings, latest),
            LABEL_HORIZON_DAYS,
        ),
    )
    return PipelineResult(version, scores["score_date"].iloc[0], scores, segments)
