"""Who may write: a studio page served by this very server. A write must come to a Host that names this server
on the loopback (a DNS-rebinding page reaches 127.0.0.1 under its own host name), from the same Origin (a
cross-site form or fetch carries its own), and carry the per-server token the page reads from /api/app (which
another origin cannot read). Checked before anything else of the request, so a refused write touches nothing.
"""

from __future__ import annotations

import hmac
import secrets

from starlette.requests import Request

from viewer.errors import Forbidden

TOKEN_HEADER = "x-ls-token"
LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


def new_token() -> str:
    return secrets.token_urlsafe(32)


def own_hosts(request: Request) -> set[str]:
    """The Host values that name this server: a loopback name with the port it listens on."""
    port = (request.scope.get("server") or ("", 80))[1]
    hosts = {f"{name}:{port}" for name in LOOPBACK}
    return hosts | set(LOOPBACK) if port in (80, None) else hosts


def is_own_host(request: Request) -> bool:
    return request.headers.get("host", "").lower() in own_hosts(request)


def check_write(request: Request) -> None:
    """Forbidden (403) unless the request is a same-origin write from this server's page with its token."""
    host = request.headers.get("host", "").lower()
    if host not in own_hosts(request):
        raise Forbidden("writes are accepted only on this server's own address (127.0.0.1 or localhost)")
    if request.headers.get("origin", "").lower() != f"http://{host}":
        raise Forbidden("writes are accepted only from this server's own pages (the Origin header must match)")
    token = request.headers.get(TOKEN_HEADER, "")
    if not hmac.compare_digest(token.encode(), request.app.state.write_token.encode()):
        raise Forbidden(f"a write needs the {TOKEN_HEADER} header with the token from /api/app")
