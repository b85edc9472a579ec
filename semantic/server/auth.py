"""Who is calling the API: the `Authorization` header (`<jwt>` or `Bearer <jwt>`, or Cube's
`x-cube-authorization`) verified by `semantic.identity` (signature, expiry, audience).

No token: 401. A token that does not verify (bad signature, expired, wrong audience,
malformed): 403 with the reason, as Cube answers "Invalid token" with 403.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from semantic.engine.security import SecurityContext
from semantic.identity import IdentityError, MissingToken, Verifier, context_from_token


@dataclass(frozen=True)
class AuthFailure(Exception):
    """The request cannot be served for who is (not) calling; `status` is 401 or 403."""

    status: int
    message: str


def request_token(request: Request) -> str | None:
    header = request.headers.get("x-cube-authorization") or request.headers.get("authorization")
    if header is None or not header.strip():
        return None
    parts = header.strip().split(None, 1)
    return parts[1] if len(parts) == 2 and parts[0].lower() == "bearer" else header.strip()


def authenticate(request: Request, verifier: Verifier) -> SecurityContext:
    """The verified security context of the request's token; AuthFailure otherwise."""
    token = request_token(request)
    if token is None:
        raise AuthFailure(
            401,
            "Authorization header isn't set: send a JWT as "
            "'Authorization: <token>' or 'Authorization: Bearer <token>'",
        )
    return verified(token, verifier)


def verified(token: str, verifier: Verifier) -> SecurityContext:
    """The verified security context of a token; AuthFailure (401 / 403) otherwise."""
    try:
        return context_from_token(token, verifier)
    except MissingToken as exc:
        raise AuthFailure(401, str(exc)) from exc
    except IdentityError as exc:
        raise AuthFailure(403, f"Invalid token: {exc}") from exc
