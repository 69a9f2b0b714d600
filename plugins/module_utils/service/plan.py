# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rolling-update planning: the replicas running now and the desired spec in, the steps out.  Pure."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from ansible_collections.containerops.fleet.plugins.module_utils import allow
from ansible_collections.containerops.fleet.plugins.module_utils.service.endpoints import endpoint
from ansible_collections.containerops.fleet.plugins.module_utils.service.spec import (
    L_ADDRESS,
    L_HASH,
    L_PORT,
    L_REPLICA,
    L_SERVICE,
    L_SPEC,
    SpecError,
    probe_url,
)


@dataclass(frozen=True)
class Replica:
    """One container of a service, as the engine's list call reports it."""

    id: str
    name: str
    index: int
    spec_hash: str
    running: bool
    health: str  # healthy | unhealthy | starting | none
    port: int | None
    address: str = ""
    ports: tuple[int, ...] = ()  # every published host port, in the order of the spec's ports
    probe: str | None = None  # its own HTTP health check, probed from the host (its spec label's, not today's)

    @property
    def healthy(self) -> bool:
        return self.running and self.health in ("healthy", "none")


# Docker labels every container Swarm runs for a task; such a container belongs to a swarm service.
SWARM_TASK_ID = "com.docker.swarm.task.id"
SWARM_TASK_NAME = "com.docker.swarm.task.name"  # <service>.<slot>.<task id>


def is_swarm_task(entry: dict[str, Any]) -> bool:
    """A container Swarm runs for a task (platform swarm), not one container_service created on this host."""
    return SWARM_TASK_ID in (entry.get("Labels") or {})


def _own_probe(label: str | None, ports: list[int]) -> str | None:
    """The HTTP check URL a replica was made with (from its spec label), when it is one we can trust."""
    try:
        spec = json.loads(label or "{}")
        url = probe_url(spec, ports) if isinstance(spec, dict) else None
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    if url is None:
        return None
    try:
        allow.check("http_path", spec["healthcheck"]["http_path"], "label spec healthcheck.http_path")
        allow.address(str(spec.get("bind_address") or "127.0.0.1"), "label spec bind_address")
    except allow.NotAllowed:
        return None
    return url


def replica_from_list(entry: dict[str, Any]) -> Replica:
    """From one item of GET /containers/json: a container of ours, or a swarm task of a service of ours."""
    labels = entry.get("Labels") or {}
    status = entry.get("Status") or ""
    m = re.search(r"\((healthy|unhealthy|health: starting)\)", status)
    health = {"health: starting": "starting"}.get(m.group(1), m.group(1)) if m else "none"
    if is_swarm_task(entry):
        # Swarm publishes in host mode on the node itself: the listing carries the port; the slot is the replica.
        ports = [int(p["PublicPort"]) for p in entry.get("Ports") or [] if p.get("PublicPort")]
        slot = (labels.get(SWARM_TASK_NAME) or "").rsplit(".", 2)
        index = int(slot[1]) if len(slot) == 3 and slot[1].isdigit() else 0
    else:
        ports = [int(p) for p in (labels.get(L_PORT) or "").split(",") if p.isdigit() and len(p) < 6]
        replica = labels.get(L_REPLICA) or ""
        index = int(replica) if replica.isdigit() and len(replica) < 7 else 0
    return Replica(
        id=entry["Id"],
        name=(entry.get("Names") or ["/?"])[0].lstrip("/"),
        index=index,
        spec_hash=labels.get(L_HASH, ""),
        running=entry.get("State") == "running",
        health=health,
        port=ports[0] if ports else None,
        ports=tuple(ports),
        probe=_own_probe(labels.get(L_SPEC), ports),
        address=labels.get(L_ADDRESS, ""),
    )


def endpoint_from_list(
    entry: dict[str, Any], node: str, default_address: str, warn: Callable[[str], None] | None = None
) -> dict[str, Any] | None:
    """The endpoint (docs/endpoints.md) one running replica in a GET /containers/json listing stands for.

    Labels are read back from a host, so they are untrusted: a container whose labels fail the allow-lists is
    left out, with a warning naming it, and never reaches HAProxy or Prometheus.
    """
    r = replica_from_list(entry)
    if not r.running:
        return None
    labels = entry.get("Labels") or {}
    try:
        spec = json.loads(labels.get(L_SPEC) or "{}")
    except ValueError:
        spec = {}
    if not isinstance(spec, dict):
        spec = {}
    found = endpoint(
        service=labels.get(L_SERVICE, ""),
        host=node,
        address=r.address or default_address,
        port=r.port,
        container=r.name,
        replica=r.index,
        spec_hash=r.spec_hash,
        healthy=r.healthy,
        spec=spec,
    )
    try:
        checked_endpoint(found)
    except allow.NotAllowed as exc:
        if warn:
            warn(f"container {r.name[:80]!r} on {node} is left out of the endpoints, its labels are not ours: {exc}")
        return None
    return found


def checked_endpoint(ep: dict[str, Any]) -> dict[str, Any]:
    """Every field of an endpoint that reaches a config file or a URL, against its allow-list."""
    allow.check("service", ep["service"], "label service")
    allow.check("container", ep["container"], "container name")
    allow.address(ep["address"], "label address")
    if ep["port"] is not None:
        allow.port(ep["port"], "label port")
    if ep["health_path"] is not None:
        allow.check("http_path", ep["health_path"], "label spec healthcheck.http_path")
    if ep["metrics_path"] is not None:
        allow.check("metrics_path", ep["metrics_path"], "label spec metrics_path")
    if ep["image"] is not None:
        allow.check("image", ep["image"], "label spec image")
    return ep


def endpoints_from_list(
    entries: list[dict[str, Any]], node: str, default_address: str, warn: Callable[[str], None] | None = None
) -> list[dict[str, Any]]:
    found = [e for e in (endpoint_from_list(x, node, default_address, warn) for x in entries) if e]
    return sorted(found, key=lambda e: (e["service"], e["replica"], e["container"]))


@dataclass
class Plan:
    keep: list[Replica] = field(default_factory=list)
    create: list[int] = field(default_factory=list)  # new replica indices with no predecessor
    replace: list[list[tuple[Replica, int]]] = field(default_factory=list)  # batches of (old, new index)
    remove: list[Replica] = field(default_factory=list)  # extra, stopped or outdated beyond the count

    @property
    def changed(self) -> bool:
        return bool(self.create or self.replace or self.remove)

    def summary(self) -> dict[str, Any]:
        return {
            "keep": [r.name for r in self.keep],
            "create": self.create,
            "replace": [[old.name for old, _unused in batch] for batch in self.replace],
            "remove": [r.name for r in self.remove],
        }


def plan_update(current: list[Replica], desired_hash: str, replicas: int, parallelism: int = 1) -> Plan:
    """Decide which replicas stay, which are replaced (in batches), created and removed.

    Running replicas with the desired hash stay (lowest indices first).  Outdated running replicas
    are replaced, `parallelism` at a time, keeping their index.  Stopped ones are removed and their
    slots refilled by fresh replicas, created together.
    """
    good = sorted((r for r in current if r.running and r.spec_hash == desired_hash), key=lambda r: r.index)
    outdated = sorted((r for r in current if r.running and r.spec_hash != desired_hash), key=lambda r: r.index)
    stopped = [r for r in current if not r.running]

    plan = Plan(keep=good[:replicas], remove=list(stopped) + good[replicas:])
    used = {r.index for r in plan.keep}
    need = replicas - len(plan.keep)

    def free_index(preferred: int) -> int:
        if preferred > 0 and preferred not in used:
            used.add(preferred)
            return preferred
        i = 1
        while i in used:
            i += 1
        used.add(i)
        return i

    replacing = outdated[:need]
    plan.remove += outdated[need:]
    pairs = [(old, free_index(old.index)) for old in replacing]
    plan.replace = [pairs[i : i + parallelism] for i in range(0, len(pairs), parallelism)]
    plan.create = [free_index(0) for _unused in range(need - len(replacing))]
    return plan


def allocate_ports(count: int, port_range: tuple[int, int] | list[int], taken: set[int]) -> list[int]:
    """The lowest `count` ports of the range not in `taken`."""
    lo, hi = port_range
    out = []
    for p in range(lo, hi + 1):
        if p not in taken:
            out.append(p)
            if len(out) == count:
                return out
    raise SpecError(f"ports[].host_range: no free host port left in {lo}-{hi} ({count} needed); widen the range")


def published_ports(entries: list[dict[str, Any]]) -> set[int]:
    """Host ports held by any container in a GET /containers/json listing (running or not)."""
    taken: set[int] = set()
    for entry in entries:
        for port in entry.get("Ports") or []:
            if port.get("PublicPort"):
                taken.add(int(port["PublicPort"]))
        label = (entry.get("Labels") or {}).get(L_PORT) or ""
        taken.update(int(p) for p in label.split(",") if p.isdigit())
    return taken


def running_revisions(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per service, the revision most running replicas (not swarm tasks) run: its spec hash and spec label.

    Read back from a host, so untrusted: only parsed here; container_service checks it again (revision option).
    A label that does not parse is left out.
    """
    counts: dict[tuple[str, str], int] = {}
    specs: dict[tuple[str, str], dict[str, Any]] = {}
    for entry in entries:
        labels = entry.get("Labels") or {}
        if entry.get("State") != "running" or is_swarm_task(entry) or not labels.get(L_HASH):
            continue
        try:
            spec = json.loads(labels.get(L_SPEC) or "")
        except ValueError:
            continue
        if not isinstance(spec, dict):
            continue
        key = (str(labels.get(L_SERVICE, "")), str(labels[L_HASH]))
        counts[key] = counts.get(key, 0) + 1
        specs[key] = spec
    best: dict[str, dict[str, Any]] = {}
    for (service, digest), n in sorted(counts.items()):
        if service not in best or n > counts[(service, best[service]["spec_hash"])]:
            best[service] = {"spec_hash": digest, "spec": specs[(service, digest)], "replicas": n}
    return best
