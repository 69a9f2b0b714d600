# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Prometheus client against a real HTTP server (stdlib http.server) serving canned API answers."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.containerops.fleet.plugins.module_utils.autoscale import prometheus as client
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


# --------------------------------------------------------------------------- hostile and malformed answers

_OK = {"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}, "value": [1, "1"]}]}}


def _answer(result, kind="vector"):
    return json.dumps({"status": "success", "data": {"resultType": kind, "result": result}})


# body -> what the reason must name; each one is an answer a broken proxy, a foreign server or a hostile one gives
MALFORMED = [
    ('{"status":"success","data":[1]}', "data is a list, not an object"),
    ('{"status":"success","data":null}', "data is missing"),
    ('{"status":"success"}', "data is missing"),
    ('{"status":"success","data":"x"}', "data is a str, not an object"),
    (json.dumps({"status": "success", "data": {"result": []}}), "resultType is missing"),
    (json.dumps({"status": "success", "data": {"resultType": ["vector"], "result": []}}), "resultType is a list"),
    (json.dumps({"status": "success", "data": {"resultType": "blob", "result": []}}), "resultType 'blob' is unknown"),
    (_answer({}), "result is a dict, not a list"),
    (_answer({"a": 1, "b": 2}), "result is a dict, not a list"),
    (_answer("xy"), "result is a str, not a list"),
    (_answer([[1, "2"]]), "series 0 is a list, not an object"),
    (_answer([{"metric": {}}]), "series 0 has no value"),
    (_answer([{"metric": {}, "value": ["x"]}]), "value is not a [time, number] pair"),
    (_answer([{"metric": {}, "value": {"1": "2"}}]), "value is not a [time, number] pair"),
    (_answer([{"metric": {}, "value": "a5"}]), "value is not a [time, number] pair"),
    (_answer([{"metric": {}, "value": [1, "x"]}]), "value 'x' is not a number"),
    (_answer([{"metric": {}, "value": [1, True]}]), "value True is not a number"),
    (_answer([{"metric": {}, "value": [1, None]}]), "value None is not a number"),
    (_answer([{"metric": {}, "value": [1, "1_000"]}]), "value '1_000' is not a number"),
    (_answer([{"metric": {}, "value": [1, " 5 "]}]), "value ' 5 ' is not a number"),
    (_answer([{"metric": {}, "value": [1, [5]]}]), "value [5] is not a number"),
    (
        '{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,' + "9" * 400 + "]}]}}",
        "is out of range",
    ),
    (_answer([{"metric": {}, "value": [1, "NaN"]}]), "returned NaN"),
    (_answer("77", kind="scalar"), "value is not a [time, number] pair"),
    (_answer({"1": "7"}, kind="scalar"), "value is not a [time, number] pair"),
    ("<html><body>502 Bad Gateway</body></html>", "not JSON"),
    ("", "not JSON"),
    (b"\xff\xfe\x00garbage", "not JSON"),
    ("[" * 200000 + "]" * 200000, "not JSON"),
    ("[1, 2]", "no status"),
    ('"success"', "no status"),
]


@pytest.mark.parametrize(("body", "named"), MALFORMED, ids=[f"malformed-{i}" for i in range(len(MALFORMED))])
def test_malformed_answer_is_metric_unavailable_naming_what_is_wrong(body, named):
    with pytest.raises(MetricUnavailable) as err:
        parse_response(body, "q")
    message = str(err.value)
    assert named in message
    assert "\n" not in message and len(message) < 600


@pytest.mark.parametrize("value", ["+Inf", "-Inf", "1e999", 1e308 * 10])
def test_infinite_values_are_returned_for_the_decision_to_reject(value):
    assert parse_response(_answer([{"metric": {}, "value": [1, value]}]), "q") in (float("inf"), float("-inf"))


def test_error_message_from_prometheus_is_cut_to_one_short_line():
    body = json.dumps({"status": "error", "errorType": "execution", "error": "boom\n" * 5000})
    with pytest.raises(MetricUnavailable) as err:
        parse_response(body, "q")
    assert "\n" not in str(err.value) and len(str(err.value)) < 600


def test_well_formed_answer_still_parses():
    assert parse_response(json.dumps(_OK), "q") == 1.0
    assert parse_response(_answer([{"metric": {}, "value": [1, 2.5]}]), "q") == 2.5


def _raw_server(answer: bytes) -> tuple[str, socket.socket]:
    """A TCP server that answers every connection with `answer` (no HTTP framing guaranteed)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)

    def serve():
        while True:
            try:
                conn, _addr = sock.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                conn.sendall(answer)

    threading.Thread(target=serve, daemon=True).start()
    return f"http://127.0.0.1:{sock.getsockname()[1]}", sock


@pytest.mark.parametrize(
    ("answer", "named"),
    [
        (b"garbage\r\n\r\n", "answered something that is not HTTP"),
        (b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"status"', "the answer was cut short"),
        (b"HTTP/1.1 400 Bad Request\r\nContent-Length: 20\r\n\r\n<html>nope</html>   ", "answered HTTP 400"),
        (b"HTTP/1.1 500 Oops\r\nContent-Length: 17\r\n\r\n<html>err</html>\n", "answered HTTP 500"),
    ],
)
def test_broken_http_answers_are_metric_unavailable(answer, named):
    url, sock = _raw_server(answer)
    try:
        with pytest.raises(MetricUnavailable) as err:
            query_value(url, "q", timeout=2)
    finally:
        sock.close()
    assert named in str(err.value)


def test_oversized_answer_is_metric_unavailable():
    body = json.dumps({**_OK, "padding": "x" * (2 << 20)}).encode()
    url, sock = _raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    try:
        with pytest.raises(MetricUnavailable, match="answer is larger than"):
            query_value(url, "q", timeout=5)
    finally:
        sock.close()


# --------------------------------------------------------------------------- the URL and the credentials


@pytest.mark.parametrize(
    "url",
    [
        "http://user:s3cret@mon1:9090",
        "https://s3cret@mon1",
        "http://user:s3cret/x@mon1:9090",
        "http://mon1:9090/@s3cret",
    ],
)
def test_credentials_in_the_url_are_refused_without_echoing_them(url):
    with pytest.raises(BadQuery) as err:
        query_url(url, "up")
    message = str(err.value)
    assert message.startswith("prometheus_url: ")
    assert "prometheus_username" in message and "prometheus_password" in message
    assert "s3cret" not in message


@pytest.mark.parametrize(
    "url",
    [
        "http://mon1:9090\n",
        "http://mon1:9090\r\nX-Evil: 1",
        "http://mon1\t:9090",
        "http://mon1:9090/\x00",
        "http://mon 1:9090",
        "http://mon1:9090/$(id)",
        "http://mon1:9090/?token=s3cret",
        "http://mon1:9090/#frag",
        'http://mon1:9090/"',
        "http://bad_host!:9090",
        "http://-mon1:9090",
        "http://:9090",
        "http://mon1:99999",
        "http://mon1:0",
        "http://mon1:port",
        "http://[::1:9090",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "HTTP://mon1:9090",
        None,
        123,
    ],
)
def test_prometheus_url_is_validated_without_echoing_it(url):
    with pytest.raises(BadQuery) as err:
        query_url(url, "up")
    message = str(err.value)
    assert message.startswith("prometheus_url: ")
    assert "\n" not in message and "s3cret" not in message and "$(id)" not in message


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://10.0.0.5:9090", "http://10.0.0.5:9090/api/v1/query?query=up"),
        ("https://mon1.example.net/prom/", "https://mon1.example.net/prom/api/v1/query?query=up"),
        ("http://[::1]:9090", "http://[::1]:9090/api/v1/query?query=up"),
        ("http://mon1", "http://mon1/api/v1/query?query=up"),
    ],
)
def test_good_urls_are_kept(url, expected):
    assert query_url(url, "up") == expected


def test_redact_strips_userinfo_query_and_fragment():
    redact = client.redact
    assert redact("http://user:s3cret@mon1:9090/prom?token=s3cret#x") == "http://mon1:9090/prom"
    assert "s3cret" not in redact("http://user:s3cret@[::1:9090")
    assert "s3cret" not in redact("http://user:s3cret/x@mon1")
    assert redact(None) == ""


class _AuthHandler(BaseHTTPRequestHandler):
    seen: list[tuple[str, str | None]] = []

    def do_GET(self):
        type(self).seen.append((self.path, self.headers.get("Authorization")))
        if "redirect" in self.path:
            self.send_response(302)
            self.send_header("Location", "/api/v1/query?query=after")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        payload = json.dumps(vector(({}, "3"))).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def auth_prometheus():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _AuthHandler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_basic_auth_is_sent_as_a_header(auth_prometheus):
    _AuthHandler.seen.clear()
    assert query_value(auth_prometheus, "q", username="fleet", password="pa ss:wörd") == 3.0
    expected = "Basic " + base64.b64encode("fleet:pa ss:wörd".encode()).decode()
    assert _AuthHandler.seen == [("/api/v1/query?query=q", expected)]


def test_bearer_token_is_sent_as_a_header(auth_prometheus):
    _AuthHandler.seen.clear()
    assert query_value(auth_prometheus, "q", bearer_token="abc.DEF-123_~+/=") == 3.0
    assert _AuthHandler.seen == [("/api/v1/query?query=q", "Bearer abc.DEF-123_~+/=")]


def test_no_credentials_no_header(auth_prometheus):
    _AuthHandler.seen.clear()
    assert query_value(auth_prometheus, "q") == 3.0
    assert _AuthHandler.seen == [("/api/v1/query?query=q", None)]


def test_credentials_do_not_follow_a_redirect(auth_prometheus):
    _AuthHandler.seen.clear()
    assert query_value(auth_prometheus, "redirect", bearer_token="tok") == 3.0
    assert _AuthHandler.seen == [("/api/v1/query?query=redirect", "Bearer tok"), ("/api/v1/query?query=after", None)]


@pytest.mark.parametrize(
    ("credentials", "named"),
    [
        ({"username": "fleet", "password": "s3cret\r\nX-Evil: 1"}, "prometheus_password"),
        ({"username": "fleet", "password": "s3cret\x00"}, "prometheus_password"),
        ({"username": "fl:eet", "password": "s3cret"}, "prometheus_username"),
        ({"username": "fleet\n", "password": "s3cret"}, "prometheus_username"),
        ({"username": "fleet", "password": None}, "prometheus_password"),
        ({"username": None, "password": "s3cret"}, "prometheus_username"),
        ({"bearer_token": "s3cret\nX-Evil: 1"}, "prometheus_bearer_token"),
        ({"bearer_token": "s3cret token"}, "prometheus_bearer_token"),
        ({"bearer_token": "s3cret", "username": "fleet", "password": "x"}, "prometheus_bearer_token"),
    ],
)
def test_bad_credentials_are_refused_before_any_request_without_echoing_them(credentials, named):
    with pytest.raises(BadQuery) as err:
        query_value("http://127.0.0.1:1", "q", **credentials)
    assert named in str(err.value)
    assert "s3cret" not in str(err.value)
