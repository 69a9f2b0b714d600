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


MODES = ("http", "tcp")
# The backend that answers 404 on a frontend where no service is the default (never a service name: no '_' there).
NOT_FOUND = "_fleet_not_found"
HTTPS_FRONTEND = "fe_https"


def _allowed(kind: str, value: Any, where: str) -> Any:
    """Every value rendered into haproxy.cfg passes its allow-list (allow.py) first."""
    try:
        if kind == "address":
            return allow.address(value, where)
        if kind == "port":
            return allow.port(value, where)
        if kind == "retries":
            return allow.whole(value, where, 0, 100)
        if kind == "weight":
            return allow.whole(value, where, 0, 256)
        if kind == "maxconn":
            return allow.whole(value, where, 1, 1_000_000)
        if kind == "hsts":
            return allow.whole(value, where, 0, 100_000_000)
        return allow.check(kind, value, where)
    except allow.NotAllowed as exc:
        raise HaproxyConfigError(str(exc)) from None


def _flag(lb: dict[str, Any], key: str, where: str) -> bool:
    value = lb.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise HaproxyConfigError(f"{where}.{key}: {value!r} is not allowed; use true or false")
    return value


def _names(lb: dict[str, Any], key: str, kind: str, where: str) -> list[str]:
    value = lb.get(key)
    if value in (None, []):
        return []
    if not isinstance(value, list):
        raise HaproxyConfigError(
            f"{where}.{key}: give a list, like [{'shop.example.net' if kind == 'lb_host' else '/api'}]"
        )
    out = [_allowed(kind, item, f"{where}.{key}[{i}]") for i, item in enumerate(value)]
    if kind == "lb_host":
        out = [item.lower() for item in out]
    if len(set(out)) != len(out):
        raise HaproxyConfigError(
            f"{where}.{key}: {', '.join(sorted({x for x in out if out.count(x) > 1}))} listed twice"
        )
    return out


def _keyed(value: Any, key: str, kind: str, where: str, single: bool) -> dict[str, int] | int | None:
    """weights / maxconn: a dict host or host/replica -> number (maxconn also one number for every server)."""
    if value in (None, {}):
        return None
    if single and not isinstance(value, dict):
        return _allowed(kind, value, f"{where}.{key}")
    if not isinstance(value, dict):
        raise HaproxyConfigError(
            f"{where}.{key}: key it by inventory host or host/replica, like {{node1: 1, node2: 2, node3/1: 3}} "
            "(a list by position or a container name does not survive a deploy or a scale)"
        )
    return {
        _allowed("lb_server_key", name, f"{where}.{key} key"): _allowed(kind, number, f"{where}.{key}.{name}")
        for name, number in value.items()
    }


def check_lb(lb: Any, where: str = "lb", need_port: bool = True) -> dict[str, Any]:
    """One service's `lb` section, every value against its allow-list and the rules between fields.

    Returns the settings normalised (mode, hosts, paths, flags, weights, maxconn); raises HaproxyConfigError naming
    the field as `<where>.<field>`.  Run by the schema (preflight, before any host is touched) and by the renderer.
    need_port=False: a kubernetes service (its cluster's Service is the frontend) needs no HAProxy port.
    """
    if not isinstance(lb, dict):
        raise HaproxyConfigError(f"{where}: must be a mapping of load-balancer settings")
    mode = lb.get("mode") or "http"
    if mode not in MODES:
        raise HaproxyConfigError(f"{where}.mode: {str(mode)[:40]!r} is not one of {', '.join(MODES)}")
    port = lb.get("port")
    if port is not None:
        port = _allowed("port", port, f"{where}.port")
    balance = lb.get("balance") or "roundrobin"
    if balance not in BALANCE_ALGORITHMS:
        raise HaproxyConfigError(
            f"{where}.balance: {str(balance)[:40]!r} is not one of {', '.join(BALANCE_ALGORITHMS)}"
        )
    out: dict[str, Any] = {
        "mode": mode,
        "port": port,
        "balance": balance,
        "hosts": _names(lb, "hosts", "lb_host", where),
        "paths": _names(lb, "paths", "lb_path", where),
        "default": _flag(lb, "default", where),
        "tls": _flag(lb, "tls", where),
        "redirect_https": _flag(lb, "redirect_https", where),
        "proxy_protocol": _flag(lb, "proxy_protocol", where),
        "hsts": _allowed("hsts", lb["hsts"], f"{where}.hsts") if lb.get("hsts") is not None else 0,
        "retries": _allowed("retries", lb["retries"], f"{where}.retries") if lb.get("retries") is not None else None,
        "health_path": (
            _allowed("http_path", lb["health_path"], f"{where}.health_path")
            if lb.get("health_path") is not None
            else None
        ),
        "weights": _keyed(lb.get("weights"), "weights", "weight", where, single=False),
        "maxconn": _keyed(lb.get("maxconn"), "maxconn", "maxconn", where, single=True),
    }
    if mode == "tcp":
        for key in ("hosts", "paths", "default", "tls", "redirect_https", "hsts", "health_path"):
            if out[key]:
                raise HaproxyConfigError(
                    f"{where}.{key}: HTTP only; a mode tcp service has its own port and a TCP health check"
                )
        if port is None and need_port:
            raise HaproxyConfigError(f"{where}.port: a mode tcp service needs its own frontend port")
    elif port is None and not out["tls"] and need_port:
        raise HaproxyConfigError(f"{where}.port: missing; give the frontend port, or tls: true for the HTTPS frontend")
    if out["redirect_https"] and not out["tls"]:
        raise HaproxyConfigError(f"{where}.redirect_https: needs tls: true (the HTTPS frontend serves the service)")
    if out["hsts"] and not out["tls"]:
        raise HaproxyConfigError(f"{where}.hsts: needs tls: true (browsers take HSTS from HTTPS answers only)")
    return out


def server_name(endpoint: dict[str, Any]) -> str:
    """One server per replica (the name its endpoint was built with)."""
    return endpoint_server_name(endpoint["host"], endpoint["container"])


def _per_server(
    table: dict[str, int] | int | None, eps: list[dict[str, Any]], field: str, known: set[str] | None
) -> list[int | None]:
    """The value for each endpoint: its `host/replica` key, else its `host` key (one number: every server)."""
    if table is None:
        return [None] * len(eps)
    if isinstance(table, int):
        return [table] * len(eps)
    if known is not None:
        unknown = sorted(k for k in table if k.split("/", 1)[0] not in known)
        if unknown:
            raise HaproxyConfigError(
                f"{field}: no inventory host named {', '.join(unknown)}; key by host or host/replica "
                f"({', '.join(sorted(known)) or 'no hosts'})"
            )
    return [table.get(f"{ep['host']}/{int(ep.get('replica') or 0)}", table.get(str(ep["host"]))) for ep in eps]


def backends(
    services: list[dict[str, Any]], endpoints: list[dict[str, Any]], hosts: list[str] | None = None
) -> list[dict[str, Any]]:
    """Per service: its checked lb settings and one server per running replica.

    `endpoints` is the list documented in docs/endpoints.md; a service with no endpoints gets a backend
    without servers (HAProxy answers 503 until replicas exist).  `hosts`, when given, are the inventory hosts
    weights and maxconn may be keyed by (a typo is refused rather than silently ignored).
    """
    result: list[dict[str, Any]] = []
    seen_names: set[str] = set()
    known = {str(h) for h in hosts} if hosts is not None else None
    for index, service in enumerate(services or []):
        if not isinstance(service, dict) or not service.get("name"):
            raise HaproxyConfigError(f"haproxy_services[{index}]: every service needs a name (the deployed service's)")
        name = _allowed("service", service["name"], f"haproxy_services[{str(service['name'])[:40]!r}].name")
        if name in seen_names:
            raise HaproxyConfigError(f"haproxy_services[{name}]: listed twice; list each service once")
        seen_names.add(name)
        where = f"haproxy_services[{name}]"
        settings = check_lb({k: v for k, v in service.items() if k not in ("name", "metrics_path")}, where)
        eps = sorted(
            (ep for ep in endpoints or [] if ep.get("service") == name),
            key=lambda ep: (str(ep.get("host", "")), int(ep.get("replica") or 0), str(ep.get("container", ""))),
        )
        health_path = None
        if settings["mode"] == "http":
            health_path = settings["health_path"] or next(
                (ep["health_path"] for ep in eps if ep.get("health_path")), None
            )
            if health_path is not None:
                health_path = _allowed("http_path", health_path, f"{where}.health_path")
        weights = _per_server(settings["weights"], eps, f"{where}.weights", known)
        maxconns = _per_server(settings["maxconn"], eps, f"{where}.maxconn", known)
        servers = [
            {
                "name": _allowed("server", server_name(ep), f"{where} server"),
                "address": _allowed("address", ep["address"], f"{where} server {ep['container']}"),
                "port": _allowed("port", ep["port"], f"{where} server {ep['container']}"),
                "weight": weight,
                "maxconn": maxconn,
            }
            for ep, weight, maxconn in zip(eps, weights, maxconns)
        ]
        result.append({**settings, "name": name, "health_path": health_path, "servers": servers})
    return result


def frontends(
    backends_: list[dict[str, Any]],
    https_port: int | None = None,
    where: str = "haproxy_services",
    https_known: bool = True,
    section: str = "",
) -> list[dict[str, Any]]:
    """The frontends the backends need: one per port (services on one port routed by Host and path prefix), the
    HTTPS frontend (`https_port`, services with tls) and per frontend its rules, default backend and mode.

    Rules go most specific first: host and path, then host, then path (longer prefixes first).  A frontend with
    no default service sends what no rule matches to NOT_FOUND (a 404 naming no service).
    """
    by_port: dict[int, list[dict[str, Any]]] = {}
    for be in backends_:
        if be.get("port") is not None:
            by_port.setdefault(be["port"], []).append(be)
    if https_port is not None and https_port in by_port:
        raise HaproxyConfigError(
            f"{where}[{by_port[https_port][0]['name']}]{section}.port: {https_port} is the HTTPS frontend's port "
            "(haproxy_https_port); give the service another port or tls: true"
        )
    result = []
    for port in sorted(by_port):
        group = by_port[port]
        tcp = [be for be in group if be["mode"] == "tcp"]
        if tcp and len(group) > 1:
            others = ", ".join(be["name"] for be in group if be is not tcp[0])
            raise HaproxyConfigError(
                f"{where}[{tcp[0]['name']}]{section}.port: {port} is also the port of {others}; "
                "a mode tcp service has a port of its own (TCP carries no Host header to route by)"
            )
        name = f"fe_{group[0]['name']}" if len(group) == 1 else f"fe_port_{port}"
        result.append(_frontend(name, port, group, tls=False, where=where, section=section))
    tls = [be for be in backends_ if be.get("tls")]
    if tls and (https_port is not None or not https_known):
        # https_known=False (preflight): the load balancer's port is not known yet, the routes are checked alone
        result.append(_frontend(HTTPS_FRONTEND, https_port or 0, tls, tls=True, where=where, section=section))
    elif tls:
        raise HaproxyConfigError(
            f"{where}[{tls[0]['name']}]{section}.tls: no HTTPS frontend; give the load balancer certificates "
            "(haproxy_tls_certificates) and haproxy_https_port"
        )
    return result


def _frontend(name: str, port: int, group: list[dict[str, Any]], tls: bool, where: str, section: str) -> dict[str, Any]:
    if group[0]["mode"] == "tcp":
        return {"name": name, "port": port, "mode": "tcp", "tls": False, "rules": [], "default": group[0]["name"]}
    # the default: a service marked default: true, else the one without hosts and paths; never two
    defaults = [be for be in group if be["default"]]
    defaults += [be for be in group if not be["hosts"] and not be["paths"] and not be["default"]]
    if len(defaults) > 1:
        names = " and ".join(be["name"] for be in defaults)
        on = "the HTTPS frontend" if tls else f"port {port}"
        raise HaproxyConfigError(
            f"{where}[{defaults[1]['name']}]{section}.default: {names} would both be the default of {on}; "
            "give one of them hosts or paths to route by (or default: true to only one)"
        )
    seen: dict[tuple[str | None, str | None], str] = {}
    for be in group:
        for host in be["hosts"] or [None]:
            for path in be["paths"] or [None]:
                if (host, path) == (None, None):
                    continue
                if (host, path) in seen:
                    raise HaproxyConfigError(
                        f"{where}[{be['name']}]{section}.hosts: host {host or '*'} path {path or '*'} "
                        f"is already routed to {seen[(host, path)]}"
                    )
                seen[(host, path)] = be["name"]
    routed = [be for be in group if be["hosts"] or be["paths"]]
    routed.sort(
        key=lambda be: (not (be["hosts"] and be["paths"]), not be["hosts"], -max(map(len, be["paths"] or [""])))
    )
    rules = [
        {
            "backend": be["name"],
            "hosts": be["hosts"],
            # "/api" matches /api and /api/..., never /apiary; "/api/" and "/" match what starts with them
            "exact": [p for p in be["paths"] if not p.endswith("/")],
            "prefixes": [p if p.endswith("/") else p + "/" for p in be["paths"]],
        }
        for be in routed
    ]
    return {
        "name": name,
        "port": port,
        "mode": "http",
        "tls": tls,
        "rules": rules,
        "default": defaults[0]["name"] if defaults else NOT_FOUND,
    }


def check_routes(services: list[dict[str, Any]], where: str) -> None:
    """Rules between services (ports, routes, defaults) on their lb settings alone: run by preflight."""
    checked = [{**check_lb(s["lb"], f"{where}[{s['name']}].lb"), "name": s["name"]} for s in services]
    frontends(checked, where=where, https_known=False, section=".lb")


def tls_certificates(
    certificates: Any, directory: str, where: str = "haproxy_tls_certificates"
) -> list[dict[str, Any]]:
    """The certificates to install: name, file (under `directory`), SNI names; the first is the default one.

    Only the names and PEM markers are checked here (never echoed: a key is a secret); `haproxy -c` reads
    the files themselves before the configuration is installed.
    """
    if certificates in (None, []):
        return []
    if not isinstance(certificates, list):
        raise HaproxyConfigError(f"{where}: give a list of {{name, cert, key, sni}}")
    out = []
    seen: set[str] = set()
    for i, cert in enumerate(certificates):
        if not isinstance(cert, dict):
            raise HaproxyConfigError(f"{where}[{i}]: give a mapping with name, cert and key")
        name = _allowed("tls_name", cert.get("name"), f"{where}[{i}].name")
        if name in seen:
            raise HaproxyConfigError(f"{where}[{i}].name: {name} is listed twice")
        seen.add(name)
        if "-----BEGIN CERTIFICATE-----" not in str(cert.get("cert") or ""):
            raise HaproxyConfigError(f"{where}[{name}].cert: not a PEM certificate (-----BEGIN CERTIFICATE-----)")
        key = str(cert.get("key") or "")
        if not ("-----BEGIN " in key and "PRIVATE KEY-----" in key):
            raise HaproxyConfigError(f"{where}[{name}].key: not a PEM private key (the value is not shown)")
        sni = _names(cert, "sni", "lb_host", f"{where}[{name}]")
        out.append({"name": name, "file": f"{directory.rstrip('/')}/{name}.pem", "sni": sni})
    return out


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
