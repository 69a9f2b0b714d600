# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""container_service with platform=kubernetes: the thin layer over the official `kubernetes` client.

Server-side apply (field manager containerops.fleet) of what k8s_manifest renders; whether anything
changes is decided by a server dry run first, which is also all check mode does.  Then waits for the
rollout and fails fast on ProgressDeadlineExceeded, optionally putting the previous ReplicaSet's pod
template back.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

from ansible_collections.containerops.fleet.plugins.module_utils.service import k8s_manifest as manifest
from ansible_collections.containerops.fleet.plugins.module_utils.service.endpoints import endpoint
from ansible_collections.containerops.fleet.plugins.module_utils.service.spec import L_HASH, sealed_value, spec_hash

try:
    from kubernetes import config as k8s_config
    from kubernetes.dynamic import DynamicClient
    from kubernetes.dynamic.exceptions import DynamicApiError, NotFoundError
    from urllib3.exceptions import HTTPError

    HAS_KUBERNETES = True
except ImportError:  # only needed where platform=kubernetes runs (usually the controller)
    HAS_KUBERNETES = False

REVISION = "deployment.kubernetes.io/revision"
IGNORED_META = ("managedFields", "resourceVersion", "generation", "uid", "creationTimestamp")


class KubernetesError(Exception):
    """The API refused a call, cannot be reached, or the rollout failed; `result` says what runs now."""

    def __init__(self, message: str, result: dict[str, Any] | None = None):
        super().__init__(message)
        self.result = result or {}


F = TypeVar("F", bound=Callable[..., Any])


def _api_errors(fn: F) -> F:
    """API refusals and lost connections in the middle of a run become KubernetesError."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except DynamicApiError as exc:
            raise KubernetesError(f"API refused a call: {exc.summary()}") from exc
        except (HTTPError, OSError) as exc:
            raise KubernetesError(f"API server unreachable: {exc}") from exc

    return wrapper  # type: ignore[return-value]


def _comparable(obj: dict[str, Any]) -> dict[str, Any]:
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in IGNORED_META}
    return {"metadata": meta, "spec": obj.get("spec")}


@dataclass
class KubernetesService:
    dynamic: Any
    spec: dict[str, Any]
    namespace: str = "default"
    autoscale: dict[str, Any] | None = None
    deadline: float = 600.0
    rollback_on_failure: bool = True
    check_mode: bool = False
    poll: float = 2.0
    seal_key: bytes = b""  # env values are shown and hashed only as digests keyed with it (spec.seal)

    @classmethod
    def connect(cls, *, kubeconfig: str | None, context: str | None, **kwargs: Any) -> KubernetesService:
        if not HAS_KUBERNETES:
            raise KubernetesError(
                "platform kubernetes needs the `kubernetes` Python package where the module runs "
                "(pip install kubernetes; usually on the controller with delegate_to: localhost)"
            )
        try:
            api = k8s_config.new_client_from_config(config_file=kubeconfig, context=context)
            return cls(dynamic=DynamicClient(api), **kwargs)
        except (k8s_config.ConfigException, OSError, DynamicApiError) as exc:
            raise KubernetesError(f"cannot connect with kubeconfig {kubeconfig or '(default)'}: {exc}") from exc
        except Exception as exc:  # urllib3 connection errors during discovery
            raise KubernetesError(f"API server unreachable: {exc}") from exc

    # ------------------------------------------------------------------ API

    def _resource(self, body: dict[str, Any]) -> Any:
        return self.dynamic.resources.get(api_version=body["apiVersion"], kind=body["kind"])

    def _get(self, api_version: str, kind: str, name: str) -> dict[str, Any] | None:
        res = self.dynamic.resources.get(api_version=api_version, kind=kind)
        try:
            return res.get(name=name, namespace=self.namespace).to_dict()
        except NotFoundError:
            return None

    def _apply(self, body: dict[str, Any], dry_run: bool) -> dict[str, Any]:
        try:
            return (
                self._resource(body)
                .server_side_apply(
                    body=body,
                    namespace=self.namespace,
                    field_manager=manifest.MANAGER,
                    force_conflicts=True,
                    dry_run="All" if dry_run else None,
                )
                .to_dict()
            )
        except DynamicApiError as exc:
            raise KubernetesError(
                f"apply of {body['kind']}/{body['metadata']['name']} refused: {exc.summary()}"
            ) from exc

    def _sealed(self, objects: Any) -> Any:
        """Objects with the value of every env entry named in the spec replaced by its keyed digest."""
        names = set(self.spec["env"])
        if isinstance(objects, dict):
            if set(objects) >= {"name", "value"} and objects.get("name") in names:
                return {**objects, "value": sealed_value(str(objects["value"]), self.seal_key)}
            return {k: self._sealed(v) for k, v in objects.items()}
        if isinstance(objects, list):
            return [self._sealed(v) for v in objects]
        return objects

    def _digest(self) -> str:
        # No engine to ask for an image ID: the reference itself is hashed (pin a digest to roll out a rebuild).
        return spec_hash(self.spec, hashlib.sha256(self.spec["image"].encode()).hexdigest(), self.seal_key)

    # ------------------------------------------------------------------ entry points

    @_api_errors
    def present(self) -> dict[str, Any]:
        digest = self._digest()
        wanted = manifest.render(
            self.spec,
            namespace=self.namespace,
            digest=digest,
            progress_deadline=int(self.deadline),
            autoscale=self.autoscale,
        )
        before, after, changed_kinds = {}, {}, []
        for body in wanted:
            live = self._get(body["apiVersion"], body["kind"], body["metadata"]["name"])
            dry = self._apply(body, dry_run=True)
            if live is None or _comparable(live) != _comparable(dry):
                changed_kinds.append(body["kind"])
                before[body["kind"]] = _comparable(live) if live else None
                after[body["kind"]] = _comparable(dry)
        result: dict[str, Any] = {
            "changed": bool(changed_kinds),
            "spec_hash": digest,
            "rolled_back": False,
            "plan": {"action": "apply" if changed_kinds else "none", "objects": changed_kinds},
            # Env values shown as keyed digests: the variable that changed is visible, its value is not.
            "diff": {
                "before": json.dumps(self._sealed(before), indent=1, sort_keys=True),
                "after": json.dumps(self._sealed(after), indent=1, sort_keys=True),
            },
        }
        if changed_kinds and not self.check_mode:
            previous = self._get("apps/v1", "Deployment", self.spec["name"])
            for body in wanted:
                if body["kind"] in changed_kinds:
                    self._apply(body, dry_run=False)
            self._wait(wanted[0], previous)
        result["endpoints"] = self.endpoints()
        return result

    @_api_errors
    def absent(self) -> dict[str, Any]:
        removed = []
        for api_version, kind in (
            ("autoscaling/v2", "HorizontalPodAutoscaler"),
            ("v1", "Service"),
            ("apps/v1", "Deployment"),
        ):
            if self._get(api_version, kind, self.spec["name"]) is None:
                continue
            removed.append(kind)
            if not self.check_mode:
                res = self.dynamic.resources.get(api_version=api_version, kind=kind)
                res.delete(name=self.spec["name"], namespace=self.namespace, propagation_policy="Foreground")
        return {"changed": bool(removed), "endpoints": [], "removed": removed}

    @_api_errors
    def restarted(self) -> dict[str, Any]:
        live = self._get("apps/v1", "Deployment", self.spec["name"])
        if live is None or self.check_mode:
            return {"changed": live is not None, "endpoints": self.endpoints()}
        body = manifest.deployment(
            self.spec,
            namespace=self.namespace,
            digest=self._digest(),
            progress_deadline=int(self.deadline),
            autoscaled=bool(self.autoscale),
        )
        body["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"] = time.strftime(
            "%Y-%m-%dT%H:%M:%SZ", time.gmtime()
        )
        self._apply(body, dry_run=False)
        self._wait(body, live)
        return {"changed": True, "endpoints": self.endpoints()}

    # ------------------------------------------------------------------ rollout

    def _wait(self, body: dict[str, Any], previous: dict[str, Any] | None) -> None:
        end = time.monotonic() + self.deadline
        while True:
            dep = self._get("apps/v1", "Deployment", self.spec["name"]) or {}
            state, why = manifest.rollout_state(dep, self.spec["replicas"])
            if state == "done":
                return
            if state == "failed" or time.monotonic() > end:
                why = why if state == "failed" else f"not rolled out within {self.deadline:g} s: {why}"
                rolled_back = self._rollback(body, previous) if self.rollback_on_failure else False
                raise KubernetesError(
                    f"rollout of deployment {self.namespace}/{self.spec['name']} failed: {why}"
                    + ("; rolled back to the previous ReplicaSet's pod template" if rolled_back else ""),
                    {"changed": True, "rolled_back": rolled_back, "endpoints": self.endpoints()},
                )
            time.sleep(self.poll)

    def _rollback(self, body: dict[str, Any], previous: dict[str, Any] | None) -> bool:
        """Apply the pod template of the ReplicaSet before the newest one (what `kubectl rollout undo` does)."""
        if previous is None:
            return False
        rs_api = self.dynamic.resources.get(api_version="apps/v1", kind="ReplicaSet")
        sets = rs_api.get(namespace=self.namespace, label_selector=f"{manifest.L_NAME}={self.spec['name']}").to_dict()
        ordered = sorted(
            sets.get("items") or [], key=lambda rs: int((rs["metadata"].get("annotations") or {}).get(REVISION, 0))
        )
        if len(ordered) < 2:
            return False
        template = json.loads(json.dumps(ordered[-2]["spec"]["template"]))
        template["metadata"].get("labels", {}).pop("pod-template-hash", None)
        undo = json.loads(json.dumps(body))
        undo["spec"]["template"] = template
        undo["metadata"]["annotations"][L_HASH] = (template["metadata"].get("annotations") or {}).get(L_HASH, "")
        self._apply(undo, dry_run=False)
        return True

    def endpoints(self) -> list[dict[str, Any]]:
        """One endpoint per ready pod: its IP and the first container port (docs/endpoints.md)."""
        pods_api = self.dynamic.resources.get(api_version="v1", kind="Pod")
        pods = pods_api.get(namespace=self.namespace, label_selector=f"{manifest.L_NAME}={self.spec['name']}").to_dict()
        out = []
        for pod in pods.get("items") or []:
            status = pod.get("status") or {}
            ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
            if status.get("phase") != "Running" or (pod["metadata"].get("deletionTimestamp")):
                continue
            out.append(
                endpoint(
                    service=self.spec["name"],
                    host=(pod.get("spec") or {}).get("nodeName", ""),
                    address=status.get("podIP", ""),
                    port=self.spec["ports"][0]["container"] if self.spec["ports"] else None,
                    container=pod["metadata"]["name"],
                    replica=0,
                    spec_hash=(pod["metadata"].get("annotations") or {}).get(L_HASH, ""),
                    healthy=ready,
                    spec=self.spec,
                )
            )
        out.sort(key=lambda e: e["container"])
        for i, e in enumerate(out, 1):
            e["replica"] = i
        return out
