# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""container_service on the lab's Docker hosts: placement, idempotence, rolling update, rollback."""

from __future__ import annotations

import json
import subprocess
import urllib.request

import pytest
from conftest import BIN, INVENTORY, ROOT, ansible_env, container, on_host, run_playbook, stats, task_results

PLAYBOOK = ROOT / "tests" / "e2e" / "playbooks" / "service.yml"
HOSTS = ("node1", "node2", "node3")


def definition(**over) -> dict:
    spec = {
        "name": "e2e-svc",
        "image": "fleet-test/httpd:1",
        "replicas": 6,
        "ports": [{"container": 8000}],
        "env": {"RELEASE": "1"},
        "healthcheck": {"http_path": "/healthz", "interval": 1, "timeout": 5, "retries": 2},
        "update": {"parallelism": 1, "monitor": 20},
    }
    spec.update(over)
    return spec


def deploy(spec: dict, check: bool = True) -> subprocess.CompletedProcess:
    return run_playbook(PLAYBOOK, "-e", json.dumps({"test_service": spec}), check=check)


def docker_ps(host: str, service: str) -> dict[str, int]:
    """name -> published host port of the service's running containers, straight from the host's engine."""
    out = subprocess.run(
        [
            "docker",
            "exec",
            container(host),
            "docker",
            "ps",
            "--filter",
            f"label=io.containerops.fleet.service={service}",
            "--format",
            "{{.Names}} {{.Ports}}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = {}
    for line in out.splitlines():
        name, ports = line.split(" ", 1)
        found[name] = int(ports.split("->")[0].rsplit(":", 1)[1])
    return found


def answers(endpoint: dict) -> bool:
    try:
        with urllib.request.urlopen(f"http://{endpoint['address']}:{endpoint['port']}/healthz", timeout=3) as resp:
            return resp.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module", autouse=True)
def images_and_cleanup():
    run_playbook(ROOT / "tests" / "e2e" / "playbooks" / "test_images.yml")
    yield
    subprocess.run(
        [
            str(BIN / "ansible"),
            "-i",
            str(ROOT / "inventories" / "lab"),
            "container_hosts",
            "-m",
            "containerops.fleet.container_service",
            "-a",
            "name=e2e-svc state=absent",
        ],
        cwd=ROOT,
        env=ansible_env(),
        capture_output=True,
        check=False,
    )


def test_deploy_six_replicas_over_three_hosts_then_nothing_changes():
    first = deploy(definition())
    deployed = task_results(first, "containerops.fleet.service : Start the replicas")
    endpoints = [ep for h in HOSTS for ep in deployed[h]["endpoints"]]
    assert len(endpoints) == 6
    for h in HOSTS:
        # spread: two per host, and what the module reports is what the engine runs
        assert {ep["container"]: ep["port"] for ep in deployed[h]["endpoints"]} == docker_ps(h, "e2e-svc")
        assert len(deployed[h]["endpoints"]) == 2
    assert all(ep["healthy"] and answers(ep) for ep in endpoints)

    second = deploy(definition())
    assert all(s["changed"] == 0 and s["failures"] == 0 for s in stats(second).values())


def test_env_change_replaces_replicas_in_batches():
    before = {h: docker_ps(h, "e2e-svc") for h in HOSTS}
    proc = deploy(definition(env={"RELEASE": "2"}, update={"parallelism": 1, "monitor": 20}))
    deployed = task_results(proc, "containerops.fleet.service : Start the replicas")
    for h in HOSTS:
        result = deployed[h]
        assert result["changed"] is True
        assert result["changed_fields"] == ["env"]
        assert [len(batch) for batch in result["plan"]["replace"]] == [1, 1]  # parallelism 1: one at a time
        assert result["plan"]["create"] == [] and result["plan"]["remove"] == []
        now = docker_ps(h, "e2e-svc")
        assert len(now) == 2 and not set(now) & set(before[h])  # every replica replaced, none extra
        assert {ep["container"] for ep in result["endpoints"]} == set(now)


def test_failing_health_check_rolls_back_and_old_replicas_keep_serving():
    before = {h: docker_ps(h, "e2e-svc") for h in HOSTS}
    proc = deploy(
        definition(image="fleet-test/httpd:broken", env={"RELEASE": "2"}, update={"parallelism": 1, "monitor": 15}),
        check=False,
    )
    assert proc.returncode != 0
    deployed = task_results(proc, "containerops.fleet.service : Start the replicas")
    for h in HOSTS:
        result = deployed[h]
        assert result["failed"] is True
        assert result["rolled_back"] is True
        assert "health check failed" in result["msg"]
        assert "404" in result["msg"]  # the health probe's own output is quoted
        assert "rolled back: the previous replicas are serving" in result["msg"]
        assert docker_ps(h, "e2e-svc") == before[h]
        assert {ep["container"] for ep in result["endpoints"]} == set(before[h])
        assert all(answers(ep) for ep in result["endpoints"])


def replicas_of(host: str, service: str) -> list[str]:
    return sorted(docker_ps(host, service))


def remove_services(*names: str) -> None:
    for name in names:
        subprocess.run(
            [str(BIN / "ansible"), "-i", str(INVENTORY), "container_hosts", "-m",
             "containerops.fleet.container_service", "-a", f"name={name} state=absent"],
            cwd=ROOT, env=ansible_env(), capture_output=True, check=False,
        )  # fmt: skip


def test_services_find_each_other_by_name_on_every_network_they_list():
    """Issue 16 item 3: every listed network is joined, created when missing (labelled), with the service name as
    an alias: a replica of one service reaches the other by its name, also after the other rolled."""
    kv = definition(name="e2e-kv", replicas=3, networks=["e2e-back"])
    app = definition(name="e2e-app", replicas=3, networks=["e2e-front", "e2e-back"])
    try:
        for h in HOSTS:
            subprocess.run(
                ["docker", "exec", container(h), "docker", "network", "rm", "e2e-back", "e2e-front"],
                capture_output=True, check=False,
            )  # fmt: skip
        created = task_results(deploy(kv), "containerops.fleet.service : Start the replicas")
        assert {h: created[h].get("networks_created") for h in HOSTS} == {h: ["e2e-back"] for h in HOSTS}
        created = task_results(deploy(app), "containerops.fleet.service : Start the replicas")
        assert {h: created[h].get("networks_created") for h in HOSTS} == {h: ["e2e-front"] for h in HOSTS}
        for h in HOSTS:
            labels = json.loads(on_host(h, "docker", "network", "inspect", "-f", "{{json .Labels}}", "e2e-front"))
            assert labels["io.containerops.fleet.managed"] == "true"
            (app_replica,) = replicas_of(h, "e2e-app")
            joined = json.loads(
                on_host(h, "docker", "inspect", "-f", "{{json .NetworkSettings.Networks}}", app_replica)
            )
            assert sorted(joined) == ["e2e-back", "e2e-front"]
            assert all("e2e-app" in (joined[n]["Aliases"] or []) for n in joined)
            assert on_host(h, "docker", "exec", app_replica, "wget", "-qO-", "http://e2e-kv:8000/") == "fleet test page"
        rolled = definition(name="e2e-kv", replicas=3, networks=["e2e-back"], env={"RELEASE": "2"})
        deploy(rolled)
        for h in HOSTS:
            (app_replica,) = replicas_of(h, "e2e-app")
            (kv_replica,) = replicas_of(h, "e2e-kv")
            assert on_host(h, "docker", "exec", app_replica, "wget", "-qO-", "http://e2e-kv:8000/") == "fleet test page"
            # the other way round over the shared network; the app's other network is not the kv's
            assert on_host(h, "docker", "exec", kv_replica, "wget", "-qO-", "http://e2e-app:8000/") == "fleet test page"
        again = deploy(rolled)
        assert all(s["changed"] == 0 and s["failures"] == 0 for s in stats(again).values())
    finally:
        remove_services("e2e-app", "e2e-kv")
