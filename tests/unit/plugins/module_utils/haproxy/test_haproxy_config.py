# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.containerops.fleet.plugins.module_utils.haproxy.config import (
    HaproxyConfigError,
    backends,
    config_server,
    default_server_options,
    server_line,
    set_config_server,
)


def ep(host, replica=1, service="web", port=8001, health_path="/healthz"):
    return {
        "service": service,
        "host": host,
        "address": f"10.0.0.{host[-1]}",
        "port": port + replica - 1,
        "container": f"{service}-{replica}",
        "replica": replica,
        "health_path": health_path,
    }


EPS = [ep("node2"), ep("node1", 2), ep("node1"), ep("node3"), ep("node1", service="api", port=9000)]


def test_one_server_per_replica_across_hosts_sorted_and_named_host_container():
    (web,) = backends([{"name": "web", "port": 80}], EPS)
    assert [s["name"] for s in web["servers"]] == ["node1-web-1", "node1-web-2", "node2-web-1", "node3-web-1"]
    assert web["servers"][1] == {"name": "node1-web-2", "address": "10.0.0.1", "port": 8002, "weight": None}
    assert web["balance"] == "roundrobin"
    assert web["health_path"] == "/healthz"
    assert web["port"] == 80


def test_weights_by_container_name_by_server_name_or_by_order():
    eps = [ep("node1"), ep("node2"), ep("node3")]
    by_order = backends([{"name": "web", "port": 80, "weights": [1, 2, 3]}], eps)[0]
    assert [s["weight"] for s in by_order["servers"]] == [1, 2, 3]
    by_name = backends([{"name": "web", "port": 80, "weights": {"node2-web-1": 5}}], eps)[0]
    assert [s["weight"] for s in by_name["servers"]] == [None, 5, None]
    by_container = backends([{"name": "web", "port": 80, "weights": {"web-1": "4"}}], eps)[0]
    assert [s["weight"] for s in by_container["servers"]] == [4, 4, 4]


def test_service_settings_override_endpoint_defaults():
    (web,) = backends([{"name": "web", "port": 81, "balance": "leastconn", "health_path": "/up", "retries": 5}], EPS)
    assert (web["balance"], web["health_path"], web["retries"]) == ("leastconn", "/up", 5)


def test_service_without_replicas_gets_an_empty_backend():
    (none,) = backends([{"name": "ghost", "port": 80}], EPS)
    assert none["servers"] == [] and none["health_path"] is None


@pytest.mark.parametrize(
    ("services", "message"),
    [
        ([{"port": 80}], r"haproxy_services\[0\]: every service needs a name"),
        ([{"name": "web"}], r"haproxy_services\[web\].port: None is not a TCP port"),
        ([{"name": "web", "port": 80}, {"name": "api", "port": 80}], r"\[api\].port: 80 is already the port of web"),
        ([{"name": "web", "port": 80}, {"name": "web", "port": 81}], r"\[web\]: listed twice"),
        ([{"name": "web", "port": 80, "weights": [1, 2]}], r"2 weights for 4 replicas"),
        ([{"name": "web", "port": 80, "weights": {"web-9": 1}}], r"no replica named web-9"),
        ([{"name": "web", "port": 80, "weights": {"web-1": 999}}], r"999 is not a weight from 0 to 256"),
        ([{"name": "web", "port": 80, "health_path": "healthz"}], r"health_path: 'healthz' is not allowed; use a path"),
        ([{"name": "web app", "port": 80}], r"name: 'web app' is not allowed; use letters"),
        # What once rewrote the load balancer: a section, a stats page, an admin command through a value.
        (
            [{"name": "web", "port": 80, "health_path": "/h\nlisten x\n bind :2222"}],
            r"\[web\].health_path: .* not allowed",
        ),
        ([{"name": "web", "port": 80, "balance": "roundrobin\n stats enable"}], r"\[web\].balance: .* is not one of"),
        ([{"name": "web", "port": 80, "retries": "3\n stats enable"}], r"\[web\].retries: .* whole number"),
        ([{"name": "web\n", "port": 80}], r"name: 'web\\n' is not allowed"),
    ],
)
def test_bad_settings_name_the_field_and_the_fix(services, message):
    with pytest.raises(HaproxyConfigError, match=message):
        backends(services, EPS)


CONFIG = """global
    master-worker

backend web
    balance roundrobin
    default-server check inter 1s fall 2 # comment
    server node1-web-1 10.0.0.1:8001
    server node2-web-1 10.0.0.2:8001 weight 3

backend empty
    balance roundrobin

frontend fe_web
    bind :80
"""


def test_config_server_reads_one_backends_line():
    assert config_server(CONFIG, "web", "node2-web-1") == "server node2-web-1 10.0.0.2:8001 weight 3"
    assert config_server(CONFIG, "web", "node3-web-1") is None
    with pytest.raises(HaproxyConfigError, match="backend 'nope' is not in the configuration file"):
        config_server(CONFIG, "nope", "x")


def test_add_server_goes_after_the_last_server_line_of_its_backend():
    new = set_config_server(CONFIG, "web", "node3-web-1", server_line("node3-web-1", "10.0.0.3", 8001, 2))
    lines = new.splitlines()
    assert lines[lines.index("    server node2-web-1 10.0.0.2:8001 weight 3") + 1] == (
        "    server node3-web-1 10.0.0.3:8001 weight 2"
    )
    assert new.endswith("\n") and new.count("server node3-web-1") == 1


def test_add_to_a_backend_without_servers_and_replace_and_remove():
    added = set_config_server(CONFIG, "empty", "a", "server a 1.2.3.4:80")
    assert "    balance roundrobin\n    server a 1.2.3.4:80\n\nfrontend fe_web" in added
    moved = set_config_server(CONFIG, "web", "node1-web-1", "server node1-web-1 10.0.0.9:9")
    assert "    server node1-web-1 10.0.0.9:9\n    server node2-web-1" in moved
    removed = set_config_server(CONFIG, "web", "node1-web-1", None)
    assert "node1-web-1" not in removed and "node2-web-1" in removed
    assert set_config_server(removed, "web", "node1-web-1", None) == removed


def test_default_server_options_of_the_backend():
    assert default_server_options(CONFIG, "web") == ["check", "inter", "1s", "fall", "2"]
    assert default_server_options(CONFIG, "empty") == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("address", "10.0.0.1\nlisten x"),
        ("address", "10.0.0.1 check disabled"),
        ("port", "80\n"),
        ("port", 70000),
        ("container", "web-1 10.0.0.9:22"),
    ],
)
def test_endpoint_values_from_hosts_are_checked_before_rendering(field, value):
    """Endpoints come from container labels on the hosts: a hostile one never reaches haproxy.cfg."""
    hostile = [{**EPS[0], field: value}]
    with pytest.raises(HaproxyConfigError, match=r"haproxy_services\[web\] server"):
        backends([{"name": "web", "port": 80}], hostile)
