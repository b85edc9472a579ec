"""`custintel metrics ...`: catalogue, queries, metric unit tests, model validation, metric diff."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable
from enum import StrEnum
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from custintel.core.console import console, error_console
from custintel.core.invocation import cli_settings, invocation
from custintel.core.settings import SettingsError
from semantic import api
from semantic.errors import SemanticError
from semantic.query import Query

app = typer.Typer(
    help="Governed metrics: list, query, test and diff the semantic layer.", no_args_is_help=True
)
DEFAULT_TESTS_PATH = Path(__file__).parent / "tests"
F = TypeVar("F", bound=Callable[..., Any])


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


class DiffFormat(StrEnum):
    markdown = "markdown"
    json = "json"


class Kind(StrEnum):
    measure = "measure"
    dimension = "dimension"
    segment = "segment"
    all = "all"


def _friendly(command: F) -> F:
    """Print semantic-layer and settings errors as one clear message, exit code 1."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (SemanticError, SettingsError) as exc:
            error_console.print(f"[red]error:[/red] {exc}", markup=True, highlight=False)
            raise typer.Exit(1) from exc

    return wrapper  # type: ignore[return-value]


def _print_rows(
    names: list[str],
    numeric: list[bool],
    rows: list[tuple[Any, ...]],
    output: OutputFormat,
    title: str | None = None,
) -> None:
    """Rows as a Rich table, CSV or JSON records, without pandas (the CLI's fast path).
    CSV writes times as dates when every value of the column is a midnight, JSON writes ISO
    times with milliseconds and floats to 10 decimals (as pandas' to_csv / to_json did)."""
    if output is OutputFormat.csv:
        import csv

        midnight = [all(_is_midnight(row[i]) for row in rows) for i in range(len(names))]
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(names)
        for row in rows:
            writer.writerow(
                [_csv_cell(value, day) for value, day in zip(row, midnight, strict=True)]
            )
        return
    if output is OutputFormat.json:
        records = [
            {name: _json_cell(value) for name, value in zip(names, row, strict=True)}
            for row in rows
        ]
        sys.stdout.write(json.dumps(records, indent=2) + "\n")
        return
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    for name, is_number in zip(names, numeric, strict=True):
        table.add_column(name, justify="right" if is_number else "left", overflow="fold")
    for row in rows:
        table.add_row(*[_cell(v) for v in row])
    console.print(table)


def _is_midnight(value: Any) -> bool:
    if isinstance(value, dt.datetime):
        return value.time() == dt.time()
    return value is None


def _csv_cell(value: Any, as_day: bool) -> Any:
    if value is None or value != value:  # None, NaN
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if as_day else value.isoformat(sep=" ")
    return value


def _json_cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="milliseconds")
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time()).isoformat(timespec="milliseconds")
    if isinstance(value, float):
        return round(value, 10)
    return value


def _cell(value: Any) -> str:
    """A table cell: floats without binary noise (288541.82000000094 -> 288541.82); CSV and
    JSON keep the full value."""
    if value is None or value != value:  # None, NaN, NaT
        return ""
    if isinstance(value, float):
        return str(round(value, 6))
    return str(value)


@app.command("list")
@_friendly
def list_members(
    ctx: typer.Context,
    kind: Annotated[Kind, typer.Option(help="Which members to list.")] = Kind.measure,
    view: Annotated[str | None, typer.Option(help="Only this view.")] = None,
    output: Annotated[
        OutputFormat, typer.Option("--format", help="Output format.")
    ] = OutputFormat.table,
) -> None:
    """The metric catalogue: name, description, owner, format, certified, SQL."""
    entries = [
        e
        for e in api.catalog(cli_settings(ctx))
        if (kind is Kind.all or e.kind == kind.value)
        and (view is None or e.name.startswith(f"{view}."))
    ]
    names = ["name", "kind", "description", "owner", "format", "certified", "sql"]
    rows: list[tuple[Any, ...]] = [
        (e.name, e.kind, e.description or "", e.owner or "", e.format or "", e.certified, e.sql)
        for e in entries
    ]
    if kind is not Kind.all:
        names.remove("kind")
        rows = [row[:1] + row[2:] for row in rows]
    _print_rows(
        names, [False] * len(names), rows, output, title=f"{len(rows)} {kind.value} member(s)"
    )


def _time_dimension(spec: str) -> dict[str, Any]:
    member, _, rest = spec.partition(":")
    granularity, _, date_range = rest.partition(":")
    body: dict[str, Any] = {"dimension": member}
    if granularity:
        body["granularity"] = granularity
    if date_range:
        body["dateRange"] = (
            date_range.split(",") if "," in date_range or date_range[:1].isdigit() else date_range
        )
    return body


def _filter(spec: str) -> dict[str, Any]:
    parts = spec.strip().split(None, 2)
    if len(parts) < 2:
        raise typer.BadParameter(f"filter '{spec}' must read 'member operator [values]'")
    body: dict[str, Any] = {"member": parts[0], "operator": parts[1]}
    if len(parts) == 3:
        raw = parts[2].strip()
        body["values"] = json.loads(raw) if raw.startswith("[") else raw.split(",")
    return body


def _context(pairs: list[str]) -> dict[str, Any]:
    context: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise typer.BadParameter(f"context '{pair}' must read key=value")
        context[key.strip()] = value.strip()
    return context


def _order(specs: list[str]) -> list[list[str]]:
    order = []
    for spec in specs:
        member, _, direction = spec.rpartition(":")
        if direction not in ("asc", "desc"):
            member, direction = spec, "asc"
        order.append([member, direction])
    return order


@app.command()
@_friendly
def query(
    ctx: typer.Context,
    measure: Annotated[list[str], typer.Option("--measure", "-m", help="view.measure")] = [],  # noqa: B006
    dimension: Annotated[list[str], typer.Option("--dimension", "-d", help="view.dim")] = [],  # noqa: B006
    time_dimension: Annotated[
        list[str],
        typer.Option(
            "--time-dimension",
            "-t",
            help="view.time:granularity[:dateRange], e.g. orders.ordered_at:month:last 12 months "
            "or orders.ordered_at:day:2024-01-01,2024-01-31",
        ),
    ] = [],  # noqa: B006
    filter_: Annotated[
        list[str],
        typer.Option(
            "--filter", "-f", help="'member operator value[,value]' (or a JSON list of values)"
        ),
    ] = [],  # noqa: B006
    segment: Annotated[list[str], typer.Option("--segment", "-s")] = [],  # noqa: B006
    order: Annotated[list[str], typer.Option("--order", help="member[:asc|desc]")] = [],  # noqa: B006
    limit: Annotated[int | None, typer.Option(help="Row limit (Cube default 10000).")] = None,
    offset: Annotated[int | None, typer.Option()] = None,
    role: Annotated[
        str | None,
        typer.Option(
            help="Role of the caller, e.g. analyst; with a token, one of the token's roles."
        ),
    ] = None,
    context: Annotated[
        list[str],
        typer.Option(
            "--context",
            help="security context claim key=value, e.g. account_manager_id=am_1 "
            "(owner mode; with a token the token's claims decide)",
        ),
    ] = [],  # noqa: B006
    token: Annotated[
        str | None,
        typer.Option(
            envvar="CUSTINTEL_TOKEN",
            show_envvar=True,
            help="The caller's JWT (verified: signature, expiry, audience).",
        ),
    ] = None,
    output: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
    sql: Annotated[
        bool,
        typer.Option(
            "--sql", help="Print the compiled SQL, do not run (Cube backend: its /v1/sql)."
        ),
    ] = False,
    dialect: Annotated[str, typer.Option(help="SQL dialect for --sql.")] = "duckdb",
    backend: Annotated[str | None, typer.Option(help="embedded or cube (default: config).")] = None,
    as_of: Annotated[str | None, typer.Option(help="Anchor of relative date ranges.")] = None,
) -> None:
    """Run a governed query through the semantic layer."""
    body: dict[str, Any] = {
        "measures": measure,
        "dimensions": dimension,
        "timeDimensions": [_time_dimension(spec) for spec in time_dimension],
        "filters": [_filter(spec) for spec in filter_],
        "segments": segment,
    }
    if order:
        body["order"] = _order(order)
    if limit is not None:
        body["limit"] = limit
    if offset is not None:
        body["offset"] = offset
    parsed = Query.parse(body)
    anchor = dt.date.fromisoformat(as_of) if as_of else None
    claims = _context(context)
    settings = cli_settings(ctx)
    if sql and (backend or settings.semantic.backend) == "cube":
        cube = api.cube_sql(
            parsed, role=role, security_context=claims, settings=settings, as_of=anchor, token=token
        )
        sys.stdout.write(cube.sql.rstrip().rstrip(";") + ";\n")
        for index, value in enumerate(cube.params, start=1):
            sys.stdout.write(f"-- ${index} = {value!r}\n")
        return
    if sql:
        compiled = api.compile_query(
            parsed, role=role, security_context=claims, settings=settings, as_of=anchor, token=token
        )
        sys.stdout.write(compiled.to_sql(dialect) + ";\n")
        for index, value in enumerate(compiled.params, start=1):
            sys.stdout.write(f"-- ${index} = {value!r}\n")
        return
    result = api.load_rows(
        parsed,
        role=role,
        security_context=claims,
        settings=settings,
        backend=backend,  # type: ignore[arg-type]
        as_of=anchor,
        token=token,
    )
    _print_rows(result.names, [c.type == "number" for c in result.columns], result.rows, output)


@app.command()
@_friendly
def test(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="Metric test file or folder.")] = DEFAULT_TESTS_PATH,
    model: Annotated[Path | None, typer.Option(help="Model folder (default: config).")] = None,
) -> None:
    """Run the metric unit tests (YAML cases: input tables, query, expected rows)."""
    model_path = model or cli_settings(ctx).semantic_model_path
    from rich.table import Table

    from semantic.testing import run_metric_tests

    results = run_metric_tests(path, model_path)
    table = Table(title=f"metric tests in {path}")
    table.add_column("test")
    table.add_column("result")
    for result in results:
        table.add_row(result.test.id, "[green]pass[/green]" if result.passed else "[red]FAIL[/red]")
    console.print(table)
    failures = [r for r in results if not r.passed]
    for result in failures:
        error_console.print(f"[red]FAIL[/red] {result.test.id}\n{result.message}", highlight=False)
    console.print(f"{len(results) - len(failures)} passed, {len(failures)} failed")
    if failures:
        raise typer.Exit(1)


@app.command()
@_friendly
def validate(
    ctx: typer.Context,
    model: Annotated[Path | None, typer.Option(help="Model folder (default: config).")] = None,
) -> None:
    """Validate the data model against Cube's rules; list every issue."""
    model_path = model or cli_settings(ctx).semantic_model_path
    from semantic.model_loader import load_model

    loaded = load_model(model_path)
    members = sum(len(view.members) for view in loaded.views.values())
    console.print(
        f"model {model_path}: {len(loaded.cubes)} cube(s), {len(loaded.views)} "
        f"view(s), {members} view member(s): valid"
    )


@app.command()
@_friendly
def diff(
    ctx: typer.Context,
    base_ref: Annotated[
        str | None, typer.Argument(help="Git ref of the old model, e.g. origin/main.")
    ] = None,
    base: Annotated[str | None, typer.Option("--base", help="Same as BASE_REF.")] = None,
    head: Annotated[
        str | None, typer.Option(help="Git ref of the new model (default: the working tree).")
    ] = None,
    env: Annotated[
        str | None,
        typer.Option(
            help="Evaluate the new definitions on this SQLMesh "
            "environment (schemas <schema>__<env>)."
        ),
    ] = None,
    segment_dimension: Annotated[
        str | None,
        typer.Option(
            help="Public view dimension to break values down by (default revenue.segment); the "
            "reviewer role (semantic.reviewer_role) must see it unmasked."
        ),
    ] = None,
    months: Annotated[int, typer.Option(help="Months shown for time-aware measures.")] = 12,
    values: Annotated[bool, typer.Option(help="Evaluate value impact on the warehouse.")] = True,
    output: Annotated[DiffFormat, typer.Option("--format")] = DiffFormat.markdown,
    out_file: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to a file.")
    ] = None,
) -> None:
    """Definition diff and value impact of model changes since BASE_REF (PR comment), as the
    configured reviewer role sees them."""
    if (base_ref is None) == (base is None):
        raise typer.BadParameter("give the base git ref once: BASE_REF or --base REF")
    settings = cli_settings(ctx)
    from semantic.diff import DEFAULT_SEGMENT_DIMENSION
    from semantic.diff import diff as metric_diff

    report = metric_diff(
        base_ref or base or "",
        model_path=settings.semantic_model_path,
        warehouse=settings.warehouse_path,
        head_ref=head,
        env=env,
        segment_dimension=segment_dimension or DEFAULT_SEGMENT_DIMENSION,
        months=months,
        evaluate=values,
        reviewer_role=settings.semantic.reviewer_role,
    )
    text = report.to_markdown() if output is DiffFormat.markdown else report.to_json() + "\n"
    if out_file:
        out_file.write_text(text)
        console.print(f"wrote {out_file}")
    else:
        sys.stdout.write(text)


@app.command()
@_friendly
def bench(
    ctx: typer.Context,
    repeats: Annotated[int, typer.Option(help="Runs per view-query figure.")] = 20,
    cli_repeats: Annotated[int, typer.Option(help="Fresh processes per CLI figure.")] = 5,
) -> None:
    """Time the CLI start-up and the customer_months view queries beside same-run baselines."""
    from rich.table import Table

    from semantic.bench import cli_figures, view_figures

    settings = cli_settings(ctx)
    with api.engine(settings) as engine:
        figures = [
            *cli_figures(invocation(ctx).config_file, cli_repeats),
            *view_figures(engine, repeats),
        ]
    table = Table(title="semantic layer bench (medians)")
    for column in ("figure", "seconds", "baseline", "baseline s", "ratio", "cpu s"):
        table.add_column(column)
    for f in figures:
        table.add_row(
            f.name,
            f"{f.seconds:.3f}",
            f.baseline_name,
            f"{f.baseline_seconds:.3f}",
            f"{f.ratio:.2f}x",
            "" if f.cpu_seconds is None else f"{f.cpu_seconds:.3f}",
        )
    console.print(table)
