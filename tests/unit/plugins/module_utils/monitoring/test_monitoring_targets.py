# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.containerops.fleet.plugins.module_utils.monitoring.targets import (
    MonitoringError,
    file_sd_groups,
    join_host_port,
    static_targets,
)

HOSTVARS = {
    "node2": {"ansible_host": "10.0.0.2"},
    "node1": {"ansible_host": "10.0.0.1"},
    "lb1": {"ansible_facts": {"default_ipv4": {"address": "10.0.0.9"}}},
    "v6": {"ansible_host": "fd00::5"},
}


def _ep(service="web", host="node1", replica=1, port=20001, metrics_path="/metrics", **kw):
    ep = {
        "service": service,
        "host": host,
        "address": HOSTVARS.get(host, {}).get("ansible_host", "10.0.0.7"),
        "port": port,
        "container": f"{service}-{replica}",
        "replica": replica,
        "spec_hash": "abc",
        "healthy": True,
        "health_path": "/healthz",
        "metrics_path": metrics_path,
    }
    ep.update(kw)
    return ep


def test_join_brackets_ipv6_only():
    assert join_host_port("10.0.0.1", 9100) == "10.0.0.1:9100"
    assert join_host_port("fd00::5", 9100) == "[fd00::5]:9100"
    assert join_host_port("[fd00::5]", 9100) == "[fd00::5]:9100"


def test_static_targets_one_group_per_host_sorted_and_deduplicated():
    groups = static_targets(["node2", "node1", "node2", "v6"], HOSTVARS, "9100")
    assert groups == [
        {"targets": ["10.0.0.1:9100"], "labels": {"host": "node1"}},
        {"targets": ["10.0.0.2:9100"], "labels": {"host": "node2"}},
        {"targets": ["[fd00::5]:9100"], "labels": {"host": "v6"}},
    ]
    assert static_targets([], HOSTVARS, 9100) == []


def test_static_targets_extra_labels():
    assert static_targets(["node1"], HOSTVARS, 8404, {"role": "lb"}) == [
        {"targets": ["10.0.0.1:8404"], "labels": {"host": "node1", "role": "lb"}}
    ]


@pytest.mark.parametrize("port", [0, 70000, "http", None, True])
def test_bad_port_names_the_field(port):
    with pytest.raises(MonitoringError, match=r"^port: .* is not a port number; use an integer 1-65535$"):
        static_targets(["node1"], HOSTVARS, port)


def test_hosts_as_a_string_is_refused():
    with pytest.raises(MonitoringError, match="is a string; pass a list"):
        static_targets("node1", HOSTVARS, 9100)


def test_file_sd_one_list_per_service_only_with_metrics_path():
    eps = [
        _ep("web", "node2", 1, 20001),
        _ep("web", "node1", 2, 20002),
        _ep("web", "node1", 1, 20001),
        _ep("api", "node1", 1, 21001, metrics_path="/custom/metrics"),
        _ep("db", "node1", 1, 5432, metrics_path=None),
    ]
    sd = file_sd_groups(eps)
    assert list(sd) == ["api", "web"]
    assert sd["api"] == [
        {
            "targets": ["10.0.0.1:21001"],
            "labels": {"service": "api", "host": "node1", "container": "api-1", "__metrics_path__": "/custom/metrics"},
        }
    ]
    assert [(g["labels"]["host"], g["labels"]["container"], g["targets"][0]) for g in sd["web"]] == [
        ("node1", "web-1", "10.0.0.1:20001"),
        ("node1", "web-2", "10.0.0.1:20002"),
        ("node2", "web-1", "10.0.0.2:20001"),
    ]


def test_file_sd_is_stable_whatever_the_input_order():
    eps = [_ep("web", "node2", 1), _ep("web", "node1", 2, 20002), _ep("web", "node1", 1)]
    assert file_sd_groups(eps) == file_sd_groups(list(reversed(eps)))
    assert file_sd_groups([]) == {}


def test_file_sd_endpoint_without_container_gets_service_replica_name():
    ep = _ep()
    del ep["container"]
    assert file_sd_groups([ep])["web"][0]["labels"]["container"] == "web-1"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"address": None}, r"^endpoint 0: address is missing; endpoints must have the shape in docs/endpoints.md$"),
        ({"port": "x"}, r"^endpoint 0 \(web on node1\): port: 'x' is not a port number"),
        ({"service": "a/b"}, r"^endpoint 0: service 'a/b' cannot name a target file"),
        ({"metrics_path": "metrics"}, r"^endpoint 0 \(web on node1\): metrics_path 'metrics' must start with '/'$"),
    ],
)
def test_file_sd_bad_endpoint_names_the_field(change, message):
    with pytest.raises(MonitoringError, match=message):
        file_sd_groups([_ep(**change)])


def test_file_sd_non_dict_endpoint():
    with pytest.raises(MonitoringError, match="is not a dict"):
        file_sd_groups(["web"])
