# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The docker rollout driver (DockerService) against a fake engine replaying recorded Docker answers.

Each test deploys version 1 of a service, then rolls out version 2 (or not) and checks the engine calls
in order and what is left on the host.  Steps the driver runs in parallel are compared as sets.
"""

from __future__ import annotations

import http.server
import re
import threading
from typing import Any

import pytest
from fake_engine import ERRORS, IMAGE, FakeContainer, FakeEngine, default_health

from ansible_collections.containerops.fleet.plugins.module_utils.engine.client import EngineError
from ansible_collections.containerops.fleet.plugins.module_utils.service.docker import DockerService
from ansible_collections.containerops.fleet.plugins.module_utils.service.driver import DeployError
from ansible_collections.containerops.fleet.plugins.module_utils.service.spec import (
    L_SERVICE,
    SpecError,
    normalize,
    spec_hash,
)

SERVICE = "rectest-web"
LABEL = f"{L_SERVICE}={SERVICE}"


def make_spec(version: str, replicas: int = 2, **update: Any) -> dict[str, Any]:
    return normalize(
        {
            "name": SERVICE,
            "image": IMAGE["RepoTags"][0],
            "replicas": replicas,
            "env": {"VERSION": version},
            "ports": [{"container": 8000, "host_range": "38100-38199"}],
            "healthcheck": {"command": "echo ok"},
            "bind_address": "127.0.0.1",
            "update": {"monitor": 5, **update},
        }
    )


def replica_names(spec: dict[str, Any], *indices: int) -> list[str]:
    digest = spec_hash(spec, IMAGE["Id"])
    return [f"{SERVICE}-{i}-{digest[:8]}" for i in indices]


def service(engine: FakeEngine, spec: dict[str, Any], **kw: Any) -> DockerService:
    return DockerService(engine=engine, spec=spec, address="127.0.0.1", node="node1", poll=0, warn=print, **kw)


@pytest.fixture(autouse=True)
def _no_port_probe(monkeypatch):
    """The driver also probes host sockets for taken ports; the fake host has none taken."""
    monkeypatch.setattr(DockerService, "_bound_ports", lambda self: set())


def deployed(replicas: int, **update: Any) -> tuple[FakeEngine, list[str]]:
    """A fake host running version 1 with `replicas` healthy replicas; the call log starts empty."""
    engine = FakeEngine()
    v1 = make_spec("1", replicas, **update)
    service(engine, v1).present()
    old = replica_names(v1, *range(1, replicas + 1))
    assert engine.running() == old
    engine.reset_calls()
    return engine, old


def steps(engine: FakeEngine, expected: list[Any]) -> list[Any]:
    """The calls (reads of lists and images left out), with the spans `expected` gives as sets made sets."""
    actual = [c for c in engine.calls if c[0] not in ("list", "image")]
    out, i = [], 0
    for item in expected:
        if isinstance(item, set) and i < len(actual):
            out.append(set(actual[i : i + len(item)]))
            i += len(item)
        elif i < len(actual):
            out.append(actual[i])
            i += 1
    return out + actual[i:]


def start_healthy(name: str) -> list[tuple[str, ...]]:
    """A new replica: a leftover of that name removed (none: 404), created, started, starting -> healthy."""
    return [
        ("remove", name),
        ("create", name),
        ("start", name),
        ("inspect", name, "starting"),
        ("inspect", name, "healthy"),
    ]


def health_of(bad: str, statuses: list[str]):
    def pick(c: FakeContainer) -> list[str | None]:
        return statuses if c.name == bad else default_health(c)

    return pick


# ---------------------------------------------------------------------- successful updates


def test_start_first_new_replica_healthy_before_old_stopped_old_removed_after():
    engine, old = deployed(2)
    v2 = make_spec("2", 2)
    new = replica_names(v2, 1, 2)

    result = service(engine, v2).present()

    expected = [
        *start_healthy(new[0]),
        ("stop", old[0]),
        *start_healthy(new[1]),
        ("stop", old[1]),
        {("remove", old[0]), ("remove", old[1])},
    ]
    assert steps(engine, expected) == expected
    assert engine.names() == engine.running() == new
    assert result["changed"] is True and result["rolled_back"] is False
    assert result["plan"]["replace"] == [[old[0]], [old[1]]]
    assert [(e["container"], e["healthy"]) for e in result["endpoints"]] == [(n, True) for n in new]
    assert {e["spec_hash"] for e in result["endpoints"]} == {spec_hash(v2, IMAGE["Id"])}


def test_stop_first_old_replica_stopped_before_its_successor_is_created():
    engine, old = deployed(2, order="stop-first")
    v2 = make_spec("2", 2, order="stop-first")
    new = replica_names(v2, 1, 2)

    result = service(engine, v2).present()

    expected = [
        ("stop", old[0]),
        *start_healthy(new[0]),
        ("stop", old[1]),
        *start_healthy(new[1]),
        {("remove", old[0]), ("remove", old[1])},
    ]
    assert steps(engine, expected) == expected
    assert engine.names() == engine.running() == new
    assert result["changed"] is True and result["rolled_back"] is False


# ---------------------------------------------------------------------- failures roll back


def test_unhealthy_new_replica_rolls_back_start_first():
    engine, old = deployed(3)
    v2 = make_spec("2", 3)
    new = replica_names(v2, 1, 2, 3)
    engine.health = health_of(new[1], ["starting", "unhealthy"])

    with pytest.raises(DeployError) as err:
        service(engine, v2).present()

    expected = [
        *start_healthy(new[0]),
        ("stop", old[0]),
        ("remove", new[1]),
        ("create", new[1]),
        ("start", new[1]),
        ("inspect", new[1], "starting"),
        ("inspect", new[1], "unhealthy"),
        ("logs", new[1]),
        {("remove", new[0]), ("remove", new[1])},
        ("start", old[0]),
        ("inspect", old[0], "starting"),
        ("inspect", old[0], "healthy"),
    ]
    assert steps(engine, expected) == expected
    message = str(err.value)
    assert f"update of service {SERVICE} on node1 failed: replica {new[1]}: health check failed: " in message
    assert "exit 1: GET /healthz: 503 Service Unavailable" in message  # the recorded Health.Log output
    assert "log tail:\nlistening on :8000\ndb: connection refused" in message  # the recorded log frames
    assert message.endswith("rolled back: the previous replicas are serving")
    assert err.value.result["rolled_back"] is True
    assert [e["container"] for e in err.value.result["endpoints"]] == old
    assert engine.names() == engine.running() == old
    assert not [c for c in engine.mutations() if c[1] == old[2]]  # the third replica was never touched


def test_unhealthy_new_replica_rolls_back_stop_first():
    engine, old = deployed(2, order="stop-first")
    v2 = make_spec("2", 2, order="stop-first")
    new = replica_names(v2, 1, 2)
    engine.health = health_of(new[1], ["unhealthy"])

    with pytest.raises(DeployError) as err:
        service(engine, v2).present()

    expected = [
        ("stop", old[0]),
        *start_healthy(new[0]),
        ("stop", old[1]),
        ("remove", new[1]),
        ("create", new[1]),
        ("start", new[1]),
        ("inspect", new[1], "unhealthy"),
        ("logs", new[1]),
        {("remove", new[0]), ("remove", new[1])},
        {("start", old[0]), ("start", old[1])},
        ("inspect", old[0], "starting"),
        ("inspect", old[1], "starting"),
        ("inspect", old[0], "healthy"),
        ("inspect", old[1], "healthy"),
    ]
    assert steps(engine, expected) == expected
    assert "GET /healthz: 503 Service Unavailable" in str(err.value)
    assert err.value.result["rolled_back"] is True
    assert engine.names() == engine.running() == old


@pytest.mark.parametrize("order", ["start-first", "stop-first"])
@pytest.mark.parametrize(
    ("verb", "error"),
    [("start", "port_allocated"), ("create", "name_conflict"), ("inspect", "no_such_container")],
    ids=["start-500", "create-409", "inspect-404"],
)
def test_engine_error_mid_update_takes_the_rollback_path(order, verb, error):
    engine, old = deployed(3, order=order)
    v2 = make_spec("2", 3, order=order)
    new = replica_names(v2, 1, 2, 3)
    engine.fail_on(verb, new[1], error)  # the 2nd replica's create, start or health poll is refused

    with pytest.raises(DeployError) as err:
        service(engine, v2).present()

    quoted = {  # the recorded engine message, about the refused replica
        "port_allocated": rf"driver failed programming external connectivity on endpoint {new[1]} \([0-9a-f]{{64}}\)",
        "name_conflict": rf'Conflict\. The container name "/{new[1]}" is already in use by container "[0-9a-f]{{64}}"',
        "no_such_container": r"No such container: [0-9a-f]{64}",  # the driver polls health by ID
    }[error]
    assert re.search("failed: engine error: " + quoted, str(err.value))
    assert str(err.value).startswith(f"update of service {SERVICE} on node1 failed: engine error: ")
    if error != "no_such_container":
        assert ERRORS[error]["body"]["message"][-40:] in str(err.value)  # quoted to the end
    assert str(err.value).endswith("rolled back: the previous replicas are serving")
    assert err.value.result["rolled_back"] is True
    assert [e["container"] for e in err.value.result["endpoints"]] == old
    # Every old replica runs again and nothing of version 2 is left, not even the half-made container.
    assert engine.names() == engine.running() == old
    assert not [c for c in engine.mutations() if c[1] == old[2]]


def test_engine_error_on_start_rollback_sequence():
    engine, old = deployed(3)
    v2 = make_spec("2", 3)
    new = replica_names(v2, 1, 2, 3)
    engine.fail_on("start", new[1], "port_allocated")

    with pytest.raises(DeployError):
        service(engine, v2).present()

    expected = [
        *start_healthy(new[0]),
        ("stop", old[0]),
        ("remove", new[1]),
        ("create", new[1]),
        ("start", new[1]),  # answered 500: port is already allocated
        {("remove", new[0]), ("remove", new[1])},
        ("start", old[0]),
        ("inspect", old[0], "starting"),
        ("inspect", old[0], "healthy"),
    ]
    assert steps(engine, expected) == expected


def test_engine_error_in_a_parallel_batch_also_removes_the_sibling_that_started():
    engine, old = deployed(2, parallelism=2)
    v2 = make_spec("2", 2, parallelism=2)
    new = replica_names(v2, 1, 2)
    engine.fail_on("start", new[1], "port_allocated")

    with pytest.raises(DeployError) as err:
        service(engine, v2).present()

    assert err.value.result["rolled_back"] is True
    assert {c for c in engine.mutations() if c[0] == "remove" and c[1] in new} == {("remove", n) for n in new}
    assert engine.names() == engine.running() == old
    assert not [c for c in engine.mutations() if c[1] in old]  # start-first: no old replica was stopped yet


def test_engine_error_with_failure_action_pause_leaves_things_as_they_are():
    engine, old = deployed(2)
    v2 = make_spec("2", 2, failure_action="pause")
    new = replica_names(v2, 1, 2)
    engine.fail_on("start", new[1], "port_allocated")

    with pytest.raises(DeployError) as err:
        service(engine, v2).present()

    assert "update paused (failure_action=pause)" in str(err.value)
    assert err.value.result["rolled_back"] is False
    assert engine.running() == sorted([old[1], new[0]])


# ---------------------------------------------------------------------- keep_old, converged, check mode


def test_keep_old_starts_new_replicas_and_reports_the_old_ones_retiring():
    engine, old = deployed(2)
    v2 = make_spec("2", 2)
    new = replica_names(v2, 1, 2)

    result = service(engine, v2, keep_old=True).present()

    expected = [*start_healthy(new[0]), *start_healthy(new[1])]
    assert steps(engine, expected) == expected
    assert not [c for c in engine.mutations() if c[1] in old]
    assert engine.running() == sorted(old + new)
    assert result["changed"] is True
    assert [e["container"] for e in result["endpoints"]] == new
    assert [e["container"] for e in result["retiring"]] == old


def test_keep_old_then_a_plain_run_removes_the_retired_replicas():
    engine, old = deployed(2)
    v2 = make_spec("2", 2)
    new = replica_names(v2, 1, 2)
    service(engine, v2, keep_old=True).present()
    engine.reset_calls()

    result = service(engine, v2).present()

    assert steps(engine, [{("remove", old[0]), ("remove", old[1])}]) == [{("remove", old[0]), ("remove", old[1])}]
    assert engine.names() == engine.running() == new
    assert result["changed"] is True


def test_converged_service_makes_no_mutation_call():
    engine, old = deployed(2)

    result = service(engine, make_spec("1", 2)).present()

    assert engine.calls == [("image", IMAGE["RepoTags"][0]), ("list", LABEL)]
    assert result["changed"] is False
    assert result["plan"] == {"keep": old, "create": [], "replace": [], "remove": []}
    assert [e["container"] for e in result["endpoints"]] == old


def test_check_mode_plans_the_update_without_mutation_calls():
    engine, old = deployed(2)

    result = service(engine, make_spec("2", 2), check_mode=True).present()

    assert engine.mutations() == []
    assert result["changed"] is True
    assert result["plan"]["replace"] == [[old[0]], [old[1]]]
    # Env values appear only as digests: which variable changed is visible, its values are not.
    before, after = result["diff"]["before"]["spec"]["env"], result["diff"]["after"]["spec"]["env"]
    assert set(before) == set(after) == {"VERSION"}
    assert before["VERSION"].startswith("hmac-sha256:") and after["VERSION"].startswith("hmac-sha256:")
    assert before["VERSION"] != after["VERSION"]
    assert engine.names() == engine.running() == old


@pytest.mark.parametrize("state", ["absent", "restarted"])
def test_check_mode_absent_and_restarted_make_no_mutation_call(state):
    engine, old = deployed(2)

    result = getattr(service(engine, make_spec("1", 2), check_mode=True), state)()

    assert engine.mutations() == []
    assert result["changed"] is True
    assert engine.running() == old


def test_absent_removes_every_replica():
    engine, old = deployed(2)

    result = service(engine, make_spec("1", 2)).absent()

    assert steps(engine, [set(("remove", n) for n in old)]) == [{("remove", n) for n in old}]
    assert engine.names() == []
    assert result["removed"] == old


def test_more_replicas_than_the_per_host_limit_are_refused_before_any_call():
    engine = FakeEngine()
    with pytest.raises(SpecError, match="replicas: 251 on node1 is above the limit of 250"):
        service(engine, make_spec("1", 251)).present()
    assert engine.calls == []


def test_running_out_of_host_ports_mid_update_rolls_back():
    """Port exhaustion is a clean, named failure on the rollback path, not a bare ValueError."""
    engine, old = deployed(2)
    spec = make_spec("2", 2)
    spec["ports"][0]["host_range"] = [38100, 38101]  # both held by the running replicas
    with pytest.raises(DeployError, match=r"no free host port left in 38100-38101") as err:
        service(engine, spec).present()
    assert err.value.result["rolled_back"] is True
    assert engine.running() == old


def test_an_engine_restart_mid_update_is_waited_for_and_rolled_back():
    """dockerd restarts while a new replica proves its health: no answer at all for a while, then every container
    the engine had running comes back, the new one included.  The rollback waits for the engine, removes the new
    replica and leaves every old one running."""
    engine, old = deployed(2)
    v2 = make_spec("2", 2)
    new = replica_names(v2, 1)
    real_call = engine.call
    outage = {"calls": 0}

    def call(method, path, query=None, body=None, headers=None, timeout=None):
        started = any(c[0] == "start" and c[1] == new[0] for c in engine.calls)
        if started and outage["calls"] < 5:  # the engine goes away right after the new replica starts
            outage["calls"] += 1
            raise EngineError("cannot reach the Docker engine at /var/run/docker.sock: [Errno 111] Connection refused")
        return real_call(method, path, query, body, headers, timeout)

    engine.call = call
    engine.health = lambda c: ["starting"] * 50  # still proving itself when the engine goes
    svc = service(engine, v2)
    svc.engine_wait = 5

    with pytest.raises(DeployError, match=r"engine error: cannot reach the Docker engine.*rolled back") as err:
        svc.present()

    assert outage["calls"] == 5  # the outage was real, and it ended
    assert engine.names() == engine.running() == old
    assert err.value.result["rolled_back"] is True


def test_an_engine_that_never_comes_back_fails_clearly():
    engine, _old = deployed(1)
    v2 = make_spec("2", 1)
    new = replica_names(v2, 1)
    real_call = engine.call

    def call(method, path, query=None, body=None, headers=None, timeout=None):
        if any(c[0] == "start" and c[1] == new[0] for c in engine.calls):
            raise EngineError("cannot reach the Docker engine at /var/run/docker.sock: [Errno 111] Connection refused")
        return real_call(method, path, query, body, headers, timeout)

    engine.call = call
    engine.health = lambda c: ["starting"] * 50
    svc = service(engine, v2)
    svc.engine_wait = 0
    with pytest.raises(EngineError, match="cannot reach the Docker engine"):
        svc.present()


# ---------------------------------------------------------------------- HTTP health probed from the host


class _Health(http.server.BaseHTTPRequestHandler):
    status = 200
    seen: list[str] = []

    def do_GET(self):
        type(self).seen.append(self.path)
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def probe_server():
    """A replica's published port, answered on this host; the image itself has no shell or tool at all."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Health.status, _Health.seen = 200, []
    yield server.server_address[1]
    server.shutdown()


def http_spec(version: str, port: int) -> dict[str, Any]:
    return normalize(
        {
            "name": SERVICE,
            "image": IMAGE["RepoTags"][0],
            "replicas": 1,
            "env": {"VERSION": version},
            "ports": [{"container": 8000, "host_range": f"{port}-{port}"}],
            "healthcheck": {"http_path": "/healthz?deep=1&x=y", "interval": 0.1, "retries": 2, "timeout": 1},
            "bind_address": "127.0.0.1",
            "update": {"monitor": 5, "order": "stop-first"},
        }
    )


def test_an_http_check_is_probed_from_the_host_not_inside_the_image(probe_server):
    engine = FakeEngine()
    engine.health = lambda c: [None]  # the engine runs no check: Healthcheck NONE
    result = service(engine, http_spec("1", probe_server)).present()
    assert result["changed"] and len(engine.running()) == 1
    (body,) = [c.body for c in engine.containers_by_id.values()]
    assert body["Healthcheck"] == {"Test": ["NONE"]}
    assert _Health.seen and set(_Health.seen) == {"/healthz?deep=1&x=y"}


def test_a_failing_http_check_from_the_host_rolls_back(probe_server):
    engine = FakeEngine()
    engine.health = lambda c: [None]
    failing = http.server.ThreadingHTTPServer(("127.0.0.1", 0), type("Failing", (_Health,), {"status": 503}))
    threading.Thread(target=failing.serve_forever, daemon=True).start()
    try:
        service(engine, http_spec("1", probe_server)).present()
        old = engine.running()
        bad = failing.server_address[1]
        with pytest.raises(DeployError, match=rf"GET http://127.0.0.1:{bad}/healthz\?deep=1&x=y: 503") as err:
            service(engine, http_spec("2", bad)).present()
    finally:
        failing.shutdown()
    assert err.value.result["rolled_back"] is True
    assert engine.running() == old


def test_the_host_probe_counts_garbage_as_a_failure_and_a_redirect_as_an_answer():
    import socket

    from ansible_collections.containerops.fleet.plugins.module_utils.service.docker import http_probe

    garbage = socket.socket()
    garbage.bind(("127.0.0.1", 0))
    garbage.listen(1)

    def answer():
        conn, _unused = garbage.accept()
        conn.recv(1024)
        conn.sendall(b"SSH-2.0-not-http\r\n")
        conn.close()

    threading.Thread(target=answer, daemon=True).start()
    why = http_probe(f"http://127.0.0.1:{garbage.getsockname()[1]}/healthz", 2)
    garbage.close()
    assert why and why.startswith("GET http://127.0.0.1:")

    class Moved(_Health):
        def do_GET(self):
            self.send_response(301)
            self.send_header("Location", "https://elsewhere.invalid/")
            self.end_headers()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Moved)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert http_probe(f"http://127.0.0.1:{server.server_address[1]}/healthz", 2) is None  # not followed
    finally:
        server.shutdown()
