"""The settings of one `custintel` command line, loaded once and shared by every command group.

The root `custintel --config FILE` option (or, read once at the entry point, the environment
variable CUSTINTEL_CONFIG; else the project's config.yaml) names the file. The root command
stores an `Invocation` on its Click context; a command of any group (`custintel build`,
`custintel ml ...`, `custintel metrics ...`, `custintel reports ...`) asks `cli_settings(ctx)`
with its own context and gets the one `Settings` object, loaded on first use (so `--help`
never reads the file). A group's Typer app run on its own (tests, `python -m ml.cli`) has no
root invocation: it gets one for the default config file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from custintel.core.settings import Settings, config_file, load_settings

if TYPE_CHECKING:
    import typer


@dataclass
class Invocation:
    """One command line's config file and, once loaded, its settings."""

    config_path: Path | None = None
    _settings: Settings | None = field(default=None, repr=False)

    def settings(self) -> Settings:
        """The validated settings (loaded on the first call; SettingsError names bad keys)."""
        if self._settings is None:
            self._settings = load_settings(self.config_path)
        return self._settings

    @property
    def config_file(self) -> Path:
        """The config file these settings come from, for a child `custintel --config` process."""
        return config_file(self.config_path)


def invocation(ctx: typer.Context) -> Invocation:
    """The invocation of the running command (held by its root context)."""
    root = ctx.find_root()
    if not isinstance(root.obj, Invocation):
        root.obj = Invocation()
    return root.obj


def cli_settings(ctx: typer.Context) -> Settings:
    """The settings of the running command line (loaded once per command line)."""
    return invocation(ctx).settings()
