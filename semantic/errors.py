"""Errors raised by the semantic layer; every message names the file, cube/view and member."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class SemanticError(Exception):
    """Base class of every error the semantic layer raises on purpose."""


@dataclass(frozen=True)
class ModelIssue:
    """One problem in the data model: where it is and what is wrong."""

    file: Path | None
    owner: str | None  # "cube customers" / "view customers_view"
    member: str | None  # "measure revenue", "join orders", "access_policy[0]"
    message: str

    def __str__(self) -> str:
        where = [str(self.file) if self.file else "<model>"]
        if self.owner:
            where.append(self.owner)
        if self.member:
            where.append(self.member)
        return f"{': '.join(where)}: {self.message}"


class ModelError(SemanticError):
    """The data model does not load or does not validate; holds every issue found."""

    def __init__(self, issues: list[ModelIssue]):
        self.issues = list(issues)
        lines = [f"invalid semantic model ({len(self.issues)} issue(s)):"]
        lines += [f"  - {issue}" for issue in self.issues]
        super().__init__("\n".join(lines))


class QueryError(SemanticError):
    """A query names an unknown member or operator, or asks for something unsupported."""


class AccessDenied(SemanticError):
    """The security context may not see a member, a view or a cube."""


class CubeApiError(SemanticError):
    """A Cube server answered with an error, or did not answer in time."""

    retryable: bool = True  # False when a retry cannot help (nothing listens at the address)
    retry_after: float | None = None  # seconds the server asked to wait (Retry-After)


class CubeUnreachable(CubeApiError):
    """No connection to the Cube server (refused, DNS, TLS, connect timeout)."""


class CubeTimeout(CubeApiError):
    """The Cube server accepted the request but sent no answer within the read timeout."""


class CubeUnavailable(CubeApiError):
    """The Cube server (or a proxy before it) kept answering 502, 503 or 504."""


class DiffError(SemanticError):
    """A metric diff cannot be computed (bad git ref, no repository, ...)."""
