"""What stands in front of the served chat: which names reach it, which pages may drive
it, the MCP login, and how fast a login may be guessed.

A chat on 127.0.0.1 is reachable by every page its user's browser opens. A page on an
outside site can rebind its own name to 127.0.0.1 (DNS rebinding): the `Host` check
refuses every name but this machine's own and those the user allows. A page on another
origin (another site, another local port) sends its `Origin`: refused, so it cannot use
a logged-in session. gradio's login guards the page and its API but not its MCP server,
whose clients send the login as HTTP Basic; that is checked here. Failed logins from one
address past a few make it wait, twice as long after each further failure.
"""

from __future__ import annotations

import base64
import hmac
import json
import math
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")
# gradio's MCP server and its login form (at the root and under the API prefix).
MCP_PREFIX = "/gradio_api/mcp"
LOGIN_PATHS = ("/login", "/login/", "/gradio_api/login", "/gradio_api/login/")
# Failed logins one address may make before it waits; then 2 s, 4 s, ... up to a day.
FREE_FAILURES = 5
MAX_WAIT_S = 86_400.0
# Addresses remembered before those no longer waiting are forgotten (memory stays bounded).
_MAX_ADDRESSES = 10_000


def allowed_hosts(bound: str, extra: Sequence[str]) -> list[str]:
    """The names the `Host` header may carry: this machine's own, the bound interface's
    (not a wildcard such as 0.0.0.0), and those the user allows (`--allowed-host`)."""
    names = [*LOCAL_HOSTS, *(h.strip().lower() for h in extra if h.strip())]
    if bound and bound not in ("0.0.0.0", "::", ""):
        names.append(f"[{bound}]" if ":" in bound else bound.lower())
    return list(dict.fromkeys(names))


def guards(hosts: Sequence[str], login: tuple[str, str] | None) -> list[Middleware]:
    """The middleware of a served chat, outermost first."""
    throttle = Throttle()
    return [
        Middleware(TrustedHostMiddleware, allowed_hosts=list(hosts)),
        Middleware(SameOrigin),
        Middleware(LoginGuard, login=login, throttle=throttle),
    ]


class Throttle:
    """Failed logins per client address, and until when each must wait."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failures: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def wait_s(self, address: str) -> float:
        """Seconds `address` must still wait before its next try (0: it may try now)."""
        with self._lock:
            _, until = self._failures.get(address, (0, 0.0))
        return max(0.0, until - self._clock())

    def failed(self, address: str) -> None:
        with self._lock:
            if len(self._failures) >= _MAX_ADDRESSES:  # many guessers: forget the idle
                now = self._clock()
                self._failures = {a: f for a, f in self._failures.items() if f[1] > now}
            count, _ = self._failures.get(address, (0, 0.0))
            count += 1
            wait = 0.0 if count < FREE_FAILURES else min(2.0 ** (count - 4), MAX_WAIT_S)
            self._failures[address] = (count, self._clock() + wait)

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._failures.pop(address, None)


class SameOrigin:
    """Refuses a request whose `Origin` is not the chat's own (the `Host` it was sent
    to): a page elsewhere, or on another local port, cannot drive this chat with its
    user's session. Programs (gradio_client, curl, MCP clients) send no `Origin`."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            headers = _headers(scope)
            origin = headers.get("origin")
            if origin is not None and not _same_origin(origin, headers.get("host", "")):
                await _reply(scope, send, 403, "This page's origin may not use the chat.")
                return
        await self.app(scope, receive, send)


def _same_origin(origin: str, host: str) -> bool:
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower()


@dataclass
class LoginGuard:
    """The MCP server asks for the chat's login as HTTP Basic, and each address gets a
    few wrong logins (page or MCP) before it must wait."""

    app: App
    login: tuple[str, str] | None
    throttle: Throttle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.login is None:
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        address = _client(scope)
        asks_login = path in LOGIN_PATHS and scope.get("method") == "POST"
        is_mcp = path == MCP_PREFIX or path.startswith(MCP_PREFIX + "/")
        if not (asks_login or is_mcp):
            await self.app(scope, receive, send)
            return
        wait = self.throttle.wait_s(address)
        if wait > 0:
            await _reply(
                scope,
                send,
                429,
                f"Too many failed logins; try again in {math.ceil(wait)} s.",
                {"retry-after": str(math.ceil(wait))},
            )
            return
        if is_mcp:
            await self._mcp(scope, receive, send, address)
        else:
            await self.app(scope, receive, self._judging_login(send, address))

    async def _mcp(self, scope: Scope, receive: Receive, send: Send, address: str) -> None:
        given = _basic_login(_headers(scope).get("authorization", ""))
        if given is None or not _matches(given, self.login):
            if given is not None:
                self.throttle.failed(address)
            await _reply(
                scope,
                send,
                401,
                "Log in: send the chat's user and password as HTTP Basic.",
                {"www-authenticate": 'Basic realm="newsbot", charset="UTF-8"'},
            )
            return
        self.throttle.succeeded(address)
        await self.app(scope, receive, send)

    def _judging_login(self, send: Send, address: str) -> Send:
        """`send`, noting whether gradio accepted the login it answers."""

        async def judged(message: Message) -> None:
            if message["type"] == "http.response.start":
                if message["status"] == 200:
                    self.throttle.succeeded(address)
                elif message["status"] in (400, 401, 403):
                    self.throttle.failed(address)
            await send(message)

        return judged


def _basic_login(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def _matches(given: tuple[str, str], login: tuple[str, str] | None) -> bool:
    if login is None:
        return False
    same_user = hmac.compare_digest(given[0].encode(), login[0].encode())
    same_password = hmac.compare_digest(given[1].encode(), login[1].encode())
    return same_user and same_password


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "?"


async def _reply(
    scope: Scope, send: Send, status: int, message: str, headers: dict[str, str] | None = None
) -> None:
    """A short JSON error; a websocket is closed instead (it has no status to send)."""
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    body = json.dumps({"error": message}).encode()
    fields = {"content-type": "application/json", "content-length": str(len(body))}
    fields.update(headers or {})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(k.encode(), v.encode()) for k, v in fields.items()],
        }
    )
    await send({"type": "http.response.body", "body": body})
