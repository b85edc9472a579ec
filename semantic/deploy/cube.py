"""Cube server configuration for the custintel data model (mounted as /cube/conf/cube.py).

Authentication is Cube's default JWT check, configured in docker-compose.yml with the same
secret (HS256, CUBEJS_API_SECRET) or keys (RS256, CUBEJS_JWK_URL) and the same audience as
custintel's own verifier (semantic/identity.py); the verified claims are the security context.
Clients send the token they were issued (semantic/client.py) and never hold the secret. The
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
    """The access-policy groups of a security context: its `roles` list and its `role` claim
    together (as semantic/engine/security.py reads them)."""
    roles = security_context.get("roles")
    groups = [str(role) for role in roles if role] if isinstance(roles, list) else []
    role = security_context.get("role")
    if role and str(role) not in groups:
        groups.append(str(role))
    return groups


@config("context_to_groups")
def context_to_groups(ctx: dict[str, Any]) -> list[str]:
    return groups_of(ctx.get("securityContext") or {})
