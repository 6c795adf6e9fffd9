"""Replay: an httpx transport that answers real requests from the bundled dataset.

Each source module registers a handler for the host it talks to with :func:`replay_handler`.
A handler is a small fake of the real server: it receives the very ``httpx.Request`` the live
client would send (path, query parameters, headers) and answers with a payload in the exact
shape the real API returns, applying the same query parameters (time windows, limits,
pagination). The dataset lives in ``pipelines/replay/data/`` (see its README for provenance).
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import json
import pkgutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

Handler = Callable[[httpx.Request, Path], httpx.Response]

_HANDLERS: dict[str, Handler] = {}

# The replay clock. Endpoints that only serve the *current* state (an option chain, the running
# difficulty epoch) have no date parameter; in replay they answer as of this instant. A raw asset
# that snapshots such an endpoint sets it to the partition's day with :func:`replay_clock`.
# Live mode ignores it: the real server's "now" is the only one there is.
_REPLAY_NOW: contextvars.ContextVar[datetime | None] = contextvars.ContextVar("replay_now", default=None)


@contextlib.contextmanager
def replay_clock(now: datetime) -> Iterator[None]:
    token = _REPLAY_NOW.set(now if now.tzinfo else now.replace(tzinfo=UTC))
    try:
        yield
    finally:
        _REPLAY_NOW.reset(token)


def replay_now() -> datetime:
    """The instant a replay handler answers as of (the wall clock when no replay clock is set)."""
    return _REPLAY_NOW.get() or datetime.now(tz=UTC)


def replay_handler(host: str) -> Callable[[Handler], Handler]:
    """Register ``fn`` as the replay server for ``host``."""

    def decorate(fn: Handler) -> Handler:
        _HANDLERS[host] = fn
        return fn

    return decorate


def _load_source_modules() -> None:
    import pipelines.sources as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"{pkg.__name__}.{info.name}")


def registered_hosts() -> list[str]:
    _load_source_modules()
    return sorted(_HANDLERS)


def json_response(payload: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        status_code,
        content=json.dumps(payload, separators=(",", ":")).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def not_found(request: httpx.Request) -> httpx.Response:
    return httpx.Response(404, text=f"replay: no route for {request.url.path}")


class ReplayTransport(httpx.BaseTransport):
    """Routes each request to the replay handler registered for its host."""

    def __init__(self, replay_dir: Path) -> None:
        self.replay_dir = Path(replay_dir)
        _load_source_modules()
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        handler = _HANDLERS.get(request.url.host)
        if handler is None:
            raise httpx.ConnectError(f"replay has no dataset for host {request.url.host}", request=request)
        response = handler(request, self.replay_dir)
        response.request = request
        return response


class RedirectTransport(httpx.BaseTransport):
    """Live transport that sends requests for some hosts to another base URL instead (a local proxy,
    a recording server, the fault-injection server of the tests). Path, query and headers are kept;
    the original host travels in ``X-Forwarded-Host``."""

    def __init__(self, redirects: dict[str, str], inner: httpx.BaseTransport | None = None) -> None:
        self.redirects = {host: httpx.URL(base) for host, base in redirects.items()}
        self.inner = inner or httpx.HTTPTransport(retries=0)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        target = self.redirects.get(request.url.host)
        if target is not None:
            request.headers["X-Forwarded-Host"] = request.url.host
            request.url = request.url.copy_with(scheme=target.scheme, host=target.host, port=target.port)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def make_transport(mode: str, replay_dir: Path, redirects: dict[str, str] | None = None) -> httpx.BaseTransport:
    if mode == "live":
        if redirects:
            return RedirectTransport(redirects)
        return httpx.HTTPTransport(retries=0)
    if mode == "replay":
        return ReplayTransport(replay_dir)
    raise ValueError(f"unknown mode {mode!r}")
