# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fake Docker engine: the real DockerEngine client with its transport replaced by an in-memory host.

Only `call` (and `_open`, for logs) are replaced, so the client's own method -> HTTP mapping and its
error handling (404 on remove, 304 on stop) run as in production.  Every answer is built from the JSON
a real dockerd gave (fixtures/, recorded by fixtures/record.py): list entries, inspect documents,
create answers, log frames and the engine's error bodies, with only ids, names, labels, ports and state
filled in from the fake host.

Every call is recorded in `calls` as a tuple: (verb, container name[, detail]); inspect carries the
health it reported.  `health` decides, for each start, the health statuses successive inspects see;
`fail_on` makes one call answer with a recorded engine error.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import itertools
import json
import re
import threading
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ansible_collections.containerops.fleet.plugins.module_utils.engine.client import DockerEngine, EngineError

FIXTURES = Path(__file__).resolve().parent / "fixtures"
MUTATING = ("create", "start", "stop", "restart", "remove")


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


IMAGE = fixture("image_inspect.json")
LISTED = fixture("containers_list.json")
INSPECTED = fixture("containers_inspect.json")
CREATED = fixture("create.json")
LOGS = fixture("logs.json")
ERRORS = fixture("errors.json")
NETWORKS = fixture("networks.json")  # record_networks.py


def _list_template(state: str, health: str | None) -> dict[str, Any]:
    """The recorded list entry of a container in this state (the Status text differs per state)."""
    entries = LISTED["answer"] + LISTED["answer_before_first_probe"]
    for entry in entries:
        status = entry["Status"]
        if entry["State"] != state:
            continue
        if state != "running":
            return entry
        if health == "starting" and "(health: starting)" in status:
            return entry
        if health in ("healthy", "unhealthy") and f"({health})" in status:
            return entry
        if health is None and "(" not in status:
            return entry
    raise KeyError(f"no recorded list entry for {state}/{health}")


@dataclass
class FakeContainer:
    id: str
    name: str
    body: dict[str, Any]
    state: str = "created"  # created | running | exited
    health: list[str | None] = field(default_factory=list)  # what the next inspects report; the last one sticks
    error: str = ""

    @property
    def labels(self) -> dict[str, str]:
        return self.body.get("Labels") or {}

    def current_health(self) -> str | None:
        return self.health[0] if self.state == "running" and self.health else None


def default_health(container: FakeContainer) -> list[str | None]:
    """A replica with a healthcheck reports starting on the first inspect, then healthy."""
    return ["starting", "healthy"] if container.body.get("Healthcheck") else [None]


class FakeEngine(DockerEngine):
    def __init__(self) -> None:
        super().__init__(socket_path="/nonexistent/fake-docker.sock")
        self.containers_by_id: dict[str, FakeContainer] = {}
        self.calls: list[tuple[Any, ...]] = []
        self.health: Callable[[FakeContainer], list[str | None]] = default_health
        self._faults: list[tuple[str, str, str]] = []  # (verb, container name, error fixture key)
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self.networks: dict[str, dict[str, Any]] = {}  # name -> inspect document
        self.joined: dict[str, dict[str, list[str]]] = {}  # container name -> network -> aliases
        self.gone_at_join: set[str] = set()  # networks removed by someone between our check and the join

    # ------------------------------------------------------------------ test helpers

    def fail_on(self, verb: str, name: str, error: str) -> None:
        """The next `verb` (create/start/stop/remove/inspect) of container `name` answers errors.json[error]."""
        self._faults.append((verb, name, error))

    def mutations(self) -> list[tuple[Any, ...]]:
        return [c for c in self.calls if c[0] in MUTATING]

    def running(self) -> list[str]:
        return sorted(c.name for c in self.containers_by_id.values() if c.state == "running")

    def names(self) -> list[str]:
        return sorted(c.name for c in self.containers_by_id.values())

    def reset_calls(self) -> None:
        self.calls.clear()

    # ------------------------------------------------------------------ transport

    def call(self, method, path, query=None, body=None, headers=None, timeout=None):  # type: ignore[override]
        with self._lock:
            return self._route(method, path, query or {}, body)

    def _open(self, method, path, query=None, body=None, headers=None, timeout=None):  # type: ignore[override]
        """Only logs are read raw (multiplexed frames): replay the recorded frames."""
        m = re.fullmatch(r"/containers/([^/]+)/logs", path)
        if method != "GET" or not m:
            raise AssertionError(f"unexpected raw call {method} {path}")
        with self._lock:
            c = self._find(m.group(1), "logs")
            self.calls.append(("logs", c.name))
            raw = base64.b64decode(LOGS["raw_base64"])
        return _Response(raw)

    def _route(self, method: str, path: str, query: dict[str, Any], body: Any) -> Any:
        if method == "GET" and path == "/containers/json":
            return self._list(query)
        m = re.fullmatch(r"/images/([^/]+)/json", path)
        if method == "GET" and m:
            ref = urllib.parse.unquote(m.group(1))
            self.calls.append(("image", ref))
            if ref in IMAGE["RepoTags"] or ref == IMAGE["Id"]:
                return copy.deepcopy(IMAGE)
            raise self._error("no_such_image", ref)
        if method == "POST" and path == "/containers/create":
            return self._create(query["name"], body)
        if path.startswith("/networks"):
            return self._network(method, urllib.parse.unquote(path), body)
        m = re.fullmatch(r"/containers/([^/]+)(/json|/start|/stop|/restart)?", path)
        if not m:
            raise AssertionError(f"the fake engine has no answer for {method} {path}")
        ident, action = m.group(1), m.group(2) or ""
        verb = {
            ("GET", "/json"): "inspect",
            ("POST", "/start"): "start",
            ("POST", "/stop"): "stop",
            ("POST", "/restart"): "restart",
            ("DELETE", ""): "remove",
        }[(method, action)]
        c = self.containers_by_id.get(self._resolve(ident) or "")
        self.calls.append((verb, c.name if c else ident))
        self._fault(verb, c.name if c else ident, c, ident)
        if c is None:
            raise self._error("no_such_container", ident)
        return getattr(self, "_" + verb)(c)

    # ------------------------------------------------------------------ containers

    def _list(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        filters = json.loads(query.get("filters") or "{}")
        self.calls.append(("list", *filters.get("label", [])))
        out = []
        for c in self.containers_by_id.values():
            if query.get("all") != "1" and c.state != "running":
                continue
            if not all(_label_matches(c.labels, f) for f in filters.get("label", [])):
                continue
            out.append(self._list_entry(c))
        return out

    def _list_entry(self, c: FakeContainer) -> dict[str, Any]:
        entry = copy.deepcopy(_list_template(c.state, c.current_health()))
        entry.update(
            {
                "Id": c.id,
                "Names": ["/" + c.name],
                "Image": c.body["Image"],
                "ImageID": IMAGE["Id"],
                "Command": " ".join(c.body.get("Cmd") or ["/bin/sleep", "3600"]),
                "Labels": dict(c.labels),
                "Ports": self._ports(c) if c.state == "running" else [],
            }
        )
        return entry

    @staticmethod
    def _ports(c: FakeContainer) -> list[dict[str, Any]]:
        recorded = next(p for e in LISTED["answer"] for p in e["Ports"])
        ports = []
        for key, bindings in (c.body["HostConfig"].get("PortBindings") or {}).items():
            private, proto = key.split("/")
            for b in bindings:
                port = copy.deepcopy(recorded)
                port.update(
                    {"IP": b["HostIp"] or "0.0.0.0", "PrivatePort": int(private), "PublicPort": int(b["HostPort"])}
                )
                port["Type"] = proto
                ports.append(port)
        return ports

    def _create(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(("create", name))
        self._fault("create", name, None, name)
        taken = next((c for c in self.containers_by_id.values() if c.name == name), None)
        if taken:
            raise self._error("name_conflict", name, taken.id)
        cid = hashlib.sha256(f"{name}:{next(self._ids)}".encode()).hexdigest()
        self.containers_by_id[cid] = FakeContainer(cid, name, copy.deepcopy(body))
        answer = copy.deepcopy(CREATED)
        answer["Id"] = cid
        return answer

    def _inspect(self, c: FakeContainer) -> dict[str, Any]:
        health = c.current_health()
        if c.state == "running":
            key = health or "running"
            if len(c.health) > 1:
                c.health.pop(0)  # the next inspect sees the next status
        else:
            key = c.state
        self.calls[-1] = ("inspect", c.name, health or c.state)
        doc = copy.deepcopy(INSPECTED[key])
        doc.update({"Id": c.id, "Name": "/" + c.name})
        doc["Config"].update({"Image": c.body["Image"], "Healthcheck": c.body.get("Healthcheck")})
        if c.error:
            doc["State"]["Error"] = c.error
        return doc

    def _start(self, c: FakeContainer) -> None:
        if c.state == "running":
            return None  # 304 Not Modified: no body, not an error
        c.state, c.error = "running", ""
        c.health = list(self.health(c))
        return None

    def _restart(self, c: FakeContainer) -> None:
        c.state = "exited"
        return self._start(c)

    def _stop(self, c: FakeContainer) -> None:
        c.state = "exited"  # 204, or 304 when it already was stopped: neither has a body
        return None

    def _remove(self, c: FakeContainer) -> None:
        del self.containers_by_id[c.id]
        return None

    # ------------------------------------------------------------------ networks

    def add_network(self, name: str, labels: dict[str, str] | None = None) -> None:
        """A network the host already has (made by someone else)."""
        doc = copy.deepcopy(NETWORKS["inspect"])
        doc.update(Name=name, Id=hashlib.sha256(name.encode()).hexdigest(), Labels=dict(labels or {}))
        self.networks[name] = doc

    def _network(self, method: str, path: str, body: Any) -> Any:
        m = re.fullmatch(r"/networks/([^/]+)(/connect)?", path)
        if method == "POST" and path == "/networks/create":
            self.calls.append(("network_create", body["Name"], body["Driver"]))
            if body["Name"] in self.networks:
                raise EngineError(NETWORKS["conflict"]["body"]["message"].replace("rectest-net", body["Name"]), 409)
            self.add_network(body["Name"], body.get("Labels"))
            return dict(copy.deepcopy(NETWORKS["create"]), Id=self.networks[body["Name"]]["Id"])
        if not m:
            raise AssertionError(f"the fake engine has no answer for {method} {path}")
        name = m.group(1)
        if m.group(2) and name in self.gone_at_join:
            del self.networks[name]
        if name not in self.networks:
            self.calls.append(("network_missing", name))
            raise EngineError(NETWORKS["missing"]["body"]["message"].replace("rectest-missing", name), 404)
        if method == "GET" and not m.group(2):
            self.calls.append(("network", name))
            return copy.deepcopy(self.networks[name])
        c = self._find(body["Container"], "connect")
        self.calls.append(("connect", c.name, name))
        self.joined.setdefault(c.name, {})[name] = list(body["EndpointConfig"]["Aliases"])
        return NETWORKS["connect"]

    def networks_of(self, name: str) -> dict[str, list[str]]:
        """Network -> aliases of container `name`: the one given at create, then the ones it was joined to."""
        c = next(c for c in self.containers_by_id.values() if c.name == name)
        at_create = (c.body.get("NetworkingConfig") or {}).get("EndpointsConfig") or {}
        return {**{n: list(cfg.get("Aliases") or []) for n, cfg in at_create.items()}, **self.joined.get(name, {})}

    # ------------------------------------------------------------------ lookup and errors

    def _resolve(self, ident: str) -> str | None:
        """Docker takes a full ID, a unique ID prefix or a name."""
        if ident in self.containers_by_id:
            return ident
        for c in self.containers_by_id.values():
            if c.name == ident.lstrip("/"):
                return c.id
        matches = [cid for cid in self.containers_by_id if cid.startswith(ident)]
        return matches[0] if len(matches) == 1 else None

    def _find(self, ident: str, verb: str) -> FakeContainer:
        cid = self._resolve(ident)
        if cid is None:
            self.calls.append((verb, ident))
            raise self._error("no_such_container", ident)
        return self.containers_by_id[cid]

    def _fault(self, verb: str, name: str, c: FakeContainer | None, ident: str) -> None:
        for fault in self._faults:
            if fault[:2] == (verb, name):
                self._faults.remove(fault)
                # An injected 409 stands for a concurrent creator the fake does not hold: give it an ID of its own.
                other = c.id if c else hashlib.sha256(f"concurrent:{name}".encode()).hexdigest()
                err = self._error(fault[2], ident if fault[2].startswith("no_such") else name, other)
                if c is not None and verb == "start":
                    c.error = str(err)  # a refused start leaves the container "created" with the error
                raise err

    @staticmethod
    def _error(key: str, name: str, other_id: str = "") -> EngineError:
        """The recorded error answer, about `name` (and `other_id`) instead of what it was recorded for."""
        answer = ERRORS[key]
        message = answer["body"]["message"]
        if key.startswith("no_such"):  # recorded for rectest-missing (container) and rectest-missing:0 (image)
            message = re.sub(r"rectest-missing(:0)?", name, message)
        elif key == "name_conflict":
            message = re.sub(r'"/[^"]+"', f'"/{name}"', message, count=1)
            message = re.sub(r'container "[0-9a-f]{64}"', f'container "{other_id}"', message)
        elif key == "port_allocated":
            message = re.sub(r"endpoint \S+ \([0-9a-f]+\)", f"endpoint {name} ({other_id})", message)
        return EngineError(message, answer["status"])


def _label_matches(labels: dict[str, str], flt: str) -> bool:
    key, eq, value = flt.partition("=")
    return key in labels and (not eq or labels[key] == value)


class _Response:
    def __init__(self, raw: bytes) -> None:
        self._raw = raw

    def read(self) -> bytes:
        return self._raw
