"""`custintel reports build | serve` (mounted by custintel.app.cli)."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from custintel.core.console import console
from custintel.core.invocation import cli_settings, invocation
from reports.errors import ReportError
from reports.site import MKDOCS_FILE, build_site, plugins_for

app = typer.Typer(
    help="Report site: build or serve the pages in reports/pages.", no_args_is_help=True
)


@app.command()
def build(
    ctx: typer.Context,
    out: Annotated[
        Path | None, typer.Option(help="site folder (default: reports.site_path)")
    ] = None,
) -> None:
    """Run every page's queries and write the static site (offline; Plotly bundled)."""
    settings = cli_settings(ctx)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    started = time.perf_counter()
    try:
        site = build_site(settings, site_dir=out.resolve() if out else None)
    except ReportError as exc:
        console.print(f"[red]report page error:[/red] {escape(str(exc))}")
        raise typer.Exit(1) from exc
    seconds = time.perf_counter() - started
    console.print(f"[green]report site built in {seconds:.1f}s:[/green] {site / 'index.html'}")


@app.command()
def serve(
    ctx: typer.Context,
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
) -> None:
    """Serve the site with live reload while editing pages (queries rerun on each change)."""
    from mkdocs.commands.serve import serve as mkdocs_serve

    settings = cli_settings(ctx)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    mkdocs_serve(
        config_file=str(MKDOCS_FILE),
        dev_addr=f"{host}:{port}",
        docs_dir=str(settings.pages_path),
        watch=[str(settings.semantic_model_path)],
        plugins=plugins_for(invocation(ctx).config_file),
    )
