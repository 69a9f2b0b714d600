# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.containerops.fleet.plugins.module_utils.service.spec import (
    L_HASH,
    L_PORT,
    L_SERVICE,
    SpecError,
    container_body,
    diff_fields,
    memory_bytes,
    normalize,
    spec_hash,
)

BASE = {
    "name": "web",
    "image": "demo:1",
    "replicas": 2,
    "ports": [{"container": 8000}],
    "healthcheck": {"http_path": "/healthz"},
    "env": {"B": 2, "A": "1"},
}


def test_normalize_fills_defaults_and_sorts():
    spec = normalize(BASE)
    assert spec["env"] == {"A": "1", "B": "2"}
    assert list(spec["env"]) == ["A", "B"]
    assert spec["ports"] == [{"container": 8000, "protocol": "tcp", "host_range": [20000, 29999]}]
    assert spec["healthcheck"]["port"] == 8000
    assert spec["update"] == {
        "parallelism": 1,
        "order": "start-first",
        "failure_action": "rollback",
        "monitor": 60.0,
        "max_failure_ratio": 0.0,
    }
    assert spec["restart_policy"] == "unless-stopped"


def test_hash_ignores_replicas_update_and_key_order_but_not_env_or_image():
    a = normalize(BASE)
    b = normalize({**BASE, "replicas": 9, "update": {"parallelism": 3}, "env": {"A": "1", "B": "2"}})
    assert spec_hash(a, "sha256:1") == spec_hash(b, "sha256:1")
    assert spec_hash(a, "sha256:1") != spec_hash(a, "sha256:2")
    assert spec_hash(a, "sha256:1") != spec_hash(normalize({**BASE, "env": {"A": "2"}}), "sha256:1")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": "Web_1"}, "name: 'Web_1' must be 1-41 lowercase"),
        ({"ports": [{"container": 8000, "host_range": "9-1"}]}, r"ports\[0\].host_range: 9-1 must satisfy"),
        ({"ports": [{"container": 8000, "host_range": "lots"}]}, r"ports\[0\].host_range: 'lots' is not a range"),
        ({"ports": [], "healthcheck": {"http_path": "/h"}}, "healthcheck.http_path: needs a port"),
        ({"healthcheck": {"http_path": "healthz"}}, "healthcheck.http_path: 'healthz' must start with /"),
        ({"update": {"max_failure_ratio": 2}}, "update.max_failure_ratio: must be between 0 and 1"),
        ({"resources": {"memory": "much"}}, "resources.memory: 'much' is not a size"),
        ({"replicas": -1}, "replicas: -1 must be a whole number"),
        ({"volumes": ["/data"]}, "volumes: '/data' must be SOURCE:TARGET"),
    ],
)
def test_bad_fields_are_named(change, message):
    with pytest.raises(SpecError, match=message):
        normalize({**BASE, **change})


def test_memory_sizes():
    assert memory_bytes("256m") == 256 * 1024**2
    assert memory_bytes("1g") == 1024**3
    assert memory_bytes(None) == 0


def test_container_body_carries_labels_ports_health_and_limits():
    spec = normalize({**BASE, "resources": {"cpus": 0.5, "memory": "128m"}, "bind_address": "10.0.0.5"})
    body = container_body(spec, replica=2, digest="abc", host_ports=[20005], address="10.0.0.5")
    assert body["Labels"][L_SERVICE] == "web"
    assert body["Labels"][L_HASH] == "abc"
    assert body["Labels"][L_PORT] == "20005"
    assert body["HostConfig"]["PortBindings"] == {"8000/tcp": [{"HostIp": "10.0.0.5", "HostPort": "20005"}]}
    assert body["HostConfig"]["NanoCpus"] == 500_000_000
    assert body["HostConfig"]["Memory"] == 128 * 1024**2
    assert "FLEET_REPLICA=web-2@10.0.0.5" in body["Env"]
    assert body["Healthcheck"]["Test"][0] == "CMD-SHELL"
    assert "http://127.0.0.1:8000/healthz" in body["Healthcheck"]["Test"][1]
    assert body["Healthcheck"]["Interval"] == 2_000_000_000


def test_command_healthcheck_forms():
    shell = normalize({**BASE, "healthcheck": {"command": "test -f /ok"}})
    exec_ = normalize({**BASE, "healthcheck": {"command": ["test", "-f", "/ok"]}})
    assert container_body(shell, replica=1, digest="d", host_ports=[1], address="a")["Healthcheck"]["Test"] == [
        "CMD-SHELL",
        "test -f /ok",
    ]
    assert container_body(exec_, replica=1, digest="d", host_ports=[1], address="a")["Healthcheck"]["Test"] == [
        "CMD",
        "test",
        "-f",
        "/ok",
    ]


def test_diff_fields_names_what_changed():
    old = normalize(BASE)
    new = normalize({**BASE, "env": {"A": "9"}, "replicas": 5})
    assert diff_fields(old, new) == ["env"]
