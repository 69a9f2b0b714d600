# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The service spec as Kubernetes objects: a Deployment, a Service (when ports are given; a NodePort Service
when the service is load-balanced: `lb`) and an autoscaling/v2 HorizontalPodAutoscaler (when autoscaling is
asked for); and the endpoints HAProxy and Prometheus read from what runs.  Pure: data in, data out.
"""

from __future__ import annotations

import json
import math
from typing import Any

from ansible_collections.containerops.fleet.plugins.module_utils import allow
from ansible_collections.containerops.fleet.plugins.module_utils.service.endpoints import endpoint
from ansible_collections.containerops.fleet.plugins.module_utils.service.spec import L_HASH, SpecError

MANAGER = "containerops.fleet"  # server-side apply field manager
# Holds .spec.replicas while autoscaling is turned on, so that dropping the field from our apply does not reset
# it (the documented server-side apply handover); the autoscaler then owns the count.
HANDOVER_MANAGER = "containerops.fleet-handover-to-hpa"
DEADLINE_REASON = "ProgressDeadlineExceeded"
# Every kind a service may be made of: (apiVersion, kind), in apply order.
KINDS = (("apps/v1", "Deployment"), ("v1", "Service"), ("autoscaling/v2", "HorizontalPodAutoscaler"))
L_NAME = "app.kubernetes.io/name"
L_MANAGED = "app.kubernetes.io/managed-by"
# The API server's default --service-node-port-range.
NODE_PORT_RANGE = (30000, 32767)


def _probe(spec: dict[str, Any]) -> dict[str, Any] | None:
    hc = spec.get("healthcheck")
    if not hc:
        return None
    if hc["http_path"]:
        action: dict[str, Any] = {"httpGet": {"path": hc["http_path"], "port": hc["port"]}}
    else:
        kind, *argv = hc["command"]
        action = {"exec": {"command": ["/bin/sh", "-c", argv[0]] if kind == "CMD-SHELL" else argv}}
    return {
        **action,
        "periodSeconds": max(1, math.ceil(hc["interval"])),
        "timeoutSeconds": max(1, math.ceil(hc["timeout"])),
        "failureThreshold": max(1, hc["retries"]),
        "initialDelaySeconds": math.ceil(hc["start_period"]),
    }


def _volumes(spec: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """SOURCE:TARGET[:MODE]: an absolute SOURCE is a hostPath, a name is an existing PersistentVolumeClaim."""
    volumes, mounts = [], []
    for i, v in enumerate(spec["volumes"]):
        source, target, *mode = v.split(":")
        name = f"vol{i}"
        if source.startswith("/"):
            volumes.append({"name": name, "hostPath": {"path": source}})
        else:
            volumes.append({"name": name, "persistentVolumeClaim": {"claimName": source}})
        mounts.append({"name": name, "mountPath": target, "readOnly": "ro" in (mode[0].split(",") if mode else [])})
    return volumes, mounts


def _resources(spec: dict[str, Any]) -> dict[str, Any]:
    limits: dict[str, str] = {}
    if spec["resources"]["cpus"]:
        limits["cpu"] = f"{round(spec['resources']['cpus'] * 1000)}m"
    if spec["resources"]["memory"]:
        limits["memory"] = str(spec["resources"]["memory"])
    return {"limits": limits, "requests": dict(limits)} if limits else {}


def check_lb(spec: dict[str, Any], lb: dict[str, Any] | None) -> None:
    """A load-balanced service is reached on a node port of its first port: it needs ports; a pinned
    lb.node_port lies in the node port range."""
    if not lb:
        return
    if not spec["ports"]:
        raise SpecError(
            "lb: on platform kubernetes HAProxy balances over a NodePort Service of the first port; give ports"
        )
    node_port = lb.get("node_port")
    if node_port is not None:
        low, high = NODE_PORT_RANGE
        try:
            allow.whole(node_port, "lb.node_port", low, high)
        except allow.NotAllowed as exc:
            raise SpecError(f"{exc} (the API server's default service-node-port-range)") from None


def check(spec: dict[str, Any], autoscale: dict[str, Any] | None, lb: dict[str, Any] | None = None) -> None:
    """Spec fields that have no Kubernetes meaning are refused by name, not silently dropped."""
    check_lb(spec, lb)
    if spec["restart_policy"] not in ("always", "unless-stopped"):
        raise SpecError(
            f"restart_policy: {spec['restart_policy']!r} cannot apply to a Deployment (its pods always restart); "
            "use always or unless-stopped with platform kubernetes"
        )
    if spec["networks"]:
        raise SpecError("networks: Docker networks do not exist on Kubernetes; leave networks empty")
    if autoscale:
        for key, resource, field in (("cpu_utilization", "cpus", "CPU"), ("memory_utilization", "memory", "memory")):
            if key in _hpa_targets(autoscale) and not spec["resources"][resource]:
                raise SpecError(
                    f"autoscale.{key}: needs resources.{resource} ({field} utilisation is measured against the request)"
                )
        if not 1 <= autoscale["min"] <= autoscale["max"]:
            raise SpecError(f"autoscale: needs 1 <= min <= max, got min {autoscale['min']}, max {autoscale['max']}")
        for key, value in _hpa_targets(autoscale).items():
            if not 1 <= value <= 100:
                raise SpecError(f"autoscale.{key}: a percentage between 1 and 100, got {value}")
        if autoscale.get("query"):
            raise SpecError(
                "autoscale.query: on platform kubernetes the HorizontalPodAutoscaler scales on cpu_utilization or "
                "memory_utilization; a Prometheus query needs a custom metrics adapter"
            )
        check_behavior(autoscale)


def _hpa_targets(autoscale: dict[str, Any]) -> dict[str, int]:
    """The utilisation targets given; CPU at 70 % when none is."""
    found = {k: autoscale[k] for k in ("cpu_utilization", "memory_utilization") if autoscale.get(k) is not None}
    return found or {"cpu_utilization": 70}


def _meta(spec: dict[str, Any], namespace: str, digest: str) -> dict[str, Any]:
    return {
        "name": spec["name"],
        "namespace": namespace,
        "labels": {**spec["labels"], L_NAME: spec["name"], L_MANAGED: MANAGER},
        "annotations": {L_HASH: digest},
    }


def deployment(
    spec: dict[str, Any], *, namespace: str, digest: str, progress_deadline: int, autoscaled: bool
) -> dict[str, Any]:
    upd = spec["update"]
    start_first = upd["order"] == "start-first"
    env = [{"name": k, "value": v} for k, v in spec["env"].items()]
    env.append({"name": "FLEET_REPLICA", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}})
    container: dict[str, Any] = {
        "name": spec["name"],
        "image": spec["image"],
        "imagePullPolicy": "IfNotPresent",
        "env": env,
        "ports": [{"containerPort": p["container"], "protocol": p["protocol"].upper()} for p in spec["ports"]],
    }
    if spec["command"]:
        container["args"] = spec["command"]
    probe = _probe(spec)
    if probe:
        container["readinessProbe"] = probe
        container["livenessProbe"] = probe
    resources = _resources(spec)
    if resources:
        container["resources"] = resources
    volumes, mounts = _volumes(spec)
    if mounts:
        container["volumeMounts"] = mounts
    pod_spec: dict[str, Any] = {"containers": [container]}
    if volumes:
        pod_spec["volumes"] = volumes
    body: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(spec, namespace, digest),
        "spec": {
            "selector": {"matchLabels": {L_NAME: spec["name"]}},
            "progressDeadlineSeconds": progress_deadline,
            "minReadySeconds": 0,
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {
                    "maxSurge": upd["parallelism"] if start_first else 0,
                    "maxUnavailable": 0 if start_first else upd["parallelism"],
                },
            },
            "template": {
                "metadata": {"labels": {L_NAME: spec["name"]}, "annotations": {L_HASH: digest}},
                "spec": pod_spec,
            },
        },
    }
    if not autoscaled:  # with an autoscaler, the autoscaler owns .spec.replicas
        body["spec"]["replicas"] = spec["replicas"]
    return body


def service(spec: dict[str, Any], *, namespace: str, digest: str, lb: dict[str, Any] | None = None) -> dict[str, Any]:
    """ClusterIP; with `lb` a NodePort Service whose first port is lb.node_port (else allocated by the API
    server and kept by it: an apply that leaves nodePort out keeps the allocated one).  Node ports reach only
    the pods on their own node (externalTrafficPolicy Local): the nodes that run ready pods are the backends."""
    ports = [
        {
            "name": f"{p['protocol']}-{p['container']}",
            "port": p["container"],
            "targetPort": p["container"],
            "protocol": p["protocol"].upper(),
        }
        for p in spec["ports"]
    ]
    body: dict[str, Any] = {"type": "ClusterIP", "selector": {L_NAME: spec["name"]}, "ports": ports}
    if lb:
        body.update(type="NodePort", externalTrafficPolicy="Local")
        if lb.get("node_port") is not None:
            ports[0]["nodePort"] = int(lb["node_port"])
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(spec, namespace, digest), "spec": body}


def autoscaler(spec: dict[str, Any], autoscale: dict[str, Any], *, namespace: str, digest: str) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _meta(spec, namespace, digest),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": spec["name"]},
            "minReplicas": autoscale["min"],
            "maxReplicas": autoscale["max"],
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": key.split("_")[0],
                        "target": {"type": "Utilization", "averageUtilization": value},
                    },
                }
                for key, value in _hpa_targets(autoscale).items()
            ],
            "behavior": _behavior(autoscale),
        },
    }


LIMIT_PERIOD = 15  # seconds: the period of the scale-up and scale-down limits (the HPA's default policies')


def _behavior(autoscale: dict[str, Any]) -> dict[str, Any]:
    """The HPA's behaviour: stabilization windows both ways (scale-down as the cron autoscaler on docker and swarm),
    at most scale_up_limit / scale_down_limit pods per LIMIT_PERIOD seconds when given (else the HPA's defaults)."""
    down_window = autoscale.get("scale_down_stabilization")
    behavior: dict[str, Any] = {
        "scaleDown": {"stabilizationWindowSeconds": int(300 if down_window is None else down_window)},
        "scaleUp": {"stabilizationWindowSeconds": int(autoscale.get("scale_up_stabilization") or 0)},
    }
    for key, direction in (("scale_up_limit", "scaleUp"), ("scale_down_limit", "scaleDown")):
        if autoscale.get(key):
            behavior[direction]["policies"] = [
                {"type": "Pods", "value": int(autoscale[key]), "periodSeconds": LIMIT_PERIOD}
            ]
    return behavior


def check_behavior(autoscale: dict[str, Any]) -> None:
    """The HPA's bounds: windows 0-3600 s, limits at least one pod."""
    try:
        for key in ("scale_down_stabilization", "scale_up_stabilization"):
            if autoscale.get(key) is not None:
                allow.whole(autoscale[key], f"autoscale.{key}", 0, 3600)
        for key in ("scale_up_limit", "scale_down_limit"):
            if autoscale.get(key) is not None:
                allow.whole(autoscale[key], f"autoscale.{key}", 1, 10000)
    except allow.NotAllowed as exc:
        raise SpecError(str(exc)) from None


def render(
    spec: dict[str, Any],
    *,
    namespace: str = "default",
    digest: str,
    progress_deadline: int = 600,
    autoscale: dict[str, Any] | None = None,
    lb: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Every object the service is made of, in apply order."""
    check(spec, autoscale, lb)
    out = [
        deployment(
            spec, namespace=namespace, digest=digest, progress_deadline=progress_deadline, autoscaled=bool(autoscale)
        )
    ]
    if spec["ports"]:
        out.append(service(spec, namespace=namespace, digest=digest, lb=lb))
    if autoscale:
        out.append(autoscaler(spec, autoscale, namespace=namespace, digest=digest))
    return out


def deadline_exceeded(dep: dict[str, Any]) -> dict[str, Any] | None:
    """The Deployment's Progressing condition when it says ProgressDeadlineExceeded, else None."""
    for cond in (dep.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Progressing" and cond.get("reason") == DEADLINE_REASON:
            return cond
    return None


def stale_deadline(dep: dict[str, Any] | None) -> str | None:
    """The lastUpdateTime of a ProgressDeadlineExceeded condition present before a rollout starts (None if none).

    The controller leaves such a condition in place when the next rollout goes to an existing ReplicaSet and
    until that rollout makes progress: it is about an earlier rollout and must not fail this one.
    """
    cond = deadline_exceeded(dep or {})
    return (cond.get("lastUpdateTime") or cond.get("lastTransitionTime") or "") if cond else None


def rollout_state(dep: dict[str, Any], replicas: int, stale: str | None = None) -> tuple[str, str]:
    """('done' | 'progressing' | 'failed', why) of a Deployment as the API returns it (a dict).

    Nothing in the status counts until the controller has observed the current generation; a
    ProgressDeadlineExceeded condition with the lastUpdateTime `stale` (seen before this rollout) is an earlier
    rollout's.
    """
    meta, spec, status = dep.get("metadata") or {}, dep.get("spec") or {}, dep.get("status") or {}
    want = spec.get("replicas", replicas)
    if (status.get("observedGeneration") or 0) < (meta.get("generation") or 0):
        return "progressing", "the controller has not observed the new generation yet"
    cond = deadline_exceeded(dep)
    if cond and (stale is None or (cond.get("lastUpdateTime") or cond.get("lastTransitionTime") or "") != stale):
        return "failed", f"{DEADLINE_REASON}: {cond.get('message', '')}"
    updated = status.get("updatedReplicas") or 0
    available = status.get("availableReplicas") or 0
    total = status.get("replicas") or 0
    if updated < want:
        return "progressing", f"{updated}/{want} replicas updated"
    if total > updated:
        return "progressing", f"{total - updated} old replicas still terminating"
    if available < want:
        return "progressing", f"{available}/{want} updated replicas available"
    return "done", f"{available}/{want} replicas updated and available"


def progress_mark(dep: dict[str, Any]) -> tuple[int, ...]:
    """What changes when a rollout makes progress (the counts the controller compares, and the generation)."""
    status = dep.get("status") or {}
    return tuple(
        int(status.get(k) or 0)
        for k in ("observedGeneration", "replicas", "updatedReplicas", "readyReplicas", "availableReplicas")
    )


def owns_replicas(dep: dict[str, Any], manager: str = MANAGER) -> bool:
    """Whether `manager`'s server-side apply owns .spec.replicas of the Deployment (from its managedFields)."""
    return any(
        entry.get("manager") == manager
        and entry.get("operation") == "Apply"
        and "f:replicas" in ((entry.get("fieldsV1") or {}).get("f:spec") or {})
        for entry in (dep.get("metadata") or {}).get("managedFields") or []
    )


def replicas_handover(dep: dict[str, Any]) -> dict[str, Any]:
    """The apply (by HANDOVER_MANAGER) that co-owns the current .spec.replicas before ours drops the field."""
    meta = dep["metadata"]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": meta["name"], "namespace": meta.get("namespace")},
        "spec": {"replicas": (dep.get("spec") or {}).get("replicas", 1)},
    }


def rollback_template(previous: dict[str, Any]) -> dict[str, Any]:
    """The pod template of the Deployment as it was before this run (what `rollout undo` would mean here)."""
    template = json.loads(json.dumps((previous.get("spec") or {}).get("template") or {}))
    meta = template.setdefault("metadata", {})
    meta.pop("creationTimestamp", None)
    (meta.get("labels") or {}).pop("pod-template-hash", None)
    return template


def is_ours(obj: dict[str, Any] | None) -> bool:
    """Made by this collection (its managed-by label): only such objects are deleted when no longer wanted."""
    return bool(obj) and ((obj.get("metadata") or {}).get("labels") or {}).get(L_MANAGED) == MANAGER


def namespace(name: str) -> dict[str, Any]:
    """The namespace a service is applied to, when the module is told to create it (create_namespace)."""
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {L_MANAGED: MANAGER}}}


def _ready(pod: dict[str, Any]) -> bool:
    status = pod.get("status") or {}
    return (
        status.get("phase") == "Running"
        and not (pod.get("metadata") or {}).get("deletionTimestamp")
        and any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
    )


def node_port_of(svc: dict[str, Any] | None, spec: dict[str, Any]) -> int | None:
    """The node port of the service's first port in a live NodePort Service (read back: checked), else None."""
    body = (svc or {}).get("spec") or {}
    if body.get("type") != "NodePort" or not spec["ports"]:
        return None
    first = spec["ports"][0]
    for port in body.get("ports") or []:
        if port.get("port") == first["container"] and str(port.get("protocol", "TCP")).lower() == first["protocol"]:
            where = f"Service {spec['name']}: nodePort of port {first['container']} as the API returned it"
            try:
                return allow.whole(port.get("nodePort"), where, 1, 65535)
            except allow.NotAllowed as exc:
                raise SpecError(str(exc)) from None
    return None


def node_address(node: dict[str, Any]) -> str:
    """A node's InternalIP (else ExternalIP), as the API returned it: checked as an address, '' when none."""
    addresses = (node.get("status") or {}).get("addresses") or []
    name = (node.get("metadata") or {}).get("name", "?")
    for kind in ("InternalIP", "ExternalIP"):
        for entry in addresses:
            if entry.get("type") == kind:
                try:
                    return allow.address(entry.get("address"), f"node {str(name)[:60]} {kind} as the API returned it")
                except allow.NotAllowed as exc:
                    raise SpecError(str(exc)) from None
    return ""


def node_endpoints(
    spec: dict[str, Any], node_port: int, pods: list[dict[str, Any]], nodes: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """One endpoint per node that runs ready pods of the service: the node's address and the node port.

    What HAProxy balances over and Prometheus scrapes (docs/endpoints.md): with externalTrafficPolicy Local a node
    port reaches its own node's pods only, so these are exactly the nodes serving the service.  spec_hash is the
    node's pods' when they agree ('' during a rollout).
    """
    by_node: dict[str, list[dict[str, Any]]] = {}
    for pod in pods:
        if _ready(pod):
            by_node.setdefault((pod.get("spec") or {}).get("nodeName") or "", []).append(pod)
    out = []
    for node in sorted(nodes, key=lambda n: (n.get("metadata") or {}).get("name", "")):
        name = (node.get("metadata") or {}).get("name", "")
        if name not in by_node:
            continue
        address = node_address(node)
        if not address:
            continue
        hashes = {((p["metadata"].get("annotations") or {}).get(L_HASH, "")) for p in by_node[name]}
        try:
            host = allow.check("container", name, "node name as the API returned it")
        except allow.NotAllowed as exc:
            raise SpecError(str(exc)) from None
        out.append(
            endpoint(
                service=spec["name"],
                host=host,
                address=address,
                port=node_port,
                container=f"{spec['name']}-nodeport",
                replica=len(out) + 1,
                spec_hash=hashes.pop() if len(hashes) == 1 else "",
                healthy=True,
                spec=spec,
            )
        )
    return out


def pod_endpoints(spec: dict[str, Any], pods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One endpoint per running pod (not being deleted): pod IP and first container port, healthy when Ready.

    The pod's name, node and IP come from the API: checked before they reach an endpoint (HAProxy, Prometheus)."""
    out = []
    for pod in pods:
        status, meta = pod.get("status") or {}, pod.get("metadata") or {}
        if status.get("phase") != "Running" or meta.get("deletionTimestamp"):
            continue
        name = str(meta.get("name", ""))[:60]
        try:
            container = allow.check("container", meta.get("name"), "pod name as the API returned it")
            node = (pod.get("spec") or {}).get("nodeName") or ""
            host = allow.check("container", node, f"pod {name} nodeName as the API returned it") if node else ""
            address = allow.address(status.get("podIP"), f"pod {name} podIP as the API returned it")
        except allow.NotAllowed as exc:
            raise SpecError(str(exc)) from None
        out.append(
            endpoint(
                service=spec["name"],
                host=host,
                address=address,
                port=spec["ports"][0]["container"] if spec["ports"] else None,
                container=container,
                replica=0,
                spec_hash=(meta.get("annotations") or {}).get(L_HASH, ""),
                healthy=_ready(pod),
                spec=spec,
            )
        )
    out.sort(key=lambda e: e["container"])
    for i, e in enumerate(out, 1):
        e["replica"] = i
    return out
