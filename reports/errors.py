"""The error a report page raises: it names the page file, the line of the block and the reason."""

from __future__ import annotations

from mkdocs.exceptions import PluginError


class ReportError(PluginError):
    """A page cannot be rendered; MkDocs aborts the build with this message."""

    def __init__(self, page: str, line: int | None, reason: str):
        self.page = page
        self.line = line
        self.reason = reason
        where = f"{page}:{line}" if line is not None else page
        super().__init__(f"{where}: {reason}")
