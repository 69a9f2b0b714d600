# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A tiny Prometheus HTTP API client (stdlib only): one instant query, one number back.

`query_value(url, query)` calls `<url>/api/v1/query` and returns the single sample of an instant
vector (or a scalar) as a float.  Everything that means "no usable number" raises
MetricUnavailable (unreachable, HTTP error, an answer that is not HTTP, not JSON or not shaped like
Prometheus' API, empty result, several series, NaN, too large); a query Prometheus rejects as
malformed raises BadQuery, which is the caller's mistake rather than bad data.  So do a bad
prometheus_url and bad credentials, before any request.

Credentials travel only in an Authorization header (basic auth or a bearer token), never in the
URL, and not along a redirect.  No message names them: a URL is shown as `redact(url)` (scheme,
host, port, path) and the values are never echoed.
"""

from __future__ import annotations

import base64
import http.client
import json
import math
import socket
import urllib.error
import urllib.parse
from typing import Any

from ansible.module_utils.urls import ConnectionError as UrlConnectionError
from ansible.module_utils.urls import open_url

from ansible_collections.containerops.fleet.plugins.module_utils import allow

API_PATH = "/api/v1/query"
MAX_ANSWER = 1 << 20  # bytes; an instant query for one number answers in far less
_SHOWN = 200  # characters of a foreign text (an error message, a sample) kept in a reason
_URL_HELP = (
    "give an http(s) URL like http://mon1:9090 or https://mon1.example.net/prometheus "
    "(host and port, an optional path; no credentials, query, fragment, spaces, quotes or control characters)"
)
_CREDENTIALS_HELP = (
    "credentials in the URL are refused (they would show in messages and logs); "
    "give them with prometheus_username and prometheus_password, or prometheus_bearer_token"
)


class PrometheusError(Exception):
    """Base class: the query gave no number."""


class MetricUnavailable(PrometheusError):
    """No usable sample now (Prometheus down, no series, NaN, a malformed answer, ...): hold, do not fail."""


class BadQuery(PrometheusError):
    """The call itself is wrong (a query Prometheus rejects, a bad URL or credentials): fix the parameters."""


class _Malformed(ValueError):
    """The answer is JSON but not the shape of /api/v1/query's; the message says what is wrong."""


# ---------------------------------------------------------------------------------------------- URL and credentials


def redact(url: Any) -> str:
    """`url` without userinfo, query and fragment: what a message may show. Never raises."""
    if not isinstance(url, str):
        return ""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return ""
    end = len(rest)
    for mark in "/?#":
        found = rest.find(mark)
        if found != -1:
            end = min(end, found)
    authority, path = rest[:end], rest[end:]
    if "@" in path:  # credentials with an unescaped '/' in them, or an odd path: show neither
        return f"{scheme}://(hidden)"
    host = authority.rpartition("@")[2]
    path = path.split("?", 1)[0].split("#", 1)[0]
    return "".join(c for c in f"{scheme}://{host}{path}" if c.isprintable() and not c.isspace())


def url_secrets(url: Any) -> list[str]:
    """What a URL given with credentials in it holds between '://' and its last '@' (to hide from every output)."""
    if not isinstance(url, str) or "@" not in url:
        return []
    userinfo = url.partition("://")[2].rpartition("@")[0] or url.rpartition("@")[0]
    secrets = [userinfo]
    if ":" in userinfo:
        secrets.append(userinfo.split(":", 1)[1])
    return [s for s in secrets if s]


def base_url(url: Any) -> urllib.parse.SplitResult:
    """prometheus_url checked: http(s), a valid host and port, a plain path; BadQuery (never echoing it) otherwise."""
    if not isinstance(url, str) or not url:
        raise BadQuery(f"prometheus_url: missing or not a string; {_URL_HELP}")
    if "@" in url:
        raise BadQuery(f"prometheus_url: {_CREDENTIALS_HELP}")
    try:
        allow.check("http_url", url, "prometheus_url")
        parts = urllib.parse.urlsplit(url)
        port = parts.port  # ValueError when not a number 0-65535
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise allow.NotAllowed("scheme or host")
        allow.address(parts.hostname, "prometheus_url host")
        if port is not None or parts.netloc.endswith(":"):
            allow.port(port, "prometheus_url port")
        if parts.path:
            allow.check("metrics_path", parts.path, "prometheus_url path")
        if parts.query or parts.fragment or urllib.parse.urlunsplit(parts) != url:
            raise allow.NotAllowed("query, fragment or characters urlsplit drops")
    except (allow.NotAllowed, ValueError):
        raise BadQuery(f"prometheus_url: not allowed; {_URL_HELP}") from None
    return parts


def query_url(url: Any, query: str) -> str:
    """`<url>/api/v1/query?query=...`; a path prefix in url (reverse proxy) is kept."""
    parts = base_url(url)
    path = parts.path.rstrip("/") + API_PATH
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, urllib.parse.urlencode({"query": query}), ""))


def auth_headers(
    username: str | None = None, password: str | None = None, bearer_token: str | None = None
) -> dict[str, str]:
    """The Authorization header for basic auth or a bearer token (none without credentials). Never echoes them."""
    username, password, bearer_token = (v if v not in ("", None) else None for v in (username, password, bearer_token))
    if bearer_token is not None:
        if username is not None or password is not None:
            raise BadQuery(
                "prometheus_bearer_token: give either it or prometheus_username and prometheus_password, not both"
            )
        _check_secret("bearer_token", bearer_token, "prometheus_bearer_token")
        return {"Authorization": f"Bearer {bearer_token}"}
    if username is None and password is None:
        return {}
    if username is None:
        raise BadQuery("prometheus_username: missing; prometheus_password needs it")
    if password is None:
        raise BadQuery("prometheus_password: missing; prometheus_username needs it")
    _check_secret("http_user", username, "prometheus_username")
    _check_secret("http_password", password, "prometheus_password")
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


_SECRET_HELP = {
    "http_user": "printable ASCII characters other than ':' and space",
    "http_password": "1-1024 characters without control characters (newlines, tabs, ...)",
    "bearer_token": "a token of letters, digits and '-._~+/', then up to two '='",
}


def _check_secret(kind: str, value: Any, where: str) -> None:
    """allow.check without the value in the message (it is a credential)."""
    try:
        allow.check(kind, value, where)
    except allow.NotAllowed:
        raise BadQuery(f"{where}: not allowed (the value is not shown); use {_SECRET_HELP[kind]}") from None


# ---------------------------------------------------------------------------------------------- the query


def query_value(
    url: str,
    query: str,
    timeout: float = 10.0,
    validate_certs: bool = True,
    username: str | None = None,
    password: str | None = None,
    bearer_token: str | None = None,
) -> float:
    """The single value of an instant query."""
    if not isinstance(query, str) or not query.strip():
        raise BadQuery("query: empty; give a PromQL expression returning one series")
    target = query_url(url, query)
    headers = {"Accept": "application/json", **auth_headers(username, password, bearer_token)}
    where = f"Prometheus at {redact(url)}"
    try:
        with open_url(
            target,
            headers=headers,
            timeout=timeout,
            validate_certs=validate_certs,
            unredirected_headers=["Authorization"],
        ) as response:
            body = _read(response, where)
    except urllib.error.HTTPError as exc:
        try:
            body = _read(exc, where)
        except MetricUnavailable:
            body = b""
        message = _error_message(body) or _clip(exc.reason)
        if exc.code == 400 and _is_prometheus_error(body):
            raise BadQuery(f"query: Prometheus rejected {query!r}: {message}") from None
        raise MetricUnavailable(f"{where} answered HTTP {exc.code}: {message}") from None
    except http.client.HTTPException as exc:
        raise MetricUnavailable(f"{where} answered something that is not HTTP ({type(exc).__name__})") from None
    except (urllib.error.URLError, socket.timeout, OSError, UrlConnectionError) as exc:
        why = getattr(exc, "reason", exc)
        raise MetricUnavailable(f"{where} is unreachable: {_clip(why)}") from None
    return parse_response(body, query)


def _read(response: Any, where: str) -> bytes:
    """At most MAX_ANSWER bytes of the answer; more is MetricUnavailable."""
    try:
        body = response.read(MAX_ANSWER + 1)
    except http.client.HTTPException as exc:
        raise MetricUnavailable(f"{where} answered something that is not HTTP ({type(exc).__name__})") from None
    if body is None:
        return b""
    if len(body) > MAX_ANSWER:
        raise MetricUnavailable(f"{where}: the answer is larger than {MAX_ANSWER} bytes; not reading it")
    missing = getattr(response, "length", None)  # http.client: bytes announced by Content-Length and not received
    if isinstance(missing, int) and not isinstance(missing, bool) and missing > 0:
        raise MetricUnavailable(f"{where}: the answer was cut short ({missing} bytes missing)")
    return body


def parse_response(body: bytes | str, query: str) -> float:
    """The single number in a /api/v1/query JSON answer; any other answer is MetricUnavailable naming what is wrong."""
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        raise MetricUnavailable(f"Prometheus answered something that is not JSON for {query!r}") from None
    if not isinstance(doc, dict) or doc.get("status") != "success":
        message = _error_message(body) or "no status"
        raise MetricUnavailable(f"Prometheus could not evaluate {query!r}: {message}")
    try:
        return _value(doc, query)
    except _Malformed as exc:
        raise MetricUnavailable(f"Prometheus answered malformed data for {query!r}: {exc}") from None


def _value(doc: dict, query: str) -> float:
    data = doc.get("data")
    if data is None:
        raise _Malformed("data is missing")
    if not isinstance(data, dict):
        raise _Malformed(f"data is {_a(data)}, not an object")
    kind = data.get("resultType")
    result = data.get("result")
    if kind is None:
        raise _Malformed("resultType is missing")
    if not isinstance(kind, str):
        raise _Malformed(f"resultType is {_a(kind)}, not a string")
    if kind == "scalar":
        return _sample(result, query)
    if kind in ("matrix", "string"):
        raise BadQuery(f"query: {query!r} returns a {kind}, not an instant vector or scalar")
    if kind != "vector":
        raise _Malformed(f"resultType {_clip(kind)!r} is unknown")
    if not isinstance(result, list):
        raise _Malformed(f"result is {_a(result)}, not a list")
    if not result:
        raise MetricUnavailable(f"query {query!r} returned no series")
    for index, series in enumerate(result[:3]):
        if not isinstance(series, dict):
            raise _Malformed(f"series {index} is {_a(series)}, not an object")
    if len(result) > 1:
        labels = ", ".join(_labels(s.get("metric")) for s in result[:3])
        more = ", ..." if len(result) > 3 else ""
        raise MetricUnavailable(
            f"query {query!r} returned {len(result)} series ({_clip(labels)}{more}); aggregate it, e.g. avg(...)"
        )
    if "value" not in result[0]:
        raise _Malformed("series 0 has no value")
    return _sample(result[0]["value"], query)


def _sample(pair: Any, query: str) -> float:
    """The number of a [time, "number"] pair (Prometheus sends the number as a string)."""
    if not isinstance(pair, list) or len(pair) != 2:
        raise _Malformed(f"value is not a [time, number] pair: {_clip(repr(pair))}")
    raw = pair[1]
    if isinstance(raw, str) and raw and "_" not in raw and raw.strip() == raw:
        try:
            value = float(raw)
        except ValueError:
            value = None
    elif isinstance(raw, (int, float)) and not isinstance(raw, bool):
        try:
            value = float(raw)
        except OverflowError:
            raise _Malformed(f"value {_clip(repr(raw))} is out of range") from None
    else:
        value = None
    if value is None:
        raise _Malformed(f"value {_clip(repr(raw))} is not a number")
    if math.isnan(value):
        raise MetricUnavailable(f"query {query!r} returned NaN")
    return value


def _is_prometheus_error(body: bytes | str) -> bool:
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        return False
    return isinstance(doc, dict) and doc.get("status") == "error"


def _error_message(body: bytes | str) -> str:
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        return ""
    if isinstance(doc, dict):
        return _clip(": ".join(str(doc[k]) for k in ("errorType", "error") if doc.get(k)))
    return ""


def _labels(metric: Any) -> str:
    if not isinstance(metric, dict):
        return "{}"
    name = str(metric.get("__name__", ""))
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(metric.items(), key=str) if k != "__name__") + "}"


def _a(value: Any) -> str:
    """'a list', 'a dict', ...: the JSON type an answer had where another was expected."""
    name = type(value).__name__
    return f"an {name}" if name[0] in "aeiou" else f"a {name}"


def _clip(value: Any) -> str:
    """A foreign text on one short line: control characters become spaces, long text is cut."""
    text = "".join(c if c.isprintable() else " " for c in str(value))
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."
