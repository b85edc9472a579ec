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
- Filter values may reference the context: `"{ securityContext.account_manager_id }"`. A
  missing, null or empty claim (or a null in a list) is an error: a row filter fails closed,
  never `IS NULL` or "no filter".
- Callers in several groups (Cube since its PR 10803): a member that one applicable policy
  masks and another grants only together with row filters is unmasked on the rows those
  filters allow (OR over such policies) and masked on the others (`member_access`'s
  `unmask_when`). Stricter than Cube in one case: such a grant without any masking policy
  still shows the real value only on its own rows (elsewhere the member's mask, NULL by
  default), so a row-filtered grant never shows a member on rows it does not cover.
- Roles come from the `roles` list and the `role` claim; `SecurityContext.build` refuses a
  role argument that disagrees with the claims (it may only narrow a `roles` list).
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
    r"^\{\s*(?P<negate>not\s+)?securityContext\.(?P<path>[A-Za-z_][A-Za-z0-9_.]*)\s*\}$"
)


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
    def build(
        cls, role: str | None = None, security_context: dict[str, Any] | None = None
    ) -> SecurityContext:
        """A declared context; `role` must agree with the claims' `role`/`roles`."""
        claims = dict(security_context or {})
        if role is None:
            return cls(claims=claims)
        claimed = cls(claims=claims).roles
        if claimed and role not in claimed:
            raise AccessDenied(
                f"role '{role}' disagrees with the security context's role(s) "
                f"{', '.join(claimed)}; a role argument never overrides them"
            )
        claims["role"] = role
        if "roles" in claims:
            claims["roles"] = [role]  # narrowed to the one role asked for
        return cls(claims=claims)

    @classmethod
    def unrestricted(cls) -> SecurityContext:
        """For trusted internal evaluation (metric diff): policies are not applied."""
        return cls(claims={}, enforce=False)

    @property
    def roles(self) -> tuple[str, ...]:
        """The `roles` list and the `role` claim together (empty entries dropped)."""
        found: list[str] = []
        listed = self.claims.get("roles")
        if isinstance(listed, list | tuple):
            found += [str(role) for role in listed if role not in (None, "")]
        elif listed not in (None, ""):
            found.append(str(listed))
        role = self.claims.get("role")
        if role not in (None, "") and str(role) not in found:
            found.append(str(role))
        return tuple(found)

    def lookup(self, path: str, needed_by: str) -> Any:
        value: Any = self.claims
        for part in path.split("."):
            if not isinstance(value, dict) or part not in value:
                raise AccessDenied(
                    f"the security context has no '{path}', which the access "
                    f"policy of {needed_by} needs"
                )
            value = value[part]
        return value


def applicable(
    policies: list[AccessPolicy], context: SecurityContext, owner: str
) -> list[AccessPolicy]:
    """The policies that apply to the context; AccessDenied when none does."""
    roles = set(context.roles)
    matching = [
        policy
        for policy in policies
        if ("*" in policy.roles or roles & set(policy.roles))
        and all(_condition_holds(condition, context, owner) for condition in policy.conditions)
    ]
    if not matching:
        who = ", ".join(sorted(roles)) or "no role"
        raise AccessDenied(
            f"access to {owner} is denied: no access policy applies to role(s) {who}"
        )
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


@dataclass(frozen=True)
class MemberAccess:
    """How a caller sees a member; when MASKED, `unmask_when` holds the OR-groups of AND-ed
    row filters (of their owner's policies) on whose rows the real value shows."""

    access: Access
    unmask_when: tuple[tuple[PolicyFilter, ...], ...] = ()


def _grants(policy: AccessPolicy, member: str) -> bool:
    return policy.member_level is None or policy.member_level.contains(member)


def member_access(
    policies: list[AccessPolicy] | None, member: str, context: SecurityContext, owner: str
) -> MemberAccess:
    if policies is None or not context.enforce:
        return MemberAccess(Access.PLAIN)
    matching = applicable(policies, context, owner)
    granting = [p for p in matching if _grants(p, member)]
    if any(p.row_filters is None for p in granting):
        return MemberAccess(Access.PLAIN)
    masking = any(
        p.member_masking is not None and p.member_masking.contains(member) for p in matching
    )
    if granting and not masking and len(granting) == len(matching):
        return MemberAccess(Access.PLAIN)  # the row filters already limit every row shown
    if granting:
        return MemberAccess(Access.MASKED, tuple(p.row_filters or () for p in granting))
    return MemberAccess(Access.MASKED if masking else Access.DENIED)


def row_filters(
    policies: list[AccessPolicy] | None, context: SecurityContext, owner: str
) -> list[tuple[PolicyFilter, ...]] | None:
    """None when every row is allowed, else OR-groups of AND-ed filters."""
    if policies is None or not context.enforce:
        return None
    matching = applicable(policies, context, owner)
    if any(policy.row_filters is None for policy in matching):
        return None
    return [policy.row_filters or () for policy in matching]


def resolve_values(
    values: tuple[Any, ...] | str | None, context: SecurityContext, owner: str
) -> tuple[Any, ...] | None:
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
        claim = match.group(1)
        value = context.lookup(claim, owner)
        values_of_claim = list(value) if isinstance(value, list | tuple) else [value]
        if not values_of_claim or any(v is None or v == "" for v in values_of_claim):
            shown = "an empty list" if not values_of_claim else repr(value)
            raise AccessDenied(
                f"the security context's '{claim}' is {shown}; the row filter "
                f"of {owner} needs a value and fails closed"
            )
        resolved += values_of_claim
    return tuple(resolved)
