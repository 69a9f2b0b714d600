# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The service definition: its one schema.

``SERVICE_OPTIONS`` is an Ansible argument spec (types, choices, defaults, suboptions at every depth).
``container_service`` is built from it, the service role's ``meta/argument_specs.yml`` and the
``service`` doc fragment are checked against it by unit tests, and :func:`validate` checks a whole
``fleet_services`` list on the controller before any host is touched, naming each bad field by its full
path (``fleet_services[web].healthcheck.http_pth``) and the names allowed there.

What an argument spec cannot say (cross-field rules, formats) is in ``spec.normalize``; :func:`validate`
runs it too, so preflight refuses what a deploy would refuse.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from ansible_collections.containerops.fleet.plugins.module_utils.image.options import registry_auth_option

PLATFORMS = ("docker", "swarm", "kubernetes")
RESTART_POLICIES = ("no", "always", "unless-stopped", "on-failure")
# HAProxy balance algorithms a service may choose (the haproxy renderer refuses any other).
BALANCE_ALGORITHMS = ("roundrobin", "static-rr", "leastconn", "first", "random", "source", "uri")
DEFAULT_HOST_RANGE = "20000-29999"

SERVICE_OPTIONS: dict[str, dict[str, Any]] = {
    "name": {"type": "str", "required": True},
    "image": {"type": "str"},
    "pull": {"type": "str", "choices": ["missing", "always", "never"], "default": "missing"},
    "registry_auth": registry_auth_option(),
    "build": {
        "type": "dict",
        "options": {
            "context": {"type": "str", "required": True},
            "dockerfile": {"type": "str"},
            "args": {"type": "dict"},
            "target": {"type": "str"},
            "push": {"type": "bool", "default": False},
        },
    },
    "archive": {"type": "str"},
    "replicas": {"type": "int", "default": 1},
    "placement": {"type": "str", "choices": ["spread", "binpack"], "default": "spread"},
    "platform": {"type": "str", "choices": list(PLATFORMS), "default": "docker"},
    "publish_mode": {"type": "str", "choices": ["host", "ingress"], "default": "host"},
    "endpoint_mode": {"type": "str", "choices": ["vip", "dnsrr"], "default": "vip"},
    "progress_deadline": {"type": "int", "default": 600},
    "command": {"type": "raw"},
    # no_log: never in the journal; container_service shows the keys with masked values in -vvv (runner.run).
    "env": {"type": "dict", "default": {}, "no_log": True},
    "ports": {
        "type": "list",
        "elements": "dict",
        "default": [],
        "options": {
            "container": {"type": "int", "required": True},
            "protocol": {"type": "str", "choices": ["tcp", "udp"], "default": "tcp"},
            "host_range": {"type": "str", "default": DEFAULT_HOST_RANGE},
        },
    },
    "volumes": {"type": "list", "elements": "str", "default": []},
    "labels": {"type": "dict", "default": {}},
    "healthcheck": {
        "type": "dict",
        "options": {
            "http_path": {"type": "str"},
            "command": {"type": "raw"},
            "port": {"type": "int"},
            "interval": {"type": "float", "default": 2},
            "timeout": {"type": "float", "default": 2},
            "retries": {"type": "int", "default": 3},
            "start_period": {"type": "float", "default": 0},
        },
        "mutually_exclusive": [["http_path", "command"]],
        "required_one_of": [["http_path", "command"]],
    },
    "resources": {
        "type": "dict",
        "options": {"cpus": {"type": "float"}, "memory": {"type": "str"}},
    },
    "restart_policy": {"type": "str", "choices": list(RESTART_POLICIES), "default": "unless-stopped"},
    "networks": {"type": "list", "elements": "str", "default": []},
    "bind_address": {"type": "str"},
    "metrics_path": {"type": "str"},
    "update": {
        "type": "dict",
        "options": {
            "parallelism": {"type": "int", "default": 1},
            "order": {"type": "str", "choices": ["start-first", "stop-first"], "default": "start-first"},
            "failure_action": {"type": "str", "choices": ["rollback", "pause"], "default": "rollback"},
            "monitor": {"type": "float", "default": 60},
            "max_failure_ratio": {"type": "float", "default": 0},
        },
    },
    "lb": {
        "type": "dict",
        "options": {
            "port": {"type": "int"},
            "node_port": {"type": "int"},
            "mode": {"type": "str", "choices": ["http", "tcp"]},
            "hosts": {"type": "list", "elements": "str"},
            "paths": {"type": "list", "elements": "str"},
            "default": {"type": "bool"},
            "tls": {"type": "bool"},
            "redirect_https": {"type": "bool"},
            "hsts": {"type": "int"},
            "proxy_protocol": {"type": "bool"},
            "balance": {"type": "str", "choices": list(BALANCE_ALGORITHMS)},
            "weights": {"type": "raw"},
            "maxconn": {"type": "raw"},
            "health_path": {"type": "str"},
            "retries": {"type": "int"},
        },
    },
    "autoscale": {
        "type": "dict",
        "options": {
            "min": {"type": "int", "default": 1},
            "max": {"type": "int", "required": True},
            "query": {"type": "str"},
            "target": {"type": "float"},
            "cpu_utilization": {"type": "int"},
            "memory_utilization": {"type": "int"},
            "tolerance": {"type": "float", "default": 0.1},
            "scale_down_stabilization": {"type": "int", "default": 300},
            "scale_up_limit": {"type": "int"},
            "scale_up_stabilization": {"type": "int", "default": 0},
            "scale_down_limit": {"type": "int"},
        },
        "required_together": [["query", "target"]],
    },
}


class DefinitionError(ValueError):
    """One or more fields of a service definition are invalid; the message names each by its full path."""


def _where(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _check_keys(value: Any, options: dict[str, Any], path: str, errors: list[str]) -> None:
    """Unknown keys at every depth, named by their full path with the names allowed there."""
    if not isinstance(value, dict):
        return
    for key in value:
        if key not in options:
            errors.append(
                f"{_where(path, str(key))}: unknown field; allowed here: {', '.join(sorted(options))}"
                + _suggest(str(key), options)
            )
            continue
        sub = options[key].get("options")
        child = value[key]
        if not sub or child is None:
            continue
        if options[key].get("type") == "list":
            for i, item in enumerate(child if isinstance(child, list) else []):
                _check_keys(item, sub, f"{_where(path, key)}[{i}]", errors)
        else:
            _check_keys(child, sub, _where(path, key), errors)


def _suggest(key: str, options: dict[str, Any]) -> str:
    """' (did you mean X?)' for a misspelt key: same letters give or take two."""
    best = [o for o in options if _distance(key, o) <= 2]
    return f" (did you mean {best[0]}?)" if best else ""


def _distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _label(definition: Any, index: int) -> str:
    name = definition.get("name") if isinstance(definition, dict) else None
    if isinstance(name, str) and re.fullmatch(r"[a-z0-9][a-z0-9-]{0,40}", name):
        return name
    return str(index)


def check_definition(definition: Any, where: str) -> dict[str, Any]:
    """One service definition -> the definition with defaults filled at every depth.

    Raises DefinitionError naming every bad field as ``<where>.<path>``.
    """
    # Imported here: the validator is ansible-core's own, so types and choices mean what they mean in a module.
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    if not isinstance(definition, dict):
        raise DefinitionError(f"{where}: must be a mapping of service fields, got {type(definition).__name__}")
    errors: list[str] = []
    _check_keys(definition, SERVICE_OPTIONS, "", errors)
    if errors:
        raise DefinitionError("; ".join(f"{where}.{e}" for e in errors))
    result = ArgumentSpecValidator(copy.deepcopy(SERVICE_OPTIONS)).validate(copy.deepcopy(definition))
    if result.error_messages:
        raise DefinitionError("; ".join(f"{where}: {m}" for m in result.error_messages))
    validated = result.validated_parameters
    # Cross-field rules and formats: the same function every platform's deploy runs.
    from ansible_collections.containerops.fleet.plugins.module_utils.service.spec import SpecError, normalize

    try:
        normalize(validated)
        check_settings(validated)
    except SpecError as exc:
        raise DefinitionError(f"{where}.{exc}") from None
    return validated


def check_settings(definition: dict[str, Any]) -> None:
    """Rules between the lb / autoscale sections and the rest of the definition."""
    from ansible_collections.containerops.fleet.plugins.module_utils.service.spec import SpecError

    if not definition.get("image"):
        raise SpecError("image: missing; give the image reference the replicas run, like registry.example.net/web:1.4")
    if definition.get("build") and definition.get("archive"):
        raise SpecError("build: give build or archive, not both (archive is an image saved elsewhere)")
    if (definition.get("build") or definition.get("archive")) and definition.get("pull") == "always":
        raise SpecError("pull: always pulls from a registry; an image from build or archive is never pulled")
    auto = definition.get("autoscale")
    if auto:
        if not 1 <= auto["min"] <= auto["max"]:
            raise SpecError(f"autoscale: needs 1 <= min <= max, got min {auto['min']}, max {auto['max']}")
        if definition.get("platform") == "kubernetes":
            if auto.get("query"):
                raise SpecError(
                    "autoscale.query: on platform kubernetes the HorizontalPodAutoscaler scales on "
                    "cpu_utilization or memory_utilization; a Prometheus query needs a custom metrics adapter"
                )
        elif auto.get("query") is None:
            raise SpecError(
                "autoscale: on platform docker and swarm the cron autoscaler needs query and target "
                "(cpu_utilization and memory_utilization are for platform kubernetes)"
            )
        else:
            for key in ("scale_up_stabilization", "scale_down_limit"):
                if auto.get(key):
                    raise SpecError(
                        f"autoscale.{key}: a HorizontalPodAutoscaler field (platform kubernetes); the cron autoscaler "
                        "on docker and swarm scales up at once and down to the stabilized recommendation"
                    )
        for key in ("cpu_utilization", "memory_utilization"):
            if auto.get(key) is not None and not 1 <= auto[key] <= 100:
                raise SpecError(f"autoscale.{key}: a percentage between 1 and 100, got {auto[key]}")
    _check_kubernetes(definition)
    lb = definition.get("lb")
    if lb is not None:
        # The one check of the lb section (values against allow-lists, rules between fields): the renderer's own.
        from ansible_collections.containerops.fleet.plugins.module_utils.haproxy.config import (
            HaproxyConfigError,
            check_lb,
        )

        try:
            check_lb(lb, need_port=definition.get("platform") != "kubernetes")
        except HaproxyConfigError as exc:
            raise SpecError(str(exc)) from None


def _check_kubernetes(definition: dict[str, Any]) -> None:
    """lb on kubernetes (a NodePort Service: needs ports; lb.node_port pins its port, for kubernetes only) and the
    HorizontalPodAutoscaler's behaviour bounds."""
    from ansible_collections.containerops.fleet.plugins.module_utils.service import k8s_manifest

    lb = definition.get("lb") or {}
    if definition.get("platform") == "kubernetes":
        from ansible_collections.containerops.fleet.plugins.module_utils.service.spec import normalize

        k8s_manifest.check_lb(normalize(definition), lb)
        if definition.get("autoscale"):
            k8s_manifest.check_behavior(definition["autoscale"])
    elif lb.get("node_port") is not None:
        from ansible_collections.containerops.fleet.plugins.module_utils.service.spec import SpecError

        raise SpecError(
            "lb.node_port: only for platform kubernetes (its NodePort Service); docker and swarm publish "
            "ports[].host_range on each host"
        )


def validate(services: Any, where: str = "fleet_services") -> list[dict[str, Any]]:
    """A list of service definitions -> the same with defaults filled; every error at once, by full path."""
    if not isinstance(services, list):
        raise DefinitionError(f"{where}: must be a list of service definitions")
    errors: list[str] = []
    out: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for i, definition in enumerate(services):
        label = _label(definition, i)
        try:
            out.append(check_definition(definition, f"{where}[{label}]"))
        except DefinitionError as exc:
            errors.append(str(exc))
            continue
        name = out[-1]["name"]
        if name in seen:
            errors.append(
                f"{where}[{label}].name: {name!r} is used by entries {seen[name]} and {i}; names must be unique"
            )
        seen.setdefault(name, i)
    if not errors:
        # Between services: ports, Host/path routes and defaults shared by the load balancer's frontends.
        from ansible_collections.containerops.fleet.plugins.module_utils.haproxy.config import (
            HaproxyConfigError,
            check_routes,
        )

        try:
            # kubernetes services too: HAProxy balances them over their node ports
            check_routes([d for d in out if d.get("lb")], where)
        except HaproxyConfigError as exc:
            errors.append(str(exc))
    if errors:
        raise DefinitionError("\n".join(errors))
    return out


def module_options() -> dict[str, Any]:
    """The service fields as container_service options (a fresh copy)."""
    return copy.deepcopy(SERVICE_OPTIONS)
