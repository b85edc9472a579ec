"""ml.writeback: history kept per score_date x model_version, re-runs replace their own rows."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest

from ml.writeback import CHURN_SCORES, WriteError, write_churn_scores


def scores(score_date: str, version: str, probabilities: list[float]) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i}" for i in range(len(probabilities))],
            "score_date": dt.date.fromisoformat(score_date),
            "churn_probability": probabilities,
            "risk_band": "low",
            "model_version": version,
            "scored_at": pd.Timestamp("2025-01-01 06:00"),
        }
    )
    for column in CHURN_SCORES:
        if column not in frame:
            frame[column] = {"DOUBLE": 1.0, "INTEGER": 1}.get(CHURN_SCORES[column], "x")
    return frame


def read(path) -> pd.DataFrame:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(
            "select customer_id, score_date, model_version, churn_probability "
            "from ml.churn_scores order by all"
        ).df()


def test_history_is_kept_and_a_rerun_replaces_only_its_own_rows(tmp_path) -> None:
    warehouse = tmp_path / "w.duckdb"
    write_churn_scores(warehouse, scores("2024-05-01", "churn/v0001", [0.1, 0.2]))
    write_churn_scores(warehouse, scores("2024-06-01", "churn/v0001", [0.3, 0.4]))
    write_churn_scores(warehouse, scores("2024-06-01", "churn/v0002", [0.5, 0.6]))
    # re-run of June with v0001 (one customer fewer): replaces that pair only
    write_churn_scores(warehouse, scores("2024-06-01", "churn/v0001", [0.35]))
    table = read(warehouse)
    assert len(table) == 2 + 1 + 2
    june_v1 = table[
        (table["score_date"] == "2024-06-01") & (table["model_version"] == "churn/v0001")
    ]
    assert june_v1["churn_probability"].tolist() == [0.35]
    may = table[table["score_date"] == "2024-05-01"]
    assert may["churn_probability"].tolist() == [0.1, 0.2]


def test_duplicate_keys_and_missing_columns_are_refused(tmp_path) -> None:
    frame = scores("2024-05-01", "churn/v0001", [0.1, 0.2])
    frame.loc[1, "customer_id"] = "C0"
    with pytest.raises(WriteError, match="repeat the key"):
        write_churn_scores(tmp_path / "w.duckdb", frame)
    with pytest.raises(WriteError, match=r"lacks column\(s\) \['risk_band'\]"):
        write_churn_scores(tmp_path / "w.duckdb", frame.drop(columns=["risk_band"]))


def test_churn_scores_columns_match_the_sqlmesh_external_model_declaration() -> None:
    import yaml

    from custintel.core.settings import load_settings

    declared = yaml.safe_load(
        (load_settings().sqlmesh_path / "external_models" / "ml.yaml").read_text()
    )
    churn_scores = next(model for model in declared if model["name"] == "ml.churn_scores")
    assert churn_scores["columns"] == CHURN_SCORES
