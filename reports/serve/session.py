"""Who is looking at the served pages: the same verified JWT as the Cube API
(`semantic.identity`), carried by the browser in an HttpOnly session cookie.

- A caller sends `Authorization: Bearer <jwt>` (scripts), or opens
  `/_app/login?token=<jwt>&next=/page.html` once: the token is verified (signature, expiry,
  audience, as the API verifies it), stored in the HttpOnly, SameSite=Strict cookie
  `custintel_session` (it expires with the token) and the browser is sent on to `next` (a path
  of this site only), so the token leaves the address bar. `/_app/logout` clears it.
- Every other page, asset of the site's data (search index, CSV downloads) and `/_app/*`
  request needs that identity: none is 401, a token that does not verify (forged, expired,
  wrong audience) is 403, as the API answers. Only the login page and the static code under
  `/assets/` are public.
- The verified claims decide what is shown (masking and row filters of the semantic model);
  no query parameter can name a role.

Local single-user mode (`LocalLogin`): `custintel serve` on a loopback address signs one token
for `reports.site_role` with a secret made at start-up (in memory, never written) and a
audience of its own, and prints the login link, as Jupyter prints its token link. Whoever has
the link is the site role; other users of the machine, who can reach 127.0.0.1 too, are not.
On any other address no such token is made: tokens come from the identity provider only.
"""

from __future__ import annotations

import secrets
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

if TYPE_CHECKING:  # the engine loads in the background: semantic is imported on first use
    from semantic import SecurityContext
    from semantic.identity import Verifier

COOKIE = "custintel_session"
LOCAL_AUDIENCE = "custintel-serve-local"
LOCAL_HOURS = 12
PUBLIC_PREFIXES = ("/_app/login", "/_app/logout", "/assets/", "/cubejs-api/")
MAX_FORM_BYTES = 16384
LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class Refused(Exception):
    """The caller has no valid identity: 401 (none) or 403 (a token that does not verify)."""

    status: int
    message: str


@dataclass(frozen=True)
class LocalLogin:
    """The local single-user mode's own token for the site role."""

    role: str
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    hours: float = LOCAL_HOURS

    @property
    def verifier(self) -> Verifier:
        from semantic.identity import Verifier

        return Verifier(algorithm="HS256", secret=self.secret, audience=LOCAL_AUDIENCE)

    def token(self) -> str:
        import jwt

        claims = {
            "role": self.role,
            "aud": LOCAL_AUDIENCE,
            "exp": int(time.time() + self.hours * 3600),
        }
        return jwt.encode(claims, self.secret, algorithm="HS256")

    def login_url(self, base: str) -> str:
        return f"{base.rstrip('/')}/_app/login?token={self.token()}"


def _audience(token: str) -> Any:
    import jwt

    try:
        return jwt.decode(token, options={"verify_signature": False}).get("aud")
    except jwt.PyJWTError:
        return None


@dataclass(frozen=True)
class Sessions:
    """Verifies the identity of page requests; `local` accepts the local mode's token too."""

    verifier: Verifier
    local: LocalLogin | None = None

    def context(self, token: str | None) -> SecurityContext:
        """The verified context of a token; Refused (401 none, 403 not valid) otherwise."""
        from semantic.server.auth import AuthFailure, verified

        if token is None or not token.strip():
            raise Refused(
                401,
                "sign in first: open /_app/login?token=<your token> (or "
                "send 'Authorization: Bearer <token>')",
            )
        token = token.strip().removeprefix("Bearer ").strip()
        verifier = self.verifier
        if self.local is not None and _audience(token) == LOCAL_AUDIENCE:
            verifier = self.local.verifier
        try:
            return verified(token, verifier)
        except AuthFailure as failure:
            raise Refused(failure.status, failure.message) from failure

    def request_context(self, request: Request) -> SecurityContext:
        """The header's token, else the session cookie's."""
        from semantic.server.auth import request_token

        return self.context(request_token(request) or request.cookies.get(COOKIE))


def is_public(path: str) -> bool:
    return path.startswith(PUBLIC_PREFIXES)


def wants_html(request: Request) -> bool:
    path = request.url.path
    return (
        path.endswith((".html", "/")) or "text/html" in request.headers.get("accept", "")
    ) and not path.startswith("/_app/")


def refusal(request: Request, failure: Refused) -> Response:
    if not wants_html(request):
        return JSONResponse({"error": failure.message}, status_code=failure.status)
    target = urllib.parse.quote(
        request.url.path + (f"?{request.url.query}" if request.url.query else ""), safe=""
    )
    return HTMLResponse(login_page(failure.message, target), status_code=failure.status)


def login_page(message: str, target: str = "%2F") -> str:
    import html

    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in'
        "</title></head><body><main><h1>Sign in to the custintel reports</h1>"
        f'<p class="ci-login-reason">{html.escape(message)}</p>'
        f'<form method="post" action="/_app/login?next={html.escape(target, quote=True)}">'
        '<label>Token <input type="password" name="token" autocomplete="off"></label> '
        '<button type="submit">Sign in</button></form></main></body></html>'
    )


def safe_next(raw: str | None) -> str:
    """A path of this site to go on to (never another host: `//x`, `https://x`, `/\\x`)."""
    target = raw or "/"
    if (
        not target.startswith("/")
        or target.startswith(("//", "/\\"))
        or "\n" in target
        or "\r" in target
    ):
        return "/"
    return target


def login_endpoint(sessions: Callable[[], Sessions]) -> Any:
    """`/_app/login` (GET `?token=`, or the form's POST) and `/_app/logout`."""

    async def login(request: Request) -> Response:
        token = request.query_params.get("token")
        if request.method == "POST":  # the form: urlencoded (no multipart parser needed)
            body = (await request.body())[:MAX_FORM_BYTES].decode("utf-8", "replace")
            token = (urllib.parse.parse_qs(body).get("token") or [""])[0] or token
        target = safe_next(request.query_params.get("next"))
        if not token:
            return HTMLResponse(
                login_page(
                    "Paste the token your administrator gave you.",
                    urllib.parse.quote(target, safe=""),
                )
            )
        try:
            claims = sessions().context(token).claims
        except Refused as failure:
            return HTMLResponse(
                login_page(failure.message, urllib.parse.quote(target, safe="")),
                status_code=failure.status,
            )
        response = RedirectResponse(target, status_code=303)
        max_age = max(1, int(claims["exp"] - time.time()))
        response.set_cookie(
            COOKIE,
            token.strip().removeprefix("Bearer ").strip(),
            max_age=max_age,
            httponly=True,
            samesite="strict",
            path="/",
            secure=request.url.scheme == "https",
        )
        return response

    async def logout(_request: Request) -> Response:
        response = RedirectResponse("/_app/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    return login, logout
