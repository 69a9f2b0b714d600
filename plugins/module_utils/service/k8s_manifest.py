# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The service spec as Kubernetes objects: a Deployment, a Service (when ports are given) and an
autoscaling/v2 HorizontalPodAutoscaler (when autoscaling is asked for).  Pure: data in, data out.
"""

from __future__ import annotations

import json
import math
from typing import Any

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


def check(spec: dict[str, Any], autoscale: dict[str, Any] | None) -> None:
    """Spec fields that have no Kubernetes meaning are refused by name, not silently dropped."""
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


def service(spec: dict[str, Any], *, namespace: str, digest: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(spec, namespace, digest),
        "spec": {
            "type": "ClusterIP",
            "selector": {L_NAME: spec["name"]},
            "ports": [
                {
                    "name": f"{p['protocol']}-{p['container']}",
                    "port": p["container"],
                    "targetPort": p["container"],
                    "protocol": p["protocol"].upper(),
                }
                for p in spec["ports"]
            ],
        },
    }


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


def _behavior(autoscale: dict[str, Any]) -> dict[str, Any]:
    """The same stabilization and scale-up limit the cron autoscaler applies on docker and swarm."""
    behavior: dict[str, Any] = {
        "scaleDown": {"stabilizationWindowSeconds": int(autoscale.get("scale_down_stabilization") or 300)}
    }
    if autoscale.get("scale_up_limit"):
        behavior["scaleUp"] = {
            "policies": [{"type": "Pods", "value": autoscale["scale_up_limit"], "periodSeconds": 15}]
        }
    return behavior


def render(
    spec: dict[str, Any],
    *,
    namespace: str = "default",
    digest: str,
    progress_deadline: int = 600,
    autoscale: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Every object the service is made of, in apply order."""
    check(spec, autoscale)
    out = [
        deployment(
            spec, namespace=namespace, digest=digest, progress_deadline=progress_deadline, autoscaled=bool(autoscale)
        )
    ]
    if spec["ports"]:
        out.append(service(spec, namespace=namespace, digest=digest))
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
