"""Run an ASGI app on uvicorn in a background thread, on 127.0.0.1 and a free port, for the
served-app tests (tests/test_serve_*.py)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import jwt
import uvicorn

SECRET = "serve-test-secret-0123456789abcdef0123456789abcdef"
AUDIENCE = "custintel-serve-tests"


def token(
    claims: dict, *, secret: str = SECRET, audience: str | None = AUDIENCE, expires_in: int = 600
) -> str:
    """An HS256 JWT with `aud` and `exp` set as the server requires."""
    body = {**claims, "exp": int(time.time()) + expires_in}
    if audience is not None:
        body["aud"] = audience
    return jwt.encode(body, secret, algorithm="HS256")


@contextlib.contextmanager
def running(app: object) -> Iterator[str]:
    """The app served by uvicorn in a thread; yields its base URL; stops it on exit."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start within 10 s")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
