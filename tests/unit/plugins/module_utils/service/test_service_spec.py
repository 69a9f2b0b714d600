# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.containerops.fleet.plugins.module_utils.service.spec import (
    HTTP_PROBE,
    L_HASH,
    L_PORT,
    L_SERVICE,
    SpecError,
    container_body,
    diff_fields,
    docker_healthcheck,
    memory_bytes,
    normalize,
    probe_url,
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
        ({"name": "Web_1"}, "name: 'Web_1' is not allowed; use 1-41 lowercase"),
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
    # The HTTP check on a published port is probed from the host (container_service): the image's own is off.
    assert body["Healthcheck"] == {"Test": ["NONE"]}
    assert probe_url(spec, [20005]) == "http://10.0.0.5:20005/healthz"
    # Where no published port serves it (swarm, or an unpublished port), it runs inside, in exec form: the URL
    # is the script's $0, an argument, never shell text.
    inside = docker_healthcheck(spec)
    assert inside["Test"] == ["CMD", "/bin/sh", "-c", HTTP_PROBE, "http://127.0.0.1:8000/healthz"]
    assert inside["Interval"] == 2_000_000_000


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


HOSTILE = [
    "/x\nlisten evil",
    "/x$(id)",
    "/x`id`",
    "/x'q",
    '/x"q',
    "/x y",
    "/x\\",
    "/x#c",
    "/\u00e4",
    "/" + "x" * 10_000,
]


@pytest.mark.parametrize("path", HOSTILE)
def test_a_hostile_health_path_never_reaches_a_probe(path):
    with pytest.raises(SpecError, match=r"^healthcheck\.http_path: .* is not allowed; use a path like /healthz"):
        normalize({**BASE, "healthcheck": {"http_path": path}})


@pytest.mark.parametrize("path", ["/x;id", "/bad&true", "/q?a=1&b=2", "/x(1)"])
def test_url_characters_a_shell_would_read_stay_an_argument(path):
    """`&` in a query string once made a failing check pass; now the URL is never shell text."""
    spec = normalize({**BASE, "healthcheck": {"http_path": path}})
    assert docker_healthcheck(spec)["Test"] == ["CMD", "/bin/sh", "-c", HTTP_PROBE, f"http://127.0.0.1:8000{path}"]
    assert probe_url(spec, [20001]) == f"http://127.0.0.1:20001{path}"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"metrics_path": "/m\nremote_write:"}, "metrics_path"),
        ({"env": {"A=B": "1"}}, "env.A=B"),
        ({"env": {"A\nB": "1"}}, "env.A\nB"),
        ({"labels": {"io.containerops.fleet.service": "x"}}, "labels.io.containerops.fleet.service"),
        ({"labels": {"a b": "x"}}, "labels.a b"),
        ({"networks": ["net;x"]}, r"networks\[0\]"),
        ({"image": "web:1 --privileged"}, "image"),
        ({"bind_address": "0.0.0.0\n"}, "bind_address"),
        ({"volumes": ["/srv:/data\n"]}, "volumes"),
        ({"name": "web\n"}, "name"),
    ],
)
def test_hostile_values_are_refused_by_field(change, field):
    with pytest.raises(SpecError, match=f"^{field}: "):
        normalize({**BASE, **change})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"command": "echo 'x"}, r"^command: .* cannot be split into words"),
        ({"command": 5}, r"^command: 5 must be a list of words or a string"),
        ({"command": [{"a": 1}]}, r"^command: .* must be a list of words or a string"),
        ({"healthcheck": {"command": 7}}, r"^healthcheck\.command: 7 must be a list of words"),
    ],
)
def test_a_bad_command_is_named_not_a_traceback(change, message):
    with pytest.raises(SpecError, match=message):
        normalize({**BASE, **change})
