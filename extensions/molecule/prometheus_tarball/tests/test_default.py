# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Prometheus from a release tarball on the controller: unpacked by checksum, linked, running, checked config."""

from __future__ import annotations

import json


def test_installed_from_the_tarball_not_the_package(host):
    assert not host.package("prometheus").is_installed
    for name in ("prometheus", "promtool"):
        link = host.file(f"/usr/local/bin/{name}")
        assert link.is_symlink
        assert link.linked_to.startswith("/opt/prometheus/")
        assert len(link.linked_to.split("/")[3]) == 64  # the directory is named after the sha256


def test_runs_as_prometheus_on_the_private_address_with_retention(host):
    service = host.service("prometheus")
    assert service.is_running and service.is_enabled
    address = host.ansible("setup")["ansible_facts"]["ansible_default_ipv4"]["address"]
    assert host.socket(f"tcp://{address}:9090").is_listening
    assert not host.socket("tcp://0.0.0.0:9090").is_listening
    assert host.process.get(comm="prometheus").user == "prometheus"
    flags = host.file("/etc/default/prometheus").content_string
    assert "--storage.tsdb.retention.time=2d" in flags
    assert "--storage.tsdb.retention.size=1GB" in flags
    ready = host.run(
        f"python3 -c \"import urllib.request; print(urllib.request.urlopen('http://{address}:9090/-/ready').status)\""
    )
    assert ready.stdout.strip() == "200"


def test_config_and_rules_pass_promtool(host):
    assert host.run("/usr/local/bin/promtool check config /etc/prometheus/prometheus.yml").rc == 0
    rules = host.run("/usr/local/bin/promtool check rules /etc/prometheus/rules/fleet.yml")
    assert rules.rc == 0
    assert "4 rules found" in rules.stdout


def test_rules_are_loaded(host):
    address = host.ansible("setup")["ansible_facts"]["ansible_default_ipv4"]["address"]
    out = host.check_output(
        f"python3 -c \"import urllib.request; print(urllib.request.urlopen('http://{address}:9090/api/v1/rules').read().decode())\""
    )
    names = {r["name"] for g in json.loads(out)["data"]["groups"] for r in g["rules"]}
    assert {"FleetInstanceDown", "FleetHAProxyBackendServerDown", "FleetHigh5xxRate", "FleetHighLatency"} <= names
