# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The service spec as a Docker Swarm ServiceSpec, and Swarm's answers read back.  Pure: data in, data out."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ansible_collections.containerops.fleet.plugins.module_utils.service.endpoints import endpoint
from ansible_collections.containerops.fleet.plugins.module_utils.service.spec import (
    L_HASH,
    L_SERVICE,
    L_SPEC,
    docker_healthcheck,
    sealed_value,
    spec_label,
)

L_SWARM_HASH = "io.containerops.fleet.swarm-hash"  # hash of the whole rendered ServiceSpec, on the service
L_NODE_HOST = "io.containerops.fleet.host"  # node label: inventory name (set by the swarm role)
L_NODE_ADDRESS = "io.containerops.fleet.address"  # node label: address other hosts reach it on
NS = 1_000_000_000
RESTART = {"no": "none", "on-failure": "on-failure", "always": "any", "unless-stopped": "any"}


def _mounts(volumes: list[str]) -> list[dict[str, Any]]:
    mounts = []
    for v in volumes:
        source, target, *mode = v.split(":")
        mounts.append(
            {
                "Type": "bind" if source.startswith("/") else "volume",
                "Source": source,
                "Target": target,
                "ReadOnly": "ro" in (mode[0].split(",") if mode else []),
            }
        )
    return mounts


def _update_config(update: dict[str, Any], order: str) -> dict[str, Any]:
    return {
        "Parallelism": update["parallelism"],
        "Delay": 0,
        "FailureAction": update["failure_action"],
        "Monitor": int(update["monitor"] * NS),
        "MaxFailureRatio": update["max_failure_ratio"],
        "Order": order,
    }


def update_order(spec: dict[str, Any], publish_mode: str) -> str:
    """Host-mode ports hold a node's port per task: the old task must stop before its successor binds it."""
    if spec["ports"] and publish_mode == "host":
        return "stop-first"
    return spec["update"]["order"]


def service_body(
    spec: dict[str, Any],
    *,
    digest: str,
    published: list[int],
    publish_mode: str = "host",
    endpoint_mode: str = "vip",
    key: bytes = b"",
) -> dict[str, Any]:
    """The POST /services/create (and /update) body.  `published`: one host port per spec port."""
    labels = {
        **spec["labels"],
        L_SERVICE: spec["name"],
        L_HASH: digest,
        L_SPEC: spec_label(spec, key),
    }
    env = [f"{k}={v}" for k, v in spec["env"].items()]
    env.append(f"FLEET_REPLICA={spec['name']}-{{{{.Task.Slot}}}}@{{{{.Node.Hostname}}}}")
    container: dict[str, Any] = {
        "Image": spec["image"],
        "Env": env,
        "Labels": labels,
        "Init": True,
    }
    if spec["command"]:
        container["Args"] = spec["command"]
    if spec["volumes"]:
        container["Mounts"] = _mounts(spec["volumes"])
    health = docker_healthcheck(spec)
    if health:
        container["Healthcheck"] = health
    limits: dict[str, int] = {}
    if spec["resources"]["cpus"]:
        limits["NanoCPUs"] = int(spec["resources"]["cpus"] * NS)
    if spec["resources"]["memory"]:
        limits["MemoryBytes"] = spec["resources"]["memory"]
    order = update_order(spec, publish_mode)
    task: dict[str, Any] = {
        "ContainerSpec": container,
        "RestartPolicy": {"Condition": RESTART[spec["restart_policy"]], "Delay": NS, "MaxAttempts": 0},
        "Resources": {"Limits": limits},
    }
    if spec["networks"]:
        task["Networks"] = [{"Target": n} for n in spec["networks"]]
    ports = [
        {
            "Protocol": p["protocol"],
            "TargetPort": p["container"],
            "PublishedPort": hport,
            "PublishMode": publish_mode,
        }
        for p, hport in zip(spec["ports"], published)
    ]
    body: dict[str, Any] = {
        "Name": spec["name"],
        "Labels": {L_SERVICE: spec["name"], L_HASH: digest},
        "TaskTemplate": task,
        "Mode": {"Replicated": {"Replicas": spec["replicas"]}},
        "UpdateConfig": _update_config(spec["update"], order),
        "RollbackConfig": {**_update_config(spec["update"], order), "FailureAction": "pause"},
        "EndpointSpec": {"Mode": endpoint_mode, "Ports": ports},
    }
    body["Labels"][L_SWARM_HASH] = body_hash(body, key)
    return body


def body_hash(body: dict[str, Any], key: bytes = b"") -> str:
    """Hash of a rendered ServiceSpec (without its own hash label, env values keyed): equal hashes need no update."""
    material = json.loads(json.dumps(body))
    material.get("Labels", {}).pop(L_SWARM_HASH, None)
    container = (material.get("TaskTemplate") or {}).get("ContainerSpec") or {}
    container["Env"] = [
        f"{k}={sealed_value(v, key)}" for k, _sep, v in (item.partition("=") for item in container.get("Env") or [])
    ]
    return hashlib.sha256(json.dumps(material, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def published_of(service: dict[str, Any] | None) -> dict[tuple[int, str], int]:
    """(target port, protocol) -> published port of an existing service."""
    if not service:
        return {}
    ports = ((service.get("Spec") or {}).get("EndpointSpec") or {}).get("Ports") or []
    return {(p["TargetPort"], p.get("Protocol", "tcp")): p["PublishedPort"] for p in ports if p.get("PublishedPort")}


def ports_in_use(services: list[dict[str, Any]], skip: str) -> set[int]:
    """Published ports of every other swarm service (they hold that port on the nodes they run on)."""
    taken: set[int] = set()
    for s in services:
        if (s.get("Spec") or {}).get("Name") != skip:
            taken.update(published_of(s).values())
    return taken


def update_outcome(service: dict[str, Any]) -> tuple[str, str]:
    """(state, message) of the last update: '' when none ran (a fresh create)."""
    status = service.get("UpdateStatus") or {}
    return status.get("State", ""), status.get("Message", "")


def running_tasks(tasks: list[dict[str, Any]], version_hash: str | None = None) -> list[dict[str, Any]]:
    """Tasks that are running now and meant to (optionally only those made from `version_hash`)."""
    out = []
    for t in tasks:
        if t.get("DesiredState") != "running" or (t.get("Status") or {}).get("State") != "running":
            continue
        labels = ((t.get("Spec") or {}).get("ContainerSpec") or {}).get("Labels") or {}
        if version_hash is None or labels.get(L_HASH) == version_hash:
            out.append(t)
    return out


def task_errors(tasks: list[dict[str, Any]], limit: int = 3) -> list[str]:
    """The latest distinct reasons Swarm gives for failed or rejected tasks."""
    seen: list[str] = []
    failed = [t for t in tasks if (t.get("Status") or {}).get("State") in ("failed", "rejected", "shutdown")]
    for t in sorted(failed, key=lambda t: (t.get("Status") or {}).get("Timestamp", ""), reverse=True):
        st = t.get("Status") or {}
        why = st.get("Err") or st.get("Message") or ""
        if why and st.get("State") != "shutdown" and why not in seen:
            seen.append(why)
        if len(seen) == limit:
            break
    return seen


def pending_reasons(tasks: list[dict[str, Any]]) -> list[str]:
    out = []
    for t in tasks:
        st = t.get("Status") or {}
        waiting = t.get("DesiredState") == "running" and st.get("State") in ("pending", "new", "assigned")
        if waiting and st.get("Err") and st["Err"] not in out:
            out.append(st["Err"])
    return out


def endpoints_from_tasks(
    service: dict[str, Any], tasks: list[dict[str, Any]], nodes: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """One endpoint (docs/endpoints.md) per running task: its node's address and its published port."""
    by_id = {n["ID"]: n for n in nodes}
    spec = service.get("Spec") or {}
    try:
        fleet_spec = json.loads(((spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("Labels", {})[L_SPEC])
    except (KeyError, ValueError, TypeError):
        fleet_spec = {}
    mesh_port = next(iter(published_of(service).values()), None)
    out = []
    for t in running_tasks(tasks):
        node = by_id.get(t.get("NodeID"), {})
        node_labels = (node.get("Spec") or {}).get("Labels") or {}
        port_status = ((t.get("Status") or {}).get("PortStatus") or {}).get("Ports") or []
        host_ports = [p.get("PublishedPort") for p in port_status]
        labels = ((t.get("Spec") or {}).get("ContainerSpec") or {}).get("Labels") or {}
        out.append(
            endpoint(
                service=spec.get("Name", ""),
                host=node_labels.get(L_NODE_HOST) or (node.get("Description") or {}).get("Hostname", ""),
                address=node_labels.get(L_NODE_ADDRESS) or (node.get("Status") or {}).get("Addr", ""),
                port=host_ports[0] if host_ports else mesh_port,
                container=f"{spec.get('Name', '')}.{t.get('Slot')}.{t.get('ID', '')}",
                replica=t.get("Slot") or 0,
                spec_hash=labels.get(L_HASH, ""),
                healthy=True,  # Swarm reports a task running only once its health check passed
                spec=fleet_spec,
            )
        )
    return sorted(out, key=lambda e: (e["replica"], e["host"]))
