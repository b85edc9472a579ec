"""The ```model_card``` component: a registry version's model_card.md shown on the page.

The card is Markdown written by ml/ (ml/model_card.py). It is converted with Python-Markdown
(tables) with raw HTML and links switched off, so text from the data (feature or column names)
is always shown as text; its headings move one level down to sit under the page's title.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import markdown

from reports.registry import NoModelYet, find_version
from reports.specs import ModelCardSpec

CARD_FILE = "model_card.md"
_HEADING = re.compile(r"<(/?)h([1-5])\b")
#: Python-Markdown parts that would pass raw HTML or make links: all switched off
_RAW_HTML = ("html_block",)
_INLINE_OFF = ("html", "entity", "link", "image_link", "image_reference", "reference",
               "short_reference", "short_image_ref", "autolink", "automail")


def card_html(text: str) -> str:
    """Markdown of a model card as HTML: raw HTML escaped, no links, headings one level down."""
    converter = markdown.Markdown(extensions=["tables"])
    for name in _RAW_HTML:
        converter.preprocessors.deregister(name)
    for name in _INLINE_OFF:
        if name in converter.inlinePatterns:
            converter.inlinePatterns.deregister(name)
    body = converter.convert(text)
    body = _HEADING.sub(lambda m: f"<{m[1]}h{int(m[2]) + 1}", body)
    return body.replace("<table>", '<table class="ci-data">')


def model_card_html(spec: ModelCardSpec, registry: Path | None) -> str:
    try:
        found = find_version(registry, spec.model, spec.version)
    except NoModelYet:
        if spec.version != "latest":
            raise
        return (f'<p class="ci-empty">No version of model <code>{html.escape(spec.model)}'
                "</code> in the model registry yet: the build that made this site did not "
                "train it.</p>")
    label = html.escape(found.label)
    badge = ('<span class="ci-badge ci-registry" title="Read from the ML model registry, not '
             'from the semantic layer">model registry</span> ')
    opened = " open" if spec.open else ""
    return (
        f'<details class="ci-model-card" data-model="{label}"{opened}>'
        f"<summary>{badge}Model card <code>{label}</code></summary>"
        f'<div class="ci-model-card-body">{card_html(found.text(CARD_FILE))}</div></details>'
    )
