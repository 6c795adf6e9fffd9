"""Replay: an httpx transport that answers real requests from the bundled dataset.

One server per host (``pipelines/replay/<api>.py``) registers itself with :func:`replay_server`. A server is a
small fake of the real one: it receives the very ``httpx.Request`` the live client sends (path, query parameters,
headers) and answers in the exact shape the real API returns, applying the same parameters (windows, limits,
pagination). Files are read through :class:`ReplayData`, which

* names the source, the file and what is wrong when a file is missing or corrupt (:class:`ReplayDataError`);
* records which files served the answer, so the transport can say which of the answer's days the dataset's
  provenance marks as derived (header ``X-Replay-Derived-Days``, see :mod:`pipelines.replay.provenance`).
  Live servers never send that header: the landing reads it without knowing the mode.

The dataset lives in ``pipelines/replay/data/`` (see its README for provenance). Live requests can be sent to a
mirror, a recorder or a test server with :class:`RedirectTransport` (``BTC_SIGNALS_LIVE_REDIRECTS``).
"""

from __future__ import annotations

import functools
import importlib
import json
import ssl
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from pipelines.replay import provenance
from pipelines.replay.provenance import DERIVED_DAYS_HEADER
from pipelines.sources.http import SourceError

# The replay servers, one module per API (each registers the hosts it fakes).
SERVER_MODULES = ("binance_spot", "binance_futures", "bybit", "coinglass", "deribit", "farside", "fred", "mempool",
                  "okx", "stooq")


class ReplayDataError(SourceError):
    """A bundled replay file is missing or unreadable: names the source, the file and the problem."""

    def __init__(self, folder: str, file: str, problem: str) -> None:
        super().__init__(folder, f"replay file {folder}/{file}", problem, field="file", value=f"{folder}/{file}")


class ReplayData:
    """The bundled dataset as one server sees it during one request."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.served: list[str] = []  # "<folder>/<file>" of every file the answer was made from

    def path(self, rel: str, *, provenance: bool = True) -> Path:
        folder, _, file = rel.partition("/")
        path = self.root / rel
        if not path.is_file():
            raise ReplayDataError(folder, file, f"missing (looked for {path})")
        if provenance and rel not in self.served:
            self.served.append(rel)
        return path

    def exists(self, rel: str) -> bool:
        return (self.root / rel).is_file()

    def text(self, rel: str, *, provenance: bool = True) -> str:
        folder, _, file = rel.partition("/")
        try:
            return self.path(rel, provenance=provenance).read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ReplayDataError(folder, file, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None

    def json(self, rel: str, *, provenance: bool = True) -> Any:
        folder, _, file = rel.partition("/")
        text = self.text(rel, provenance=provenance)
        try:
            return json.loads(text)
        except ValueError as exc:
            raise ReplayDataError(folder, file, f"not valid JSON ({exc})") from None


Server = Callable[[httpx.Request, ReplayData], httpx.Response]
_SERVERS: dict[str, Server] = {}


def replay_server(*hosts: str) -> Callable[[Server], Server]:
    """Register ``fn`` as the replay server for ``hosts``."""

    def decorate(fn: Server) -> Server:
        for host in hosts:
            _SERVERS[host] = fn
        return fn

    return decorate


def servers() -> dict[str, Server]:
    for name in SERVER_MODULES:
        importlib.import_module(f"pipelines.replay.{name}")
    return _SERVERS


def registered_hosts() -> list[str]:
    return sorted(servers())


def serve(request: httpx.Request, replay_dir: Path) -> httpx.Response:
    """Answer ``request`` from the dataset under ``replay_dir``, with the derived-days header."""
    server = servers().get(request.url.host)
    if server is None:
        raise httpx.ConnectError(f"replay has no dataset for host {request.url.host}", request=request)
    data = ReplayData(replay_dir)
    response = server(request, data)
    derived = provenance.derived_days(data.root, data.served)
    if derived:
        response.headers[DERIVED_DAYS_HEADER] = provenance.format_days(derived)
    response.request = request
    return response


def json_response(payload: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        status_code,
        content=json.dumps(payload, separators=(",", ":")).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )


# A venue whose history the dataset does not hold (no public copy exists: OKX, Bybit) answers every request with
# HTTP 404 and this code in its own envelope; SourcesResource.unavailable lets planners skip it beforehand.
NO_DATA_CODE = "replay-no-data"


def no_history_reason(venue: str, endpoint: str) -> str:
    """Why replay cannot answer ``venue``'s ``endpoint``: the planner's note and the 404 body's message."""
    return f"replay holds no {venue} history for {endpoint} (no public copy exists; {venue} is fetched live only)"


def not_found(request: httpx.Request) -> httpx.Response:
    return httpx.Response(404, text=f"replay: no route for {request.url.path}")


class ReplayTransport(httpx.BaseTransport):
    """Routes each request to the replay server registered for its host."""

    def __init__(self, replay_dir: Path) -> None:
        self.replay_dir = Path(replay_dir)
        servers()
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return serve(request, self.replay_dir)


class RedirectTransport(httpx.BaseTransport):
    """Live transport that sends requests for some hosts to another base URL instead (a local proxy,
    a recording server, the fault-injection server of the tests). Path, query and headers are kept;
    the original host travels in ``X-Forwarded-Host``."""

    def __init__(self, redirects: dict[str, str], inner: httpx.BaseTransport | None = None) -> None:
        self.redirects = {host: httpx.URL(base) for host, base in redirects.items()}
        self.inner = inner or live_transport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        target = self.redirects.get(request.url.host)
        if target is not None:
            request.headers["X-Forwarded-Host"] = request.url.host
            request.url = request.url.copy_with(scheme=target.scheme, host=target.host, port=target.port)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """The TLS context every live transport of this process verifies the hosts with (httpx's default: the
    certifi bundle, or SSL_CERT_FILE / SSL_CERT_DIR), made once: loading the CA bundle costs 50–100 ms, which
    httpx pays for every transport it makes (one per source client, i.e. per asset of a run) unless it is given
    a context to share."""
    return httpx.create_ssl_context()


def live_transport() -> httpx.HTTPTransport:
    """To the real hosts; no retries here (the client retries, pipelines/sources/http.py)."""
    return httpx.HTTPTransport(retries=0, verify=_tls_context())


def make_transport(mode: str, replay_dir: Path, redirects: dict[str, str] | None = None) -> httpx.BaseTransport:
    if mode == "live":
        if redirects:
            return RedirectTransport(redirects)
        return live_transport()
    if mode == "replay":
        return ReplayTransport(replay_dir)
    raise ValueError(f"unknown mode {mode!r}")


def dataset_window(replay_dir: Path) -> tuple[date, date]:
    """First and last day (inclusive) every source's replay payloads cover (``manifest.json``)."""
    manifest = _manifest(replay_dir)
    try:
        return date.fromisoformat(manifest["window_start"]), date.fromisoformat(manifest["window_end"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ReplayDataError("replay", "manifest.json", f"needs window_start and window_end as YYYY-MM-DD ({exc!r})") from None


def _manifest(replay_dir: Path) -> Any:
    path = Path(replay_dir) / "manifest.json"
    if not path.is_file():
        raise ReplayDataError("replay", "manifest.json", f"missing (looked for {path})")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ReplayDataError("replay", "manifest.json", f"not valid JSON ({exc})") from None
