"""The one landing path: atomic, idempotent window replacement (optionally per source), the archive, refusal
of partial answers and of answers missing a publishing day, the window check, and is_derived from provenance."""

from datetime import date

import duckdb
import httpx
import polars as pl
import pytest

from pipelines.landing.load import Part, archive_payloads, ensure_table, land, payload_row, replace_window
from pipelines.landing.tables import Publication, RawTable, req
from pipelines.landing.window import WindowError, check_window
from pipelines.replay.provenance import DERIVED_DAYS_HEADER
from pipelines.sources.http import SourceError

T = RawTable(name="t", group="g", date_column="d", key_columns=("d", "source"), columns=(req("d", "date"), req("v", "double")),
             description="test table", publication=Publication(0, 0, "test", 1), history_start=date(2026, 1, 1))


def frame(days, value, source="s"):
    n = len(days)
    return pl.DataFrame({"d": days, "v": [value] * n, "source": [source] * n, "endpoint": ["/e"] * n,
                         "payload": ["{}"] * n, "payload_id": ["p"] * n, "window_start": [days[0]] * n,
                         "window_end": [days[-1]] * n, "ingested_at": [None] * n, "run_id": ["r"] * n,
                         "is_derived": [False] * n},
                        schema={**{c.name: c.dtype for c in T.all_columns}})


def con_with_table():
    con = duckdb.connect()
    ensure_table(con, T)
    con.execute("alter table raw.t alter column ingested_at drop not null")  # the frames below leave it null
    return con


def test_replace_window_is_idempotent_and_only_touches_its_window():
    con = con_with_table()
    jan = [date(2026, 1, d) for d in range(1, 11)]
    replace_window(con, T, frame(jan, 1.0), (date(2026, 1, 1), date(2026, 1, 11)))
    for _ in range(3):
        replace_window(con, T, frame(jan[2:5], 2.0), (date(2026, 1, 3), date(2026, 1, 6)))
    rows = dict(con.execute("select d, v from raw.t order by d").fetchall())
    assert [rows[d] for d in jan] == [1.0, 1.0, 2.0, 2.0, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0]


def test_a_scoped_replace_keeps_the_rows_of_other_sources():
    con = con_with_table()
    days = [date(2026, 1, 1), date(2026, 1, 2)]
    window = (date(2026, 1, 1), date(2026, 1, 3))
    replace_window(con, T, pl.concat([frame(days, 1.0, "a"), frame(days, 1.0, "b")]), window)
    replace_window(con, T, frame(days, 2.0, "a"), window, sources=["a"])
    assert con.execute("select source, sum(v) from raw.t group by 1 order by 1").fetchall() == [("a", 4.0), ("b", 2.0)]


def test_failed_insert_rolls_back_and_keeps_the_previous_rows():
    con = con_with_table()
    days = [date(2026, 1, 1), date(2026, 1, 2)]
    replace_window(con, T, frame(days, 1.0), (date(2026, 1, 1), date(2026, 1, 3)))
    bad = frame(days, 5.0).with_columns(v=pl.Series([5.0, None]))
    with pytest.raises(duckdb.ConstraintException):
        # a NULL value violates NOT NULL after the delete ran: the whole transaction must roll back
        replace_window(con, T, bad, (date(2026, 1, 1), date(2026, 1, 3)))
    assert con.execute("select count(*), sum(v) from raw.t").fetchall() == [(2, 2.0)]


def test_rows_outside_the_window_are_refused():
    with pytest.raises(ValueError, match="outside the window"):
        replace_window(con_with_table(), T, frame([date(2026, 2, 1)], 1.0), (date(2026, 1, 1), date(2026, 1, 2)))


def test_archive_keeps_each_distinct_payload_once():
    con = duckdb.connect()
    a1, a2, b = (payload_row(source="s", endpoint="/e", body=body, request_params={"q": 1})
                 for body in ("{}", "{}", '{"revised": true}'))
    archive_payloads(con, [a1])
    archive_payloads(con, [a2, b])  # a2 is already archived (an earlier fetch): only b is added
    assert a1["payload_id"] == a2["payload_id"] != b["payload_id"]
    assert con.execute("select count(*) from raw.landing_payloads").fetchall() == [(2,)]


def test_ensure_table_adds_a_declared_column_an_older_warehouse_lacks():
    con = duckdb.connect()
    con.execute("create schema raw; create table raw.t (d date not null, v double not null)")
    ensure_table(con, T)
    assert "is_derived" in {r[0] for r in con.execute("describe raw.t").fetchall()}


class FakeHttp:
    """Answers like HttpClient: each "response" goes through ``on_response`` before the parser sees it."""

    on_response = None

    def answer(self, source: str, body: str, derived: str | None = None) -> None:
        headers = {DERIVED_DAYS_HEADER: derived} if derived else {}
        self.on_response(source, "/e", {}, httpx.Response(200, text=body, headers=headers))


def rows(days, v=1.0):
    return T.frame([{"d": d, "v": v, "payload": "{}"} for d in days])


def run_land(con, http, parts_fn, window=(date(2026, 1, 1), date(2026, 1, 4))):
    return land(con, http, T, window, parts_fn, run_id="r1", published_until=date(2026, 1, 31))


def test_land_tags_is_derived_from_the_provenance_header_and_archives_first():
    con, http = duckdb.connect(), FakeHttp()
    days = [date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 3)]

    def fetch():
        http.answer("s", "body-1", derived="2026-01-02..2026-01-02")
        yield Part("s", "/e", rows(days))

    landed = run_land(con, http, fetch)
    assert landed.frame["is_derived"].to_list() == [False, True, False]
    assert con.execute("select d, is_derived from raw.t order by d").fetchall()[1] == (date(2026, 1, 2), True)
    assert con.execute("select count(*) from raw.landing_payloads").fetchall() == [(1,)]
    # live servers send no header: nothing is derived
    http2 = FakeHttp()

    def live_fetch():
        http2.answer("s", "body-2")
        yield Part("s", "/e", rows(days, 2.0))

    assert not any(run_land(con, http2, live_fetch).frame["is_derived"].to_list())


def test_land_archives_every_body_of_a_fetch_once_also_when_a_parser_fails():
    con, http = duckdb.connect(), FakeHttp()

    def fetch():
        http.answer("s", "page-1")
        http.answer("s", "page-1")  # the same content twice: archived once
        http.answer("s", "page-2 malformed")
        raise SourceError("s", "/e", "not a number", field="v", value="n/a")
        yield  # a generator, as the real fetches are

    with pytest.raises(SourceError, match="'n/a'"):
        run_land(con, http, fetch)
    assert con.execute("select body from raw.landing_payloads order by body").fetchall() == [
        ("page-1",), ("page-2 malformed",)]
    assert con.execute("select count(*) from raw.t").fetchall() == [(0,)]  # nothing landed


def test_land_refuses_an_answer_lacking_loaded_days_and_keeps_them():
    con, http = duckdb.connect(), FakeHttp()
    days = [date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 3)]
    run_land(con, http, lambda: iter([Part("s", "/e", rows(days))]))
    with pytest.raises(SourceError, match=r"lacks 1 day\(s\) already loaded"):
        run_land(con, http, lambda: iter([Part("s", "/e", rows(days[:2], 9.0))]))
    assert con.execute("select sum(v) from raw.t").fetchall() == [(3.0,)]


def test_land_refuses_a_day_the_source_should_have_published_naming_it():
    con, http = duckdb.connect(), FakeHttp()
    with pytest.raises(SourceError, match="raw.t has no row for 1 day.*2026-01-02"):
        run_land(con, http, lambda: iter([Part("s", "/e", rows([date(2026, 1, 1), date(2026, 1, 3)]))]))
    assert con.execute("select count(*) from raw.t").fetchall() == [(0,)]


def test_window_check_clips_partial_windows_and_refuses_windows_outside_in_one_line():
    last = date(2026, 2, 28)
    assert check_window(T, (date(2025, 12, 1), date(2026, 1, 5)), last, "x") == (date(2026, 1, 1), date(2026, 1, 5))
    assert check_window(T, (date(2026, 2, 20), date(2026, 3, 5)), last, "x") == (date(2026, 2, 20), date(2026, 3, 1))
    for window in [(date(2025, 1, 1), date(2025, 2, 1)), (date(2026, 3, 1), date(2026, 3, 2)), (date(2030, 1, 1), date(2030, 1, 2))]:
        with pytest.raises(WindowError) as exc:
            check_window(T, window, last, "replay: the bundled dataset ends there")
        message = str(exc.value)
        assert "\n" not in message and "valid days for raw.t: 2026-01-01 .. 2026-02-28" in message
