"""The CLI's fast query path: rows without pandas, the validated model cached on disk, and a
`custintel metrics query` process that loads none of the heavy libraries (the time itself is
measured by `custintel metrics bench`, never here)."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from custintel.core.settings import load_settings
from semantic import api, model_cache
from semantic.errors import ModelError
from tests.conftest import write_config
from tests.semantic_support import AS_OF, MODEL_PATH, build_warehouse

V = "customer_360"
QUERIES = [
    {
        "measures": [f"{V}.revenue", f"{V}.order_count", f"{V}.aov"],
        "dimensions": [f"{V}.segment"],
        "timeDimensions": [
            {
                "dimension": f"{V}.ordered_at",
                "granularity": "month",
                "dateRange": ["2024-01-01", "2024-06-30"],
            }
        ],
    },
    {"measures": [f"{V}.avg_csat", f"{V}.count"], "dimensions": [f"{V}.status"]},
    {
        "measures": [f"{V}.active_customers"],
        "timeDimensions": [
            {"dimension": f"{V}.activity_date", "granularity": "day", "dateRange": "last 7 days"}
        ],
    },
    {"dimensions": [f"{V}.customer_id", f"{V}.signup_date"], "limit": 5},
]


@pytest.fixture
def settings(tmp_path: Path):
    config = write_config(tmp_path, semantic={"model_path": str(MODEL_PATH)})
    build_warehouse(tmp_path / "warehouse" / "novacom.duckdb")
    return load_settings(config)


def _same(a: object, b: object) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b)) or b is pd.NaT
    if isinstance(b, pd.Timestamp):
        return a == b.to_pydatetime()
    return a == b


@pytest.mark.parametrize("query", QUERIES)
def test_rows_hold_the_values_of_the_frame(settings, query):
    frame = api.load(query, role="executive", settings=settings, as_of=AS_OF)
    result = api.load_rows(query, role="executive", settings=settings, as_of=AS_OF)
    assert result.names == list(frame.columns)
    assert len(result.rows) == len(frame) > 0
    for row, expected in zip(result.rows, frame.itertuples(index=False, name=None), strict=True):
        assert all(_same(a, b) for a, b in zip(row, expected, strict=True)), (row, expected)
    for column, values in zip(result.columns, zip(*result.rows, strict=True), strict=True):
        present = [v for v in values if v is not None]
        if column.type == "time":
            assert all(type(v).__name__ == "datetime" for v in present)
        if column.type == "number":
            assert all(isinstance(v, int | float) for v in present), column.name


# ---------------------------------------------------------------- model cache
def _copy_model(tmp_path: Path) -> Path:
    root = tmp_path / "model"
    for path in MODEL_PATH.rglob("*.yml"):
        target = root / path.relative_to(MODEL_PATH)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path.read_text())
    return root


def test_the_second_process_reads_the_cached_model(tmp_path, monkeypatch):
    root, cache = _copy_model(tmp_path), tmp_path / "cache"
    first = model_cache.load_cached_model(root, cache)
    (written,) = cache.glob("model-*.pickle")
    assert written.stat().st_mode & 0o077 == 0

    def no_parsing(*_args, **_kwargs):
        raise AssertionError("the model was parsed again")

    monkeypatch.setattr(model_cache, "load_model", no_parsing)
    again = model_cache.load_cached_model(root, cache)
    assert again is not first and sorted(again.views) == sorted(first.views)
    assert again.views[V].name == V


def test_an_edited_model_file_is_parsed_again(tmp_path):
    root, cache = _copy_model(tmp_path), tmp_path / "cache"
    model_cache.load_cached_model(root, cache)
    view = root / "views" / "customer_360.yml"
    view.write_text(
        view.read_text().replace("Customers with their orders", "Customers and their orders")
    )
    edited = model_cache.load_cached_model(root, cache)
    assert edited.views[V].description.startswith("Customers and their orders")
    assert len(list(cache.glob("model-*.pickle"))) == 2
    view.write_text(
        view.read_text().replace("join_path: customers.orders", "join_path: customers.nowhere")
    )
    with pytest.raises(ModelError, match="nowhere"):
        model_cache.load_cached_model(root, cache)
    assert len(list(cache.glob("model-*.pickle"))) == 2  # an invalid model is never cached


def test_foreign_damaged_or_shared_cache_files_are_not_read(tmp_path, monkeypatch):
    root, cache = _copy_model(tmp_path), tmp_path / "cache"
    model_cache.load_cached_model(root, cache)
    (written,) = cache.glob("model-*.pickle")
    parsed: list[Path] = []
    real_load = model_cache.load_model
    monkeypatch.setattr(
        model_cache, "load_model", lambda path: parsed.append(path) or real_load(path)
    )
    written.chmod(0o666)  # others may write it: a planted pickle would run their code
    model_cache.load_cached_model(root, cache)
    assert parsed == [root]
    written.write_bytes(b"not a pickle")
    written.chmod(0o600)
    assert model_cache.load_cached_model(root, cache).views[V].name == V
    assert len(parsed) == 2


def test_a_read_only_cache_folder_still_loads(tmp_path):
    root, cache = _copy_model(tmp_path), tmp_path / "cache"
    cache.mkdir()
    cache.chmod(0o500)
    try:
        assert model_cache.load_cached_model(root, cache).views[V].name == V
    finally:
        cache.chmod(0o700)


# ---------------------------------------------------------------- what the CLI imports
HEAVY = (
    "pandas",
    "numpy",
    "pyarrow",
    "sqlmesh",
    "catboost",
    "sklearn",
    "jwt",
    "cryptography",
    "httpx",
    "mkdocs",
    "plotly",
    "ml",
    "reports",
)


def test_metrics_query_imports_no_heavy_library(settings, tmp_path):
    code = (
        "import sys\n"
        "from custintel.app.cli import app\n"
        "try:\n"
        "    app(['metrics', 'query', '-m', 'customer_360.count', '-d',\n"
        "         'customer_360.segment', '--role', 'analyst', '--format', 'csv'])\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        f"heavy = {HEAVY!r}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & set(heavy)))\n"
    )
    env = {**os.environ, "CUSTINTEL_CONFIG": str(settings.root / "config.yaml")}
    env.pop("CUSTINTEL_TOKEN", None)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0] == f"{V}.segment,{V}.count"
    assert lines[-1] == "[]", result.stdout
    assert (settings.warehouse_path.parent / "semantic_cache").is_dir()


def test_cli_csv_and_json_read_as_pandas_wrote_them(settings, monkeypatch):
    import json

    from typer.testing import CliRunner

    from semantic.cli import app

    monkeypatch.setenv("CUSTINTEL_CONFIG", str(settings.root / "config.yaml"))
    args = [
        "query",
        "-m",
        f"{V}.revenue",
        "-m",
        f"{V}.order_count",
        "-m",
        f"{V}.aov",
        "-d",
        f"{V}.segment",
        "-t",
        f"{V}.ordered_at:month:2024-01-01,2024-06-30",
        "--role",
        "executive",
        "--as-of",
        AS_OF.isoformat(),
    ]
    frame = api.load(QUERIES[0], role="executive", settings=settings, as_of=AS_OF)
    csv = CliRunner().invoke(app, [*args, "--format", "csv"])
    assert csv.exit_code == 0, csv.output
    # the query orders by month only (Cube's default): segments tie within a month and DuckDB
    # may return tied rows in any order, so lines and records are compared as sets
    expected_csv = frame.to_csv(index=False).splitlines()
    assert csv.output.splitlines()[0] == expected_csv[0]
    assert sorted(csv.output.splitlines()[1:]) == sorted(expected_csv[1:])
    as_json = CliRunner().invoke(app, [*args, "--format", "json"])
    records = json.loads(frame.to_json(orient="records", date_format="iso"))
    assert sorted(json.loads(as_json.output), key=json.dumps) == sorted(records, key=json.dumps)
