# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Prometheus targets derived from the inventory and from the service endpoints.

Pure functions (data in, data out); the `scrape_targets` and `file_sd_targets` filters are thin wrappers.
A target group is Prometheus' static_config / file_sd shape: ``{"targets": ["addr:port"], "labels": {...}}``.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

from ansible_collections.containerops.fleet.plugins.module_utils.inventory.address import host_address

_SERVICE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_METRICS_PATH = re.compile(r"^/\S*$")


class MonitoringError(ValueError):
    """Bad input for target derivation; the message names the field and the fix."""


def _port(value: Any, field: str) -> int:
    try:
        port = int(value)
    except (TypeError, ValueError):
        raise MonitoringError(f"{field}: {value!r} is not a port number; use an integer 1-65535") from None
    if isinstance(value, bool) or not 1 <= port <= 65535:
        raise MonitoringError(f"{field}: {value!r} is not a port number; use an integer 1-65535")
    return port


def join_host_port(address: str, port: int) -> str:
    """'10.0.0.1', 9100 -> '10.0.0.1:9100'; IPv6 addresses are bracketed."""
    if ":" in address and not address.startswith("["):
        return f"[{address}]:{port}"
    return f"{address}:{port}"


def static_targets(
    hosts: Iterable[str],
    hostvars: Mapping[str, Any],
    port: Any,
    labels: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """One target group per inventory host, labelled with its inventory name, sorted by name, no duplicates."""
    port = _port(port, "port")
    if isinstance(hosts, (str, bytes)):
        raise MonitoringError(f"hosts: {hosts!r} is a string; pass a list of inventory host names, e.g. groups['all']")
    groups = []
    for name in sorted(set(str(h) for h in hosts or [])):
        group_labels = {"host": name}
        group_labels.update({str(k): str(v) for k, v in (labels or {}).items()})
        groups.append({"targets": [join_host_port(host_address(name, hostvars), port)], "labels": group_labels})
    return groups


def _endpoint_group(ep: Mapping[str, Any], index: int) -> dict[str, Any]:
    where = f"endpoint {index}"
    for key in ("service", "host", "address", "port"):
        if ep.get(key) in (None, ""):
            raise MonitoringError(f"{where}: {key} is missing; endpoints must have the shape in docs/endpoints.md")
    service = str(ep["service"])
    if not _SERVICE_NAME.match(service):
        raise MonitoringError(
            f"{where}: service {service!r} cannot name a target file; use letters, digits, '.', '_' and '-'"
        )
    path = str(ep["metrics_path"])
    if not _METRICS_PATH.match(path):
        raise MonitoringError(f"{where} ({service} on {ep['host']}): metrics_path {path!r} must start with '/'")
    port = _port(ep["port"], f"{where} ({service} on {ep['host']}): port")
    labels = {
        "service": service,
        "host": str(ep["host"]),
        "container": str(ep.get("container") or f"{service}-{ep.get('replica', index)}"),
        "__metrics_path__": path,
    }
    return {"targets": [join_host_port(str(ep["address"]), port)], "labels": labels}


def file_sd_groups(endpoints: Iterable[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Endpoints -> {service: [target group per replica]}; endpoints without a metrics_path are left out.

    Each service's list is what one file_sd JSON file holds; the order is stable (host, container, target) so a
    rewrite with the same replicas produces the same bytes and reports no change.
    """
    services: dict[str, list[dict[str, Any]]] = {}
    for index, ep in enumerate(endpoints or []):
        if not isinstance(ep, Mapping):
            raise MonitoringError(f"endpoint {index}: {ep!r} is not a dict; pass the list the endpoints filter returns")
        if not ep.get("metrics_path"):
            continue
        group = _endpoint_group(ep, index)
        services.setdefault(group["labels"]["service"], []).append(group)
    for groups in services.values():
        groups.sort(key=lambda g: (g["labels"]["host"], g["labels"]["container"], g["targets"][0]))
    return dict(sorted(services.items()))
