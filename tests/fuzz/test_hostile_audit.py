"""Hostile input to audit's reports: dataset names (unicode edge cases, NUL, SQL-looking),
report windows (dates at the edges of the calendar, garbage), page sizes. Never 5xx; every
rejection says why."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.conftest import Platform
from tests.fuzz.hostile import HOSTILE_STRINGS, hostile_text, segment

pytestmark = pytest.mark.e2e

EDGE_TIMES = (
    "0001-01-01T00:00:00+01:00",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59-01:00",
    "9999-12-31T23:59:59.999999Z",
    "2024-02-30T00:00:00Z",
    "2024-01-01T24:00:00Z",
    "-0001-01-01T00:00:00Z",
    "1e10",
    "now",
    "2024-01-01",
)


def get(platform: Platform, path: str, params: dict[str, str] | None = None) -> httpx.Response:
    response = httpx.get(
        f"{platform.url('audit')}{path}",
        params=params,
        headers=platform.stack.auditor_headers,
        timeout=30,
    )
    assert response.status_code < 500, f"{path} {params}: {response.status_code} {response.text}"
    if response.status_code >= 400:
        assert response.json()["detail"], response.text
    return response


@pytest.mark.parametrize("name", [s for s in HOSTILE_STRINGS if s])
def test_hostile_dataset_names(platform: Platform, name: str) -> None:
    for path in ("/v1/reports/", "/v1/overrides/"):
        get(platform, path + segment(name))


@pytest.mark.parametrize("moment", EDGE_TIMES)
def test_report_windows_at_the_edges_of_the_calendar(platform: Platform, moment: str) -> None:
    get(platform, "/v1/reports/trec6", {"from": moment})
    get(platform, "/v1/reports/trec6", {"to": moment})
    get(platform, "/v1/reports/trec6", {"from": moment, "to": moment, "format": "csv"})


@settings(max_examples=75, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    dataset=st.one_of(st.just("trec6"), hostile_text),
    params=st.dictionaries(
        st.sampled_from(["from", "to", "format", "limit"]),
        st.one_of(
            st.sampled_from(EDGE_TIMES),
            st.datetimes().map(lambda d: d.isoformat()),
            st.integers().map(str),
            hostile_text.filter(lambda s: not any(0xD800 <= ord(c) <= 0xDFFF for c in s)),
        ),
    ),
)
def test_any_report_request_gets_an_answer_that_explains_itself(
    platform: Platform, dataset: str, params: dict[str, str]
) -> None:
    get(platform, "/v1/reports/" + segment(dataset), params)
    get(platform, "/v1/overrides/" + segment(dataset), params)


def test_a_long_url_sent_in_pieces_gets_the_same_json_answer(platform: Platform) -> None:
    """A 36 KB URL whose head arrives in several reads reaches the app (a JSON 422 on the
    dataset name's length) instead of the server's plain-text 400: the answer no longer
    depends on how TCP splits the request."""
    import json
    import socket
    import time
    from urllib.parse import urlsplit

    url = urlsplit(platform.url("audit"))
    path = "/v1/reports/" + segment("🙂" * 3000)
    bearer = platform.stack.auditor_headers["Authorization"]
    head = (
        f"GET {path} HTTP/1.1\r\nHost: {url.netloc}\r\nAuthorization: {bearer}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        for start in range(0, len(head), 4096):
            sock.sendall(head[start : start + 4096])
            time.sleep(0.01)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.split()[1] == b"422", answer[:300]
    body = rest.partition(b"\r\n\r\n")[2]
    assert "at most 200 characters" in json.dumps(json.loads(body)["detail"])
