"""The ```model_card``` component: a registry version's model_card.md shown on the page.

The card is Markdown written by ml/ (ml/model_card.py). It is converted with Python-Markdown
(tables) with raw HTML and links switched off, so text from the data (feature or column names)
is always shown as text; its headings move one level down to sit under the page's title. The
card's own charts (an SVG file of the version, `![alt](reliability.svg)` on its own line) are
shown as images from a data URI, so no script in them can run and no file is linked.
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

import markdown

from reports.registry import NoModelYet, find_version
from reports.specs import ModelCardSpec

CARD_FILE = "model_card.md"
_HEADING = re.compile(r"<(/?)h([1-5])\b")
#: a chart of the card: `![alt](file.svg)` alone on a line, a plain file name (no path)
_FIGURE = re.compile(r"^!\[([^\]\n]*)\]\(([A-Za-z0-9_.-]+\.svg)\)$", re.M)
#: Python-Markdown parts that would pass raw HTML or make links: all switched off
_RAW_HTML = ("html_block",)
_INLINE_OFF = (
    "html",
    "entity",
    "link",
    "image_link",
    "image_reference",
    "reference",
    "short_reference",
    "short_image_ref",
    "autolink",
    "automail",
)


def _figures(text: str, folder: Path | None) -> tuple[str, dict[str, str]]:
    """The card's own SVG charts (`![alt](reliability.svg)` on a line of its own, a plain file
    of the version's folder) swapped for placeholders, and the HTML each stands for: the SVG as
    a data URI in an <img>, where it cannot run scripts; its alt text when the file is absent."""
    figures: dict[str, str] = {}

    def swap(match: re.Match[str]) -> str:
        alt, name = html.escape(match[1]), match[2]
        path = folder / name if folder is not None else None
        key = f"CIFIGURE{len(figures)}"
        if path is not None and path.is_file():
            data = base64.b64encode(path.read_bytes()).decode("ascii")
            figures[key] = (
                f'<figure class="ci-card-figure"><img alt="{alt}" '
                f'src="data:image/svg+xml;base64,{data}"></figure>'
            )
        else:
            figures[key] = f'<p class="ci-empty">{alt} (no {html.escape(name)} stored)</p>'
        return key

    return _FIGURE.sub(swap, text), figures


def card_html(text: str, folder: Path | None = None) -> str:
    """Markdown of a model card as HTML: raw HTML escaped, no links, headings one level down;
    the version's own SVG charts (files of `folder`) shown as images."""
    text, figures = _figures(text, folder)
    converter = markdown.Markdown(extensions=["tables"])
    for name in _RAW_HTML:
        converter.preprocessors.deregister(name)
    for name in _INLINE_OFF:
        if name in converter.inlinePatterns:
            converter.inlinePatterns.deregister(name)
    body = converter.convert(text)
    body = _HEADING.sub(lambda m: f"<{m[1]}h{int(m[2]) + 1}", body)
    for key, figure in figures.items():
        body = body.replace(f"<p>{key}</p>", figure)
    return body.replace("<table>", '<table class="ci-data">')


def model_card_html(spec: ModelCardSpec, registry: Path | None) -> str:
    try:
        found = find_version(registry, spec.model, spec.version)
    except NoModelYet:
        if spec.version != "latest":
            raise
        return (
            f'<p class="ci-empty">No version of model <code>{html.escape(spec.model)}'
            "</code> in the model registry yet: the build that made this site did not "
            "train it.</p>"
        )
    label = html.escape(found.label)
    badge = (
        '<span class="ci-badge ci-registry" title="Read from the ML model registry, not '
        'from the semantic layer">model registry</span> '
    )
    opened = " open" if spec.open else ""
    body = card_html(found.text(CARD_FILE), found.path)
    return (
        f'<details class="ci-model-card" data-model="{label}"{opened}>'
        f"<summary>{badge}Model card <code>{label}</code></summary>"
        f'<div class="ci-model-card-body">{body}</div></details>'
    )
