# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The operator's layer on the lab: site.yml twice, zero-downtime deploy, rollback, blue/green, compose input,
and bad definitions refused before any host is touched.  Real HTTP through HAProxy on lb1 throughout."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request

import pytest
import yaml
from conftest import ROOT, haproxy_all_up, on_host, run_playbook, stats, task_results, wait_for
from load import Load

PLAYBOOKS = ROOT / "playbooks"


@pytest.fixture(scope="module")
def lb(inventory) -> str:
    return inventory["all"]["children"]["loadbalancers"]["hosts"]["lb1"]["ansible_host"]


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except OSError as exc:
        return 0, str(exc)


def plays_run(proc: subprocess.CompletedProcess) -> list[str]:
    return [p["play"]["name"] for p in json.loads(proc.stdout)["plays"]]


@pytest.mark.parametrize(
    ("services", "expected"),
    [
        ([{"name": "web", "image": "fleet-demo:1", "replicsa": 3}], "fleet_services[web].replicsa: unknown field"),
        ([{"name": "web", "replicas": 3}], "fleet_services[web].image: missing"),
        (
            [{"name": "web", "image": "fleet-demo:1", "lb": {"port": 80, "balanse": "leastconn"}}],
            "fleet_services[web].lb.balanse: unknown field",
        ),
        (
            [{"name": "web", "image": "fleet-demo:1", "autoscale": {"max": 4, "targt": 5}}],
            "fleet_services[web].autoscale.targt: unknown field",
        ),
        (
            [{"name": "web", "image": "fleet-demo:1", "healthcheck": {"http_pth": "/x"}}],
            "fleet_services[web].healthcheck.http_pth: unknown field",
        ),
    ],
)
def test_bad_definition_fails_before_touching_any_host(services, expected):
    proc = run_playbook(PLAYBOOKS / "site.yml", "-e", json.dumps({"fleet_services": services}), check=False)
    assert proc.returncode != 0
    assert expected in proc.stdout
    assert plays_run(proc) == ["Validate the service definitions"]  # no later play started


def test_site_from_the_lab_then_again_changes_nothing(lb):
    run_playbook(PLAYBOOKS / "site.yml")
    second = run_playbook(PLAYBOOKS / "site.yml")
    changed = {h: s["changed"] for h, s in stats(second).items() if s["changed"]}
    assert changed == {}, f"second site.yml run changed something: {changed}"
    # A replica just started passes HAProxy's `rise` checks within seconds; every one must be UP, then answer.
    status = haproxy_all_up(lb, "web", 3)
    replicas = {get(f"http://{lb}/")[1].rsplit(" ", 1)[0] for _unused in range(60)}
    assert len(replicas) == 3, f"HAProxy did not reach every replica: {replicas}; servers: {status}"


def test_a_crashed_replica_costs_only_its_requests_in_flight_and_comes_back_by_itself(lb):
    """SIGKILL to a replica's process (a crash, not a stop): HAProxy retries elsewhere, the engine restarts it."""
    server = next(s for s in haproxy_all_up(lb, "web", 3) if s.startswith("node3-"))
    container = server.removeprefix("node3-")

    pid = on_host("node3", "docker", "inspect", "--format", "{{.State.Pid}}", container)
    restarts = int(on_host("node3", "docker", "inspect", "--format", "{{.RestartCount}}", container))
    with Load(lb) as load:
        on_host("node3", "kill", "-9", pid)
        killed = time.monotonic()
        wait_for(
            f"the engine to restart {container}",
            lambda: int(on_host("node3", "docker", "inspect", "--format", "{{.RestartCount}}", container)) > restarts,
            timeout=30,
            interval=0.5,
        )
        status = haproxy_all_up(lb, "web", 3)
    # A request the killed process was answering is cut mid-response (HAProxy cannot replay what it has started to
    # send back): at most one per client connection.  Every request sent after the kill is served elsewhere.
    late = [f for f, t in zip(load.failures, load.failed_started) if t >= killed]
    assert late == [], f"{len(late)} requests sent after the crash failed: {late[:5]}"
    assert len(load.failures) <= load.threads, f"{len(load.failures)} of {load.total} failed: {load.failures[:5]}"
    assert load.ok > 100
    assert on_host("node3", "docker", "inspect", "--format", "{{.State.Pid}}", container) != pid
    assert server in status, status  # the same replica serves again; nothing was redeployed


def test_deploy_a_new_version_under_load_loses_no_request(lb, version_2):
    with Load(lb) as load:
        run_playbook(PLAYBOOKS / "deploy.yml", "-e", "service=web", "-e", f"image={version_2}")
    assert load.failures == [], f"{len(load.failures)} of {load.total} requests failed: {load.failures[:5]}"
    assert load.ok > 100
    assert load.last_versions() == {"2"}


def web_revisions(lab_hosts) -> list[str]:
    """The spec of every running web replica (its spec label without the host's own bind address), sorted."""
    found = []
    for node in lab_hosts["container_hosts"]:
        out = on_host(
            node,
            "docker",
            "ps",
            "--filter",
            "label=io.containerops.fleet.service=web",
            "--format",
            '{{.Label "io.containerops.fleet.spec"}}',
        )
        for line in out.splitlines():
            spec = json.loads(line)
            spec.pop("bind_address")
            found.append(json.dumps(spec, sort_keys=True))
    return sorted(found)


def test_a_deploy_sticks_through_scaling_and_site_says_when_it_would_undo_it(lb, version_2, lab_hosts, tmp_path):
    """scale.yml changes only the count: every replica, new ones included, copies the running revision (image and
    spec), even when the inventory's definition has changed since the deploy."""
    running = set(web_revisions(lab_hosts))
    assert len(running) == 1, running
    services = yaml.safe_load((ROOT / "inventories/lab/group_vars/all/services.yml").read_text())["fleet_services"]
    for definition in services:
        if definition["name"] == "web":
            definition["env"] = {**definition.get("env", {}), "CHANGED_AFTER_THE_DEPLOY": "1"}
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps({"fleet_services": services}))
    for replicas in (4, 3):
        with Load(lb) as load:
            run_playbook(
                PLAYBOOKS / "scale.yml", "-e", "service=web", "-e", f"replicas={replicas}", "-e", f"@{changed}"
            )
        assert load.failures == [], f"scale to {replicas}: {len(load.failures)} of {load.total} failed"
        haproxy_all_up(lb, "web", replicas)
        assert web_revisions(lab_hosts) == sorted(running) * replicas
        assert load.last_versions() == {"2"}
        assert {get(f"http://{lb}/")[1].strip().rsplit(" ", 1)[-1] for _unused in range(30)} == {"2"}
    check = run_playbook(PLAYBOOKS / "services.yml", "--check")
    said = [r.get("msg", "") for r in task_results(check, "containerops.fleet.service : Say so when").values()]
    assert any("web runs fleet-demo:2; this run returns it to fleet-demo:1" in m for m in said), said


def test_rollback_serves_the_previous_image_again_without_losing_a_request(lb, version_2):
    with Load(lb) as load:
        run_playbook(PLAYBOOKS / "rollback.yml", "-e", "service=web")
    assert load.failures == [], f"{len(load.failures)} of {load.total} requests failed: {load.failures[:5]}"
    assert load.last_versions() == {"1"}


def test_blue_green_switch_and_switch_back_lose_no_request(lb, version_2):
    with Load(lb) as load:
        run_playbook(PLAYBOOKS / "blue_green.yml", "-e", "service=web", "-e", f"image={version_2}")
    assert load.failures == [], f"switch: {len(load.failures)} of {load.total} failed: {load.failures[:5]}"
    assert load.last_versions() == {"2"}
    assert all(r.startswith("web-blue-") for r in load.last_replicas())

    with Load(lb) as load:
        run_playbook(PLAYBOOKS / "blue_green.yml", "-e", "service=web", "-e", "switch_back=true")
    assert load.failures == [], f"switch back: {len(load.failures)} of {load.total} failed: {load.failures[:5]}"
    assert load.last_versions() == {"1"}
    assert not any(r.startswith("web-blue-") for r in load.last_replicas())
    run_playbook(PLAYBOOKS / "teardown.yml", "-e", "service=web-blue")


COMPOSE = """
services:
  cweb:
    image: fleet-test/httpd:1
    ports: ["8081:8000"]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://localhost:8000/healthz"]
      interval: 2s
    deploy: {replicas: 3}
  capi:
    image: fleet-test/httpd:1
    ports: [{target: 8000, published: 8082}]
    environment: {ROLE: api}
    healthcheck: {test: "wget -q -O /dev/null http://127.0.0.1:8000/healthz", interval: 2s}
    deploy: {replicas: 2}
"""


def test_compose_file_with_two_services_deploys_across_hosts_behind_haproxy(lb, tmp_path):
    run_playbook(ROOT / "tests" / "e2e" / "playbooks" / "test_images.yml")
    compose = tmp_path / "compose.yml"
    compose.write_text(COMPOSE)
    extra = json.dumps({"fleet_compose_files": [str(compose)]})
    try:
        proc = run_playbook(PLAYBOOKS / "compose.yml", "-e", extra)
        hosts_used = set()
        for play in json.loads(proc.stdout)["plays"]:
            for task in play["tasks"]:
                if task["task"]["name"].startswith("containerops.fleet.service : Start the replicas"):
                    for host, result in task["hosts"].items():
                        if result.get("endpoints") and result["endpoints"][0]["service"] in ("cweb", "capi"):
                            hosts_used.add(host)
        assert len(hosts_used) >= 2, f"compose services were not spread: {hosts_used}"
        for port in (8081, 8082):
            assert get(f"http://{lb}:{port}/") == (200, "fleet test page\n")
    finally:
        for name in ("cweb", "capi"):
            run_playbook(PLAYBOOKS / "teardown.yml", "-e", f"service={name}")
