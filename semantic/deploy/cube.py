"""Cube server configuration for the custintel data model (mounted as /cube/conf/cube.py).

Authentication is Cube's default: requests carry a JWT signed (HS256) with CUBEJS_API_SECRET,
and its claims are the security context (semantic/client.py signs `{role, ...}`). The access
policies of the views (semantic/model/views/*.yml) match groups, which Cube Core takes from
`context_to_groups` only; without it every group-specific policy would be skipped. The groups
are the caller's `role` claim (or `roles` list): executive, analyst, account_manager. A caller
without a role has no group; the views' `group: "*"` policy with the condition
`{ not securityContext.role }` serves them (masked PII), exactly as in the embedded engine.
The model is the same for every caller, so no context_to_app_id or repository factory.
"""

from typing import Any

from cube import config


def groups_of(security_context: dict[str, Any]) -> list[str]:
    """The access-policy groups of a security context: its `roles` list, else its `role`."""
    roles = security_context.get("roles")
    if isinstance(roles, list):
        return [str(role) for role in roles if role]
    role = security_context.get("role")
    return [str(role)] if role else []


@config("context_to_groups")
def context_to_groups(ctx: dict[str, Any]) -> list[str]:
    return groups_of(ctx.get("securityContext") or {})
