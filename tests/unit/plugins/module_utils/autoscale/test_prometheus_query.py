# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Prometheus client against a real HTTP server (stdlib http.server) serving canned API answers."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.containerops.fleet.plugins.module_utils.autoscale.prometheus import (
    BadQuery,
    MetricUnavailable,
    parse_response,
    query_url,
    query_value,
)


def vector(*samples: tuple[dict, str]) -> dict:
    return {
        "status": "success",
        "data": {"resultType": "vector", "result": [{"metric": m, "value": [1795000000.123, v]} for m, v in samples]},
    }


# query -> (HTTP status, JSON body); the server answers /api/v1/query?query=<key>
CANNED: dict[str, tuple[int, object]] = {
    "one": (200, vector(({"service": "web"}, "42.5"))),
    "empty": (200, vector()),
    "two": (200, vector(({"instance": "a"}, "1"), ({"instance": "b"}, "2"))),
    "nan": (200, vector(({}, "NaN"))),
    "inf": (200, vector(({}, "+Inf"))),
    "scalar": (200, {"status": "success", "data": {"resultType": "scalar", "result": [1795000000, "7"]}}),
    "matrix": (200, {"status": "success", "data": {"resultType": "matrix", "result": []}}),
    "bad(": (400, {"status": "error", "errorType": "bad_data", "error": "1:5: parse error: unclosed left parenthesis"}),
    "overload": (503, {"status": "error", "errorType": "unavailable", "error": "too many queries"}),
    "timeout": (422, {"status": "error", "errorType": "timeout", "error": "query timed out in expression evaluation"}),
    "notjson": (200, "<html>proxy says hi</html>"),
    "slow": (200, vector(({}, "1"))),
}


class _Handler(BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self):
        parts = urllib.parse.urlsplit(self.path)
        type(self).seen.append(self.path)
        query = urllib.parse.parse_qs(parts.query).get("query", [""])[0]
        if not parts.path.endswith("/api/v1/query") or query not in CANNED:
            self.send_error(404)
            return
        if query == "slow":
            time.sleep(1.0)
        status, body = CANNED[query]
        payload = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def prometheus():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_single_series_value(prometheus):
    _Handler.seen.clear()
    assert query_value(prometheus, "one") == 42.5
    assert _Handler.seen == ["/api/v1/query?query=one"]


def test_path_prefix_and_query_encoding_are_kept(prometheus):
    _Handler.seen.clear()
    assert query_value(prometheus + "/prom/", "one") == 42.5
    assert _Handler.seen == ["/prom/api/v1/query?query=one"]
    assert query_url("http://mon1:9090", 'avg(rate(x{a="b"}[1m]))') == (
        "http://mon1:9090/api/v1/query?query=avg%28rate%28x%7Ba%3D%22b%22%7D%5B1m%5D%29%29"
    )


def test_scalar_result(prometheus):
    assert query_value(prometheus, "scalar") == 7.0


def test_infinity_is_returned_as_a_number(prometheus):
    # the decision rejects it; the client only reports what Prometheus said
    assert query_value(prometheus, "inf") == float("inf")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("empty", "query 'empty' returned no series"),
        ("two", 'query \'two\' returned 2 series ({instance="a"}, {instance="b"}); aggregate it, e.g. avg(...)'),
        ("nan", "query 'nan' returned NaN"),
        ("overload", "answered HTTP 503: unavailable: too many queries"),
        ("timeout", "answered HTTP 422: timeout: query timed out in expression evaluation"),
        ("notjson", "answered something that is not JSON for 'notjson'"),
    ],
)
def test_no_usable_number_is_metric_unavailable(prometheus, query, message):
    with pytest.raises(MetricUnavailable) as err:
        query_value(prometheus, query)
    assert message in str(err.value)


def test_malformed_query_is_bad_query_naming_the_field(prometheus):
    with pytest.raises(BadQuery) as err:
        query_value(prometheus, "bad(")
    assert str(err.value) == "query: Prometheus rejected 'bad(': bad_data: 1:5: parse error: unclosed left parenthesis"


def test_range_vector_is_bad_query(prometheus):
    with pytest.raises(BadQuery, match="returns a matrix, not an instant vector or scalar"):
        query_value(prometheus, "matrix")


def test_unreachable_prometheus():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(MetricUnavailable) as err:
        query_value(f"http://127.0.0.1:{port}", "one", timeout=2)
    assert str(err.value).startswith(f"Prometheus at http://127.0.0.1:{port} is unreachable: ")
    assert "refused" in str(err.value).lower()


def test_slow_prometheus_times_out_as_unavailable(prometheus):
    start = time.monotonic()
    with pytest.raises(MetricUnavailable, match=r"is unreachable: .*timed out"):
        query_value(prometheus, "slow", timeout=0.3)
    assert time.monotonic() - start < 0.9


@pytest.mark.parametrize("url", ["mon1:9090", "ftp://mon1", "", "http://"])
def test_bad_url_names_the_field(url):
    with pytest.raises(BadQuery, match=r"^prometheus_url: "):
        query_value(url, "one")


def test_empty_query_names_the_field():
    with pytest.raises(BadQuery, match=r"^query: empty"):
        query_value("http://127.0.0.1:1", "  ")


def test_error_status_with_200_is_unavailable():
    with pytest.raises(MetricUnavailable, match="could not evaluate 'q': execution: boom"):
        parse_response(json.dumps({"status": "error", "errorType": "execution", "error": "boom"}), "q")
