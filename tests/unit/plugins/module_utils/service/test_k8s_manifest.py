# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rendered manifests are checked against the Kubernetes OpenAPI schema, offline.

The schemas come bundled with PyPI's kubernetes-validate (requirements-test.txt); no API server is used.
KUBERNETES_VERSIONS states what the manifests are valid for: the oldest and newest we claim.
"""

from __future__ import annotations

import kubernetes_validate  # a test requirement (requirements-test.txt): missing means a broken venv, not a skip
import pytest

from ansible_collections.containerops.fleet.plugins.module_utils.service import k8s_manifest as manifest
from ansible_collections.containerops.fleet.plugins.module_utils.service.spec import L_HASH, SpecError, normalize

KUBERNETES_VERSIONS = ("1.27.0", "1.30.0")

FULL = {
    "name": "web",
    "image": "fleet-demo:1",
    "replicas": 3,
    "command": "python3 /app/app.py --port 8000",
    "ports": [{"container": 8000}, {"container": 9125, "protocol": "udp"}],
    "env": {"FLEET_DEMO_VERSION": "1"},
    "volumes": ["/srv/data:/data:ro", "cache:/cache"],
    "labels": {"team": "platform"},
    "healthcheck": {"http_path": "/healthz", "interval": 1.5, "timeout": 2, "retries": 3, "start_period": 4},
    "resources": {"cpus": 0.5, "memory": "256m"},
    "metrics_path": "/metrics",
    "update": {"parallelism": 2, "order": "start-first"},
}
AUTOSCALE = {"min": 2, "max": 6, "cpu_utilization": 60, "scale_down_stabilization": 120, "scale_up_limit": 2}


def render(params=None, **kwargs):
    return manifest.render(normalize(params or FULL), digest="abc123", **kwargs)


def validate_all(objects):
    for version in KUBERNETES_VERSIONS:
        for obj in objects:
            kubernetes_validate.validate(obj, version, strict=True)


def test_full_spec_renders_schema_valid_deployment_service_and_autoscaler():
    objects = render(namespace="apps", progress_deadline=120, autoscale=AUTOSCALE)
    assert [o["kind"] for o in objects] == ["Deployment", "Service", "HorizontalPodAutoscaler"]
    validate_all(objects)


def test_minimal_spec_is_schema_valid_and_has_no_service_without_ports():
    objects = render({"name": "worker", "image": "busybox:1", "healthcheck": {"command": "test -f /tmp/ok"}})
    assert [o["kind"] for o in objects] == ["Deployment"]
    validate_all(objects)
    probe = objects[0]["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
    assert probe["exec"] == {"command": ["/bin/sh", "-c", "test -f /tmp/ok"]}


def test_schema_validation_can_fail():
    broken = render()[0]
    broken["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "eight thousand"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSIONS[-1], strict=True)


def test_deployment_carries_the_spec():
    dep = render(progress_deadline=90)[0]
    spec = dep["spec"]
    pod = spec["template"]
    container = pod["spec"]["containers"][0]
    assert spec["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    assert spec["replicas"] == 3 and spec["progressDeadlineSeconds"] == 90
    assert spec["strategy"]["rollingUpdate"] == {"maxSurge": 2, "maxUnavailable": 0}
    assert container["args"] == ["python3", "/app/app.py", "--port", "8000"]
    assert container["ports"] == [
        {"containerPort": 8000, "protocol": "TCP"},
        {"containerPort": 9125, "protocol": "UDP"},
    ]
    assert {"name": "FLEET_DEMO_VERSION", "value": "1"} in container["env"]
    assert container["readinessProbe"] == {
        "httpGet": {"path": "/healthz", "port": 8000},
        "periodSeconds": 2,
        "timeoutSeconds": 2,
        "failureThreshold": 3,
        "initialDelaySeconds": 4,
    }
    assert container["resources"]["limits"] == {"cpu": "500m", "memory": str(256 * 1024**2)}
    assert pod["spec"]["volumes"] == [
        {"name": "vol0", "hostPath": {"path": "/srv/data"}},
        {"name": "vol1", "persistentVolumeClaim": {"claimName": "cache"}},
    ]
    assert container["volumeMounts"][0] == {"name": "vol0", "mountPath": "/data", "readOnly": True}
    assert dep["metadata"]["annotations"][L_HASH] == "abc123" == pod["metadata"]["annotations"][L_HASH]
    assert dep["metadata"]["labels"]["team"] == "platform"


def test_stop_first_maps_to_max_unavailable():
    dep = render({**FULL, "update": {"parallelism": 1, "order": "stop-first"}})[0]
    assert dep["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 0, "maxUnavailable": 1}


def test_autoscaler_owns_replicas():
    dep, hpa = render(autoscale=AUTOSCALE)[0::2]
    assert "replicas" not in dep["spec"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}
    assert hpa["spec"]["metrics"][0]["resource"]["target"] == {"type": "Utilization", "averageUtilization": 60}


def test_autoscale_means_the_same_on_kubernetes():
    """min, max, stabilization and the scale-up limit of the definition become the HPA's own fields."""
    hpa = render(autoscale={**AUTOSCALE, "memory_utilization": 80})[2]
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 6)
    assert [(m["resource"]["name"], m["resource"]["target"]["averageUtilization"]) for m in hpa["spec"]["metrics"]] == [
        ("cpu", 60),
        ("memory", 80),
    ]
    assert hpa["spec"]["behavior"] == {
        "scaleDown": {"stabilizationWindowSeconds": 120},
        "scaleUp": {"stabilizationWindowSeconds": 0, "policies": [{"type": "Pods", "value": 2, "periodSeconds": 15}]},
    }
    no_target = render(autoscale={"min": 1, "max": 3})[2]
    assert no_target["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 70


@pytest.mark.parametrize(
    ("params", "autoscale", "field"),
    [
        ({**FULL, "restart_policy": "no"}, None, "restart_policy"),
        ({**FULL, "networks": ["backend"]}, None, "networks"),
        ({**FULL, "resources": {}}, AUTOSCALE, "autoscale.cpu_utilization: needs resources.cpus"),
        (FULL, {**AUTOSCALE, "query": "q"}, "autoscale.query: on platform kubernetes"),
        (FULL, {**AUTOSCALE, "min": 9}, "needs 1 <= min <= max"),
    ],
)
def test_unsupported_fields_are_refused_by_name(params, autoscale, field):
    with pytest.raises(SpecError, match=field):
        render(params, autoscale=autoscale)


@pytest.mark.parametrize(
    ("dep", "state"),
    [
        ({"metadata": {"generation": 2}, "spec": {"replicas": 2}, "status": {"observedGeneration": 1}}, "progressing"),
        (
            {
                "metadata": {"generation": 2},
                "spec": {"replicas": 2},
                "status": {"observedGeneration": 2, "updatedReplicas": 2, "replicas": 3, "availableReplicas": 2},
            },
            "progressing",
        ),
        (
            {
                "metadata": {"generation": 2},
                "spec": {"replicas": 2},
                "status": {"observedGeneration": 2, "updatedReplicas": 2, "replicas": 2, "availableReplicas": 2},
            },
            "done",
        ),
        (
            {
                "metadata": {"generation": 2},
                "spec": {"replicas": 2},
                "status": {
                    "observedGeneration": 2,
                    "conditions": [{"type": "Progressing", "reason": "ProgressDeadlineExceeded", "message": "x"}],
                },
            },
            "failed",
        ),
    ],
)
def test_rollout_state(dep, state):
    assert manifest.rollout_state(dep, 2)[0] == state


def _timed_out(when: str) -> dict:
    return {"type": "Progressing", "reason": "ProgressDeadlineExceeded", "message": "m", "lastUpdateTime": when}


def test_a_deadline_condition_counts_only_once_the_new_generation_is_observed():
    """Issue 19: the condition an earlier rollout left failed the next one before the controller looked at it."""
    lagging = {
        "metadata": {"generation": 3},
        "spec": {"replicas": 2},
        "status": {"observedGeneration": 2, "conditions": [_timed_out("2026-01-01T00:00:00Z")]},
    }
    assert manifest.rollout_state(lagging, 2) == (
        "progressing",
        "the controller has not observed the new generation yet",
    )


def test_a_stale_deadline_condition_is_ignored_and_a_new_one_is_not():
    stale = "2026-01-01T00:00:00Z"
    before = {"status": {"conditions": [_timed_out(stale)]}}
    assert manifest.stale_deadline(before) == stale and manifest.stale_deadline(None) is None
    observed = {
        "metadata": {"generation": 3},
        "spec": {"replicas": 2},
        "status": {"observedGeneration": 3, "updatedReplicas": 1, "conditions": [_timed_out(stale)]},
    }
    assert manifest.rollout_state(observed, 2, stale) == ("progressing", "1/2 replicas updated")
    observed["status"]["conditions"] = [_timed_out("2026-01-01T00:05:00Z")]
    state, why = manifest.rollout_state(observed, 2, stale)
    assert state == "failed" and why.startswith("ProgressDeadlineExceeded: ")


def test_progress_mark_changes_with_the_counts_the_controller_compares():
    dep = {"status": {"observedGeneration": 2, "replicas": 3, "updatedReplicas": 1}}
    mark = manifest.progress_mark(dep)
    dep["status"]["readyReplicas"] = 1
    assert manifest.progress_mark(dep) != mark and manifest.progress_mark({}) == (0, 0, 0, 0, 0)


def test_replicas_ownership_and_the_handover_apply():
    dep = {
        "metadata": {
            "name": "web",
            "namespace": "apps",
            "managedFields": [
                {
                    "manager": "kube-controller-manager",
                    "operation": "Update",
                    "fieldsV1": {"f:spec": {"f:replicas": {}}},
                },
                {"manager": manifest.MANAGER, "operation": "Apply", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
            ],
        },
        "spec": {"replicas": 3},
    }
    assert manifest.owns_replicas(dep)
    assert not manifest.owns_replicas(dep, manifest.HANDOVER_MANAGER)
    assert not manifest.owns_replicas({"metadata": {"managedFields": [dep["metadata"]["managedFields"][0]]}})
    assert manifest.replicas_handover(dep) == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "apps"},
        "spec": {"replicas": 3},
    }


def test_rollback_template_is_the_live_template_without_server_fields():
    dep = render()[0]
    dep["spec"]["template"]["metadata"]["creationTimestamp"] = None
    dep["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] = "abc"
    template = manifest.rollback_template(dep)
    assert "creationTimestamp" not in template["metadata"] and "pod-template-hash" not in template["metadata"]["labels"]
    assert template["metadata"]["annotations"][L_HASH] == "abc123"
    assert "pod-template-hash" in dep["spec"]["template"]["metadata"]["labels"]  # a copy


def test_only_objects_with_our_managed_by_label_are_ours():
    assert manifest.is_ours(render()[1])
    assert not manifest.is_ours({"metadata": {"labels": {"app.kubernetes.io/managed-by": "Helm"}}})
    assert not manifest.is_ours(None)
