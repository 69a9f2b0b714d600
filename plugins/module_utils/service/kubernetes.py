# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""container_service with platform=kubernetes: the thin layer over the official `kubernetes` client.

Server-side apply (field manager containerops.fleet) of what k8s_manifest renders; whether anything
changes is decided by a server dry run first, which is also all check mode does.  Objects of the service
that are no longer wanted (the autoscaler after `autoscale` is removed, the Service after `ports`) are
deleted; turning autoscaling on hands `.spec.replicas` to the autoscaler without a dip.  Then waits for the
rollout until the controller decides: done, or ProgressDeadlineExceeded (this wait outlasts
progressDeadlineSeconds so the controller speaks first), optionally putting the Deployment's previous pod
template back.  `absent` returns once the foreground deletion is complete (the namespace stays).

The endpoints are what runs: one per ready pod (pod IP, first container port), or for a load-balanced service
(`lb`) one per node running ready pods (node InternalIP, node port of the NodePort Service), the addresses
HAProxy and Prometheus reach from outside the cluster.  Values read back from the API are checked (allow).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

from ansible_collections.containerops.fleet.plugins.module_utils.service import k8s_manifest as manifest
from ansible_collections.containerops.fleet.plugins.module_utils.service.spec import (
    L_HASH,
    SpecError,
    sealed_value,
    spec_hash,
)

try:
    from kubernetes import config as k8s_config
    from kubernetes.dynamic import DynamicClient
    from kubernetes.dynamic.exceptions import DynamicApiError, NotFoundError
    from urllib3.exceptions import HTTPError

    HAS_KUBERNETES = True
except ImportError:  # only needed where platform=kubernetes runs (usually the controller)
    HAS_KUBERNETES = False

IGNORED_META = ("managedFields", "resourceVersion", "generation", "uid", "creationTimestamp")
# How long past progressDeadlineSeconds without any progress this wait goes on when the controller has not
# marked ProgressDeadlineExceeded (it does about a second after the deadline; a stale condition it never renews).
DEADLINE_GRACE = 10.0
# How long a namespace this run created may take to get its default ServiceAccount (pods wait for it).
SERVICE_ACCOUNT_WAIT = 60.0


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
        except SpecError as exc:  # a value read back from the API that fails its allow-list
            raise KubernetesError(str(exc)) from exc

    return wrapper  # type: ignore[return-value]


def _comparable(obj: dict[str, Any], autoscaled: bool = False) -> dict[str, Any]:
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in IGNORED_META}
    spec = obj.get("spec")
    if autoscaled and obj.get("kind") == "Deployment" and isinstance(spec, dict):
        spec = {k: v for k, v in spec.items() if k != "replicas"}  # the autoscaler's to set, not ours to compare
    return {"metadata": meta, "spec": spec}


@dataclass
class KubernetesService:
    dynamic: Any
    spec: dict[str, Any]
    namespace: str = "default"
    autoscale: dict[str, Any] | None = None
    lb: dict[str, Any] | None = None
    create_namespace: bool = False
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

    def _apply(
        self, body: dict[str, Any], dry_run: bool, manager: str = manifest.MANAGER, force: bool = True
    ) -> dict[str, Any]:
        try:
            return (
                self._resource(body)
                .server_side_apply(
                    body=body,
                    namespace=self.namespace,
                    field_manager=manager,
                    force_conflicts=force,
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

    def _namespace(self) -> bool:
        """Whether the namespace is there; created (and given its default ServiceAccount) with create_namespace.

        Returns True when it is missing and this run creates it, or would (check mode)."""
        res = self.dynamic.resources.get(api_version="v1", kind="Namespace")
        try:
            res.get(name=self.namespace)
            return False
        except NotFoundError:
            pass
        if not self.create_namespace:
            raise KubernetesError(
                f"namespace {self.namespace!r} does not exist: create it, or set create_namespace: true "
                "(service role: service_kubernetes_create_namespace)"
            )
        if self.check_mode:
            return True
        self._apply(manifest.namespace(self.namespace), dry_run=False)
        end = time.monotonic() + SERVICE_ACCOUNT_WAIT
        while self._get("v1", "ServiceAccount", "default") is None:
            if time.monotonic() > end:
                raise KubernetesError(
                    f"namespace {self.namespace!r} created, but it has no default ServiceAccount after "
                    f"{SERVICE_ACCOUNT_WAIT:g} s (is the controller manager running?)",
                    {"changed": True},
                )
            time.sleep(min(self.poll, 0.5))
        return True

    # ------------------------------------------------------------------ entry points

    def _delete(self, api_version: str, kind: str, foreground: bool = False) -> None:
        res = self.dynamic.resources.get(api_version=api_version, kind=kind)
        with contextlib.suppress(NotFoundError):  # gone already
            res.delete(
                name=self.spec["name"],
                namespace=self.namespace,
                propagation_policy="Foreground" if foreground else "Background",
            )

    def _wait_gone(self, objects: list[tuple[str, str]], what: str) -> None:
        """Until none of `objects` ((apiVersion, kind) of this service) exists any more, within the deadline."""
        end = time.monotonic() + self.deadline + DEADLINE_GRACE
        left = list(objects)
        while True:
            left = [(a, k) for a, k in left if self._get(a, k, self.spec["name"]) is not None]
            if not left:
                return
            if time.monotonic() > end:
                kinds = ", ".join(k for _a, k in left)
                raise KubernetesError(
                    f"{what}: {kinds} {self.namespace}/{self.spec['name']} still being deleted after "
                    f"{self.deadline + DEADLINE_GRACE:g} s (a finalizer that nothing removes?)",
                    {"changed": True, "endpoints": self.endpoints()},
                )
            time.sleep(min(self.poll, 0.5))

    # ------------------------------------------------------------------ entry points

    @_api_errors
    def present(self) -> dict[str, Any]:
        digest = self._digest()
        autoscaled = bool(self.autoscale)
        wanted = manifest.render(
            self.spec,
            namespace=self.namespace,
            digest=digest,
            progress_deadline=int(self.deadline),
            autoscale=self.autoscale,
            lb=self.lb,
        )
        new_namespace = self._namespace()
        if new_namespace and self.check_mode:
            # Nothing to dry-run against in a namespace that is not there: everything would be created.
            after = {"Namespace": manifest.namespace(self.namespace), **{b["kind"]: _comparable(b) for b in wanted}}
            return {
                "changed": True,
                "spec_hash": digest,
                "rolled_back": False,
                "plan": {"action": "apply", "objects": list(after), "remove": []},
                "removed": [],
                "diff": {
                    "before": json.dumps(self._sealed(dict.fromkeys(after)), indent=1, sort_keys=True),
                    "after": json.dumps(self._sealed(after), indent=1, sort_keys=True),
                },
                "endpoints": [],
            }
        live = {kind: self._get(api, kind, self.spec["name"]) for api, kind in manifest.KINDS}
        # A deletion still in progress (state=absent just before, or someone else's) ends before anything is applied:
        # an apply to an object being deleted is lost with it.
        dying = [
            (api, kind)
            for api, kind in manifest.KINDS
            if (live[kind] or {}).get("metadata", {}).get("deletionTimestamp")
        ]
        if dying and not self.check_mode:
            self._wait_gone(dying, "apply")
            live.update({kind: None for _api, kind in dying})
        wanted_kinds = {body["kind"] for body in wanted}
        unwanted = [
            (api, kind) for api, kind in manifest.KINDS if kind not in wanted_kinds and manifest.is_ours(live[kind])
        ]
        before, after, changed_kinds = {}, {}, []
        for body in wanted:
            current = live[body["kind"]]
            dry = self._apply(body, dry_run=True)
            if current is None or _comparable(current, autoscaled) != _comparable(dry, autoscaled):
                changed_kinds.append(body["kind"])
                before[body["kind"]] = _comparable(current) if current else None
                after[body["kind"]] = _comparable(dry)
        handover = autoscaled and live["Deployment"] is not None and manifest.owns_replicas(live["Deployment"])
        if handover and "Deployment" not in changed_kinds:
            changed_kinds.insert(0, "Deployment")  # our apply must let go of .spec.replicas
        for _api, kind in unwanted:
            before[kind], after[kind] = _comparable(live[kind]), None
        removed = [kind for _api, kind in unwanted]
        if new_namespace:
            changed_kinds.insert(0, "Namespace")
            before["Namespace"], after["Namespace"] = None, manifest.namespace(self.namespace)
        changed = bool(changed_kinds or removed)
        result: dict[str, Any] = {
            "changed": changed,
            "spec_hash": digest,
            "rolled_back": False,
            "plan": {"action": "apply" if changed else "none", "objects": changed_kinds, "remove": removed},
            "removed": removed,
            # Env values shown as keyed digests: the variable that changed is visible, its value is not.
            "diff": {
                "before": json.dumps(self._sealed(before), indent=1, sort_keys=True),
                "after": json.dumps(self._sealed(after), indent=1, sort_keys=True),
            },
        }
        if changed and not self.check_mode:
            previous = live["Deployment"]
            stale = manifest.stale_deadline(previous)
            # Objects no longer wanted go first: an old autoscaler must not rescale what this apply sets.
            for api, kind in unwanted:
                self._delete(api, kind)
            if unwanted:
                self._wait_gone(unwanted, "removing what is no longer wanted")
            if handover:
                # Turning autoscaling on: another manager co-owns the current count first, so dropping the field
                # from our apply leaves it as it is (no reset to 1) until the autoscaler changes it.
                self._apply(
                    manifest.replicas_handover(previous), dry_run=False, manager=manifest.HANDOVER_MANAGER, force=False
                )
            for body in wanted:
                if body["kind"] in changed_kinds:
                    self._apply(body, dry_run=False)
            if "Deployment" in changed_kinds:
                self._wait(wanted[0], previous, stale)
        result["endpoints"] = self.endpoints()
        return result

    @_api_errors
    def absent(self) -> dict[str, Any]:
        removed = []
        for api_version, kind in reversed(manifest.KINDS):
            if self._get(api_version, kind, self.spec["name"]) is None:
                continue
            removed.append((api_version, kind))
            if not self.check_mode:
                # Foreground: the Deployment goes only after its ReplicaSets and their pods are gone.
                self._delete(api_version, kind, foreground=True)
        if removed and not self.check_mode:
            self._wait_gone(removed, "state absent")
        return {"changed": bool(removed), "endpoints": [], "removed": [kind for _api, kind in removed]}

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
        if self.autoscale and manifest.owns_replicas(live):  # as in present: no reset of the count to 1
            self._apply(manifest.replicas_handover(live), dry_run=False, manager=manifest.HANDOVER_MANAGER, force=False)
        self._apply(body, dry_run=False)
        self._wait(body, live, manifest.stale_deadline(live))
        return {"changed": True, "endpoints": self.endpoints()}

    # ------------------------------------------------------------------ rollout

    def _rollout(self, stale: str | None) -> tuple[str, str]:
        """Follow the rollout until the controller decides: ('done' | 'failed' | 'stalled' | 'deleted', why).

        The controller marks ProgressDeadlineExceeded progressDeadlineSeconds after the rollout's last progress
        (about a second later in practice); this wait counts the same way and gives it DEADLINE_GRACE more, so
        the failure is the controller's, named by it.  It ends on its own ('stalled') only when the controller
        stays silent, as it does when an earlier rollout's condition is still in place.
        """
        limit = self.deadline + DEADLINE_GRACE
        seen: tuple[int, ...] = ()
        last_progress = time.monotonic()
        while True:
            dep = self._get("apps/v1", "Deployment", self.spec["name"])
            if dep is None:
                return "deleted", "the Deployment was deleted during the rollout"
            state, why = manifest.rollout_state(dep, self.spec["replicas"], stale)
            if state in ("done", "failed"):
                return state, why
            mark = manifest.progress_mark(dep)
            if mark != seen:
                seen, last_progress = mark, time.monotonic()
            elif time.monotonic() - last_progress > limit:
                return "stalled", (
                    f"no progress for {limit:g} s (progressDeadlineSeconds {self.deadline:g} and "
                    f"{DEADLINE_GRACE:g} s more) and no {manifest.DEADLINE_REASON} from the controller: {why}"
                )
            time.sleep(self.poll)

    def _wait(self, body: dict[str, Any], previous: dict[str, Any] | None, stale: str | None) -> None:
        state, why = self._rollout(stale)
        if state == "done":
            return
        rolled_back = self.rollback_on_failure and self._rollback(body, previous)
        raise KubernetesError(
            f"rollout of deployment {self.namespace}/{self.spec['name']} failed: {why}"
            + ("; rolled back to the Deployment's previous pod template" if rolled_back else ""),
            {"changed": True, "rolled_back": rolled_back, "endpoints": self.endpoints()},
        )

    def _rollback(self, body: dict[str, Any], previous: dict[str, Any] | None) -> bool:
        """Apply the Deployment's pod template from before this run (fetched before the apply) and wait for it.

        Not "the ReplicaSet before the newest": which one that is depends on whether the controller has created
        the new ReplicaSet yet, and after an earlier failure it can be the broken one.
        """
        if previous is None:
            return False
        template = manifest.rollback_template(previous)
        undo = json.loads(json.dumps(body))
        undo["spec"]["template"] = template
        undo["metadata"]["annotations"][L_HASH] = (template["metadata"].get("annotations") or {}).get(L_HASH, "")
        failing = self._get("apps/v1", "Deployment", self.spec["name"])
        self._apply(undo, dry_run=False)
        # The failed rollout's own ProgressDeadlineExceeded stays until this one makes progress: not its verdict.
        self._rollout(manifest.stale_deadline(failing))
        return True

    def endpoints(self) -> list[dict[str, Any]]:
        """One endpoint per ready pod: its IP and the first container port; for a load-balanced service one per node
        running ready pods: the node's address and the node port (docs/endpoints.md)."""
        pods_api = self.dynamic.resources.get(api_version="v1", kind="Pod")
        pods = pods_api.get(namespace=self.namespace, label_selector=f"{manifest.L_NAME}={self.spec['name']}").to_dict()
        if self.lb and self.spec["ports"]:
            node_port = manifest.node_port_of(self._get("v1", "Service", self.spec["name"]), self.spec)
            if node_port is None:
                return []
            nodes = self.dynamic.resources.get(api_version="v1", kind="Node").get().to_dict()
            return manifest.node_endpoints(self.spec, node_port, pods.get("items") or [], nodes.get("items") or [])
        return manifest.pod_endpoints(self.spec, pods.get("items") or [])
