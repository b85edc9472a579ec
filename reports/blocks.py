"""Split a page's markdown into fenced report blocks (query, sql, registry, chart, kpi, table,
catalog, model_card).

A report block is a fence at the start of a line whose info string begins with one of
`BLOCK_KINDS`: ```` ```query revenue_by_segment ```` ... ```` ``` ````. Other fences (```python)
are ordinary code: they are left alone and inline values are not substituted inside them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

QUERY_KINDS = frozenset({"query", "sql", "registry"})
NAMED_KINDS = QUERY_KINDS | {"input"}
COMPONENT_KINDS = frozenset({"chart", "kpi", "table", "catalog", "model_card", "input"})
BLOCK_KINDS = QUERY_KINDS | COMPONENT_KINDS
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_OPEN = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*?)\s*$")


class BlockSyntaxError(ValueError):
    """A report block is malformed; `line` is its 0-based line in the markdown."""

    def __init__(self, line: int, reason: str):
        self.line = line
        super().__init__(reason)


@dataclass(frozen=True)
class Block:
    kind: str
    name: str | None  # the query name (query/sql), None for components
    body: str
    first: int  # 0-based line of the opening fence in the markdown
    last: int  # 0-based line of the closing fence


@dataclass(frozen=True)
class ParsedMarkdown:
    lines: list[str]
    blocks: list[Block]
    code_lines: frozenset[int]  # lines inside other fenced code (never substituted)


def _closes(line: str, fence: str) -> bool:
    stripped = line.strip()
    return (
        len(line) - len(line.lstrip(" ")) <= 3
        and stripped.startswith(fence[0] * len(fence))
        and set(stripped) == {fence[0]}
    )


def _block(kind: str, rest: list[str], body: str, first: int, last: int) -> Block:
    if kind in NAMED_KINDS:
        if len(rest) != 1 or not NAME.match(rest[0]):
            raise BlockSyntaxError(
                first,
                f"a ```{kind}``` block needs one name (letters, digits, _): ```{kind} name```",
            )
        return Block(kind, rest[0], body, first, last)
    if rest:
        raise BlockSyntaxError(first, f"a ```{kind}``` block takes no name, got {' '.join(rest)!r}")
    return Block(kind, None, body, first, last)


def parse_markdown(markdown: str) -> ParsedMarkdown:
    """Find the report blocks and the lines of other code fences in `markdown`."""
    lines = markdown.split("\n")
    blocks: list[Block] = []
    code_lines: set[int] = set()
    index = 0
    while index < len(lines):
        opened = _OPEN.match(lines[index])
        if not opened:
            index += 1
            continue
        fence, words = opened["fence"], opened["info"].split()
        end = next((j for j in range(index + 1, len(lines)) if _closes(lines[j], fence)), None)
        is_report = bool(words) and words[0] in BLOCK_KINDS and not opened["indent"]
        if end is None:
            if is_report:
                raise BlockSyntaxError(index, f"```{words[0]}``` block is never closed")
            end = len(lines) - 1
        if is_report:
            body = "\n".join(lines[index + 1 : end])
            blocks.append(_block(words[0], words[1:], body, index, end))
        else:
            code_lines.update(range(index, end + 1))
        index = end + 1
    return ParsedMarkdown(lines, blocks, frozenset(code_lines))
