# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import json

import pytest
import tomllib

from ansible_collections.containerops.fleet.plugins.module_utils.runtime.config import (
    ConfigError,
    changed_keys,
    containerd_layout,
    deep_merge,
    parse,
    plan,
    validate_containerd,
    validate_docker,
    validate_podman,
)

DEBIAN_UNIT = (
    "{ path=/usr/sbin/dockerd ; argv[]=/usr/sbin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock }"
)


def test_deep_merge_merges_tables_and_null_removes():
    current = {"log-opts": {"max-size": "10m", "max-file": "3"}, "debug": True, "dns": ["1.1.1.1"]}
    wanted = {"log-opts": {"max-size": "20m"}, "debug": None, "dns": ["9.9.9.9"]}
    merged = deep_merge(current, wanted)
    assert merged == {"log-opts": {"max-size": "20m", "max-file": "3"}, "dns": ["9.9.9.9"]}
    assert current["log-opts"]["max-size"] == "10m"  # inputs untouched


def test_changed_keys_are_dotted_leaves():
    before = {"a": {"b": 1, "c": 2}, "d": 1, "gone": 1}
    after = {"a": {"b": 1, "c": 3}, "d": 1, "new": {"x": 1}}
    assert changed_keys(before, after) == ["a.c", "gone", "new"]
    assert changed_keys(before, before) == []


def test_plan_docker_writes_nothing_new_when_only_formatting_differs():
    current = '{"metrics-addr": "10.0.0.5:9323", "log-opts": {"max-size": "10m"}}'
    text, keys = plan("json", "docker", current, {"log-opts": {"max-size": "10m"}}, "/etc/docker/daemon.json")
    assert keys == []
    assert json.loads(text) == json.loads(current)


def test_plan_docker_reports_changed_keys_and_renders_sorted_json():
    text, keys = plan("json", "docker", "", {"metrics-addr": "10.0.0.5:9323", "debug": True}, "/x")
    assert keys == ["debug", "metrics-addr"]
    assert text == json.dumps({"debug": True, "metrics-addr": "10.0.0.5:9323"}, indent=2) + "\n"


def test_plan_containerd_keeps_package_keys_and_stays_toml():
    current = 'version = 2\n[plugins."io.containerd.grpc.v1.cri".cni]\nbin_dir = "/usr/lib/cni"\n'
    wanted = {"plugins": {"io.containerd.grpc.v1.cri": {"containerd": {"snapshotter": "native"}}}}
    text, keys = plan("toml", "containerd", current, wanted, "/etc/containerd/config.toml")
    assert keys == ["plugins.io.containerd.grpc.v1.cri.containerd"]
    after = tomllib.loads(text)
    assert after["plugins"]["io.containerd.grpc.v1.cri"]["cni"]["bin_dir"] == "/usr/lib/cni"


def test_parse_rejects_broken_current_file_naming_it():
    with pytest.raises(ConfigError, match=r"/etc/docker/daemon.json is not valid JSON"):
        parse("json", "{", "/etc/docker/daemon.json")
    with pytest.raises(ConfigError, match=r"config.toml: not valid TOML"):
        parse("toml", "[x", "config.toml")
    assert parse("json", "  \n", "x") == {}


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"storage-driver": "bogusfs"}, "config.storage-driver: unknown storage driver 'bogusfs'; use one of overlay2"),
        ({"log-driver": "elk"}, "config.log-driver: unknown log driver 'elk'"),
        ({"log-level": "loud"}, "config.log-level: 'loud' is not one of debug"),
        ({"log-opts": {"max-file": 3}}, "config.log-opts: values must be strings .* quote max-file"),
        ({"log-opts": "max-size=1m"}, "config.log-opts: must be a mapping"),
        ({"metrics-addr": "9323"}, "config.metrics-addr: '9323' is not host:port"),
        ({"metrics-addr": "10.0.0.5:99999"}, "is not host:port"),
        ({"storage_driver": "overlay2"}, "unknown daemon.json key.s. storage_driver"),
        ({"debug": "yes"}, "config.debug: must be true or false"),
        ({"dns": "1.1.1.1"}, "config.dns: must be a list"),
        ({"mtu": "1500"}, "config.mtu: must be an integer"),
    ],
)
def test_validate_docker_rejects_with_the_field_and_the_fix(config, message):
    with pytest.raises(ConfigError, match=message):
        validate_docker(config)


def test_validate_docker_accepts_a_good_config():
    validate_docker(
        {
            "storage-driver": "overlay2",
            "log-driver": "json-file",
            "log-opts": {"max-size": "10m", "max-file": "3"},
            "metrics-addr": "172.18.0.5:9323",
            "live-restore": True,
            "mtu": 1400,
            "registry-mirrors": ["http://10.0.0.1:5000"],
        },
        DEBIAN_UNIT,
    )
    validate_docker({"metrics-addr": "[::1]:9323", "log-driver": "grafana/loki-docker-driver:latest"})


def test_validate_docker_refuses_keys_the_unit_passes_as_flags():
    with pytest.raises(ConfigError, match=r"config.hosts: the docker service already passes -H"):
        validate_docker({"hosts": ["tcp://0.0.0.0:2375"]}, DEBIAN_UNIT)
    with pytest.raises(ConfigError, match=r"config.containerd: .* --containerd"):
        validate_docker({"containerd": "/run/x.sock"}, DEBIAN_UNIT)
    validate_docker({"hosts": ["unix:///var/run/docker.sock"]}, "/usr/sbin/dockerd")


def test_containerd_layouts():
    assert containerd_layout({}) == 1
    assert containerd_layout({"version": 3}) == 3
    with pytest.raises(ConfigError, match=r"config.version: containerd knows config versions 1, 2 and 3, not 7"):
        containerd_layout({"version": 7})


def test_validate_containerd_refuses_the_other_layout():
    with pytest.raises(ConfigError, match=r"io.containerd.cri.v1.images belongs to the other config layout.*version 2"):
        validate_containerd({"version": 2, "plugins": {"io.containerd.cri.v1.images": {"snapshotter": "native"}}})
    with pytest.raises(ConfigError, match=r"version 3 .containerd 2.x.: use io.containerd.cri.v1.runtime"):
        validate_containerd({"version": 3, "plugins": {"io.containerd.grpc.v1.cri": {"containerd": {}}}})
    validate_containerd({"version": 3, "plugins": {"io.containerd.cri.v1.images": {"snapshotter": "native"}}})
    validate_containerd({"version": 2, "plugins": {"io.containerd.grpc.v1.cri": {"containerd": {}}}})


def test_validate_containerd_unknown_top_key():
    with pytest.raises(ConfigError, match=r"unknown containerd top-level key.s. snapshotter"):
        validate_containerd({"version": 2, "snapshotter": "native"})


def test_validate_podman():
    validate_podman({"engine": {"cgroup_manager": "cgroupfs"}, "containers": {"log_driver": "k8s-file"}})
    with pytest.raises(ConfigError, match=r"unknown containers.conf table.s. engines"):
        validate_podman({"engines": {}})
    with pytest.raises(ConfigError, match=r"config: engine must be table"):
        validate_podman({"engine": "cgroupfs"})
    with pytest.raises(ConfigError, match=r"config.engine.cgroup_manager: 'systemdd' is not one of systemd, cgroupfs"):
        validate_podman({"engine": {"cgroup_manager": "systemdd"}})


# ----------------------------------------------------------------------------- engine API on the network

TLS = {
    "tlsverify": True,
    "tlscacert": "/etc/docker/ca.pem",
    "tlscert": "/etc/docker/cert.pem",
    "tlskey": "/etc/docker/key.pem",
}


@pytest.mark.parametrize(
    "hosts",
    [
        ["tcp://0.0.0.0:2375"],
        ["unix:///var/run/docker.sock", "tcp://10.0.0.5:2375"],
        ["10.0.0.5:2375"],  # dockerd reads an address without a scheme as tcp://
        ["TCP://[::]:2376"],
    ],
)
def test_docker_tcp_host_without_tls_verification_is_refused(hosts):
    with pytest.raises(ConfigError) as err:
        validate_docker({"hosts": hosts})
    message = str(err.value)
    assert message.startswith("config.hosts: ")
    assert "without TLS client verification" in message
    assert "tlsverify: true with tlscacert, tlscert and tlskey" in message
    assert "allow_insecure_tcp" in message


@pytest.mark.parametrize(
    ("extra", "missing"),
    [
        ({"tls": True, "tlscert": "/c.pem", "tlskey": "/k.pem"}, "tlsverify"),  # encrypted, but anyone may connect
        ({"tlsverify": False, **{k: v for k, v in TLS.items() if k != "tlsverify"}}, "tlsverify"),
        ({"tlsverify": True, "tlscert": "/c.pem", "tlskey": "/k.pem"}, "tlscacert"),
        ({"tlsverify": True, "tlscacert": "/ca.pem", "tlscert": "", "tlskey": "/k.pem"}, "tlscert"),
    ],
)
def test_docker_tcp_host_with_incomplete_tls_names_what_is_missing(extra, missing):
    with pytest.raises(ConfigError, match=rf"config.hosts: .*missing: {missing}\b"):
        validate_docker({"hosts": ["tcp://10.0.0.5:2376"], **extra})


def test_docker_tcp_host_with_tls_verification_or_explicit_opt_in_is_accepted():
    validate_docker({"hosts": ["unix:///var/run/docker.sock", "tcp://10.0.0.5:2376"], **TLS})
    validate_docker({"hosts": ["tcp://0.0.0.0:2375"]}, allow_insecure_tcp=True)
    validate_docker({"hosts": ["unix:///var/run/docker.sock", "fd://"]})


def test_plan_refuses_an_insecure_tcp_host_already_in_the_file_and_honours_the_opt_in():
    current = '{"hosts": ["tcp://0.0.0.0:2375"]}'
    with pytest.raises(ConfigError, match=r"config.hosts: 'tcp://0.0.0.0:2375' "):
        plan("json", "docker", current, {"debug": True}, "/etc/docker/daemon.json")
    _text, keys = plan("json", "docker", current, {"debug": True}, "/etc/docker/daemon.json", allow_insecure_tcp=True)
    assert keys == ["debug"]
    # removing the key (null) is the other way out
    _text, keys = plan("json", "docker", current, {"hosts": None}, "/etc/docker/daemon.json")
    assert keys == ["hosts"]


def test_containerd_grpc_tcp_address_needs_mutual_tls():
    with pytest.raises(ConfigError) as err:
        validate_containerd({"version": 2, "grpc": {"tcp_address": "0.0.0.0:8888"}})
    message = str(err.value)
    assert message.startswith("config.grpc.tcp_address: '0.0.0.0:8888' ")
    assert "missing: grpc.tcp_tls_ca, grpc.tcp_tls_cert, grpc.tcp_tls_key" in message
    assert "allow_insecure_tcp" in message
    with pytest.raises(ConfigError, match=r"missing: grpc.tcp_tls_ca\b"):  # TLS without client verification
        validate_containerd({"grpc": {"tcp_address": "10.0.0.5:8888", "tcp_tls_cert": "/c", "tcp_tls_key": "/k"}})
    tls = {"tcp_tls_ca": "/ca.pem", "tcp_tls_cert": "/c.pem", "tcp_tls_key": "/k.pem"}
    validate_containerd({"version": 2, "grpc": {"tcp_address": "10.0.0.5:8888", **tls}})
    validate_containerd({"version": 2, "grpc": {"tcp_address": "0.0.0.0:8888"}}, allow_insecure_tcp=True)
    validate_containerd({"version": 2, "grpc": {"address": "/run/containerd/containerd.sock", "tcp_address": ""}})
    with pytest.raises(ConfigError, match=r"config.grpc.tcp_address"):
        plan("toml", "containerd", "", {"grpc": {"tcp_address": "0.0.0.0:8888"}}, "/etc/containerd/config.toml")
