"""Access policies evaluated for a security context, with Cube's semantics.

- A cube or view without `access_policy` is open to everyone.
- With policies, only those whose `role`/`group` matches one of the user's roles (or `'*'`) and
  whose `conditions` hold apply; when none applies, access is denied.
- Member level: a member is plain if an applicable policy's `member_level` includes it (no
  `member_level` means every member), otherwise masked if a `member_masking` includes it,
  otherwise denied. Policies combine with OR.
- Row level: an applicable policy without `row_level` allows every row; otherwise the rows are
  the OR over applicable policies of the AND of each policy's filters. When a view is queried,
  the view's row filters and those of every cube involved all apply (AND); member-level rules
  come from the view only.
- Filter values may reference the context: `"{ securityContext.account_manager_id }"`.
- Conditions are `"{ securityContext.flag }"` (truthy) or `"{ not securityContext.flag }"`
  (Cube's YAML expressions are Python-like; `not` becomes `!`): a policy for callers
  *without* a claim, e.g. a `'*'` policy for callers without a role, which under OR semantics
  must not widen what a restricted role sees.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from semantic.definitions import AccessPolicy, PolicyFilter
from semantic.errors import AccessDenied

CONTEXT_REFERENCE = re.compile(r"^\{\s*securityContext\.([A-Za-z_][A-Za-z0-9_.]*)\s*\}$")
CONDITION = re.compile(
    r"^\{\s*(?P<negate>not\s+)?securityContext\.(?P<path>[A-Za-z_][A-Za-z0-9_.]*)\s*\}$")


class Access(Enum):
    PLAIN = "plain"
    MASKED = "masked"
    DENIED = "denied"


@dataclass(frozen=True)
class SecurityContext:
    """The claims of the caller (Cube's `securityContext`); roles from `role` or `roles`."""

    claims: dict[str, Any] = field(default_factory=dict)
    enforce: bool = True

    @classmethod
    def build(cls, role: str | None = None,
              security_context: dict[str, Any] | None = None) -> SecurityContext:
        claims = dict(security_context or {})
        if role is not None:
            claims["role"] = role
        return cls(claims=claims)

    @classmethod
    def unrestricted(cls) -> SecurityContext:
        """For trusted internal evaluation (metric diff): policies are not applied."""
        return cls(claims={}, enforce=False)

    @property
    def roles(self) -> tuple[str, ...]:
        roles = self.claims.get("roles")
        if isinstance(roles, list | tuple):
            return tuple(str(role) for role in roles)
        role = self.claims.get("role")
        return (str(role),) if role is not None else ()

    def lookup(self, path: str, needed_by: str) -> Any:
        value: Any = self.claims
        for part in path.split("."):
            if not isinstance(value, dict) or part not in value:
                raise AccessDenied(f"the security context has no '{path}', which the access "
                                   f"policy of {needed_by} needs")
            value = value[part]
        return value


def applicable(policies: list[AccessPolicy], context: SecurityContext,
               owner: str) -> list[AccessPolicy]:
    """The policies that apply to the context; AccessDenied when none does."""
    roles = set(context.roles)
    matching = [
        policy for policy in policies
        if ("*" in policy.roles or roles & set(policy.roles))
        and all(_condition_holds(condition, context, owner) for condition in policy.conditions)
    ]
    if not matching:
        who = ", ".join(sorted(roles)) or "no role"
        raise AccessDenied(f"access to {owner} is denied: no access policy applies to "
                           f"role(s) {who}")
    return matching


def _condition_holds(condition: str, context: SecurityContext, owner: str) -> bool:
    match = CONDITION.match(condition.strip())
    if match is None:
        raise AccessDenied(f"cannot evaluate condition '{condition}' of {owner}")
    try:
        value = bool(context.lookup(match.group("path"), owner))
    except AccessDenied:
        value = False
    return not value if match.group("negate") else value


def member_access(policies: list[AccessPolicy] | None, member: str, context: SecurityContext,
                  owner: str) -> Access:
    if policies is None or not context.enforce:
        return Access.PLAIN
    matching = applicable(policies, context, owner)
    if any(p.member_level is None or p.member_level.contains(member) for p in matching):
        return Access.PLAIN
    if any(p.member_masking is not None and p.member_masking.contains(member)
           for p in matching):
        return Access.MASKED
    return Access.DENIED


def row_filters(policies: list[AccessPolicy] | None, context: SecurityContext,
                owner: str) -> list[tuple[PolicyFilter, ...]] | None:
    """None when every row is allowed, else OR-groups of AND-ed filters."""
    if policies is None or not context.enforce:
        return None
    matching = applicable(policies, context, owner)
    if any(policy.row_filters is None for policy in matching):
        return None
    return [policy.row_filters or () for policy in matching]


def resolve_values(values: tuple[Any, ...] | str | None, context: SecurityContext,
                   owner: str) -> tuple[Any, ...] | None:
    """Filter values with `{ securityContext.x }` references replaced by the context's values."""
    if values is None:
        return None
    items = [values] if isinstance(values, str) else list(values)
    resolved: list[Any] = []
    for item in items:
        match = CONTEXT_REFERENCE.match(item.strip()) if isinstance(item, str) else None
        if match is None:
            resolved.append(item)
            continue
        value = context.lookup(match.group(1), owner)
        resolved += list(value) if isinstance(value, list | tuple) else [value]
    return tuple(resolved)
