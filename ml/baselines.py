"""sklearn baselines trained in the same run as CatBoost, on the same encoded features.

- `logistic_regression`: one-hot categoricals + median-imputed, standardised numerics; L2
  penalty (C = 1), the usual strong linear baseline.
- `random_forest`: one-hot categoricals + median-imputed numerics; each tree grown on a
  bootstrap sample of `max_samples` of the rows with leaves of >= `min_samples_leaf` rows
  (noisy churn labels: tiny leaves only memorise noise), fixed random_state. Subsampling keeps
  it cheap on the ~80k-row mart: 100 trees on 30% samples score like 200 trees on all rows
  (validation ROC-AUC within noise) at a sixth of the time.
- `prior`: predicts the training churn rate for everyone (the trivial baseline: AUC 0.5).
"""

from __future__ import annotations

from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler


def _encoder(categorical: list[str], numeric: list[str], scale: bool) -> ColumnTransformer:
    numeric_steps = [SimpleImputer(strategy="median")] + ([StandardScaler()] if scale else [])
    return ColumnTransformer(
        [
            ("categorical", OneHotEncoder(handle_unknown="ignore"), categorical),
            ("numeric", make_pipeline(*numeric_steps), numeric),
        ]
    )


def logistic_regression(categorical: list[str], numeric: list[str], seed: int) -> Pipeline:
    return Pipeline(
        [
            ("encode", _encoder(categorical, numeric, scale=True)),
            ("model", LogisticRegression(max_iter=2000, random_state=seed)),
        ]
    )


def random_forest(
    categorical: list[str],
    numeric: list[str],
    seed: int,
    trees: int,
    threads: int,
    min_samples_leaf: int = 10,
    max_samples: float | None = None,
) -> Pipeline:
    forest = RandomForestClassifier(
        n_estimators=trees,
        min_samples_leaf=min_samples_leaf,
        max_samples=max_samples,
        random_state=seed,
        n_jobs=threads,
    )
    return Pipeline([("encode", _encoder(categorical, numeric, scale=False)), ("model", forest)])


def prior() -> DummyClassifier:
    return DummyClassifier(strategy="prior")
