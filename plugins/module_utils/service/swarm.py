# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""container_service with platform=swarm: the thin layer that creates/updates one Swarm service through a
manager's engine and waits until Swarm reports the update converged (or paused, or rolled back).

Rendering and reading Swarm's answers are pure (swarm_spec); this file only talks to the engine.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from ansible_collections.containerops.fleet.plugins.module_utils.engine.client import DockerEngine
from ansible_collections.containerops.fleet.plugins.module_utils.service.driver import DeployError, local_image
from ansible_collections.containerops.fleet.plugins.module_utils.service.plan import allocate_ports
from ansible_collections.containerops.fleet.plugins.module_utils.service.spec import (
    L_HASH,
    SpecError,
    spec_hash,
)
from ansible_collections.containerops.fleet.plugins.module_utils.service.swarm_spec import (
    L_SWARM_HASH,
    endpoints_from_tasks,
    pending_reasons,
    ports_in_use,
    published_of,
    running_tasks,
    service_body,
    task_errors,
    update_order,
    update_outcome,
)


@dataclass
class SwarmService:
    engine: DockerEngine
    spec: dict[str, Any]
    publish_mode: str = "host"
    endpoint_mode: str = "vip"
    deadline: float = 600.0
    check_mode: bool = False
    warn: Callable[[str], None] = print
    poll: float = 1.0
    seal_key: bytes = b""  # env values are hashed only as digests keyed with it (spec.seal)

    # ------------------------------------------------------------------ reading

    def _manager(self) -> None:
        if self.engine.swarm_inspect() is None:
            raise SpecError(
                "platform: swarm needs a swarm manager's engine; this host is not a manager "
                "(form the swarm with the containerops.fleet.swarm role and run the task on a manager)"
            )

    def _check_mode_waits_for(self) -> str:
        if self.engine.swarm_inspect() is None:
            return "the swarm (the containerops.fleet.swarm role forms it)"
        if self.engine.inspect_image(self.spec["image"]) is None:
            return f"the image {self.spec['image']} on this manager (the service role delivers it)"
        return ""

    def _service(self) -> dict[str, Any] | None:
        return self.engine.inspect_service(self.spec["name"])

    def _tasks(self) -> list[dict[str, Any]]:
        return self.engine.tasks({"service": self.spec["name"]})

    def endpoints(self, service: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        service = service or self._service()
        if not service:
            return []
        return endpoints_from_tasks(service, self._tasks(), self.engine.nodes())

    # ------------------------------------------------------------------ entry points

    def present(self) -> dict[str, Any]:
        if self.check_mode:
            # check mode formed no swarm and delivered no image: a real run has both by the time it gets here
            waiting = self._check_mode_waits_for()
            if waiting:
                return {
                    "changed": True,
                    "rolled_back": False,
                    "plan": {"waits_for": waiting},
                    "endpoints": [],
                    "diff": {"before": {"replicas": 0}, "after": {"replicas": self.spec["replicas"]}},
                }
        self._manager()
        image = local_image(self.engine, self.spec["image"], "this swarm manager (ship it to every node)")
        digest = spec_hash(self.spec, image["Id"], self.seal_key)
        current = self._service()
        self._check_capacity()
        body = service_body(
            self.spec,
            digest=digest,
            published=self._published(current),
            publish_mode=self.publish_mode,
            endpoint_mode=self.endpoint_mode,
            key=self.seal_key,
        )
        old_labels = (current or {}).get("Spec", {}).get("Labels") or {}
        changed = old_labels.get(L_SWARM_HASH) != body["Labels"][L_SWARM_HASH]
        before = {
            "replicas": ((current or {}).get("Spec", {}).get("Mode", {}).get("Replicated") or {}).get("Replicas", 0),
            "spec_hashes": [old_labels[L_HASH]] if old_labels.get(L_HASH) else [],
        }
        after = {"replicas": self.spec["replicas"], "spec_hashes": [digest]}
        result: dict[str, Any] = {
            "changed": changed,
            "spec_hash": digest,
            "rolled_back": False,
            "diff": {"before": before, "after": after},
            "plan": {
                "action": "update" if current else "create",
                "update_order": update_order(self.spec, self.publish_mode),
            }
            if changed
            else {"action": "none"},
        }
        if not changed or self.check_mode:
            result["endpoints"] = self.endpoints(current) if current else []
            return result
        if current:
            self.engine.update_service(current["ID"], current["Version"]["Index"], body)
            sid = current["ID"]
        else:
            sid = self.engine.create_service(body)["ID"]
        self._wait(sid, digest, updated=current is not None)
        result["endpoints"] = self.endpoints()
        return result

    def absent(self) -> dict[str, Any]:
        self._manager()
        current = self._service()
        if current and not self.check_mode:
            self.engine.remove_service(current["ID"])
        return {
            "changed": current is not None,
            "endpoints": [],
            "removed": [self.spec["name"]] if current else [],
            "diff": {"before": {"service": bool(current)}, "after": {"service": False}},
        }

    def restarted(self) -> dict[str, Any]:
        self._manager()
        current = self._service()
        if not current or self.check_mode:
            return {"changed": current is not None, "endpoints": self.endpoints(current) if current else []}
        spec = current["Spec"]
        spec["TaskTemplate"]["ForceUpdate"] = int(spec["TaskTemplate"].get("ForceUpdate") or 0) + 1
        self.engine.update_service(current["ID"], current["Version"]["Index"], spec)
        digest = (spec.get("Labels") or {}).get(L_HASH, "")
        self._wait(current["ID"], digest, updated=True)
        return {"changed": True, "endpoints": self.endpoints()}

    # ------------------------------------------------------------------ helpers

    def _check_capacity(self) -> None:
        if not (self.spec["ports"] and self.publish_mode == "host"):
            return
        ready = [n for n in self.engine.nodes() if (n.get("Status") or {}).get("State") == "ready"]
        active = [n for n in ready if (n.get("Spec") or {}).get("Availability") == "active"]
        if self.spec["replicas"] > len(active):
            raise SpecError(
                f"replicas: {self.spec['replicas']} exceeds the {len(active)} active swarm nodes; with host-mode "
                "ports each node runs one task per published port (add nodes, or use publish_mode: ingress)"
            )

    def _published(self, current: dict[str, Any] | None) -> list[int]:
        """Keep the service's published ports; pick new ones from host_range, free of other swarm services."""
        kept = published_of(current)
        taken = ports_in_use(self.engine.services(), self.spec["name"])
        out = []
        for p in self.spec["ports"]:
            port = kept.get((p["container"], p["protocol"]))
            lo, hi = p["host_range"]
            if not port or not lo <= port <= hi or port in taken:
                port = allocate_ports(1, p["host_range"], taken | set(out))[0]
            out.append(port)
        return out

    def _wait(self, sid: str, digest: str, updated: bool) -> None:
        """Until the update completed and `replicas` tasks of `digest` run; fail on pause or rollback."""
        deadline = time.monotonic() + self.deadline
        want = self.spec["replicas"]
        while True:
            service = self.engine.inspect_service(sid) or {}
            state, message = update_outcome(service)
            tasks = self._tasks()
            if state in ("rollback_completed", "rollback_paused", "rollback_started"):
                # Report once the previous tasks serve again (Swarm calls the rollback complete a little earlier).
                restored = state == "rollback_completed" and len(running_tasks(tasks)) >= want
                if state != "rollback_paused" and not restored and time.monotonic() < deadline:
                    time.sleep(self.poll)
                    continue
                raise DeployError(
                    f"update of swarm service {self.spec['name']} failed and Swarm rolled it back ({state}): "
                    f"{message}" + _reasons(task_errors(tasks)),
                    {"rolled_back": state == "rollback_completed", "endpoints": self.endpoints()},
                )
            if state == "paused":
                raise DeployError(
                    f"update of swarm service {self.spec['name']} paused by Swarm (update.failure_action=pause): "
                    f"{message}" + _reasons(task_errors(tasks)),
                    {"rolled_back": False, "endpoints": self.endpoints()},
                )
            running = running_tasks(tasks, digest)
            settled = state in ("", "completed") or not updated
            if settled and len(running) == want and len(running_tasks(tasks)) == want:
                return
            if time.monotonic() > deadline:
                raise DeployError(
                    f"swarm service {self.spec['name']} did not converge within {self.deadline:g} s "
                    f"(progress_deadline): {len(running)}/{want} tasks of spec {digest} running"
                    + (f", update state {state}: {message}" if state else "")
                    + _reasons(task_errors(tasks) + pending_reasons(tasks)),
                    {"rolled_back": False, "endpoints": self.endpoints()},
                )
            time.sleep(self.poll)


def _reasons(reasons: list[str]) -> str:
    return ("; task errors: " + " | ".join(reasons)) if reasons else ""
