"""The one HTTP client every source uses.

* timeouts on connect/read/write/pool;
* retries with exponential backoff and full jitter on 429, 5xx and connection/timeout errors,
  honouring ``Retry-After`` (seconds or an HTTP date);
* a per-host rate limit (minimum interval between two requests to the same host);
* secrets (API keys) redacted inside the client: every response is handed on (to the caller, the
  ``on_response`` hook, logs, errors and the archive) with its body, headers and request URL masked.

The transport decides where requests go: ``httpx.HTTPTransport`` for the real hosts (live) or
:class:`pipelines.replay.transport.ReplayTransport` for the bundled dataset (replay). Nothing above
the transport knows which one it talks to.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

log = logging.getLogger(__name__)
# httpx logs every request URL at INFO; URLs can carry keys (e.g. FRED's api_key), and ours are
# logged by HttpClient after redaction, so httpx's own request log is kept quiet.
logging.getLogger("httpx").setLevel(logging.WARNING)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REDACTED = "***"


class SourceError(RuntimeError):
    """A source could not deliver usable data. Always names the source and the endpoint."""

    def __init__(
        self,
        source: str,
        endpoint: str,
        problem: str,
        *,
        field: str | None = None,
        value: Any = None,
        status: int | None = None,
    ) -> None:
        self.source = source
        self.endpoint = endpoint
        self.problem = problem
        self.field = field
        self.value = value
        self.status = status
        msg = f"[{source}] {endpoint}: {problem}"
        if field is not None:
            shown = repr(value)
            if len(shown) > 200:
                shown = shown[:200] + "…"
            msg += f" (field {field!r}, value {shown})"
        super().__init__(msg)


class SourceHTTPError(SourceError):
    """The server answered with an error status, or never answered."""


class SourceParseError(SourceError):
    """The payload arrived but is not in the shape the parser expects."""


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def redact_error(exc: SourceError, secrets: Iterable[str]) -> SourceError:
    """``exc`` itself when it shows no secret, else a copy of it (same class) with every secret masked in
    its problem and value: for errors built from a response body that echoes the key back."""
    secrets = [s for s in secrets if s]
    if redact(str(exc), secrets) == str(exc):
        return exc
    value = exc.value
    if value is not None:
        value = redact(value if isinstance(value, str) else repr(value), secrets)
    return type(exc)(
        exc.source, exc.endpoint, redact(exc.problem, secrets), field=exc.field, value=value, status=exc.status
    )


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    retry_after_max_s: float = 120.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Full jitter: uniform in [0, min(max, base * 2**(attempt-1))]."""
        ceiling = min(self.backoff_max_s, self.backoff_base_s * (2 ** (attempt - 1)))
        return rng.uniform(0, ceiling)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if absent/invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


# Minimum seconds between two live requests to a host; each source module declares its own.
HOST_MIN_INTERVAL_S: dict[str, float] = {}


def declare_rate_limit(host: str, min_interval_s: float) -> None:
    HOST_MIN_INTERVAL_S[host] = min_interval_s


class RateLimiter:
    """At most one request per ``min_interval_s`` per host (thread-safe)."""

    def __init__(
        self,
        min_interval_s: Mapping[str, float] | None = None,
        default_interval_s: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._intervals = dict(min_interval_s or {})
        self._default = default_interval_s
        self._clock = clock
        self._sleep = sleep
        self._next_slot: dict[str, float] = {}
        self._lock = threading.Lock()

    def set_interval(self, host: str, min_interval_s: float) -> None:
        with self._lock:
            self._intervals[host] = min_interval_s

    def acquire(self, host: str) -> float:
        """Block until the host may be called; return the seconds waited."""
        with self._lock:
            interval = self._intervals.get(host, self._default)
            now = self._clock()
            slot = max(now, self._next_slot.get(host, now))
            self._next_slot[host] = slot + interval
        wait = slot - now
        if wait > 0:
            self._sleep(wait)
        return max(0.0, wait)


@dataclass
class HttpClient:
    """Shared HTTP client. One instance per run; sources call :meth:`get`."""

    transport: httpx.BaseTransport | None = None
    timeout: httpx.Timeout = field(default_factory=lambda: httpx.Timeout(20.0, connect=5.0))
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    rate_limiter: RateLimiter = field(default_factory=RateLimiter)
    secrets: list[str] = field(default_factory=list, repr=False)
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)
    user_agent: str = "btc-signals/0.1 (+https://github.com/btc-signals)"
    # Called with (source, endpoint, redacted params, response) for every response handed back to a
    # caller, before any parsing: the raw landing archives bodies through it, so nothing is lost.
    on_response: Callable[[str, str, dict[str, Any], httpx.Response], None] | None = None

    def __post_init__(self) -> None:
        self._client = httpx.Client(
            transport=self.transport,
            timeout=self.timeout,
            headers={"User-Agent": self.user_agent, "Accept-Encoding": "gzip"},
            follow_redirects=True,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _redact(self, text: str) -> str:
        return redact(text, self.secrets)

    def _redacted(self, response: httpx.Response) -> httpx.Response:
        """The response as every caller, hook, log and archive sees it: no secret in its body, headers or the
        request's URL and headers (a body or an error envelope may echo the key back)."""
        secrets = [s for s in self.secrets if s]
        if not secrets:
            return response
        body = response.read()
        clean = body
        for secret in secrets:
            clean = clean.replace(secret.encode(), REDACTED.encode())
        request = response.request
        request_headers = {k: self._redact(v) for k, v in request.headers.items()}
        clean_request = httpx.Request(request.method, self._redact(str(request.url)), headers=request_headers)
        headers = [(k, self._redact(v)) for k, v in response.headers.items()
                   if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")]
        return httpx.Response(response.status_code, headers=headers, content=clean, request=clean_request)

    def get(
        self,
        source: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        endpoint: str | None = None,
    ) -> httpx.Response:
        """GET with retries. Returns the final 2xx/4xx response; raises :class:`SourceHTTPError`
        when retries are exhausted or the server keeps failing. 4xx other than 429 are returned
        to the caller, who knows what they mean for its API."""
        endpoint = endpoint or httpx.URL(url).path
        host = httpx.URL(url).host
        clean_params = {k: v for k, v in (params or {}).items() if v is not None}
        last_problem = "no attempt made"
        for attempt in range(1, self.retry.max_attempts + 1):
            self.rate_limiter.acquire(host)
            try:
                response = self._client.get(url, params=clean_params, headers=dict(headers or {}))
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                last_problem = f"{type(exc).__name__}: {self._redact(str(exc)) or 'no detail'}"
                wait = self.retry.backoff(attempt, self.rng)
            else:
                response = self._redacted(response)
                log.debug("GET %s -> %s (attempt %d)", response.request.url, response.status_code, attempt)
                if response.status_code not in RETRY_STATUSES:
                    if self.on_response is not None:
                        shown = {k: self._redact(str(v)) for k, v in clean_params.items()}
                        self.on_response(source, endpoint, shown, response)
                    return response
                last_problem = f"HTTP {response.status_code}"
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                if retry_after is not None:
                    wait = min(retry_after, self.retry.retry_after_max_s)
                else:
                    wait = self.retry.backoff(attempt, self.rng)
                if attempt == self.retry.max_attempts:
                    break
            if attempt < self.retry.max_attempts:
                log.warning(
                    "%s %s: %s; retry %d/%d in %.2fs",
                    source,
                    endpoint,
                    last_problem,
                    attempt,
                    self.retry.max_attempts - 1,
                    wait,
                )
                self.sleep(wait)
        raise SourceHTTPError(
            source, endpoint, f"gave up after {self.retry.max_attempts} attempts: {last_problem}"
        )


def decode_json(source: str, endpoint: str, response: httpx.Response) -> Any:
    """Parse a JSON body, turning empty or truncated bodies into a clear :class:`SourceParseError`."""
    body = response.content
    if not body.strip():
        raise SourceParseError(source, endpoint, f"empty response body (HTTP {response.status_code})")
    try:
        return response.json()
    except ValueError as exc:
        raise SourceParseError(
            source, endpoint, f"response is not valid JSON ({exc})", field="body", value=body[-80:].decode("utf-8", "replace")
        ) from None
