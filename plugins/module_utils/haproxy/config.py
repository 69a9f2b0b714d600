# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""HAProxy configuration as data: endpoints + per-service LB settings in, backends out; server lines edited in text.

Pure functions (no host access).  Used by the `containerops.fleet.haproxy_backends` filter (which the
`containerops.fleet.haproxy` role's template renders) and by the `haproxy_server` module, which keeps
server lines in the running configuration file in step with the changes it makes at runtime.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.containerops.fleet.plugins.module_utils import allow
from ansible_collections.containerops.fleet.plugins.module_utils.service.endpoints import (
    server_name as endpoint_server_name,
)
from ansible_collections.containerops.fleet.plugins.module_utils.service.schema import BALANCE_ALGORITHMS

SECTION_KEYWORDS = (
    "global",
    "defaults",
    "frontend",
    "backend",
    "listen",
    "userlist",
    "peers",
    "resolvers",
    "mailers",
    "program",
    "http-errors",
    "ring",
    "cache",
)


class HaproxyConfigError(ValueError):
    """The load-balancer settings are inconsistent; the message names the field and the fix."""


def _allowed(kind: str, value: Any, where: str) -> Any:
    """Every value rendered into haproxy.cfg passes its allow-list (allow.py) first."""
    try:
        if kind == "address":
            return allow.address(value, where)
        if kind == "port":
            return allow.port(value, where)
        if kind == "retries":
            return allow.whole(value, where, 0, 100)
        return allow.check(kind, value, where)
    except allow.NotAllowed as exc:
        raise HaproxyConfigError(str(exc)) from None


def server_name(endpoint: dict[str, Any]) -> str:
    """One server per replica (the name its endpoint was built with)."""
    return endpoint_server_name(endpoint["host"], endpoint["container"])


def _weights(service: dict[str, Any], eps: list[dict[str, Any]]) -> list[int | None]:
    name = service["name"]
    weights = service.get("weights")
    if weights in (None, {}, []):
        return [None] * len(eps)
    if isinstance(weights, dict):
        known = {ep["container"] for ep in eps} | {server_name(ep) for ep in eps}
        unknown = sorted(set(weights) - known)
        if unknown:
            raise HaproxyConfigError(
                f"haproxy_services[{name}].weights: no replica named {', '.join(unknown)}; "
                f"use container names of the running replicas ({', '.join(sorted(ep['container'] for ep in eps))})"
            )
        found = [weights.get(server_name(ep), weights.get(ep["container"])) for ep in eps]
    elif isinstance(weights, (list, tuple)):
        if len(weights) != len(eps):
            raise HaproxyConfigError(
                f"haproxy_services[{name}].weights: {len(weights)} weights for {len(eps)} replicas; "
                "give one weight per replica (in host, replica order) or a dict container -> weight"
            )
        found = list(weights)
    else:
        raise HaproxyConfigError(
            f"haproxy_services[{name}].weights: {weights!r} is neither a list nor a dict container -> weight"
        )
    result: list[int | None] = []
    for value in found:
        if value is None:
            result.append(None)
            continue
        try:
            weight = int(value)
        except (TypeError, ValueError):
            weight = -1
        if not 0 <= weight <= 256:
            raise HaproxyConfigError(f"haproxy_services[{name}].weights: {value!r} is not a weight from 0 to 256")
        result.append(weight)
    return result


def backends(services: list[dict[str, Any]], endpoints: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per service: frontend port, balance, health path, retries and one server per running replica.

    `endpoints` is the list documented in docs/endpoints.md; a service with no endpoints gets a backend
    without servers (HAProxy answers 503 until replicas exist).
    """
    result: list[dict[str, Any]] = []
    seen_names: set[str] = set()
    seen_ports: dict[int, str] = {}
    for index, service in enumerate(services or []):
        if not isinstance(service, dict) or not service.get("name"):
            raise HaproxyConfigError(f"haproxy_services[{index}]: every service needs a name (the deployed service's)")
        name = _allowed("server", service["name"], f"haproxy_services[{str(service['name'])[:40]!r}].name")
        if name in seen_names:
            raise HaproxyConfigError(f"haproxy_services[{name}]: listed twice; list each service once")
        seen_names.add(name)
        try:
            port = int(service.get("port"))
        except (TypeError, ValueError):
            port = 0
        if not 0 < port < 65536:
            raise HaproxyConfigError(
                f"haproxy_services[{name}].port: {service.get('port')!r} is not a TCP port; set the frontend bind port"
            )
        if port in seen_ports:
            raise HaproxyConfigError(
                f"haproxy_services[{name}].port: {port} is already the port of {seen_ports[port]}; give each its own"
            )
        seen_ports[port] = name
        eps = sorted(
            (ep for ep in endpoints or [] if ep.get("service") == name),
            key=lambda ep: (str(ep.get("host", "")), int(ep.get("replica") or 0), str(ep.get("container", ""))),
        )
        health_path = service.get("health_path") or next(
            (ep["health_path"] for ep in eps if ep.get("health_path")), None
        )
        if health_path is not None:
            health_path = _allowed("http_path", health_path, f"haproxy_services[{name}].health_path")
        balance = str(service.get("balance") or "roundrobin")
        if balance not in BALANCE_ALGORITHMS:
            raise HaproxyConfigError(
                f"haproxy_services[{name}].balance: {balance[:40]!r} is not one of {', '.join(BALANCE_ALGORITHMS)}"
            )
        retries = service.get("retries")
        if retries is not None:
            retries = _allowed("retries", retries, f"haproxy_services[{name}].retries")
        servers = [
            {
                "name": _allowed("server", server_name(ep), f"haproxy_services[{name}] server"),
                "address": _allowed("address", ep["address"], f"haproxy_services[{name}] server {ep['container']}"),
                "port": _allowed("port", ep["port"], f"haproxy_services[{name}] server {ep['container']}"),
                "weight": weight,
            }
            for ep, weight in zip(eps, _weights(service, eps))
        ]
        result.append(
            {
                "name": name,
                "port": port,
                "balance": balance,
                "health_path": health_path,
                "retries": retries,
                "servers": servers,
            }
        )
    return result


# --------------------------------------------------------------------------- server lines in the config text


def server_line(name: str, address: str, port: int, weight: int | None = None) -> str:
    line = f"server {name} {address}:{port}"
    return f"{line} weight {weight}" if weight is not None else line


def _section_bounds(lines: list[str], backend: str) -> tuple[int, int]:
    """(index of the `backend <name>` line, index one past its last line)."""
    start = None
    for i, line in enumerate(lines):
        words = line.split()
        if not words or words[0] not in SECTION_KEYWORDS:
            continue
        if start is not None:
            return start, i
        if words[0] in ("backend", "listen") and len(words) > 1 and words[1] == backend:
            start = i
    if start is None:
        raise HaproxyConfigError(f"backend {backend!r} is not in the configuration file; check the backend name")
    return start, len(lines)


def _is_server(line: str, name: str | None = None) -> bool:
    words = line.split()
    return len(words) > 1 and words[0] == "server" and (name is None or words[1] == name)


def config_server(text: str, backend: str, name: str) -> str | None:
    """The `server` line for backend/name in the config text (stripped), or None."""
    lines = text.splitlines()
    start, end = _section_bounds(lines, backend)
    return next((ln.strip() for ln in lines[start:end] if _is_server(ln, name)), None)


def set_config_server(text: str, backend: str, name: str, line: str | None) -> str:
    """Replace, add (after the backend's last server line) or, with line=None, remove backend/name's line."""
    lines = text.splitlines()
    start, end = _section_bounds(lines, backend)
    body = lines[start + 1 : end]
    indent = next((ln[: len(ln) - len(ln.lstrip())] for ln in body if ln.strip()), "    ")
    kept = [ln for ln in body if not _is_server(ln, name)]
    existing = [i for i, ln in enumerate(body) if _is_server(ln, name)]
    if line is not None:
        if existing:
            pos = existing[0]
        else:
            # after the backend's last server line, else after the section's last non-blank line
            servers = [i for i, ln in enumerate(kept) if _is_server(ln)] or [
                i for i, ln in enumerate(kept) if ln.strip()
            ]
            pos = servers[-1] + 1 if servers else 0
        kept.insert(pos, indent + line)
    new = lines[: start + 1] + kept + lines[end:]
    return "\n".join(new) + ("\n" if text.endswith("\n") else "")


def default_server_options(text: str, backend: str) -> list[str]:
    """The words of the backend's `default-server` line (dynamic servers do not inherit it in HAProxy 2.6)."""
    lines = text.splitlines()
    start, end = _section_bounds(lines, backend)
    for line in lines[start + 1 : end]:
        words = line.split("#", 1)[0].split()
        if words and words[0] == "default-server":
            return words[1:]
    return []
