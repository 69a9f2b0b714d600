# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Networks on plain Docker hosts (issue 16 item 3), against the fake engine replaying recorded answers
(fixtures/networks.json): every listed network joined with the service name as alias, created when missing,
the engine's own networks refused by name, check mode creating nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fake_engine import IMAGE, FakeEngine

from ansible_collections.containerops.fleet.plugins.module_utils.engine.client import EngineError
from ansible_collections.containerops.fleet.plugins.module_utils.service.docker import DockerService
from ansible_collections.containerops.fleet.plugins.module_utils.service.driver import DeployError
from ansible_collections.containerops.fleet.plugins.module_utils.service.spec import (
    L_MANAGED,
    SpecError,
    container_body,
    normalize,
)

SERVICE = "rectest-kv"


def make_spec(networks: list[str], replicas: int = 2, version: str = "1") -> dict[str, Any]:
    return normalize(
        {
            "name": SERVICE,
            "image": IMAGE["RepoTags"][0],
            "replicas": replicas,
            "env": {"VERSION": version},
            "ports": [{"container": 6379, "host_range": "38200-38299"}],
            "bind_address": "127.0.0.1",
            "networks": networks,
            "update": {"monitor": 1},
        }
    )


def service(engine: FakeEngine, spec: dict[str, Any], **kw: Any) -> DockerService:
    return DockerService(engine=engine, spec=spec, address="127.0.0.1", node="node1", poll=0, warn=print, **kw)


@pytest.fixture(autouse=True)
def _no_port_probe(monkeypatch):
    monkeypatch.setattr(DockerService, "_bound_ports", lambda self: set())


def test_every_network_is_joined_with_the_service_name_as_alias():
    engine = FakeEngine()
    engine.add_network("backend")
    engine.add_network("frontend")
    result = service(engine, make_spec(["frontend", "backend"])).present()
    assert result["changed"] and "networks_created" not in result
    for name in engine.running():
        assert engine.networks_of(name) == {"backend": [SERVICE], "frontend": [SERVICE]}
    # joined before the start: a replica is never up without its networks
    for name in engine.running():
        calls = [c for c in engine.calls if c[0] in ("connect", "start") and c[1] == name]
        assert calls == [("connect", name, "frontend"), ("start", name)]


def test_missing_networks_are_created_labelled_then_joined_and_a_second_run_changes_nothing():
    engine = FakeEngine()
    engine.add_network("backend")
    spec = make_spec(["backend", "cache"])
    result = service(engine, spec).present()
    assert result["networks_created"] == ["cache"]
    assert result["diff"]["after"]["networks_created"] == ["cache"]
    assert [c for c in engine.calls if c[0] == "network_create"] == [("network_create", "cache", "bridge")]
    assert engine.networks["cache"]["Labels"] == {L_MANAGED: "true", "io.containerops.fleet.service": SERVICE}
    assert engine.networks["backend"]["Labels"] == {}  # someone else's network is used as it is
    create = engine.calls.index(("network_create", "cache", "bridge"))
    assert all(engine.calls.index(("create", n)) > create for n in engine.running())
    again = service(engine, spec).present()
    assert not again["changed"] and "networks_created" not in again


def test_check_mode_reports_the_networks_it_would_create_and_creates_nothing():
    engine = FakeEngine()
    result = service(engine, make_spec(["cache"]), check_mode=True).present()
    assert result["changed"] and result["networks_created"] == ["cache"]
    assert engine.networks == {} and engine.names() == []


def test_a_host_without_replicas_gets_no_network():
    engine = FakeEngine()
    result = service(engine, make_spec(["cache"], replicas=0)).present()
    assert engine.networks == {} and not result["changed"]


def test_a_new_network_rolls_the_replicas_onto_it():
    engine = FakeEngine()
    engine.add_network("backend")
    service(engine, make_spec(["backend"])).present()
    old = engine.running()
    result = service(engine, make_spec(["backend", "cache"])).present()
    assert result["changed_fields"] == ["networks"]
    assert set(engine.running()).isdisjoint(old)
    assert all(set(engine.networks_of(n)) == {"backend", "cache"} for n in engine.running())


def test_a_refused_join_rolls_back_and_names_the_engine_answer():
    engine = FakeEngine()
    engine.add_network("aaa")
    engine.add_network("backend")
    service(engine, make_spec(["aaa"])).present()
    old = engine.running()
    engine.gone_at_join.add("backend")  # removed by someone between the check and the join
    with pytest.raises((DeployError, EngineError), match="network backend not found"):
        service(engine, make_spec(["aaa", "backend"], version="2")).present()
    assert engine.running() == old
    assert [n for n in engine.names() if n not in old] == []  # the new replica that could not join is gone


def test_create_body_names_the_first_network_with_the_alias():
    spec = make_spec(["a-net", "b-net"])
    body = container_body(spec, replica=1, digest="0" * 16, host_ports=[38200], address="127.0.0.1")
    assert body["HostConfig"]["NetworkMode"] == "a-net"
    assert body["NetworkingConfig"] == {"EndpointsConfig": {"a-net": {"Aliases": [SERVICE]}}}
    assert "NetworkingConfig" not in container_body(
        make_spec([]), replica=1, digest="0" * 16, host_ports=[38200], address="127.0.0.1"
    )


@pytest.mark.parametrize("network", ["bridge", "host", "none", "default", "ingress"])
def test_the_engines_own_networks_are_refused_by_name(network):
    with pytest.raises(SpecError, match=rf"networks\[0\]: '{network}' is the engine's own network"):
        make_spec([network])


def test_a_network_listed_twice_is_refused():
    with pytest.raises(SpecError, match="listed twice"):
        make_spec(["a-net", "a-net"])
