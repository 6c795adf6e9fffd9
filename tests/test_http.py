"""The shared HTTP client: retries, Retry-After, backoff, rate limit, redaction."""

import logging

import httpx
import pytest

from pipelines.sources.http import (
    HttpClient,
    RateLimiter,
    RetryPolicy,
    SourceHTTPError,
    decode_json,
    parse_retry_after,
    redact,
)


class Script(httpx.BaseTransport):
    """Answers with the next item of a script: a Response, or an exception to raise."""

    def __init__(self, *items):
        self.items = list(items)
        self.requests = []

    def handle_request(self, request):
        self.requests.append(request)
        item = self.items.pop(0)
        if isinstance(item, Exception):
            raise item
        return item


def client(transport, **kw):
    sleeps = []
    c = HttpClient(transport=transport, sleep=sleeps.append, retry=RetryPolicy(max_attempts=4, backoff_base_s=1.0), **kw)
    return c, sleeps


def test_retries_429_honouring_retry_after_then_succeeds():
    t = Script(httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200, json={"ok": 1}))
    c, sleeps = client(t)
    r = c.get("demo", "https://api.example.test/x")
    assert r.status_code == 200
    assert sleeps == [7.0]
    assert len(t.requests) == 2


def test_retry_after_is_capped():
    t = Script(httpx.Response(503, headers={"Retry-After": "100000"}), httpx.Response(200))
    c, sleeps = client(t)
    c.get("demo", "https://api.example.test/x")
    assert sleeps == [RetryPolicy().retry_after_max_s]


def test_5xx_and_connection_errors_back_off_exponentially_with_jitter():
    t = Script(
        httpx.Response(500),
        httpx.ConnectError("reset by peer"),
        httpx.ReadTimeout("timed out"),
        httpx.Response(200, json=[]),
    )
    c, sleeps = client(t)
    assert c.get("demo", "https://api.example.test/x").status_code == 200
    assert len(sleeps) == 3
    for attempt, slept in enumerate(sleeps, start=1):
        assert 0 <= slept <= 1.0 * 2 ** (attempt - 1)


def test_gives_up_with_an_error_naming_source_and_endpoint():
    t = Script(*[httpx.Response(502) for _ in range(4)])
    c, sleeps = client(t)
    with pytest.raises(SourceHTTPError) as exc:
        c.get("demo", "https://api.example.test/api/thing", endpoint="/api/thing")
    assert "[demo] /api/thing" in str(exc.value)
    assert "HTTP 502" in str(exc.value)
    assert len(t.requests) == 4 and len(sleeps) == 3


def test_client_errors_other_than_429_are_not_retried():
    t = Script(httpx.Response(404))
    c, _ = client(t)
    assert c.get("demo", "https://api.example.test/x").status_code == 404
    assert len(t.requests) == 1


def test_secrets_are_redacted_from_errors_and_logs(caplog):
    secret = "sk_live_0123456789abcdef"
    t = Script(*[httpx.ConnectError(f"failed for https://h.test/?api_key={secret}") for _ in range(4)])
    c, _ = client(t, secrets=[secret])
    with caplog.at_level(logging.DEBUG), pytest.raises(SourceHTTPError) as exc:
        c.get("demo", "https://h.test/x", params={"api_key": secret})
    assert secret not in str(exc.value)
    assert "***" in str(exc.value)
    assert secret not in caplog.text


def test_on_response_sees_redacted_params():
    secret = "abcdefabcdefabcdef"
    seen = []
    t = Script(httpx.Response(200, text="body"))
    c, _ = client(t, secrets=[secret])
    c.on_response = lambda source, endpoint, params, response: seen.append((source, endpoint, params, response.text))
    c.get("fred", "https://h.test/series", params={"api_key": secret, "id": "SP500"})
    assert seen == [("fred", "/series", {"api_key": "***", "id": "SP500"}, "body")]


def test_parse_retry_after_forms():
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480.0 - 60) == 60.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_rate_limiter_spaces_requests_per_host():
    now = [0.0]
    slept = []

    def sleep(s):
        slept.append(s)
        now[0] += s

    limiter = RateLimiter({"a.test": 2.0}, clock=lambda: now[0], sleep=sleep)
    waits = [limiter.acquire("a.test") for _ in range(3)]
    assert waits == [0.0, 2.0, 2.0]
    assert limiter.acquire("b.test") == 0.0  # other hosts are not held back


def test_decode_json_names_truncated_and_empty_bodies():
    with pytest.raises(Exception, match=r"\[demo\] /x: response is not valid JSON"):
        decode_json("demo", "/x", httpx.Response(200, content=b'{"code":"0","data":[{"a":1'))
    with pytest.raises(Exception, match=r"\[demo\] /x: empty response body"):
        decode_json("demo", "/x", httpx.Response(200, content=b""))


def test_redact_replaces_every_secret():
    assert redact("a KEY1 b KEY2", ["KEY1", "KEY2", ""]) == "a *** b ***"


def test_live_transports_share_one_tls_context_that_verifies_hosts():
    """Every live transport (one per source client) verifies certificates and host names with one TLS context
    made once per process, not a CA bundle loaded per client."""
    import ssl
    from pathlib import Path

    from pipelines.replay.transport import make_transport

    direct = make_transport("live", Path("."))
    redirected = make_transport("live", Path("."), {"api.example": "http://127.0.0.1:9"}).inner
    contexts = [t._pool._ssl_context for t in (direct, redirected, make_transport("live", Path(".")))]  # noqa: SLF001
    assert all(c is contexts[0] for c in contexts)
    assert contexts[0].verify_mode == ssl.CERT_REQUIRED and contexts[0].check_hostname
