"""Build the report site: `build_site(settings)` for the project, `render_site` for any
mkdocs.yml (tests use it with a fixture runner)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mkdocs.commands.build import build
from mkdocs.config import load_config
from mkdocs.exceptions import Abort

from custintel.core.settings import Settings
from reports.plugin import ReportsPlugin
from reports.runner import QueryRunner

MKDOCS_FILE = Path(__file__).resolve().parent / "mkdocs.yml"
PLUGIN_NAME = "custintel-reports"


def _plugin(config: Any, config_file: Path) -> ReportsPlugin:
    plugin = config.plugins.get(PLUGIN_NAME)
    if not isinstance(plugin, ReportsPlugin):
        raise ValueError(f"{config_file}: `plugins` must list {PLUGIN_NAME}")
    return plugin


def render_site(
    config_file: Path,
    *,
    docs_dir: Path | None = None,
    site_dir: Path | None = None,
    runner: QueryRunner | None = None,
    settings: Settings | None = None,
    strict: bool = False,
) -> Path:
    """Build the site described by `config_file`; returns the site folder."""
    overrides = {
        key: str(value)
        for key, value in {"docs_dir": docs_dir, "site_dir": site_dir}.items()
        if value is not None
    }
    config = load_config(str(config_file), strict=strict, **overrides)
    plugin = _plugin(config, config_file)
    plugin.runner, plugin.settings = runner, settings
    config.plugins.on_startup(command="build", dirty=False)
    try:
        build(config)
    except Abort:
        if plugin.error is not None:  # MkDocs turns it into Abort; give the caller the page error
            raise plugin.error from None
        raise
    finally:
        config.plugins.on_shutdown()
    return Path(config.site_dir)


def plugins_for(config_file: Path) -> list[Any]:
    """mkdocs.yml's `plugins` with the reports plugin reading `config_file` (custintel's
    config.yaml): for `mkdocs serve`, which loads the MkDocs config (and a new plugin) on every
    rebuild, so the plugin cannot be handed a Settings object."""
    import yaml

    listed = yaml.safe_load(MKDOCS_FILE.read_text())["plugins"]
    return [
        {PLUGIN_NAME: {"settings": str(config_file)}} if entry == PLUGIN_NAME else entry
        for entry in listed
    ]


def build_site(
    settings: Settings, *, site_dir: Path | None = None, runner: QueryRunner | None = None
) -> Path:
    """The project's report site (pages from settings.pages_path) built to settings.site_path."""
    return render_site(
        MKDOCS_FILE,
        docs_dir=settings.pages_path,
        site_dir=site_dir or settings.site_path,
        runner=runner,
        settings=settings,
    )
