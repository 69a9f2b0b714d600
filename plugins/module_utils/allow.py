# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Allow-lists for every value that reaches a configuration file, a shell, a socket or a URL.

One anchored pattern per kind of value (``\\Z``, never ``$``, which lets a trailing newline through); no
control characters, no whitespace, no quotes.  Used where values enter (the schema, module parameters) and
again where they are read back from hosts (container labels) or rendered (HAProxy, Prometheus).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

_PATTERNS: dict[str, tuple[str, str]] = {
    # kind: (pattern, what to give instead)
    "service": (
        r"[a-z0-9][a-z0-9-]{0,40}",
        "1-41 lowercase letters, digits or dashes, starting with a letter or digit",
    ),
    "server": (r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}", "letters, digits, '_', '.', ':' or '-' (up to 200)"),
    "container": (r"[A-Za-z0-9][A-Za-z0-9_.-]{0,199}", "letters, digits, '_', '.' or '-'"),
    # RFC 3986 path and query characters without quotes, '$', '#', '\\' and spaces (HAProxy and shells treat them)
    "http_path": (r"/[A-Za-z0-9._~!&()*+,;=:@%/?-]{0,1023}", "a path like /healthz or /status?full=1"),
    "metrics_path": (r"/[A-Za-z0-9._~!&()*+,;=:@%/-]{0,1023}", "a path like /metrics (no query string)"),
    "env_key": (r"[A-Za-z_][A-Za-z0-9_.-]{0,254}", "letters, digits, '_', '.' or '-', not starting with a digit"),
    "label_key": (r"[A-Za-z0-9][A-Za-z0-9_./-]{0,254}", "letters, digits, '_', '.', '/' or '-'"),
    "network": (r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", "letters, digits, '_', '.' or '-'"),
    "image": (
        r"[A-Za-z0-9][A-Za-z0-9._/:@+-]{0,511}",
        "an image reference like registry.example.net/team/web:1.4 or an image ID",
    ),
    "volume": (
        r"[A-Za-z0-9_./@+-]{1,512}:/[A-Za-z0-9_./@+-]{0,511}(?::[a-z,]{1,40})?",
        "SOURCE:TARGET[:MODE], like /srv/data:/data:ro or cache:/cache",
    ),
    "hostname": (
        r"(?=.{1,253}\Z)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*",
        "a host name",
    ),
    # OpenPGP v4 (40 hex digits) or v5/v6 (64) fingerprint, upper case, spaces removed by the caller
    "pgp_fingerprint": (r"[0-9A-F]{40}(?:[0-9A-F]{24})?", "the key's full fingerprint: 40 (or 64) hex digits"),
    # apt repository base URL: goes into a sources.list line, so no spaces, brackets or quotes
    "apt_url": (
        r"https?://[A-Za-z0-9.-]{1,253}(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~%+-]+)*/?",
        "an http(s) URL like https://download.docker.com/linux (no spaces, query or brackets)",
    ),
    # HTTP basic auth in a config line (HAProxy `stats auth user:password`): nothing HAProxy splits, quotes,
    # escapes, expands or comments out (space, quotes, '\\', '$', '#'), no ':' in the user, no '{' (Jinja)
    "basic_auth_user": (
        r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}",
        "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
    ),
    "basic_auth_password": (
        r"[A-Za-z0-9!%&()*+,./:;<=>?@^_|~-]{8,128}",
        "8-128 letters, digits or punctuation other than spaces, quotes, '#', '$', '\\', '`', '[', ']', '{' and '}'",
    ),
}
_COMPILED = {kind: re.compile(pattern + r"\Z") for kind, (pattern, _unused) in _PATTERNS.items()}


class NotAllowed(ValueError):
    """A value is outside its allow-list; the message names the field, shows the value (cut) and what fits."""


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check(kind: str, value: Any, where: str) -> str:
    """`value` as a str when it fits `kind`'s allow-list, else NotAllowed naming `where`."""
    if isinstance(value, str) and _COMPILED[kind].match(value):
        return value
    raise NotAllowed(f"{where}: {_show(value)} is not allowed; use {_PATTERNS[kind][1]}")


def address(value: Any, where: str) -> str:
    """An IPv4/IPv6 address or a host name."""
    text = value if isinstance(value, str) else ""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    if _COMPILED["hostname"].match(text):
        return text
    raise NotAllowed(f"{where}: {_show(value)} is not allowed; use an IP address or a host name")


def port(value: Any, where: str) -> int:
    """A TCP/UDP port number, 1-65535 (an int, or a str of digits only)."""
    if isinstance(value, bool):
        number = -1
    elif isinstance(value, int):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"[0-9]{1,5}", value):
        number = int(value)
    else:
        number = -1
    if not 1 <= number <= 65535:
        raise NotAllowed(f"{where}: {_show(value)} is not allowed; use a port number from 1 to 65535")
    return number


def whole(value: Any, where: str, low: int, high: int) -> int:
    """A whole number within [low, high]."""
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
        return value
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,9}", value) and low <= int(value) <= high:
        return int(value)
    raise NotAllowed(f"{where}: {_show(value)} is not allowed; use a whole number from {low} to {high}")


# ---------------------------------------------------------------------------------------------- Prometheus client
# Kinds for the autoscale module's Prometheus client, compiled like the table above (anchored with \Z).
_PATTERNS.update(
    {
        # A base URL: no userinfo ('@'), query, fragment, spaces, quotes or control characters
        "http_url": (
            r"https?://[A-Za-z0-9._~!&()*+,;=:%/\[\]-]{1,2048}",
            "an http(s) URL like http://mon1:9090 or https://mon1.example.net/prometheus",
        ),
        # HTTP basic auth (RFC 7617), sent base64-encoded in a header: the user without ':', no control characters
        "http_user": (r"[!-9;-~]{1,256}", "1-256 printable ASCII characters other than ':' and space"),
        "http_password": (r"[^\x00-\x1f\x7f-\x9f]{1,1024}", "1-1024 characters, no control characters"),
        # Bearer token (RFC 6750 token68)
        "bearer_token": (r"[A-Za-z0-9._~+/-]{1,8192}={0,2}", "letters, digits and '-._~+/', then up to two '='"),
    }
)
_COMPILED.update(
    {
        kind: re.compile(_PATTERNS[kind][0] + r"\Z")
        for kind in ("http_url", "http_user", "http_password", "bearer_token")
    }
)

# --------------------------------------------------------------------------------------------- HAProxy edge
# Kinds for the load balancer's routing and per-server settings (haproxy/config.py), anchored like the others.
_PATTERNS.update(
    {
        # A Host header value HAProxy matches (lower case compared): a DNS name, no port, no wildcard
        "lb_host": (
            r"(?=.{1,253}\Z)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*",
            "a host name like shop.example.net (no port, scheme or wildcard)",
        ),
        # A path prefix: RFC 3986 path characters without quotes, '$', '#', '\\', spaces or a query
        "lb_path": (r"/[A-Za-z0-9._~!&()*+,;=:@%/-]{0,1023}", "a path prefix like /api or /static/"),
        # What a weight or maxconn is keyed by: an inventory host, optionally /<replica index> (survives deploys)
        "lb_server_key": (
            r"[A-Za-z0-9][A-Za-z0-9_.-]{0,199}(?:/[0-9]{1,5})?",
            "an inventory host name, or host/replica index like node2/1",
        ),
        # A TLS certificate's name (its file name under the certificates directory)
        "tls_name": (r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", "1-64 letters, digits, '_', '.' or '-'"),
    }
)
_COMPILED.update(
    {kind: re.compile(_PATTERNS[kind][0] + r"\Z") for kind in ("lb_host", "lb_path", "lb_server_key", "tls_name")}
)
