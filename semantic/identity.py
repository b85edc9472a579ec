"""Who is asking: a verified JWT turned into the security context, as Cube's `checkAuth` does.

`verify_token(token, verifier)` checks the signature (HS256 with a shared secret, or RS256 with
a JWKS endpoint or a PEM public key), the expiry (`exp` is required) and the audience, and
returns the claims. Each failure has its own error class (`MissingToken`, `ExpiredToken`,
`BadSignature`, `WrongAudience`, `InvalidToken`) so a server can answer 401 with the reason.
`context_from_token` makes the `SecurityContext` from the claims.

`caller_context(settings, token=, role=, security_context=)` is what the Python API and the CLI
use. With a token (argument, else `CUSTINTEL_TOKEN`) the claims decide; a `role` argument may
only narrow the token's roles to one of them and a `security_context` argument may only repeat
the token's claims, anything else is `RoleMismatch`. Without a token:
- `semantic.identity: token` -> `MissingToken`;
- `semantic.identity: owner` (the default) -> the local owner mode: the role and claims are
  taken as declared. This is for the person who owns the DuckDB file: whoever can read the file
  can read everything in it with DuckDB, so a role there is a convenience, not a control.

Secrets: the HS256 secret is read from `CUBEJS_API_SECRET` (the one Cube's own check uses) by
whoever *verifies*; clients hold tokens only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from semantic.engine.security import SecurityContext
from semantic.errors import SemanticError

TOKEN_ENV = "CUSTINTEL_TOKEN"
SECRET_ENV = "CUBEJS_API_SECRET"
ROLE_CLAIMS = ("role", "roles")


class IdentityError(SemanticError):
    """The caller's identity cannot be established or disagrees with what it asked for."""


class MissingToken(IdentityError):
    """No token where one is required."""


class ExpiredToken(IdentityError):
    """The token's `exp` is in the past."""


class BadSignature(IdentityError):
    """The token's signature does not verify with the configured key."""


class WrongAudience(IdentityError):
    """The token's `aud` is not the configured audience (or one of the two is missing)."""


class InvalidToken(IdentityError):
    """Malformed token, wrong algorithm or issuer, missing `exp`, or no key configured."""


class RoleMismatch(IdentityError):
    """A role or claim argument disagrees with the verified token."""


@dataclass(frozen=True)
class Verifier:
    """How tokens are verified; `from_settings` reads config.yaml's `semantic.*` keys."""

    algorithm: str = "HS256"
    secret: str | None = None
    jwks_url: str | None = None
    public_key: str | None = None
    audience: str | None = None
    issuer: str | None = None
    leeway_seconds: int = 0

    @classmethod
    def from_settings(cls, settings: Any) -> Verifier:
        semantic = settings.semantic
        key_path: Path | None = semantic.token_public_key_path
        public_key = None
        if key_path is not None:
            path = settings.resolve(key_path)
            try:
                public_key = path.read_text()
            except OSError as exc:
                raise InvalidToken(
                    f"semantic.token_public_key_path: cannot read {path}: {exc.strerror}"
                ) from exc
        return cls(
            algorithm=semantic.token_algorithm,
            secret=os.environ.get(SECRET_ENV) or None,
            jwks_url=semantic.jwks_url,
            public_key=public_key,
            audience=semantic.token_audience,
            issuer=semantic.token_issuer,
        )

    def key(self, token: str) -> Any:
        if self.algorithm == "HS256":
            if not self.secret:
                raise InvalidToken(
                    f"cannot verify the token: HS256 needs the secret in {SECRET_ENV}"
                )
            return self.secret
        if self.public_key:
            return self.public_key
        if self.jwks_url:
            import jwt

            try:
                return jwt.PyJWKClient(self.jwks_url).get_signing_key_from_jwt(token).key
            except jwt.PyJWKClientError as exc:
                raise InvalidToken(
                    f"cannot get the token's key from {self.jwks_url}: {exc}"
                ) from exc
        raise InvalidToken(
            "cannot verify the token: RS256 needs semantic.jwks_url or "
            "semantic.token_public_key_path"
        )


def verify_token(token: str | None, verifier: Verifier) -> dict[str, Any]:
    """The claims of a token whose signature, expiry and audience verify; else IdentityError."""
    if not token or not token.strip():
        raise MissingToken(f"no token: pass one (--token, or {TOKEN_ENV})")
    token = token.strip().removeprefix("Bearer ").strip()
    if not verifier.audience:
        raise InvalidToken(
            "cannot verify the token: set semantic.token_audience (the `aud` "
            "tokens for this deployment carry)"
        )
    import jwt  # PyJWT loads cryptography (~0.1 s): only when a token is given

    try:
        key = verifier.key(token)
        claims = jwt.decode(
            token,
            key,
            algorithms=[verifier.algorithm],
            audience=verifier.audience,
            issuer=verifier.issuer,
            leeway=verifier.leeway_seconds,
            options={"require": ["exp", "aud"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise ExpiredToken("the token has expired (its `exp` is in the past)") from exc
    except jwt.InvalidSignatureError as exc:
        raise BadSignature(
            f"the token's signature does not verify with the configured {verifier.algorithm} key"
        ) from exc
    except jwt.InvalidAudienceError as exc:
        raise WrongAudience(
            f"the token is not for this audience (expected '{verifier.audience}'): {exc}"
        ) from exc
    except jwt.MissingRequiredClaimError as exc:
        if exc.claim == "aud":
            raise WrongAudience(f"the token has no `aud` (expected '{verifier.audience}')") from exc
        raise InvalidToken(f"the token has no `{exc.claim}` claim") from exc
    except jwt.InvalidAlgorithmError as exc:
        raise InvalidToken(f"the token is not signed with {verifier.algorithm}") from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken(f"invalid token: {exc}") from exc
    return claims


def context_from_token(token: str | None, verifier: Verifier) -> SecurityContext:
    """The verified security context of a token (its claims, as Cube's checkAuth sets them)."""
    return SecurityContext(claims=verify_token(token, verifier))


def _token_roles(claims: dict[str, Any]) -> tuple[str, ...]:
    return SecurityContext(claims=claims).roles


def narrow(
    context: SecurityContext, role: str | None, security_context: dict[str, Any] | None
) -> SecurityContext:
    """The token's context, narrowed to `role` (one of its roles); other requests are errors."""
    claims = dict(context.claims)
    for key, value in (security_context or {}).items():
        if key == "role" and value is not None:
            if role is not None and value != role:
                raise RoleMismatch(
                    f"role '{role}' and security_context['role'] = {value!r} disagree"
                )
            role = str(value)
        elif claims.get(key) != value or key not in claims:
            raise RoleMismatch(
                f"security_context['{key}'] = {value!r} disagrees with the "
                f"token (which has {claims.get(key, 'no such claim')!r}); "
                "with a token its claims decide"
            )
    if role is None:
        return SecurityContext(claims=claims)
    roles = _token_roles(claims)
    if role not in roles:
        held = ", ".join(roles) or "no role"
        raise RoleMismatch(f"role '{role}' is not in the token (its role(s): {held})")
    claims["role"] = role
    claims["roles"] = [role]
    return SecurityContext(claims=claims)


def caller_context(
    settings: Any,
    *,
    token: str | None = None,
    role: str | None = None,
    security_context: dict[str, Any] | None = None,
) -> SecurityContext:
    """The caller's security context: from a verified token, or declared in owner mode."""
    if token is None:
        token = os.environ.get(TOKEN_ENV) or None
    if token is not None:
        verified = context_from_token(token, Verifier.from_settings(settings))
        return narrow(verified, role, security_context)
    if settings.semantic.identity == "token":
        raise MissingToken(
            f"no token: semantic.identity is 'token', so every caller needs "
            f"one (--token, or {TOKEN_ENV})"
        )
    return SecurityContext.build(role, security_context)
