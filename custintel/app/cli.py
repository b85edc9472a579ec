"""The `custintel` command line: generate, build, plan, and the metrics / ml / reports groups."""

from __future__ import annotations

import datetime as dt
import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import click
import typer
import typer.core

from custintel.core.console import console
from custintel.core.invocation import Invocation, cli_settings, invocation
from custintel.core.landing.files import LandingError
from custintel.core.settings import CONFIG_ENV

if TYPE_CHECKING:
    from custintel.app.bench import BenchResults

#: command groups owned by the other packages: (module, typer attribute, group name, help).
#: They are imported only when invoked (ml pulls in CatBoost and scikit-learn, reports MkDocs),
#: so `custintel --help` and `custintel metrics query` start fast.
SUB_COMMANDS = (
    (
        "semantic.cli",
        "app",
        "metrics",
        "Governed metrics: list, query, test and diff the semantic layer.",
    ),
    ("ml.cli", "app", "ml", "Churn model: train against baselines, evaluate, score."),
    ("reports.cli", "app", "reports", "Report site: build or serve the pages in reports/pages."),
)


class LazyGroups(typer.core.TyperGroup):
    """The top-level group: sub-command groups load on first use; help lists them from
    SUB_COMMANDS without importing them."""

    _loaded: dict[str, click.Command | None]

    def list_commands(self, ctx: click.Context) -> list[str]:
        lazy = [group for _module, _attr, group, _help in SUB_COMMANDS]
        return [*super().list_commands(ctx), *lazy]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is not None:
            return found
        for module_name, attribute, group, help_text in SUB_COMMANDS:
            if group != cmd_name:
                continue
            if getattr(ctx, "_custintel_listing", False):  # help: a stub with the help text
                return click.Group(name=group, help=help_text)
            return _load_group(module_name, attribute, group)
        return None

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        ctx._custintel_listing = True  # type: ignore[attr-defined]
        try:
            super().format_help(ctx, formatter)
        finally:
            ctx._custintel_listing = False  # type: ignore[attr-defined]


def _load_group(module_name: str, attribute: str, group: str) -> click.Command | None:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name not in (module_name, module_name.split(".")[0]):
            raise
        return None  # that package is not installed in this checkout
    command = typer.main.get_command(getattr(module, attribute))
    command.name = group
    return command


app = typer.Typer(
    cls=LazyGroups,
    help="Customer intelligence as code: warehouse, governed metrics, churn scores, reports.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def _global_options(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            envvar=CONFIG_ENV,
            show_envvar=True,
            help="config.yaml to use, for every command (default: the project's)",
        ),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="show tracebacks of errors")] = False,
) -> None:
    """Customer intelligence as code: warehouse, governed metrics, churn scores, reports."""
    from custintel.app.cli_errors import set_debug

    set_debug(debug)
    ctx.obj = Invocation(config)


@app.command()
def generate(
    ctx: typer.Context,
    customers: Annotated[int | None, typer.Option(help="number of customers")] = None,
    months: Annotated[int | None, typer.Option(help="months of history")] = None,
    seed: Annotated[int | None, typer.Option(help="random seed")] = None,
    start_date: Annotated[str | None, typer.Option(help="first month, YYYY-MM-01")] = None,
    defect_rate: Annotated[float | None, typer.Option(help="share of rows with a defect")] = None,
    out: Annotated[Path | None, typer.Option(help="landing folder to write")] = None,
) -> None:
    """Write the sample landing data (every contract table, Parquet) for Novacom."""
    from custintel.app.pipeline import generate_sample

    settings = cli_settings(ctx)
    sample = settings.sample.model_copy(
        update={
            key: value
            for key, value in {
                "customers": customers,
                "months": months,
                "seed": seed,
                "start_date": dt.date.fromisoformat(start_date) if start_date else None,
                "defect_rate": defect_rate,
            }.items()
            if value is not None
        }
    )
    target = out or settings.landing_path
    report = generate_sample(sample, target)
    console.print(f"[green]wrote {sum(report.rows.values()):,} rows to {target}[/green]")


@app.command()
def build(
    ctx: typer.Context,
    landing: Annotated[
        Path | None, typer.Option(help="landing folder (default: config landing.path)")
    ] = None,
    env: Annotated[str, typer.Option(help="SQLMesh environment to build")] = "prod",
    skip_ml: Annotated[bool, typer.Option(help="do not train and score the churn model")] = False,
    skip_reports: Annotated[bool, typer.Option(help="do not build the report site")] = False,
    force: Annotated[
        bool, typer.Option(help="run every step even if its inputs are unchanged")
    ] = False,
) -> None:
    """Generate sample data if landing is empty, load it, build the warehouse, score, report."""
    from custintel.app.pipeline import BuildOptions, run_build

    settings = cli_settings(ctx)
    options = BuildOptions(
        landing_path=landing.resolve() if landing else settings.landing_path,
        environment=env,
        with_ml=not skip_ml,
        with_reports=not skip_reports,
        force=force,
    )
    try:
        run_build(settings, options)
    except LandingError as exc:
        console.print(
            f"[red]landing data rejected, warehouse left unchanged:[/red] {exc}", soft_wrap=True
        )
        raise typer.Exit(1) from exc


@app.command()
def plan(
    ctx: typer.Context,
    env: Annotated[str, typer.Option(help="SQLMesh environment to compare with")] = "prod",
) -> None:
    """Show what a change would rebuild, with SQLMesh's breaking / non-breaking categories."""
    from custintel.app.pipeline import show_plan

    show_plan(cli_settings(ctx), env)


@app.command()
def serve(
    ctx: typer.Context,
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    host: Annotated[
        str,
        typer.Option(
            help="address to listen on (keep 127.0.0.1 unless a proxy in front authenticates users)"
        ),
    ] = "127.0.0.1",
    site: Annotated[
        Path | None, typer.Option(help="built site folder (default: reports.site_path)")
    ] = None,
    wait_seconds: Annotated[
        float, typer.Option(help="Cube API: answer 'Continue wait' after this long")
    ] = 5.0,
    local_login: Annotated[
        bool,
        typer.Option(
            help="on a loopback address: print a sign-in link for reports.site_role (single user)"
        ),
    ] = True,
) -> None:
    """The interactive report site: pages, inputs and any customer's 360 answered live, plus a
    Cube-compatible REST API at /cubejs-api. Every request needs a verified JWT (API: the
    Authorization header; browser: /_app/login?token=..., kept in an HttpOnly cookie)."""
    import uvicorn

    from reports.serve.app import ServeError, create_app
    from reports.serve.session import LOOPBACK, LocalLogin

    settings = cli_settings(ctx)
    local = LocalLogin(settings.reports.site_role) if local_login and host in LOOPBACK else None
    try:
        application = create_app(
            settings, site_dir=site, wait_seconds=wait_seconds, local_login=local
        )
    except ServeError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    base = f"http://{host}:{port}"
    console.print(f"[green]custintel serve:[/green] {base}/ (Cube API: {base}/cubejs-api/v1)")
    if local is not None:
        console.print(
            f"Sign in as {local.role} (this link is your key; keep it to yourself): "
            f"{local.login_url(base)}",
            soft_wrap=True,
        )
    else:
        console.print(f"Sign in with a token of your identity provider: {base}/_app/login")
    uvicorn.run(application, host=host, port=port, log_level="warning")


bench_app = typer.Typer(
    invoke_without_command=True,
    help="Time the whole job at a scale (`custintel bench`), or load-test the served app "
    "(`custintel bench serve`).",
)
app.add_typer(bench_app, name="bench")


@bench_app.callback()
def bench(
    ctx: typer.Context,
    customers: Annotated[
        list[int] | None,
        typer.Option(
            help="opening customer base, repeatable: --customers 5000 --customers 20000 runs "
            "each size in turn (default: 5000)"
        ),
    ] = None,
    months: Annotated[int, typer.Option(help="months of history")] = 24,
    out: Annotated[Path, typer.Option(help="throw-away build folder")] = Path("build/bench"),
    skip_ml: Annotated[bool, typer.Option(help="leave out training and scoring")] = False,
    skip_reports: Annotated[bool, typer.Option(help="leave out the report site")] = False,
    gateway: Annotated[
        list[str] | None,
        typer.Option(
            help="gateway to build on, repeatable: --gateway duckdb --gateway spark runs both "
            "engines on the same landing files (default: duckdb)"
        ),
    ] = None,
    skip_floor: Annotated[
        bool, typer.Option(help="leave out the plain-DuckDB floor of the SQLMesh step")
    ] = False,
    repeats: Annotated[int, typer.Option(help="runs per latency figure")] = 20,
) -> None:
    """Time the whole job at a scale, each step with a same-run baseline (writes bench.json)."""
    if ctx.invoked_subcommand is not None:
        return
    from rich.table import Table

    from custintel.app.bench import engine_rows, run_bench_sizes

    gateways = tuple(dict.fromkeys(gateway or ["duckdb"]))
    unknown = sorted(set(gateways) - {"duckdb", "spark"})
    if unknown:
        raise typer.BadParameter(
            f"unknown gateway {', '.join(map(repr, unknown))}: use duckdb or spark",
            param_hint="--gateway",
        )
    sizes = list(dict.fromkeys(customers or [5000]))
    if any(size < 1 for size in sizes):
        raise typer.BadParameter("a size must be at least 1 customer", param_hint="--customers")
    runs = run_bench_sizes(
        out,
        sizes,
        months,
        config=invocation(ctx).config_file,
        gateways=gateways,
        with_floor=not skip_floor,
        with_ml=not skip_ml,
        with_reports=not skip_reports,
        repeats=repeats,
    )
    for run in runs:
        _print_bench_run(run)
    engines = Table(title="engines by size: the SQLMesh step")
    columns = (
        *("customers", "months", "landed_rows", "gateway", "load_seconds"),
        *("sqlmesh_seconds", "sqlmesh_peak_rss_mb", "floor_seconds", "floor_ratio"),
    )
    for column in columns:
        engines.add_column(column.replace("_", " "))
    for row in (row for run in runs for row in engine_rows(run)):
        engines.add_row(*(_cell(row[column]) for column in columns))
    console.print(engines)
    console.print(f"written {out / 'bench.json'} (and each size's own under {out})")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _print_bench_run(results: BenchResults) -> None:
    from rich.table import Table

    customers, months = results.context["customers"], results.context["months"]
    table = Table(title=f"custintel bench: {customers:,} customers x {months} months")
    for column in ("step", "seconds", "peak RSS MB", "baseline", "baseline s", "ratio"):
        table.add_column(column)
    for r in results:
        table.add_row(
            r.name,
            f"{r.seconds:.3f}",
            f"{r.peak_rss_mb:,.0f}",
            r.baseline_name or "",
            f"{r.baseline_seconds:.3f}" if r.baseline_seconds else "",
            f"{r.ratio:.2f}x" if r.ratio else "",
        )
    console.print(table)
    if results.figures:
        figures = Table(title="quality figures")
        for column in ("figure", "value", "reference", "reference value", "ratio"):
            figures.add_column(column)
        for f in results.figures:
            figures.add_row(
                f.name,
                f"{f.value:.3f}",
                f.baseline_name,
                f"{f.baseline_value:.3f}",
                f"{f.ratio:.2f}x",
            )
        console.print(figures)
    console.print(f"written {results.path}")


@bench_app.command("serve")
def bench_serve(
    ctx: typer.Context,
    clients: Annotated[int, typer.Option(help="concurrent clients")] = 50,
    seconds: Annotated[float, typer.Option(help="how long to load the server")] = 30.0,
    page: Annotated[
        Path | None,
        typer.Option(help="dashboard page whose queries are sent (default: executive-overview.md)"),
    ] = None,
    role: Annotated[str, typer.Option(help="role claim of the clients' token")] = "executive",
    renew: Annotated[
        bool,
        typer.Option(help="renewQuery: bypass the result cache, every request runs on the engine"),
    ] = False,
    site: Annotated[
        Path | None, typer.Option(help="built site folder (default: reports.site_path)")
    ] = None,
    out: Annotated[Path, typer.Option(help="result file")] = Path("build/bench/serve.json"),
) -> None:
    """Load-test `custintel serve` on 127.0.0.1 (needs a built warehouse and site): throughput,
    p50/p95 latency, errors, server memory, beside the engine's own latency."""
    from rich.table import Table

    from reports.serve.bench import run_load_test, write_result

    result = run_load_test(
        cli_settings(ctx),
        invocation(ctx).config_file,
        clients=clients,
        seconds=seconds,
        page=page,
        role=role,
        site=site,
        renew=renew,
    )
    table = Table(
        title=f"custintel bench serve: {clients} clients x {seconds:g} s"
        f"{' (renewQuery)' if renew else ''}"
    )
    table.add_column("figure")
    table.add_column("value")
    for key, value in result.as_dict().items():
        table.add_row(key, str(value))
    console.print(table)
    write_result(result, out)
    console.print(f"written {out}")
    if result.errors:
        raise typer.Exit(1)
