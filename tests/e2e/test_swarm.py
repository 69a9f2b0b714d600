# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""container_service platform=swarm on a real 3-node swarm of lab hosts (node1 manager, node2/node3 workers).

The swarm is formed by the containerops.fleet.swarm role and left on: plain containers (platform docker)
keep working on swarm nodes.  Services here are named swarm-e2e* and publish from 24000-24999 so they
never meet the plain-docker tests' services.  The kernel has no IPVS: ports are published in host mode
and every endpoint is a node address + that port, checked with real HTTP.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request

import pytest
import yaml
from conftest import ROOT, container, haproxy_all_up, on_host, run_playbook, stats, wait_for

L_HASH = "io.containerops.fleet.spec-hash"

PLAYBOOKS = ROOT / "tests" / "e2e" / "playbooks"
NAME = "swarm-e2e"
DNSRR = "swarm-e2e-dnsrr"
STACK = "swarm-e2e-web"  # a definition with platform swarm, deployed by site.yml next to the lab's own services


def definition(**over) -> dict:
    spec = {
        "name": NAME,
        "image": "fleet-test/httpd:1",
        "replicas": 2,
        "ports": [{"container": 8000, "host_range": "24000-24999"}],
        "env": {"RELEASE": "1"},
        "healthcheck": {"http_path": "/healthz", "interval": 1, "timeout": 5, "retries": 2},
        "update": {"parallelism": 1, "monitor": 15},
        "progress_deadline": 300,
    }
    spec.update(over)
    return spec


def deploy(spec: dict, check: bool = True) -> dict:
    proc = run_playbook(PLAYBOOKS / "swarm_service.yml", "-e", json.dumps({"test_service": spec}), check=check)
    result = {}
    for play in json.loads(proc.stdout)["plays"]:
        for task in play["tasks"]:
            if task["task"]["name"] == "Deploy the service on the swarm":
                result = task["hosts"]["node1"]
    result["rc"] = proc.returncode
    return result


def manager(*args: str) -> str:
    return on_host("node1", "docker", *args)


def running_tasks(service: str) -> set[str]:
    """<service>.<slot>.<task id> of the tasks Swarm runs now, straight from the manager."""
    out = manager(
        "service",
        "ps",
        service,
        "--no-trunc",
        "--filter",
        "desired-state=running",
        "--format",
        "{{.Name}}.{{.ID}} {{.CurrentState}}",
    )
    return {line.split()[0] for line in out.splitlines() if " Running " in f" {line} "}


def answers(endpoint: dict) -> int | None:
    try:
        with urllib.request.urlopen(f"http://{endpoint['address']}:{endpoint['port']}/healthz", timeout=10) as resp:
            return resp.status
    except OSError:
        return None


def assert_serving(result: dict, service: str, replicas: int) -> None:
    endpoints = result["endpoints"]
    assert len(endpoints) == replicas, endpoints
    assert {e["container"] for e in endpoints} == running_tasks(service)
    assert len({e["host"] for e in endpoints}) == replicas  # host mode: one task per node and port
    assert {e["host"] for e in endpoints} <= {"node1", "node2", "node3"}
    assert [answers(e) for e in endpoints] == [200] * replicas


def remove(name: str) -> None:
    """Fixture cleanup straight on the manager (state=absent itself is tested below)."""
    subprocess.run(
        ["docker", "exec", container("node1"), "docker", "service", "rm", name], capture_output=True, check=False
    )


def leave_swarm(host: str) -> None:
    """Take `host` out of the swarm, so the role has a new node to join."""
    subprocess.run(
        ["docker", "exec", container(host), "docker", "swarm", "leave", "--force"], capture_output=True, check=False
    )
    ids = manager("node", "ls", "--filter", f"name={host}", "--format", "{{.ID}} {{.Hostname}}").split("\n")
    for line in ids:
        if line.endswith(f" {host}"):
            manager("node", "rm", "--force", line.split()[0])


@pytest.fixture(scope="module", autouse=True)
def lab_swarm():
    images = subprocess.run(
        ["docker", "exec", container("node3"), "docker", "image", "inspect", "fleet-test/httpd:broken"],
        capture_output=True,
        check=False,
    )
    if images.returncode != 0:
        run_playbook(PLAYBOOKS / "test_images.yml")
    was_formed = json.loads(manager("info", "--format", "{{json .Swarm}}"))["LocalNodeState"] == "active"
    remove(NAME)
    remove(DNSRR)
    remove(STACK)
    if was_formed:
        leave_swarm("node3")
    formed = run_playbook(PLAYBOOKS / "swarm_form.yml")
    yield {"was_formed": was_formed, "stats": stats(formed)}
    remove(NAME)
    remove(DNSRR)
    remove(STACK)


def test_swarm_role_forms_three_nodes_and_joins_a_new_one(lab_swarm, inventory):
    nodes = manager("node", "ls", "--format", "{{.Hostname}} {{.Status}} {{.ManagerStatus}}").split("\n")
    assert sorted(n.split()[0] for n in nodes if n) == ["node1", "node2", "node3"]
    assert all(" Ready" in n for n in nodes if n)
    assert [n.split()[-1] for n in nodes if n.startswith("node1")] == ["Leader"]
    for host in ("node2", "node3"):
        labels = json.loads(manager("node", "inspect", host, "--format", "{{json .Spec.Labels}}"))
        address = inventory["all"]["children"]["container_hosts"]["hosts"][host]["ansible_host"]
        assert labels == {"io.containerops.fleet.host": host, "io.containerops.fleet.address": address}
    if lab_swarm["was_formed"]:
        # node3 had left: only it changes (joined, labelled); the formed part is left alone.
        changed = {h: s["changed"] for h, s in lab_swarm["stats"].items()}
        assert changed["node1"] == 0 and changed["node2"] == 0 and changed["node3"] >= 2, lab_swarm["stats"]


def test_deploy_scale_update_and_second_run_changes_nothing():
    first = deploy(definition())
    assert first["changed"] is True and first["plan"]["action"] == "create"
    assert_serving(first, NAME, 2)

    again = deploy(definition())
    assert again["changed"] is False
    assert {e["container"] for e in again["endpoints"]} == {e["container"] for e in first["endpoints"]}

    scaled = deploy(definition(replicas=3))
    assert scaled["changed"] is True and scaled["spec_hash"] == first["spec_hash"]
    assert_serving(scaled, NAME, 3)
    # Scaling adds a task; the running ones stay.
    assert {e["container"] for e in first["endpoints"]} <= {e["container"] for e in scaled["endpoints"]}

    updated = deploy(definition(replicas=3, env={"RELEASE": "2"}))
    assert updated["changed"] is True and updated["spec_hash"] != first["spec_hash"]
    assert updated["plan"]["update_order"] == "stop-first"
    assert {e["spec_hash"] for e in updated["endpoints"]} == {updated["spec_hash"]}
    assert_serving(updated, NAME, 3)
    env = manager("service", "inspect", NAME, "--format", "{{json .Spec.TaskTemplate.ContainerSpec.Env}}")
    assert "RELEASE=2" in json.loads(env)


def test_broken_image_is_rolled_back_by_swarm_and_reported():
    """Runs on what the previous test left: 3 tasks of RELEASE=2."""
    good_hash = manager(
        "service", "inspect", NAME, "--format", "{{index .Spec.Labels " + json.dumps(L_HASH) + "}}"
    ).strip()
    assert good_hash
    broken = deploy(definition(replicas=3, env={"RELEASE": "2"}, image="fleet-test/httpd:broken"), check=False)
    assert broken["rc"] != 0
    assert broken["failed"] is True and broken["rolled_back"] is True
    assert "rolled it back" in broken["msg"] and "rollback_completed" in broken["msg"]
    # Swarm put the previous spec back: the same hash serves on every node, and a rerun of it changes nothing.
    assert manager("service", "inspect", NAME, "--format", "{{.UpdateStatus.State}}").strip() == "rollback_completed"
    after = deploy(definition(replicas=3, env={"RELEASE": "2"}))
    assert after["changed"] is False
    assert {e["spec_hash"] for e in after["endpoints"]} == {good_hash}
    assert_serving(after, NAME, 3)


def test_dnsrr_endpoint_mode_and_absent():
    result = deploy(definition(name=DNSRR, replicas=1, endpoint_mode="dnsrr"))
    assert result["changed"] is True
    assert manager("service", "inspect", DNSRR, "--format", "{{.Spec.EndpointSpec.Mode}}").strip() == "dnsrr"
    assert_serving(result, DNSRR, 1)
    gone = deploy({"name": DNSRR, "state": "absent"})
    assert gone["changed"] is True and gone["removed"] == [DNSRR]
    assert DNSRR not in manager("service", "ls", "--format", "{{.Name}}").split()


def stack_definition() -> dict:
    """The operator's way: one more entry in fleet_services, with platform swarm and a load-balancer port."""
    return {
        "name": STACK,
        "platform": "swarm",
        "image": "fleet-demo:1",
        "replicas": 3,
        "ports": [{"container": 8000, "host_range": "24100-24199"}],
        "healthcheck": {"http_path": "/healthz", "interval": 2, "timeout": 5, "retries": 5, "start_period": 10},
        "metrics_path": "/metrics",
        "update": {"parallelism": 1, "monitor": 10},
        "progress_deadline": 300,
        "lb": {"port": 8090},
    }


def test_site_deploys_a_swarm_service_that_haproxy_and_prometheus_follow(inventory):
    """site.yml with a platform-swarm definition: Swarm places the tasks, every node reports the ones it runs,
    HAProxy balances over all of them and Prometheus scrapes each; a second run changes nothing."""
    lab_services = yaml.safe_load((ROOT / "inventories/lab/group_vars/all/services.yml").read_text())["fleet_services"]
    extra = json.dumps({"fleet_services": [*lab_services, stack_definition()], "service_swarm_manager": "node1"})
    run_playbook(ROOT / "playbooks" / "site.yml", "-e", extra)
    second = run_playbook(ROOT / "playbooks" / "site.yml", "-e", extra)
    changed = {h: s["changed"] for h, s in stats(second).items() if s["changed"]}
    assert changed == {}, f"second site.yml run changed something: {changed}"

    tasks = running_tasks(STACK)
    assert len(tasks) == 3
    hosts = inventory["all"]["children"]
    lb = hosts["loadbalancers"]["hosts"]["lb1"]["ansible_host"]
    mon = hosts["monitoring"]["hosts"]["mon1"]["ansible_host"]
    status = haproxy_all_up(lb, STACK, 3)
    servers = [name.split("-", 1) for name in status]  # <node>-<task container>, the container <service>.<slot>.<id>
    assert {container for _node, container in servers} == tasks
    # Each task names itself <service>-<slot>@<node>: every one of them answers through HAProxy.
    expected = {f"{STACK}-{container.split('.')[1]}@{node}" for node, container in servers}
    seen = set()
    for _unused in range(30):
        with urllib.request.urlopen(f"http://{lb}:8090/", timeout=10) as resp:
            seen.add(resp.read().decode().rsplit(" ", 1)[0])
    assert seen == expected

    def scraped():
        with urllib.request.urlopen(f"http://{mon}:9090/api/v1/targets?state=active", timeout=10) as resp:
            active = json.load(resp)["data"]["activeTargets"]
        up = [t for t in active if t["labels"].get("service") == STACK and t["health"] == "up"]
        return up if len(up) == 3 else None

    # file_sd refresh plus a scrape interval, on a busy 2-core CI machine
    wait_for("Prometheus scraping the 3 swarm tasks", scraped, timeout=180)
