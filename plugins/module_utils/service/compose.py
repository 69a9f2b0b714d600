# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""docker-compose (v3) services -> containerops.fleet service definitions.  Pure.

Every key is either mapped or reported by name: nothing is dropped silently.
"""

from __future__ import annotations

import re
import shlex
from typing import Any
from urllib.parse import urlparse

SUPPORTED = {
    "image",
    "command",
    "environment",
    "ports",
    "healthcheck",
    "deploy",
    "volumes",
    "labels",
    "restart",
    "networks",
    "container_name",
}
SUPPORTED_DEPLOY = {"replicas", "resources", "update_config", "restart_policy", "labels", "mode"}
TOP_LEVEL = {"version", "services", "name", "networks"}
_RESTART = {"no": "no", "always": "always", "unless-stopped": "unless-stopped", "on-failure": "on-failure"}
_CONDITION = {"none": "no", "on-failure": "on-failure", "any": "unless-stopped"}


class ComposeError(ValueError):
    """The compose file uses something that cannot be deployed as asked; the message names it."""


def _duration(value: Any) -> float:
    """Compose durations: 1m30s, 10s, 500ms, or a number of seconds."""
    if isinstance(value, (int, float)):
        return float(value)
    total, found = 0.0, False
    for num, unit in re.findall(r"(\d+(?:\.\d+)?)(us|ms|s|m|h)", str(value)):
        total += float(num) * {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}[unit]
        found = True
    if not found:
        raise ComposeError(f"{value!r} is not a compose duration (e.g. 10s, 1m30s)")
    return total


def _env(value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        return {str(k): "" if v is None else str(v) for k, v in value.items()}
    env = {}
    for item in value or []:
        key, _unused, val = str(item).partition("=")
        env[key] = val
    return env


def _ports(where: str, value: list[Any]) -> tuple[list[dict[str, Any]], int | None]:
    """Container ports, and the first published port (the load balancer's frontend port)."""
    ports, published = [], None
    for item in value or []:
        if isinstance(item, dict):
            target, pub, proto = item.get("target"), item.get("published"), item.get("protocol", "tcp")
        else:
            text, _unused, proto = str(item).partition("/")
            parts = text.split(":")
            target, pub = parts[-1], (parts[-2] if len(parts) > 1 else None)
            proto = proto or "tcp"
        if target is None or not str(target).isdigit():
            raise ComposeError(f"{where}.ports: {item!r} has no single container port (ranges are not supported)")
        ports.append({"container": int(target), "protocol": proto})
        if published is None and pub not in (None, ""):
            published = int(pub)
    return ports, published


def _healthcheck(where: str, hc: dict[str, Any]) -> dict[str, Any] | None:
    if not hc or hc.get("disable"):
        return None
    unknown = set(hc) - {"test", "interval", "timeout", "retries", "start_period", "disable"}
    if unknown:
        raise ComposeError(f"{where}.healthcheck: unsupported keys {', '.join(sorted(unknown))}")
    test = hc.get("test")
    out: dict[str, Any] = {}
    if isinstance(test, str):
        command: Any = test
    elif isinstance(test, list) and test and test[0] in ("CMD", "CMD-SHELL"):
        command = test[1:] if test[0] == "CMD" else " ".join(test[1:])
    elif isinstance(test, list) and test and test[0] == "NONE":
        return None
    else:
        raise ComposeError(f"{where}.healthcheck.test: {test!r} must be a string or [CMD, ...] / [CMD-SHELL, ...]")
    words = shlex.split(command) if isinstance(command, str) else [str(w) for w in command]
    url = next((w for w in words if w.startswith(("http://", "https://"))), None)
    host = urlparse(url).hostname if url else None
    if url and words and words[0] in ("curl", "wget") and host in ("localhost", "127.0.0.1"):
        parsed = urlparse(url)
        out["http_path"] = parsed.path or "/"
        if parsed.port:
            out["port"] = parsed.port
    else:
        out["command"] = command
    for key in ("interval", "timeout", "start_period"):
        if key in hc:
            out[key] = _duration(hc[key])
    if "retries" in hc:
        out["retries"] = int(hc["retries"])
    return out


def convert(compose: dict[str, Any], ignore: list[str] | None = None) -> list[dict[str, Any]]:
    """Compose document -> list of service definitions (roles/service), in file order.

    `ignore` names keys (like `build` or `services.web.depends_on`) the caller accepts to drop.
    """
    ignore_set = set(ignore or [])
    if not isinstance(compose, dict) or not isinstance(compose.get("services"), dict):
        raise ComposeError("the compose file has no 'services' mapping")
    problems = [f"top-level key {k!r}" for k in compose if k not in TOP_LEVEL and k not in ignore_set]
    services = []
    for name, svc in compose["services"].items():
        where = f"services.{name}"
        svc = svc or {}
        unsupported = [
            k for k in svc if k not in SUPPORTED and k not in ignore_set and f"{where}.{k}" not in ignore_set
        ]
        deploy = svc.get("deploy") or {}
        unsupported += [
            f"deploy.{k}"
            for k in deploy
            if k not in SUPPORTED_DEPLOY and f"deploy.{k}" not in ignore_set and f"{where}.deploy.{k}" not in ignore_set
        ]
        if unsupported:
            problems.append(f"{where}: {', '.join(unsupported)}")
            continue
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,40}", name):
            problems.append(f"{where}: the name {name!r} must be lowercase letters, digits and dashes")
            continue
        if not svc.get("image"):
            problems.append(f"{where}: 'image' is required (build the image with containerops.fleet.container_image)")
            continue
        if deploy.get("mode", "replicated") != "replicated":
            problems.append(f"{where}: deploy.mode {deploy['mode']!r} (only replicated)")
            continue
        ports, published = _ports(where, svc.get("ports"))
        definition: dict[str, Any] = {
            "name": name,
            "image": svc["image"],
            "replicas": int(deploy.get("replicas", 1)),
            "ports": ports,
        }
        if svc.get("command"):
            definition["command"] = svc["command"]
        if svc.get("environment"):
            definition["env"] = _env(svc["environment"])
        labels = {**_env(svc.get("labels") or {}), **_env(deploy.get("labels") or {})}
        if labels:
            definition["labels"] = labels
        if svc.get("volumes"):
            definition["volumes"] = [
                v if isinstance(v, str) else f"{v['source']}:{v['target']}" for v in svc["volumes"]
            ]
        if svc.get("networks"):
            definition["networks"] = list(svc["networks"])
        hc = _healthcheck(where, svc.get("healthcheck") or {})
        if hc:
            definition["healthcheck"] = hc
        limits = ((deploy.get("resources") or {}).get("limits")) or {}
        if limits:
            definition["resources"] = {k: limits[k] for k in ("cpus", "memory") if k in limits}
            if "cpus" in definition["resources"]:
                definition["resources"]["cpus"] = float(definition["resources"]["cpus"])
        upd = deploy.get("update_config") or {}
        if upd:
            definition["update"] = {
                k: (_duration(v) if k == "monitor" else v)
                for k, v in upd.items()
                if k in ("parallelism", "order", "failure_action", "monitor", "max_failure_ratio")
            }
        if svc.get("restart"):
            definition["restart_policy"] = _RESTART.get(svc["restart"].split(":")[0], "unless-stopped")
        cond = (deploy.get("restart_policy") or {}).get("condition")
        if cond:
            definition["restart_policy"] = _CONDITION.get(cond, "unless-stopped")
        if published:
            definition["lb"] = {"port": published}
        services.append(definition)
    if problems:
        raise ComposeError(
            "unsupported compose input (list it in fleet_compose_ignore to drop it on purpose): " + "; ".join(problems)
        )
    return services
