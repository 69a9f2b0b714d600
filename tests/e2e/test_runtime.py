# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""container_runtime on lab host node3 (Docker may already be there: the module takes it over).

The site's engine config (metrics on the private address), a rejected config that leaves the engine
untouched, and a change the engine reports afterwards.
"""

from __future__ import annotations

import json
import re
import urllib.request
import uuid

import pytest
from conftest import ROOT, run_playbook, stats

PLAYBOOK = ROOT / "tests" / "e2e" / "playbooks" / "runtime.yml"
NODE = "node3"


def apply(extra: dict | None = None, check: bool = True):
    return run_playbook(PLAYBOOK, "-e", json.dumps({"runtime_host": NODE, "runtime_extra": extra or {}}), check=check)


def facts(proc) -> dict:
    match = re.search(r"RUNTIME=(\{.*?\})\"", proc.stdout.replace('\\"', '"'))
    assert match, proc.stdout[-2000:]
    return json.loads(match.group(1))


def failure(proc) -> str:
    tasks = json.loads(proc.stdout)["plays"][0]["tasks"]
    return " ".join(str(t["hosts"][NODE].get("msg", "")) for t in tasks if t["hosts"].get(NODE, {}).get("failed"))


@pytest.fixture(scope="module")
def node(host, inventory):
    address = inventory["all"]["children"]["container_hosts"]["hosts"][NODE]["ansible_host"]
    return host(NODE), address


def test_site_config_applied_metrics_answer_on_private_address_then_nothing_changes(node):
    target, address = node
    first = apply()
    runtime = facts(first)
    assert runtime["engine"] == "docker"
    assert runtime["storage_driver"] == "overlay2"
    assert runtime["config_path"] == "/etc/docker/daemon.json"
    assert target.service("docker").is_running and target.service("docker").is_enabled
    with urllib.request.urlopen(f"http://{address}:9323/metrics", timeout=10) as resp:
        assert b"engine_daemon_engine_info" in resp.read()
    # bound to the private address only
    assert target.run("curl -sf -o /dev/null http://127.0.0.1:9323/metrics").rc != 0
    again = apply()
    assert stats(again)[NODE]["changed"] == 0


def test_unknown_storage_driver_fails_clearly_and_engine_keeps_running(node):
    target = node[0]
    before = target.file("/etc/docker/daemon.json").content_string
    started = target.check_output("systemctl show -p ActiveEnterTimestampMonotonic --value docker")
    proc = apply({"storage-driver": "bogusfs"}, check=False)
    assert proc.returncode != 0
    assert "config.storage-driver: unknown storage driver 'bogusfs'; use one of overlay2" in failure(proc)
    assert target.file("/etc/docker/daemon.json").content_string == before
    assert target.check_output("systemctl show -p ActiveEnterTimestampMonotonic --value docker") == started
    assert target.check_output("docker info --format '{{.Driver}}'") == "overlay2"


def test_config_change_takes_effect_and_is_reported(node):
    target = node[0]
    label = f"fleet.e2e={uuid.uuid4().hex[:8]}"
    try:
        proc = apply({"labels": [label]})
        assert stats(proc)[NODE]["changed"] == 1
        assert facts(proc)["changed_keys"] == ["labels"]
        assert label in json.loads(target.check_output("docker info --format '{{json .Labels}}'"))
    finally:
        restored = apply({"labels": None})
    assert facts(restored)["changed_keys"] == ["labels"]
    assert "labels" not in json.loads(target.file("/etc/docker/daemon.json").content_string)
