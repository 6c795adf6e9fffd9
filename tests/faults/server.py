"""A real HTTP server on 127.0.0.1 that plays every source host, with scriptable faults.

Normal answers come from the bundled replay dataset (``pipelines/replay/data/``) through the very
replay servers of pipelines/replay/ (so the klines endpoint honours ``symbol``, ``interval``,
``startTime``, ``endTime`` and ``limit`` exactly like the replay, and CoinGlass answers 401 without a
``CG-API-KEY`` header). The pipeline reaches it in live mode through ``BTC_SIGNALS_LIVE_REDIRECTS``
(:attr:`FaultServer.redirects_env`), i.e. over a real socket with the live HTTP stack — the same
mechanism an operator uses from ``btc-signals run`` or ``dagster dev``.

Named routes (``coinglass``, ``farside``, ``binance``, ``fred``, ``stooq``) and every other host (route =
the host) have a queue of faults consumed one per request,
then an optional fault applied to every later request, then the normal answer::

    server.script("coinglass", RetryAfter(7))          # first request: 429 Retry-After: 7, then normal
    server.always("farside", Status(503))              # every request: 503

The server is bounded: it only binds 127.0.0.1 on an ephemeral port, every wait (a hung connection)
ends at its timeout or as soon as the server stops, and it stops with the fixture.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from pipelines.replay.transport import registered_hosts, serve
from pipelines.settings import REPLAY_DATA_DIR
from pipelines.sources import binance_spot, coinglass, farside, fred, stooq

# path -> (route name, the real host whose replay server answers it); other paths: route = X-Forwarded-Host
ROUTES: dict[str, tuple[str, str]] = {
    coinglass.ETF_FLOW_HISTORY: ("coinglass", coinglass.HOST),
    coinglass.FUTURES_OI_HISTORY: ("coinglass", coinglass.HOST),
    coinglass.FUTURES_FUNDING_HISTORY: ("coinglass", coinglass.HOST),
    coinglass.FUTURES_LIQUIDATION_HISTORY: ("coinglass", coinglass.HOST),
    farside.FLOW_TABLE_PATH: ("farside", farside.HOST),
    binance_spot.KLINES: ("binance", binance_spot.HOSTS[0]),
    fred.API_PATH: ("fred", fred.API_HOST),
    fred.CSV_PATH: ("fred_csv", fred.CSV_HOST),
    stooq.PATH: ("stooq", stooq.HOST),
}
MAX_WAIT_S = 10.0  # no fault ever holds a connection longer than this


# ------------------------------------------------------------------------------------------------
# Faults
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Status:
    """Answer ``status`` with a fixed body and headers (429, 5xx, 401, ...)."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def RetryAfter(value: str | int, status: int = 429) -> Status:  # noqa: N802 - reads like a fault name
    return Status(status, b'{"code":"429","msg":"Too Many Requests"}', {"Retry-After": str(value), "Content-Type": "application/json"})


@dataclass(frozen=True)
class Hang:
    """Accept the request and never answer (until ``seconds`` pass or the server stops), then drop it."""

    seconds: float = 5.0


@dataclass(frozen=True)
class Reset:
    """Read the request, then close the socket with a TCP RST without answering."""


@dataclass(frozen=True)
class Transform:
    """The normal answer with its body rewritten by ``fn`` (HTTP status kept unless ``status`` is given)."""

    fn: Callable[[bytes], bytes]
    status: int | None = None


Fault = Status | Hang | Reset | Transform


def truncated(fraction: float = 0.5) -> Transform:
    """HTTP 200 with a complete HTTP message whose body is cut: truncated JSON/HTML."""
    return Transform(lambda body: body[: int(len(body) * fraction)])


def empty_body() -> Transform:
    return Transform(lambda body: b"")


def json_edit(fn: Callable[[Any], Any]) -> Transform:
    """Rewrite a JSON body through ``fn(obj) -> obj``."""
    return Transform(lambda body: json.dumps(fn(json.loads(body)), separators=(",", ":")).encode())


def text_edit(fn: Callable[[str], str]) -> Transform:
    return Transform(lambda body: fn(body.decode("utf-8")).encode("utf-8"))


# ------------------------------------------------------------------------------------------------
# Server
# ------------------------------------------------------------------------------------------------
@dataclass
class Seen:
    route: str
    path: str
    query: str
    headers: dict[str, str]
    at: float
    outcome: str = ""


class FaultServer:
    def __init__(self, replay_dir: Path = REPLAY_DATA_DIR) -> None:
        self.hosts = registered_hosts()  # every host a replay server plays
        self.replay_dir = Path(replay_dir)
        self.requests: list[Seen] = []
        routes = {name for name, _ in ROUTES.values()} | set(self.hosts)
        self._queues: dict[str, deque[Fault]] = {name: deque() for name in routes}
        self._always: dict[str, Fault | None] = {name: None for name in routes}
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def redirects(self) -> dict[str, str]:
        """Every host this server plays, sent to it."""
        return {h: self.base_url for h in self.hosts}

    @property
    def redirects_env(self) -> str:
        """The same as ``BTC_SIGNALS_LIVE_REDIRECTS`` (``host=http://127.0.0.1:port,...``)."""
        return ",".join(f"{h}={url}" for h, url in self.redirects.items())

    def start(self) -> FaultServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()  # releases every Hang at once
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    # -- scripting ---------------------------------------------------------------------------
    def script(self, route: str, *faults: Fault) -> None:
        with self._lock:
            self._queues[route].extend(faults)

    def always(self, route: str, fault: Fault | None) -> None:
        with self._lock:
            self._always[route] = fault

    def reset_script(self) -> None:
        with self._lock:
            for q in self._queues.values():
                q.clear()
            for k in self._always:
                self._always[k] = None
            self.requests.clear()

    def seen(self, route: str) -> list[Seen]:
        with self._lock:
            return [r for r in self.requests if r.route == route]

    def _next_fault(self, route: str) -> Fault | None:
        with self._lock:
            if self._queues[route]:
                return self._queues[route].popleft()
            return self._always[route]

    # -- answers -----------------------------------------------------------------------------
    def normal_answer(self, path_and_query: str, headers: dict[str, str], host: str) -> tuple[int, bytes, dict[str, str]]:
        request = httpx.Request("GET", f"https://{host}{path_and_query}", headers=headers)
        response = serve(request, self.replay_dir)
        kept = {k: v for k, v in response.headers.items() if k.lower() in ("content-type", "x-replay-derived-days")}
        return response.status_code, response.content, {"Content-Type": "application/octet-stream", **kept}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # one request per connection: faults never leak between requests

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence stderr
                pass

            def do_GET(self) -> None:  # noqa: N802
                url = httpx.URL(self.path)
                path = url.path
                forwarded = self.headers.get("X-Forwarded-Host", "")
                route, host = ROUTES.get(path, ROUTES.get(path.rstrip("/") + "/", (forwarded or "unknown", forwarded)))
                host = forwarded or host
                seen = Seen(route, path, url.query.decode(), dict(self.headers.items()), time.monotonic())
                with server._lock:
                    server.requests.append(seen)
                if route == "unknown" or host not in server.hosts:
                    seen.outcome = "404"
                    self._send(404, b"Not Found", {"Content-Type": "text/plain"})
                    return
                fault = server._next_fault(route)
                seen.outcome = type(fault).__name__ if fault else "ok"
                if isinstance(fault, Hang):
                    server.stopping.wait(min(fault.seconds, MAX_WAIT_S))
                    self.close_connection = True
                    return
                if isinstance(fault, Reset):
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    self.connection.close()
                    return
                if isinstance(fault, Status):
                    self._send(fault.status, fault.body, {"Content-Type": "application/json", **fault.headers})
                    return
                status, body, headers = server.normal_answer(self.path, dict(self.headers.items()), host)
                if isinstance(fault, Transform):
                    body = fault.fn(body)
                    status = fault.status or status
                self._send(status, body, headers)

            def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout): nothing to do

        return Handler
