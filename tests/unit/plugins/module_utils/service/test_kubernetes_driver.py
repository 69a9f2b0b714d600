# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""KubernetesService against an in-memory API: the order of its calls and what it decides from what it reads.

The live behaviour is proven on a real cluster (tests/e2e/test_k8s_live.py); these pin the decisions that
a cluster only shows now and then: the rollback target, a stale condition, the controller staying silent.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic.exceptions import NotFoundError

from ansible_collections.containerops.fleet.plugins.module_utils.service import k8s_manifest as manifest
from ansible_collections.containerops.fleet.plugins.module_utils.service import kubernetes as driver
from ansible_collections.containerops.fleet.plugins.module_utils.service.spec import L_HASH, normalize

SPEC = normalize(
    {
        "name": "web",
        "image": "fleet-k8s/http:1",
        "replicas": 2,
        "ports": [{"container": 80}],
        "healthcheck": {"http_path": "/"},
        "resources": {"cpus": 0.1},
    }
)


class Obj:
    def __init__(self, data: dict[str, Any]):
        self.data = data

    def to_dict(self) -> dict[str, Any]:
        return copy.deepcopy(self.data)


class Resource:
    def __init__(self, api: FakeAPI, kind: str):
        self.api, self.kind = api, kind

    def get(self, name: str | None = None, namespace: str | None = None, label_selector: str | None = None) -> Obj:
        if name is None:
            return Obj({"items": []})
        obj = self.api.read(self.kind)
        if obj is None:
            raise NotFoundError(ApiException(status=404, reason="Not Found"))
        return Obj(obj)

    def server_side_apply(self, body, namespace, field_manager, force_conflicts, dry_run):
        live = self.api.objects.get(self.kind)
        merged = copy.deepcopy(live) if live else {"metadata": {}, "status": {}}
        merged.update({k: copy.deepcopy(v) for k, v in body.items() if k != "metadata"})
        merged["metadata"] = {**merged.get("metadata", {}), **copy.deepcopy(body["metadata"])}
        if not dry_run:
            self.api.calls.append(("apply", self.kind, field_manager, force_conflicts, copy.deepcopy(body)))
            if field_manager == manifest.MANAGER:
                self.api.objects[self.kind] = merged
                self.api.applied(self.kind)
        return Obj(merged)

    def delete(self, name, namespace, propagation_policy):
        self.api.calls.append(("delete", self.kind, propagation_policy))
        self.api.deleting[self.kind] = self.api.linger


class FakeAPI:
    """Objects by kind; `after_apply` lists the Deployment statuses successive reads see after each apply."""

    def __init__(self, objects: dict[str, dict[str, Any]] | None = None, linger: int = 0):
        self.objects = objects or {}
        self.objects.setdefault("Namespace", {"metadata": {"name": "default"}})  # the namespace exists
        self.calls: list[tuple] = []
        self.after_apply: list[list[dict[str, Any]]] = []
        self.script: list[dict[str, Any]] = []
        self.deleting: dict[str, int] = {}
        self.linger = linger  # reads that still see an object after its delete call
        self.resources = self

    def get(self, api_version: str, kind: str) -> Resource:  # dynamic.resources.get
        return Resource(self, kind)

    def applied(self, kind: str) -> None:
        if kind == "Namespace":  # the controller manager gives a new namespace its default ServiceAccount
            self.objects["ServiceAccount"] = {"metadata": {"name": "default"}}
        if kind == "Deployment" and self.after_apply:
            self.script = self.after_apply.pop(0)

    def read(self, kind: str) -> dict[str, Any] | None:
        if kind in self.deleting:
            if self.deleting[kind] <= 0:
                self.objects.pop(kind, None)
                del self.deleting[kind]
            else:
                self.deleting[kind] -= 1
        obj = self.objects.get(kind)
        if obj is not None and kind == "Deployment" and self.script:
            obj["status"] = self.script.pop(0) if len(self.script) > 1 else self.script[0]
            obj["metadata"]["generation"] = obj["status"].get("observedGeneration", 1)
        return copy.deepcopy(obj)


def deployment(template_hash: str, status: dict[str, Any] | None = None, replicas_owner: str = "") -> dict[str, Any]:
    body = manifest.deployment(SPEC, namespace="default", digest=template_hash, progress_deadline=60, autoscaled=False)
    body["metadata"]["generation"] = 1
    body["status"] = status or done(1)
    if replicas_owner:
        body["metadata"]["managedFields"] = [
            {"manager": replicas_owner, "operation": "Apply", "fieldsV1": {"f:spec": {"f:replicas": {}}}}
        ]
    return body


def done(generation: int) -> dict[str, Any]:
    return {
        "observedGeneration": generation,
        "replicas": 2,
        "updatedReplicas": 2,
        "readyReplicas": 2,
        "availableReplicas": 2,
    }


def timed_out(generation: int, when: str, **counts: int) -> dict[str, Any]:
    cond = {"type": "Progressing", "reason": manifest.DEADLINE_REASON, "message": "timed out", "lastUpdateTime": when}
    return {"observedGeneration": generation, "conditions": [cond], **counts}


def service(api: FakeAPI, **kw: Any) -> driver.KubernetesService:
    kw.setdefault("deadline", 60.0)
    return driver.KubernetesService(dynamic=api, spec=copy.deepcopy(SPEC), poll=0, **kw)


def applied(api: FakeAPI, kind: str = "Deployment") -> list[dict[str, Any]]:
    return [c[4] for c in api.calls if c[0] == "apply" and c[1] == kind and c[2] == manifest.MANAGER]


def test_a_failed_rollout_goes_back_to_the_deployments_previous_template():
    api = FakeAPI({"Deployment": deployment("previous-good")})
    api.after_apply = [
        [{"observedGeneration": 1}, timed_out(2, "2026-01-01T00:01:00Z", replicas=3, updatedReplicas=1)],
        [done(3)],
    ]
    with pytest.raises(driver.KubernetesError, match=r"ProgressDeadlineExceeded.*previous pod template") as err:
        service(api).present()
    assert err.value.result["rolled_back"] is True
    undo = applied(api)[-1]
    assert undo["spec"]["template"]["metadata"]["annotations"][L_HASH] == "previous-good"
    assert undo["metadata"]["annotations"][L_HASH] == "previous-good"


def test_no_previous_deployment_means_nothing_to_roll_back_to():
    api = FakeAPI()
    api.after_apply = [[timed_out(1, "2026-01-01T00:01:00Z")]]
    with pytest.raises(driver.KubernetesError) as err:
        service(api).present()
    assert err.value.result["rolled_back"] is False and len(applied(api)) == 1


def test_an_earlier_rollouts_deadline_condition_does_not_fail_this_one():
    stale = timed_out(1, "2026-01-01T00:00:00Z", replicas=3, updatedReplicas=1)
    api = FakeAPI({"Deployment": deployment("broken", stale)})
    # The controller observes the new generation and still shows the old condition until progress is made.
    api.after_apply = [[{**stale, "observedGeneration": 1}, {**stale, "observedGeneration": 2}, done(2)]]
    result = service(api).present()
    assert result["changed"] is True and len(applied(api)) == 1  # no rollback apply


def test_a_silent_controller_ends_the_wait_naming_the_deadline(monkeypatch):
    monkeypatch.setattr(driver, "DEADLINE_GRACE", 0.0)
    stale = timed_out(1, "2026-01-01T00:00:00Z")
    api = FakeAPI({"Deployment": deployment("broken", stale)})
    api.after_apply = [[{**stale, "observedGeneration": 2, "replicas": 3, "updatedReplicas": 1}], [done(3)]]
    with pytest.raises(driver.KubernetesError, match=r"no progress for 0\.01 s .*no ProgressDeadlineExceeded"):
        service(api, deadline=0.01).present()


def test_turning_on_autoscale_hands_replicas_over_before_dropping_them():
    api = FakeAPI({"Deployment": deployment("same", replicas_owner=manifest.MANAGER)})
    api.after_apply = [[done(1)]]
    result = service(api, autoscale={"min": 2, "max": 4, "cpu_utilization": 80}).present()
    assert result["changed"] is True
    kinds = [(c[1], c[2], c[3]) for c in api.calls if c[0] == "apply"]
    assert kinds[0] == ("Deployment", manifest.HANDOVER_MANAGER, False)
    assert api.calls[0][4]["spec"] == {"replicas": 2}
    assert "replicas" not in applied(api)[0]["spec"]
    assert ("HorizontalPodAutoscaler", manifest.MANAGER, True) in kinds


def test_objects_no_longer_wanted_are_deleted_first_and_only_our_own():
    ours = {"metadata": {"name": "web", "labels": {manifest.L_MANAGED: manifest.MANAGER}}, "spec": {}}
    foreign = {"metadata": {"name": "web", "labels": {}}, "spec": {}}
    spec_without_ports = normalize({**SPEC, "ports": [], "healthcheck": {"http_path": "/", "port": 80}})
    api = FakeAPI({"Deployment": deployment("x"), "HorizontalPodAutoscaler": ours, "Service": foreign})
    api.after_apply = [[done(2)]]
    svc = driver.KubernetesService(dynamic=api, spec=spec_without_ports, poll=0)
    result = svc.present()
    assert result["removed"] == ["HorizontalPodAutoscaler"] and result["plan"]["remove"] == ["HorizontalPodAutoscaler"]
    assert api.calls[0][:2] == ("delete", "HorizontalPodAutoscaler")  # before the Deployment takes replicas back
    assert "Service" in api.objects


def test_check_mode_reports_a_removal_without_deleting():
    ours = {"metadata": {"name": "web", "labels": {manifest.L_MANAGED: manifest.MANAGER}}, "spec": {}}
    api = FakeAPI({"Deployment": deployment("x"), "HorizontalPodAutoscaler": ours})
    result = service(api, check_mode=True).present()
    assert result["changed"] is True and result["removed"] == ["HorizontalPodAutoscaler"]
    assert [c for c in api.calls if c[0] != "apply" or c[2] != manifest.MANAGER] == []


def test_absent_returns_when_the_foreground_delete_is_complete():
    api = FakeAPI({"Deployment": deployment("x"), "Service": {"metadata": {"name": "web"}}}, linger=3)
    result = service(api).absent()
    assert result == {"changed": True, "endpoints": [], "removed": ["Service", "Deployment"]}
    assert ("delete", "Deployment", "Foreground") in api.calls
    assert set(api.objects) == {"Namespace"}  # the namespace stays


def test_absent_fails_when_the_delete_never_completes(monkeypatch):
    monkeypatch.setattr(driver, "DEADLINE_GRACE", 0.0)
    api = FakeAPI({"Deployment": deployment("x")}, linger=10**9)
    with pytest.raises(driver.KubernetesError, match="still being deleted"):
        service(api, deadline=0.01).absent()


def test_a_restart_with_autoscale_hands_replicas_over_too():
    api = FakeAPI({"Deployment": deployment("same", replicas_owner=manifest.MANAGER)})
    api.after_apply = [[done(2)]]
    assert service(api, autoscale={"min": 2, "max": 4, "cpu_utilization": 80}).restarted()["changed"] is True
    assert [(c[1], c[2]) for c in api.calls] == [
        ("Deployment", manifest.HANDOVER_MANAGER),
        ("Deployment", manifest.MANAGER),
    ]
    assert "replicas" not in applied(api)[0]["spec"]


def test_a_missing_namespace_is_named_with_the_option_that_creates_it():
    api = FakeAPI()
    del api.objects["Namespace"]
    with pytest.raises(driver.KubernetesError, match=r"namespace 'default' does not exist: .*create_namespace: true"):
        service(api).present()
    assert api.calls == []


def test_check_mode_in_a_missing_namespace_reports_everything_as_new_and_creates_nothing():
    api = FakeAPI()
    del api.objects["Namespace"]
    result = service(api, check_mode=True, create_namespace=True).present()
    assert result["changed"] is True and result["plan"]["objects"] == ["Namespace", "Deployment", "Service"]
    assert api.calls == [] and "Namespace" not in api.objects
    assert '"Namespace": null' in result["diff"]["before"] and '"kind": "Namespace"' in result["diff"]["after"]


def test_create_namespace_applies_it_first_and_waits_for_its_service_account():
    api = FakeAPI()
    del api.objects["Namespace"]
    api.after_apply = [[done(1)]]
    result = service(api, create_namespace=True).present()
    kinds = [c[1] for c in api.calls if c[0] == "apply"]
    assert kinds == ["Namespace", "Deployment", "Service"]
    assert result["changed"] is True and result["plan"]["objects"][0] == "Namespace"
    assert api.objects["Namespace"]["metadata"]["labels"] == {manifest.L_MANAGED: manifest.MANAGER}
