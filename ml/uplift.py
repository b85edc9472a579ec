"""Uplift of retention offers: which customers does an offer keep?

The retention-offer experiment (`warehouse.fact_retention_offer`: customers assigned at random
to an offer or to a held-out control group) joined to the churn features at the offer date
(`marts.churn_prediction_features` at snapshot_date = offer_date, label churned_within_90d).

- **X-learner on CatBoost** (Kuenzel et al. 2019; `learner="t"`: the T-learner): one churn
  classifier on the treated offers, one on the controls; each offer's imputed effect (treated:
  the control model's probability - its outcome; control: its outcome - the treated model's
  probability) regressed per arm, the two effect models averaged with the treatment share as
  weight. The uplift is the churn prevented, P(churn | control) - P(churn | offer). The
  control model's probability is the churn risk without an offer: ranking by it is "risk
  alone".
- **Out-of-time**: trained on the offers whose 90-day outcome is known before the test months
  (offer_date + 90 days <= the first test offer date), evaluated on the offers of the last
  `test_months` labelled offer months.
- **Qini and AUUC** (Radcliffe's Qini curve; the uplift curve of Rzepakowski & Jaroszewicz),
  written here: scikit-uplift, the library that has them, was last released in 2022 and calls
  `sklearn.utils.extmath.stable_cumsum`, deprecated in scikit-learn 1.8 and removed in 1.10.
  Ties keep input order (stable sort), like the other ranking metrics of `ml`.
- **Intervals**: the test *customers* are resampled (all their offers move together).
- **Recovered effect**: the observed effect (control churn rate - treated churn rate) and the
  mean predicted uplift, overall and per planted group when the sample generator's manifest
  (`<landing>/_manifest/retention_offers.parquet`) is there, against the planted effect.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from catboost import CatBoostClassifier, CatBoostRegressor

from ml.features import model_input

OFFERS_TABLE = "warehouse.fact_retention_offer"
#: written by the sample generator beside the landing files (custintel/generate/offers.py)
PLANTED_MANIFEST = "_manifest/retention_offers.parquet"
LABEL_HORIZON_DAYS = 90
#: Qini and AUUC are shown per this many offers (reports/registry.py shows them the same way)
PER_OFFERS = 1000
ALL_OFFERS = "all offers"
#: titles of the generator's planted groups (custintel/generate/offers.py) for the card and the
#: report; a group not listed keeps its name
GROUP_TITLES = {
    ALL_OFFERS: "All offers",
    "service_problem": "Service problem",
    "disengaged": "Disengaged (usage down)",
    "price_sensitive": "Price-sensitive",
    "at_risk_other": "Other risk signal",
    "settled": "Settled (no risk signal)",
}


class UpliftError(ValueError):
    """The offers cannot be modelled (too few, one arm missing, no labelled test month)."""


@dataclass(frozen=True)
class UpliftConfig:
    seed: int = 7
    iterations: int = 300
    learning_rate: float = 0.03
    depth: int = 4
    l2_leaf_reg: float = 30.0
    thread_count: int = 2
    test_months: int = 3
    bootstraps: int = 200
    #: share of the ranked test offers the "top" figures look at
    top_share: float = 0.3
    #: "x" (X-learner, default) or "t" (T-learner)
    learner: str = "x"


@dataclass(frozen=True)
class Columns:
    id: str = "customer_id"
    time: str = "snapshot_date"
    target: str = "churned_within_90d"
    offer_id: str = "offer_id"
    offer_date: str = "offer_date"
    treated: str = "is_treatment"


COLUMNS = Columns()


# --- metrics -------------------------------------------------------------------------------


def _cumulative(
    churned: np.ndarray, treated: np.ndarray, score: np.ndarray
) -> tuple[np.ndarray, ...]:
    order = np.argsort(-np.asarray(score, dtype=float), kind="stable")
    y = np.asarray(churned, dtype=float)[order]
    t = np.asarray(treated, dtype=bool)[order]
    n_t, n_c = np.cumsum(t), np.cumsum(~t)
    c_t, c_c = np.cumsum(y * t), np.cumsum(y * ~t)
    return n_t, n_c, c_t, c_c


def qini_curve(churned: np.ndarray, treated: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Q(k) for k = 1..n, the offers ranked by `score` (highest first): churners prevented among
    the treated of the top k, C_c(k) * N_t(k) / N_c(k) - C_t(k) (0 while N_c(k) = 0)."""
    n_t, n_c, c_t, c_c = _cumulative(churned, treated, score)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(n_c > 0, c_c * n_t / np.maximum(n_c, 1), 0.0) - c_t
    return q


def uplift_curve(churned: np.ndarray, treated: np.ndarray, score: np.ndarray) -> np.ndarray:
    """U(k) = (C_c(k) / N_c(k) - C_t(k) / N_t(k)) * k: churn prevented if the top k were
    treated, at the effect observed among them (0 while an arm is empty)."""
    n_t, n_c, c_t, c_c = _cumulative(churned, treated, score)
    k = np.arange(1, len(n_t) + 1)
    both = (n_t > 0) & (n_c > 0)
    rate = np.where(both, c_c / np.maximum(n_c, 1) - c_t / np.maximum(n_t, 1), 0.0)
    return rate * k


def _area_over_random(curve: np.ndarray) -> float:
    n = len(curve)
    if n == 0:
        return float("nan")
    random_line = np.arange(1, n + 1) / n * curve[-1]
    return float(np.mean(curve - random_line) / n)


def qini_coefficient(churned: np.ndarray, treated: np.ndarray, score: np.ndarray) -> float:
    """Mean height of the Qini curve above random targeting, per offer (the area between them
    divided by n^2): 0 = no better than random; higher ranks the persuadable first."""
    return _area_over_random(qini_curve(churned, treated, score))


def auuc(churned: np.ndarray, treated: np.ndarray, score: np.ndarray) -> float:
    """Area between the uplift curve and random targeting, divided by n^2."""
    return _area_over_random(uplift_curve(churned, treated, score))


def observed_effect(churned: np.ndarray, treated: np.ndarray) -> float:
    """Control churn rate - treated churn rate (churn prevented per offer)."""
    y, t = np.asarray(churned, dtype=float), np.asarray(treated, dtype=bool)
    if t.all() or (~t).all():
        return float("nan")
    return float(y[~t].mean() - y[t].mean())


def _customer_resamples(ids: np.ndarray, bootstraps: int, seed: int) -> list[np.ndarray]:
    codes, customers = pd.factorize(pd.Series(ids))
    rows_of = [np.flatnonzero(codes == i) for i in range(len(customers))]
    rng = np.random.default_rng(seed)
    return [
        np.concatenate([rows_of[i] for i in rng.integers(0, len(customers), len(customers))])
        for _ in range(bootstraps)
    ]


def _interval(values: list[float]) -> list[float]:
    finite = np.asarray([v for v in values if np.isfinite(v)])
    if len(finite) == 0:
        return [float("nan"), float("nan")]
    return [float(np.quantile(finite, 0.025)), float(np.quantile(finite, 0.975))]


def verdict(interval: list[float]) -> str:
    low, high = interval
    return "beats" if low > 0 else "loses" if high < 0 else "ties"


# --- data ----------------------------------------------------------------------------------


def offer_rows(
    mart: pd.DataFrame, offers: pd.DataFrame, columns: Columns = COLUMNS
) -> pd.DataFrame:
    """The offers with the churn features and label of the customer's snapshot at the offer
    date; offers without such a snapshot (customer not in the base) or whose label is not known
    yet are dropped."""
    needed = [columns.offer_id, columns.id, columns.offer_date, columns.treated]
    missing = [c for c in needed if c not in offers.columns]
    if missing:
        raise UpliftError(f"{OFFERS_TABLE}: missing column(s) {missing}")
    left = offers[needed].copy()
    left[columns.offer_date] = pd.to_datetime(left[columns.offer_date])
    right = mart.copy()
    right[columns.time] = pd.to_datetime(right[columns.time])
    joined = left.merge(
        right,
        left_on=[columns.id, columns.offer_date],
        right_on=[columns.id, columns.time],
        how="inner",
    )
    joined = joined[joined[columns.target].notna()]
    joined[columns.treated] = joined[columns.treated].astype(bool)
    joined[columns.target] = joined[columns.target].astype(int)
    return joined.sort_values([columns.offer_date, columns.offer_id]).reset_index(drop=True)


def out_of_time_split(
    rows: pd.DataFrame, test_months: int, columns: Columns = COLUMNS
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Test = the offers of the last `test_months` offer dates; train = the offers whose 90-day
    outcome was known before the first of them."""
    dates = np.sort(rows[columns.offer_date].unique())
    if len(dates) <= test_months:
        raise UpliftError(
            f"{len(dates)} labelled offer dates: need more than the {test_months} test months"
        )
    test_start = pd.Timestamp(dates[-test_months])
    embargo = test_start - pd.Timedelta(days=LABEL_HORIZON_DAYS)
    train = rows[rows[columns.offer_date] <= embargo]
    test = rows[rows[columns.offer_date] >= test_start]
    for name, part in (("training", train), ("test", test)):
        arms = part[columns.treated]
        if len(part) == 0 or arms.all() or (~arms).all() or part[columns.target].nunique() < 2:
            raise UpliftError(
                f"the {name} offers need both arms and both outcomes ({len(part)} offers)"
            )
    return train, test


# --- model ---------------------------------------------------------------------------------


@dataclass
class UpliftLearner:
    """Outcome models per arm (T-learner); with effect models per arm, an X-learner."""

    treated_model: CatBoostClassifier
    control_model: CatBoostClassifier
    features: list[str]
    categorical: list[str]
    #: X-learner: effect regressors fitted on the treated and on the control offers
    treated_effect: CatBoostRegressor | None = None
    control_effect: CatBoostRegressor | None = None
    treated_share: float = 0.5

    @property
    def kind(self) -> str:
        return "X-learner" if self.treated_effect is not None else "T-learner"

    def predict(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(uplift = churn prevented by an offer, risk = churn probability without one)."""
        x = model_input(frame, self.features, self.categorical, "uplift input")
        p_control = self.control_model.predict_proba(x)[:, 1]
        if self.treated_effect is None or self.control_effect is None:
            return p_control - self.treated_model.predict_proba(x)[:, 1], p_control
        # Kuenzel et al. (2019): weight the effect models by the propensity
        share = self.treated_share
        uplift = share * self.control_effect.predict(x) + (1 - share) * self.treated_effect.predict(
            x
        )
        return uplift, p_control


def _classifier(config: UpliftConfig, categorical: list[str]) -> CatBoostClassifier:
    return CatBoostClassifier(**_catboost_params(config, categorical))


def _catboost_params(config: UpliftConfig, categorical: list[str]) -> dict[str, Any]:
    return {
        "iterations": config.iterations,
        "learning_rate": config.learning_rate,
        "depth": config.depth,
        "l2_leaf_reg": config.l2_leaf_reg,
        "random_seed": config.seed,
        "thread_count": config.thread_count,
        "cat_features": categorical,
        "verbose": False,
        "allow_writing_files": False,
    }


def fit_learner(
    train: pd.DataFrame,
    features: list[str],
    categorical: list[str],
    config: UpliftConfig,
    columns: Columns = COLUMNS,
) -> UpliftLearner:
    """T-learner: a churn classifier per arm. X-learner: then the imputed effect of each
    offer (treated: control model's churn probability - outcome; control: outcome - treated
    model's probability), regressed per arm on the features."""
    if config.learner not in ("t", "x"):
        raise UpliftError(f"learner {config.learner!r}: expected 't' or 'x'")
    x = model_input(train, features, categorical, "uplift training offers")
    y = train[columns.target].to_numpy(dtype=float)
    arm = train[columns.treated].to_numpy(dtype=bool)
    treated_model, control_model = (
        _classifier(config, categorical).fit(x[mask], y[mask]) for mask in (arm, ~arm)
    )
    learner = UpliftLearner(
        treated_model, control_model, features, categorical, treated_share=float(arm.mean())
    )
    if config.learner == "t":
        return learner
    imputed_treated = control_model.predict_proba(x[arm])[:, 1] - y[arm]
    imputed_control = y[~arm] - treated_model.predict_proba(x[~arm])[:, 1]
    learner.treated_effect = CatBoostRegressor(**_catboost_params(config, categorical)).fit(
        x[arm], imputed_treated
    )
    learner.control_effect = CatBoostRegressor(**_catboost_params(config, categorical)).fit(
        x[~arm], imputed_control
    )
    return learner


def production_learner(
    mart: pd.DataFrame,
    offers: pd.DataFrame,
    features: list[str],
    categorical: list[str],
    config: UpliftConfig,
    columns: Columns = COLUMNS,
) -> UpliftLearner:
    """The learner that scores: the same settings refit on every labelled offer (training and
    test months), as the churn model's production refit; its metrics are the out-of-time
    learner's (`uplift_analysis`)."""
    return fit_learner(offer_rows(mart, offers, columns), features, categorical, config, columns)


#: contact recommended by the sign of the predicted uplift
OFFER, CALL = "offer", "call"


def recommended_contact(uplift: np.ndarray) -> np.ndarray:
    """`offer` where a retention offer is predicted to prevent churn (uplift > 0), `call` (a
    retention call without an offer) where it is predicted to do nothing or to raise the risk
    (uplift <= 0); None where no uplift was predicted (NaN)."""
    values = np.asarray(uplift, dtype=float)
    labels = np.where(values > 0, OFFER, CALL).astype(object)
    labels[np.isnan(values)] = None
    return labels


# --- evaluation ----------------------------------------------------------------------------


def ranking_metrics(
    test: pd.DataFrame,
    uplift: np.ndarray,
    risk: np.ndarray,
    config: UpliftConfig,
    columns: Columns = COLUMNS,
) -> dict[str, Any]:
    """Qini and AUUC of the uplift ranking and of the risk ranking on the test offers, with
    customer-bootstrap intervals of each and of their difference."""
    y = test[columns.target].to_numpy()
    t = test[columns.treated].to_numpy(dtype=bool)
    scores = {"uplift": np.asarray(uplift), "risk": np.asarray(risk)}
    result: dict[str, Any] = {}
    samples = _customer_resamples(test[columns.id].to_numpy(), config.bootstraps, config.seed)
    for metric, function in (("qini", qini_coefficient), ("auuc", auuc)):
        point = {name: function(y, t, s) for name, s in scores.items()}
        boot = {name: [function(y[r], t[r], s[r]) for r in samples] for name, s in scores.items()}
        diff = [u - k for u, k in zip(boot["uplift"], boot["risk"], strict=True)]
        interval = _interval(diff)
        result[metric] = {
            "uplift": point["uplift"],
            "uplift_interval": _interval(boot["uplift"]),
            "risk": point["risk"],
            "risk_interval": _interval(boot["risk"]),
            "difference": point["uplift"] - point["risk"],
            "difference_interval": interval,
            "verdict": verdict(interval),
        }
    k = max(1, int(round(config.top_share * len(test))))
    result["top"] = {
        "share": config.top_share,
        "offers": k,
        "uplift": _top_effect(y, t, scores["uplift"], k),
        "risk": _top_effect(y, t, scores["risk"], k),
    }
    return result


def _top_effect(y: np.ndarray, t: np.ndarray, score: np.ndarray, k: int) -> float:
    top = np.argsort(-score, kind="stable")[:k]
    return observed_effect(y[top], t[top])


def recovered_effects(
    test: pd.DataFrame,
    uplift: np.ndarray,
    config: UpliftConfig,
    planted: pd.DataFrame | None,
    columns: Columns = COLUMNS,
) -> list[dict[str, Any]]:
    """Observed and predicted effect on the test offers, overall and per planted group (with
    the planted effect) when the generator's manifest is given."""
    frame = test[[columns.offer_id, columns.id, columns.target, columns.treated]].copy()
    frame["predicted"] = np.asarray(uplift)
    groups: list[tuple[str, pd.DataFrame]] = [(ALL_OFFERS, frame)]
    if planted is not None:
        frame = frame.merge(
            planted[[columns.offer_id, "effect_group", "planted_uplift"]],
            on=columns.offer_id,
            how="left",
        )
        groups = [(ALL_OFFERS, frame)] + [
            (str(name), part) for name, part in frame.groupby("effect_group", sort=True)
        ]
    rows = []
    for name, part in groups:
        y, t = part[columns.target].to_numpy(), part[columns.treated].to_numpy(dtype=bool)
        samples = _customer_resamples(part[columns.id].to_numpy(), config.bootstraps, config.seed)
        rows.append(
            {
                "group": name,
                "group_title": GROUP_TITLES.get(name, name),
                "offers": int(len(part)),
                "treated": int(t.sum()),
                "planted": (
                    float(part["planted_uplift"].mean())
                    if "planted_uplift" in part and part["planted_uplift"].notna().all()
                    else None
                ),
                "observed": observed_effect(y, t),
                "observed_interval": _interval([observed_effect(y[r], t[r]) for r in samples]),
                "predicted": float(part["predicted"].mean()),
            }
        )
    return rows


def uplift_analysis(
    mart: pd.DataFrame,
    offers: pd.DataFrame,
    features: list[str],
    categorical: list[str],
    config: UpliftConfig,
    planted: pd.DataFrame | None = None,
    columns: Columns = COLUMNS,
) -> tuple[UpliftLearner, dict[str, Any]]:
    """Fit the T-learner out of time and evaluate it; returns the learner and the metrics."""
    rows = offer_rows(mart, offers, columns)
    train, test = out_of_time_split(rows, config.test_months, columns)
    learner = fit_learner(train, features, categorical, config, columns)
    uplift, risk = learner.predict(test)
    metrics = {
        "config": asdict(config),
        "learner": f"{learner.kind} on CatBoost",
        "offers": {
            "labelled": int(len(rows)),
            "train": int(len(train)),
            "test": int(len(test)),
            "test_treated": int(test[columns.treated].sum()),
            "train_period": [
                str(train[columns.offer_date].min().date()),
                str(train[columns.offer_date].max().date()),
            ],
            "test_period": [
                str(test[columns.offer_date].min().date()),
                str(test[columns.offer_date].max().date()),
            ],
        },
        "ranking": ranking_metrics(test, uplift, risk, config, columns),
        "effects": recovered_effects(test, uplift, config, planted, columns),
    }
    return learner, metrics


def _percent(value: float | None) -> str:
    """A share for the card; a dash where a small test set left it undefined (no treated or
    no control offer in a group)."""
    return "–" if value is None or value != value else f"{value:.1%}"


def _per_offers(value: float | None, sign: str = "") -> str:
    if value is None or value != value:
        return "–"
    return f"{value * PER_OFFERS:{sign}.2f}"


def uplift_markdown(metrics: dict[str, Any]) -> str:
    """The model card's section on the retention-offer uplift."""
    offers, ranking = metrics["offers"], metrics["ranking"]
    lines = [
        "## Uplift of retention offers",
        "",
        f"{metrics['learner']} on the churn features at the offer date; trained on "
        f"{offers['train']:,} offers ({offers['train_period'][0]} .. {offers['train_period'][1]}),"
        f" tested on {offers['test']:,} later offers ({offers['test_period'][0]} .. "
        f"{offers['test_period'][1]}, {offers['test_treated']:,} treated). Risk ranking = the "
        "control model's churn probability (no offer). Intervals: 95%, customers resampled.",
        "",
        f"| ranking | Qini per {PER_OFFERS:,} offers | AUUC per {PER_OFFERS:,} offers | "
        f"effect in the top {ranking['top']['share']:.0%} |",
        "| --- | --- | --- | --- |",
    ]
    for name, title in (("uplift", "by predicted uplift"), ("risk", "by churn risk")):
        q, a = ranking["qini"], ranking["auuc"]
        low, high = q[name + "_interval"]
        lines.append(
            f"| {title} | {_per_offers(q[name])} [{_per_offers(low)}, {_per_offers(high)}] | "
            f"{_per_offers(a[name])} | {_percent(ranking['top'][name])} |"
        )
    q = ranking["qini"]
    lines += [
        "",
        f"Uplift minus risk ranking, Qini per {PER_OFFERS:,} offers: "
        f"{_per_offers(q['difference'], '+')} [{_per_offers(q['difference_interval'][0], '+')}, "
        f"{_per_offers(q['difference_interval'][1], '+')}]: the uplift ranking "
        f"**{q['verdict']}** the risk ranking.",
        "",
        "| group | offers | planted effect | observed effect | predicted effect |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in metrics["effects"]:
        low, high = row["observed_interval"] or (None, None)
        lines.append(
            f"| {row['group_title']} | {row['offers']:,} | {_percent(row['planted'])} | "
            f"{_percent(row['observed'])} [{_percent(low)}, {_percent(high)}] | "
            f"{_percent(row['predicted'])} |"
        )
    lines += [
        "",
        "Effects are churn prevented per offer within 90 days (control churn rate - "
        "treated churn rate); planted = the sample generator's documented effect.",
    ]
    return "\n".join(lines) + "\n"
