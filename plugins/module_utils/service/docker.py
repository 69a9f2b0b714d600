# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""container_service on plain Docker hosts: the thin layer that carries a plan out through the engine.

Planning and spec logic are pure (service_spec, service_plan); this file only talks to the engine,
waits on health, and rolls back.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

from ansible_collections.containerops.fleet.plugins.module_utils.engine.client import DockerEngine, EngineError
from ansible_collections.containerops.fleet.plugins.module_utils.service import history
from ansible_collections.containerops.fleet.plugins.module_utils.service.driver import DeployError, local_image
from ansible_collections.containerops.fleet.plugins.module_utils.service.plan import (
    Plan,
    Replica,
    allocate_ports,
    endpoints_from_list,
    is_swarm_task,
    plan_update,
    published_ports,
    replica_from_list,
)
from ansible_collections.containerops.fleet.plugins.module_utils.service.spec import (
    L_MANAGED,
    L_SERVICE,
    L_SPEC,
    MAX_REPLICAS_PER_HOST,
    SpecError,
    container_body,
    diff_fields,
    probe_url,
    seal,
    spec_hash,
)


@dataclass
class Started:
    replica: int
    id: str
    name: str
    url: str | None = None  # the HTTP health check, probed from the host (spec.probe_url); None: the engine's


@dataclass
class DockerService:
    engine: DockerEngine
    spec: dict[str, Any]
    address: str
    node: str
    check_mode: bool = False
    warn: Callable[[str], None] = print
    poll: float = 0.5
    history_path: str = ""
    history_limit: int = 5
    keep_old: bool = False
    seal_key: bytes = b""  # env values are shown and stored only as digests keyed with it (spec.seal)
    engine_wait: float = 90.0  # a rollback waits this long for an engine that went away (restarting)
    _log: list[str] = field(default_factory=list)

    # ------------------------------------------------------------------ reading

    def _list(self) -> list[dict[str, Any]]:
        """This service's containers on this host; a swarm service's tasks of the same name are Swarm's, not ours."""
        entries = self.engine.containers({"label": f"{L_SERVICE}={self.spec['name']}"})
        return [e for e in entries if not is_swarm_task(e)]

    def endpoints(self, entries: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        return endpoints_from_list(self._list() if entries is None else entries, self.node, self.address, self.warn)

    def all_endpoints(self) -> list[dict[str, Any]]:
        """Endpoints of every containerops.fleet service on this host, not only this one."""
        return endpoints_from_list(self.engine.containers({"label": L_SERVICE}), self.node, self.address, self.warn)

    def _previous_spec(self, entries: list[dict[str, Any]], desired_hash: str) -> dict[str, Any] | None:
        for entry in entries:
            r = replica_from_list(entry)
            if r.running and r.spec_hash != desired_hash:
                try:
                    # a label written before env values were sealed: seal it too before it reaches a diff
                    return seal(json.loads((entry.get("Labels") or {}).get(L_SPEC, "")), self.seal_key)
                except ValueError:
                    return None
        return None

    # ------------------------------------------------------------------ entry points

    def present(self) -> dict[str, Any]:
        if self.spec["replicas"] > MAX_REPLICAS_PER_HOST:
            raise SpecError(
                f"replicas: {self.spec['replicas']} on {self.node} is above the limit of {MAX_REPLICAS_PER_HOST} "
                "replicas of a service per host; add hosts or give each replica more work"
            )
        if self.check_mode and self.engine.inspect_image(self.spec["image"]) is None:
            # check mode delivered nothing: the image would be on the host by the time a real run deploys
            running = self.endpoints()
            return {
                "changed": True,
                "rolled_back": False,
                "plan": {"image_missing": self.spec["image"]},
                "endpoints": running,
                "retiring": [],
                "diff": {"before": {"replicas": len(running)}, "after": {"replicas": self.spec["replicas"]}},
            }
        image = local_image(self.engine, self.spec["image"], self.node)
        digest = spec_hash(self.spec, image["Id"], self.seal_key)
        entries = self._list()
        current = [replica_from_list(e) for e in entries]
        plan = plan_update(current, digest, self.spec["replicas"], self.spec["update"]["parallelism"])
        if self.keep_old and self.spec["update"]["order"] != "start-first":
            raise SpecError("keep_old: needs update.order start-first (old replicas keep serving while new ones start)")
        # With keep_old, running replicas the plan would remove stay: they are only reported as retiring.
        acting = bool(plan.create or plan.replace or [r for r in plan.remove if not r.running or not self.keep_old])
        retiring = {r.name for r in plan.remove if r.running} | {old.name for b in plan.replace for old, _unused in b}
        result: dict[str, Any] = {
            "spec_hash": digest,
            "plan": plan.summary(),
            "changed": acting,
            "rolled_back": False,
        }
        old_spec = self._previous_spec(entries, digest)
        before = {
            "replicas": len([r for r in current if r.running]),
            "spec_hashes": sorted({r.spec_hash for r in current if r.running}),
        }
        after = {"replicas": self.spec["replicas"], "spec_hashes": [digest] if self.spec["replicas"] else []}
        if old_spec:
            sealed = seal(self.spec, self.seal_key)  # the label holds the sealed spec: compare like with like
            before["spec"] = {k: old_spec.get(k) for k in diff_fields(old_spec, sealed)}
            after["spec"] = {k: sealed.get(k) for k in diff_fields(old_spec, sealed)}
            result["changed_fields"] = diff_fields(old_spec, sealed)
        result["diff"] = {"before": before, "after": after}
        missing = self._missing_networks()
        if missing:
            result.update(changed=True, networks_created=missing)
            after["networks_created"] = missing
            if not self.check_mode:
                for network in missing:
                    try:
                        self.engine.create_network(network, "bridge", {L_MANAGED: "true", L_SERVICE: self.spec["name"]})
                    except EngineError as exc:  # made meanwhile by another service's deploy on this host
                        if exc.status != 409:
                            raise
        if not acting or self.check_mode:
            result.update(self._split_retiring(self.endpoints(entries), retiring))
            result.update(self._history(image["Id"], digest, record_it=not self.check_mode and not current))
            return result
        self._execute(plan, digest)
        result.update(self._split_retiring(self.endpoints(), retiring))
        result.update(self._history(image["Id"], digest, record_it=True))
        return result

    def _missing_networks(self) -> list[str]:
        """The service's networks this host's engine does not have yet (created for it; none when it runs no
        replica here)."""
        if not self.spec["replicas"]:
            return []
        # The engine also finds a network by an ID prefix: only one of this very name counts.
        return [n for n in self.spec["networks"] if (self.engine.inspect_network(n) or {}).get("Name") != n]

    def _split_retiring(self, endpoints: list[dict[str, Any]], retiring: set[str]) -> dict[str, Any]:
        """With keep_old, the replaced replicas still run: report them apart from the ones that stay."""
        if not self.keep_old:
            return {"endpoints": endpoints, "retiring": []}
        return {
            "endpoints": [e for e in endpoints if e["container"] not in retiring],
            "retiring": [e for e in endpoints if e["container"] in retiring],
        }

    def _history(self, image_id: str, digest: str, record_it: bool) -> dict[str, Any]:
        """Record a successful deploy as a revision (spec + image ID); report the history."""
        if not self.history_path:
            return {}
        revisions = history.load(self.history_path)
        if record_it:
            updated = history.record(revisions, seal(self.spec, self.seal_key), image_id, digest, self.history_limit)
            if updated is not revisions:
                # entries an earlier version wrote with plain env values are sealed on the way
                updated = [{**h, "spec": seal(h.get("spec") or {}, self.seal_key)} for h in updated]
                history.save(self.history_path, updated)
                revisions = updated
        current = next((h["revision"] for h in reversed(revisions) if h["spec_hash"] == digest), None)
        return {
            "revision": current,
            "history": [{k: h[k] for k in ("revision", "spec_hash", "image_id", "time")} for h in revisions],
        }

    def absent(self) -> dict[str, Any]:
        entries = self._list()
        ids = [e["Id"] for e in entries]
        if ids and not self.check_mode:
            self._parallel(self.engine.remove_container, ids)
        return {
            "changed": bool(ids),
            "endpoints": [],
            "removed": [replica_from_list(e).name for e in entries],
            "diff": {"before": {"replicas": len(ids)}, "after": {"replicas": 0}},
        }

    def restarted(self) -> dict[str, Any]:
        entries = [e for e in self._list() if e.get("State") == "running"]
        if self.check_mode or not entries:
            return {"changed": bool(entries), "endpoints": self.endpoints(entries)}
        step = self.spec["update"]["parallelism"]
        for i in range(0, len(entries), step):
            batch = entries[i : i + step]
            self._parallel(lambda e: self.engine.restart_container(e["Id"]), batch)
            failed = self._wait_healthy([self._started(replica_from_list(e)) for e in batch])
            if failed:
                raise DeployError(self._failure_message(failed, "restart"), {"endpoints": self.endpoints()})
        return {"changed": True, "endpoints": self.endpoints()}

    # ------------------------------------------------------------------ rollout

    def _execute(self, plan: Plan, digest: str) -> None:
        update = self.spec["update"]
        total_new = len(plan.create) + sum(len(b) for b in plan.replace)
        allowed_failures = int(update["max_failure_ratio"] * total_new)
        failures: list[tuple[Started, str]] = []
        started: list[Started] = []
        stopped_old: list[Replica] = []

        def fail(batch_failed: list[tuple[Started, str]], what: str) -> None:
            fail_with(self._failure_message(batch_failed, what))

        # Every replica that served before this run: a rollback makes sure each runs again.
        previous = plan.keep + [old for batch in plan.replace for old, _unused in batch]
        previous += [r for r in plan.remove if r.running]

        def fail_with(message: str) -> None:
            if update["failure_action"] == "rollback":
                self._rollback(started, stopped_old, previous)
                raise DeployError(
                    message + "; rolled back: the previous replicas are serving",
                    {"rolled_back": True, "endpoints": self.endpoints()},
                )
            raise DeployError(
                message + "; update paused (failure_action=pause): new and old replicas left as they are",
                {"rolled_back": False, "endpoints": self.endpoints()},
            )

        def act(what: str, fn: Callable[..., Any], *args: Any) -> Any:
            """An engine error (or no free port) while a batch is under way fails it like a failed health check."""
            try:
                return fn(*args)
            except EngineError as exc:
                fail_with(f"{what} of service {self.spec['name']} on {self.node} failed: engine error: {exc}")
            except SpecError as exc:
                fail_with(f"{what} of service {self.spec['name']} on {self.node} failed: {exc}")

        def stop(r: Replica) -> None:
            self.engine.stop_container(r.id)

        # Stopped leftovers first: they serve nothing.
        self._parallel(lambda r: self.engine.remove_container(r.id), [r for r in plan.remove if not r.running])

        if plan.create:
            new = act("deploy", self._start, plan.create, digest, started)
            bad = act("deploy", self._wait_healthy, new)
            failures += bad
            if len(failures) > allowed_failures:
                fail(bad, "deploy")

        for batch in plan.replace:
            olds = [old for old, _unused in batch]
            if update["order"] == "stop-first":
                stopped_old += olds  # before stopping: a rollback restarts them even if a stop fails half-way
                act("update", self._parallel, stop, olds)
            new = act("update", self._start, [idx for _unused, idx in batch], digest, started)
            bad = act("update", self._wait_healthy, new)
            failures += bad
            if len(failures) > allowed_failures:
                fail(bad, "update")
            if update["order"] == "start-first" and not self.keep_old:
                stopped_old += olds
                act("update", self._parallel, stop, olds)

        # Success: old containers and extras go for good (with keep_old, a later run removes them).
        leftovers = [r.id for r in stopped_old]
        if not self.keep_old:
            leftovers += [r.id for r in plan.remove if r.running]
        self._parallel(self.engine.remove_container, leftovers)

    def _start(self, indices: list[int], digest: str, started: list[Started]) -> list[Started]:
        """Create and start replicas; each goes into `started` once created, so a rollback removes it even when
        the engine refuses its start (or a sibling's in the same batch)."""
        taken = published_ports(self.engine.containers()) | self._bound_ports()
        port_specs = self.spec["ports"]
        assignments: list[list[int]] = []
        for _unused in indices:
            ports = []
            for p in port_specs:
                got = allocate_ports(1, p["host_range"], taken)[0]
                taken.add(got)
                ports.append(got)
            assignments.append(ports)

        def one(item: tuple[int, list[int]]) -> Started:
            idx, ports = item
            name = f"{self.spec['name']}-{idx}-{digest[:8]}"
            self.engine.remove_container(name)  # a leftover of an interrupted run with this very name
            body = container_body(
                self.spec, replica=idx, digest=digest, host_ports=ports, address=self.address, key=self.seal_key
            )
            new = Started(idx, self.engine.create_container(name, body), name, probe_url(self.spec, ports))
            started.append(new)
            for network in self.spec["networks"][1:]:  # the first was given at create (spec.container_body)
                self.engine.connect_network(network, new.id, [self.spec["name"]])
            self.engine.start_container(new.id)
            return new

        return self._parallel(one, list(zip(indices, assignments)))

    def _bound_ports(self) -> set[int]:
        """Host ports some other process already listens on, within the ranges we allocate from."""
        taken = set()
        for p in self.spec["ports"]:
            lo, hi = p["host_range"]
            if hi - lo > 2000:
                hi = lo + 2000  # probing is cheap, but not unbounded
            for port in range(lo, hi + 1):
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    try:
                        s.bind((self.spec["bind_address"] or "0.0.0.0", port))
                    except OSError:
                        taken.add(port)
                if len(taken) > 1000:
                    break
        return taken

    def _started(self, r: Replica) -> Started:
        """A running replica, to wait on like a new one (its HTTP check probed from here when it has one)."""
        return Started(r.index, r.id, r.name, r.probe)

    def _wait_healthy(self, started: list[Started]) -> list[tuple[Started, str]]:
        """Wait up to update.monitor for every started replica; return the ones that failed, with why.

        An HTTP check on a published port is probed from this host (the way the kubelet does it), so an image
        with no shell, curl or wget proves its health too; healthcheck.start_period, interval, timeout and retries
        mean what they mean to Docker.  Other checks are the engine's.
        """
        hc = self.spec.get("healthcheck") or {}
        began = time.monotonic()
        deadline = began + self.spec["update"]["monitor"]
        pending = {s.id: s for s in started}
        failed: list[tuple[Started, str]] = []
        misses: dict[str, list[str]] = {}
        next_probe: dict[str, float] = {}
        while pending:
            for cid, s in list(pending.items()):
                state = self.engine.inspect_container(cid)["State"]
                health = (state.get("Health") or {}).get("Status")
                if not state.get("Running") or state.get("Restarting"):
                    failed.append((s, f"exited with code {state.get('ExitCode')}: {state.get('Error') or ''}".strip()))
                    del pending[cid]
                elif s.url:
                    if time.monotonic() < next_probe.get(cid, 0):
                        continue
                    next_probe[cid] = time.monotonic() + float(hc.get("interval") or 2)
                    why = http_probe(s.url, float(hc.get("timeout") or 2))
                    if why is None:
                        del pending[cid]
                    elif time.monotonic() - began >= float(hc.get("start_period") or 0):
                        misses.setdefault(cid, []).append(why)
                        if len(misses[cid]) >= int(hc.get("retries") or 3):
                            failed.append((s, "health check failed: " + why))
                            del pending[cid]
                elif health == "unhealthy":
                    failed.append((s, "health check failed: " + _last_health_output(state)))
                    del pending[cid]
                elif health in (None, "healthy"):
                    del pending[cid]
            if not pending:
                break
            if time.monotonic() > deadline:
                for cid, s in pending.items():
                    if s.url:
                        last = (misses.get(cid) or ["no answer yet"])[-1]
                    else:
                        last = _last_health_output(self.engine.inspect_container(cid)["State"])
                    failed.append(
                        (s, f"not healthy within {self.spec['update']['monitor']:g} s (update.monitor): {last}")
                    )
                break
            time.sleep(self.poll)
        return failed

    def _failure_message(self, failed: list[tuple[Started, str]], what: str) -> str:
        parts = []
        for s, why in failed[:3]:
            try:
                tail = self.engine.logs(s.id, tail=10).strip()
            except EngineError:
                tail = ""
            parts.append(f"replica {s.name}: {why}" + (f"; log tail:\n{tail}" if tail else ""))
        return f"{what} of service {self.spec['name']} on {self.node} failed: " + "\n".join(parts)

    def _rollback(self, started: list[Started], stopped_old: list[Replica], previous: list[Replica]) -> None:
        """Remove what this run started and run every previous replica again, healthy.

        An engine that went away mid-update (a restart) is waited for up to `engine_wait` s: a restarted dockerd
        brings back old and new containers alike, so the rollback must still remove the new ones.
        """
        self._when_engine_back(lambda: self._parallel(lambda s: self.engine.remove_container(s.id), started))

        def down() -> list[Replica]:
            states = {e["Id"]: e.get("State") for e in self._list()}
            return [r for r in {r.id: r for r in [*stopped_old, *previous]}.values() if states.get(r.id) != "running"]

        restarted = self._when_engine_back(down)
        self._when_engine_back(lambda: self._parallel(lambda r: self.engine.start_container(r.id), restarted))
        back = stopped_old + [r for r in restarted if r not in stopped_old]
        if back:
            self._when_engine_back(lambda: self._wait_healthy([self._started(r) for r in back]))

    def _when_engine_back(self, step: Callable[[], Any]) -> Any:
        """Run `step`; while the engine cannot be reached at all (no HTTP answer), retry until engine_wait."""
        deadline = time.monotonic() + self.engine_wait
        while True:
            try:
                return step()
            except EngineError as exc:
                if exc.status is not None or time.monotonic() >= deadline:
                    raise
                time.sleep(max(self.poll, 0.5) if self.engine_wait else 0)

    def _parallel(self, fn: Callable[[Any], Any], items: list[Any]) -> list[Any]:
        if not items:
            return []
        if len(items) == 1:
            return [fn(items[0])]
        with ThreadPoolExecutor(max_workers=min(8, len(items))) as pool:
            return list(pool.map(fn, items))


def _last_health_output(state: dict[str, Any]) -> str:
    """The last distinct health-check results, newest last (a timeout alone hides the real cause)."""
    logs = (state.get("Health") or {}).get("Log") or []
    if not logs:
        return "no health check result yet"
    seen: list[str] = []
    for entry in logs[-3:]:
        line = f"exit {entry.get('ExitCode')}: {(entry.get('Output') or '').strip()[-300:]}"
        if line not in seen:
            seen.append(line)
    return " | ".join(seen)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx is an answer, as HAProxy's check counts it; nothing is followed


# Straight to the replica: no proxy from the environment, no redirect followed.
_PROBE = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def http_probe(url: str, timeout: float) -> str | None:
    """GET url from this host: None when it answers 2xx/3xx, else why not (status, garbage or no answer)."""
    try:
        with _PROBE.open(urllib.request.Request(url, method="GET"), timeout=timeout) as resp:
            return None if resp.status < 400 else f"GET {url}: {resp.status}"
    except urllib.error.HTTPError as exc:
        if 300 <= exc.code < 400:
            return None
        return f"GET {url}: {exc.code} {exc.reason}"
    except (OSError, ValueError, http.client.HTTPException) as exc:
        return f"GET {url}: {getattr(exc, 'reason', None) or exc!r}"
