"""The site's look, declared once: value colours and business order (theme.yml) and the one
Plotly template every chart shares (written to the site once, not into each chart)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from reports.formats import GRANULARITIES

THEME_FILE = Path(__file__).resolve().parent / "theme.yml"
FONT = '-apple-system, BlinkMacSystemFont, "Segoe UI", Helvetica, Arial, sans-serif'
#: colours for series without a palette (Tableau 10, minus the palettes' own blues and reds)
COLORWAY = [
    "#4c78a8",
    "#72b7b2",
    "#54a24b",
    "#eeca3b",
    "#b279a2",
    "#ff9da6",
    "#9d755d",
    "#bab0ac",
    "#f58518",
    "#e45756",
]
TEXT = "#1f2328"
GRID = "#e6e8eb"


class ThemeError(ValueError):
    """theme.yml is not what this module expects; the message names the file and key."""


@dataclass(frozen=True)
class Palette:
    name: str
    colors: dict[str, str]  # value -> colour, in business order

    @property
    def order(self) -> list[str]:
        return list(self.colors)

    def rank(self, value: Any) -> tuple[int, str]:
        """Sort key: listed values in business order, then the rest alphabetically."""
        text = str(value)
        return (self.order.index(text), "") if text in self.colors else (len(self.colors), text)


def _palette(name: str, raw: Any, source: Path) -> tuple[Palette, list[str]]:
    if not isinstance(raw, dict) or not isinstance(raw.get("values"), dict):
        raise ThemeError(f"{source}: palettes.{name} needs `columns` and a `values` mapping")
    columns = raw.get("columns")
    if not isinstance(columns, list) or not columns:
        raise ThemeError(f"{source}: palettes.{name}.columns must be a non-empty list")
    colors = {str(value): str(color) for value, color in raw["values"].items()}
    for value, color in colors.items():
        if not (color.startswith("#") and len(color) == 7):
            raise ThemeError(f"{source}: palettes.{name}.values.{value}: {color!r} is not #rrggbb")
    return Palette(name, colors), [str(column) for column in columns]


@cache
def palettes(source: Path = THEME_FILE) -> dict[str, Palette]:
    """Column name (member name after the view, or a raw result column) -> its palette."""
    raw = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    found: dict[str, Palette] = {}
    for name, body in (raw.get("palettes") or {}).items():
        palette, columns = _palette(str(name), body, source)
        for column in columns:
            if column in found:
                raise ThemeError(
                    f"{source}: column {column!r} is in palettes {found[column].name} and {name}"
                )
            found[column] = palette
    return found


def palette_for(column: str) -> Palette | None:
    """The palette of a result column: `view.member`, `view.time.month` or a raw column."""
    parts = column.split(".")
    if len(parts) > 2 and parts[-1] in GRANULARITIES:
        parts = parts[:-1]
    return palettes().get(parts[-1])


def in_business_order(values: Iterable[Any], column: str) -> list[Any]:
    """Distinct values in the palette's order (others alphabetical); alphabetical without one."""
    palette = palette_for(column)
    unique = list(dict.fromkeys(values))
    if palette is None:  # alphabetical: never the engine's row order, which may vary
        return sorted(unique, key=str)
    return sorted(unique, key=palette.rank)


def color_of(column: str, value: Any) -> str | None:
    palette = palette_for(column)
    return None if palette is None else palette.colors.get(str(value))


def all_value_colors() -> dict[str, dict[str, str]]:
    """Palette name -> value -> colour (tests check charts against it)."""
    return {p.name: dict(p.colors) for p in palettes().values()}


def chart_template() -> dict[str, Any]:
    """The Plotly template of every chart: written once per site (assets/custintel)."""
    axis = {
        "gridcolor": GRID,
        "linecolor": "#9aa0a6",
        "zerolinecolor": "#c4c8cc",
        "automargin": True,
        "title": {"standoff": 8},
        "ticks": "",
    }
    return {
        "layout": {
            "font": {"family": FONT, "size": 13, "color": TEXT},
            "colorway": COLORWAY,
            "paper_bgcolor": "#ffffff",
            "plot_bgcolor": "#ffffff",
            "hoverlabel": {"namelength": -1, "font": {"family": FONT}},
            "hovermode": "closest",
            "xaxis": axis,
            "yaxis": axis,
            "legend": {"orientation": "h", "yanchor": "top", "y": -0.18, "x": 0},
            "colorscale": {"sequential": [[0, "#f7fbff"], [1, "#08306b"]]},
        },
    }
