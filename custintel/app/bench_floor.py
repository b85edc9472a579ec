"""The plain-DuckDB floor of the SQLMesh step: what the same SQL costs with nothing around it.

Every model of the project is rendered by SQLMesh itself (macros expanded, one interval from
`sqlmesh.start` to the as-of date, the execution time the build uses) and run as
`create table ... as <rendered query>` in dependency order, in one DuckDB connection, on a copy
of the warehouse as the loader left it (landing tables only). Then every audit of every model is
rendered the same way and run as `select count(*)`. No project load, no plan, no state, no
unit tests, no per-batch audits, no virtual layer: the cost the SQLMesh step cannot go below.
The benchmark reports the SQLMesh step as a ratio of this floor.
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
from sqlglot import exp

from custintel.core.settings import Settings


@dataclass(frozen=True)
class RenderedModel:
    name: str
    schema: str
    query: str
    audits: tuple[str, ...]


@dataclass(frozen=True)
class FloorResult:
    models: int
    audits: int
    model_seconds: float
    audit_seconds: float
    rows_flagged_by_audits: int
    #: rows of each table the floor created (not timed), to check it against the SQLMesh build
    row_counts: dict[str, int]

    @property
    def seconds(self) -> float:
        return self.model_seconds + self.audit_seconds

    def details(self) -> dict[str, float | int]:
        return {
            "floor_models": self.models,
            "floor_audits": self.audits,
            "floor_model_seconds": round(self.model_seconds, 2),
            "floor_audit_seconds": round(self.audit_seconds, 2),
            "floor_rows_flagged_by_audits": self.rows_flagged_by_audits,
        }


def render_project(settings: Settings, as_of: dt.date) -> tuple[list[str], list[RenderedModel]]:
    """`create table if not exists` of the external tables, and every model's query and audits
    in DuckDB SQL, upstream models first."""
    from custintel.app import transform

    execution_time = transform.execution_time_for(as_of)
    window = {
        "start": settings.sqlmesh.start,
        "end": execution_time,
        "execution_time": execution_time,
    }
    ctx = transform.context(settings)
    try:
        rendered: list[RenderedModel] = []
        externals: list[str] = []
        for fqn in ctx.dag.sorted:
            model = ctx.models.get(fqn)
            if model is None:
                continue
            if model.kind.is_external:
                # tables written outside SQLMesh (landing, ml scores): created empty when missing,
                # as the models' `@create_external_table` pre-statements do
                schema = exp.Schema(
                    this=exp.to_table(model.name),
                    expressions=[
                        exp.ColumnDef(this=exp.to_identifier(column), kind=data_type)
                        for column, data_type in (model.columns_to_types or {}).items()
                    ],
                )
                externals.append(exp.Create(this=schema, kind="TABLE", exists=True).sql("duckdb"))
                continue
            # no snapshots: references stay the models' names (the floor's own tables), not the
            # physical tables of an earlier build
            query = model.render_query_or_raise(**window, engine_adapter=ctx.engine_adapter)
            query = query.sql("duckdb")
            audits = tuple(
                model.render_audit_query(audit, **window, **args).sql("duckdb")
                for audit, args in model.audits_with_args
            )
            schema, _, _ = model.name.partition(".")
            rendered.append(RenderedModel(fqn, schema, query, audits))
        return externals, rendered
    finally:
        ctx.close()


def run_floor(
    loaded_warehouse: Path,
    scratch_dir: Path,
    externals: list[str],
    rendered: list[RenderedModel],
    memory_limit: str | None = None,
) -> FloorResult:
    """Run the rendered project on a copy of `loaded_warehouse` (the file keeps its name: the
    rendered SQL names its catalog)."""
    shutil.rmtree(scratch_dir, ignore_errors=True)
    scratch_dir.mkdir(parents=True)
    copy = scratch_dir / loaded_warehouse.name
    shutil.copy(loaded_warehouse, copy)
    flagged = 0
    with duckdb.connect(str(copy)) as con:
        con.execute("set enable_progress_bar = false")
        if memory_limit:
            con.execute(f"set memory_limit = '{memory_limit}'")
        for schema in sorted({model.schema for model in rendered} | {"ml"}):
            con.execute(f'create schema if not exists "{schema}"')
        for statement in externals:
            con.execute(statement)
        started = time.perf_counter()
        for model in rendered:
            con.execute(f"create or replace table {model.name} as {model.query}")
        model_seconds = time.perf_counter() - started
        started = time.perf_counter()
        for model in rendered:
            for audit in model.audits:
                flagged += con.execute(f"select count(*) from ({audit})").fetchone()[0]
        audit_seconds = time.perf_counter() - started
        row_counts = {
            model.name: con.execute(f"select count(*) from {model.name}").fetchone()[0]
            for model in rendered
        }
    shutil.rmtree(scratch_dir, ignore_errors=True)
    return FloorResult(
        models=len(rendered),
        audits=sum(len(model.audits) for model in rendered),
        model_seconds=model_seconds,
        audit_seconds=audit_seconds,
        rows_flagged_by_audits=flagged,
        row_counts=row_counts,
    )
