# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A tiny Prometheus HTTP API client (stdlib only): one instant query, one number back.

`query_value(url, query)` calls `<url>/api/v1/query` and returns the single sample of an instant
vector (or a scalar) as a float.  Everything that means "no usable number" raises
MetricUnavailable (unreachable, HTTP error, empty result, several series, NaN); a query Prometheus
rejects as malformed raises BadQuery, which is the caller's mistake rather than bad data.
"""

from __future__ import annotations

import json
import math
import socket
import urllib.error
import urllib.parse
from typing import Any

from ansible.module_utils.urls import ConnectionError as UrlConnectionError
from ansible.module_utils.urls import open_url

API_PATH = "/api/v1/query"


class PrometheusError(Exception):
    """Base class: the query gave no number."""


class MetricUnavailable(PrometheusError):
    """No usable sample now (Prometheus down, no series, NaN, ...): hold, do not fail."""


class BadQuery(PrometheusError):
    """Prometheus rejected the query itself (HTTP 400 bad_data): fix the query."""


def query_url(base_url: str, query: str) -> str:
    """`<base_url>/api/v1/query?query=...`; a path prefix in base_url (reverse proxy) is kept."""
    parts = urllib.parse.urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BadQuery(f"prometheus_url: {base_url!r} is not an http(s) URL like http://mon1:9090")
    path = parts.path.rstrip("/") + API_PATH
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, urllib.parse.urlencode({"query": query}), ""))


def query_value(base_url: str, query: str, timeout: float = 10.0, validate_certs: bool = True) -> float:
    """The single value of an instant query."""
    if not query or not query.strip():
        raise BadQuery("query: empty; give a PromQL expression returning one series")
    url = query_url(base_url, query)
    try:
        with open_url(
            url, headers={"Accept": "application/json"}, timeout=timeout, validate_certs=validate_certs
        ) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        body = exc.read()
        message = _error_message(body) or exc.reason
        if exc.code == 400:
            raise BadQuery(f"query: Prometheus rejected {query!r}: {message}") from exc
        raise MetricUnavailable(f"Prometheus at {base_url} answered HTTP {exc.code}: {message}") from exc
    except (urllib.error.URLError, socket.timeout, OSError, UrlConnectionError) as exc:
        why = getattr(exc, "reason", exc)
        raise MetricUnavailable(f"Prometheus at {base_url} is unreachable: {why}") from exc
    return parse_response(body, query)


def parse_response(body: bytes | str, query: str) -> float:
    """The single number in a /api/v1/query JSON answer."""
    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise MetricUnavailable(f"Prometheus answered something that is not JSON for {query!r}") from exc
    if not isinstance(doc, dict) or doc.get("status") != "success":
        message = _error_message(body) or "no status"
        raise MetricUnavailable(f"Prometheus could not evaluate {query!r}: {message}")
    data = doc.get("data") or {}
    kind = data.get("resultType")
    result = data.get("result")
    if kind == "scalar":
        return _sample(result, query)
    if kind != "vector":
        raise BadQuery(f"query: {query!r} returns a {kind}, not an instant vector or scalar")
    if not result:
        raise MetricUnavailable(f"query {query!r} returned no series")
    if len(result) > 1:
        labels = ", ".join(_labels(s.get("metric")) for s in result[:3])
        more = ", ..." if len(result) > 3 else ""
        raise MetricUnavailable(
            f"query {query!r} returned {len(result)} series ({labels}{more}); aggregate it, e.g. avg(...)"
        )
    return _sample(result[0].get("value"), query)


def _sample(pair: Any, query: str) -> float:
    try:
        value = float(pair[1])
    except (TypeError, ValueError, IndexError) as exc:
        raise MetricUnavailable(f"query {query!r} returned a malformed sample {pair!r}") from exc
    if math.isnan(value):
        raise MetricUnavailable(f"query {query!r} returned NaN")
    return value


def _error_message(body: bytes | str) -> str:
    try:
        doc = json.loads(body)
    except ValueError:
        return ""
    if isinstance(doc, dict):
        return ": ".join(str(doc[k]) for k in ("errorType", "error") if doc.get(k))
    return ""


def _labels(metric: Any) -> str:
    if not isinstance(metric, dict):
        return "{}"
    name = metric.get("__name__", "")
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(metric.items()) if k != "__name__") + "}"
