# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""containerops.fleet.haproxy + haproxy_server on the lab: real replicas, real HTTP through lb1.

The replicas are the demo app run as systemd units on node1..node3 (tests/e2e/haproxy/replicas.yml sets the
`fleet_endpoints` facts container_service will set), so these tests do not depend on the service module.

The rolling update of real container_service replicas under load (drain, health gate, no failed request) is
proven in test_operator.py.
"""

from __future__ import annotations

import collections
import json
import re
import shutil
import subprocess
import time
import urllib.request

import pytest
from conftest import ROOT, haproxy_status, run_playbook, stats

pytestmark = pytest.mark.lab

PLAYS = ROOT / "tests" / "e2e" / "haproxy"
REPLICAS = PLAYS / "replicas.yml"
SERVERS = ["node1-web-1", "node2-web-1", "node3-web-1"]
# Keyed by inventory host: the key survives redeploys and scales (test_edge.py proves it on real replicas).
WEIGHTS = {"node1": 1, "node2": 2, "node3": 3}


@pytest.fixture(scope="module")
def lb(inventory) -> str:
    """Base URL of the web frontend on lb1 (its bridge address), after the role ran with roundrobin."""
    run_playbook(REPLICAS)
    return f"http://{inventory['all']['children']['loadbalancers']['hosts']['lb1']['ansible_host']}"


def replicas(url: str, n: int) -> collections.Counter:
    seen: collections.Counter = collections.Counter()
    for _request in range(n):
        with urllib.request.urlopen(url + "/", timeout=10) as resp:
            seen[resp.read().decode().split()[0]] += 1
    return seen


def server_status(url: str) -> dict[str, str]:
    return haproxy_status(url.removeprefix("http://"), "web")


def wait_status(url: str, server: str, prefix: str, timeout: float) -> float:
    start = time.monotonic()
    while not server_status(url).get(server, "").startswith(prefix):
        if time.monotonic() - start > timeout:
            raise AssertionError(f"{server} not {prefix} after {timeout}s: {server_status(url)}")
        time.sleep(0.1)
    return time.monotonic() - start


def wrk_under_load(url: str, seconds: int, during) -> dict:
    """wrk (Debian) against the frontend while `during()` runs; requests and every kind of failure."""
    wrk = shutil.which("wrk")
    if not wrk:
        pytest.fail("wrk is not installed on this machine: apt-get install -y wrk")
    proc = subprocess.Popen(
        [wrk, "-t2", "-c8", f"-d{seconds}s", "--timeout", "10s", url + "/"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    time.sleep(1)
    during()
    out = proc.communicate(timeout=seconds + 30)[0]
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, sock.groups())) if sock else 0)
    return {"requests": requests, "errors": errors, "output": out}


def set_server(server: str, state: str, **extra) -> subprocess.CompletedProcess:
    args = {"lb_backend": "web", "lb_server": server, "lb_state": state, **extra}
    return run_playbook(PLAYS / "server.yml", "-e", json.dumps(args))


def test_roundrobin_spreads_300_requests_evenly(lb):
    seen = replicas(lb, 300)
    assert sorted(seen) == SERVERS
    assert all(99 <= n <= 101 for n in seen.values()), seen


def test_stats_page_prometheus_exporter_and_admin_socket(lb, host):
    with urllib.request.urlopen(f"{lb}:8404/metrics", timeout=10) as resp:
        metrics = resp.read().decode()
    assert 'haproxy_server_status{proxy="web",server="node1-web-1",state="UP"} 1' in metrics
    assert sorted(server_status(lb)) == SERVERS
    sock = host("lb1").file("/run/haproxy/admin.sock")
    assert sock.is_socket and sock.user == "root" and sock.group == "haproxy" and sock.mode == 0o660
    cfg = host("lb1").file("/etc/haproxy/haproxy.cfg").content_string
    assert "option httpchk GET /healthz" in cfg and "retry-on all-retryable-errors" in cfg


def test_drain_gets_no_new_requests_survives_reload_then_enable_brings_it_back(lb, host):
    proc = set_server("node2-web-1", "drain", lb_wait=True)
    assert stats(proc)["lb1"]["changed"] == 1
    assert stats(set_server("node2-web-1", "drain"))["lb1"]["changed"] == 0  # idempotent
    assert "node2-web-1" not in replicas(lb, 60)
    host("lb1").run_expect([0], "systemctl reload haproxy")
    time.sleep(1)
    assert "node2-web-1" not in replicas(lb, 60), "the drain was lost on reload"
    set_server("node2-web-1", "enabled", lb_wait=True)
    assert replicas(lb, 90)["node2-web-1"] == 30


def test_present_adds_a_server_without_reload_and_absent_removes_it(lb, host, inventory):
    node3 = host("node3")
    node3.run_expect(
        [0],
        "systemctl is-active -q fleet-e2e-web-2 || "
        "systemd-run --unit fleet-e2e-web-2 -E FLEET_REPLICA=node3-web-2 -E PORT=8002 python3 /srv/app.py",
    )
    address = inventory["all"]["children"]["container_hosts"]["hosts"]["node3"]["ansible_host"]
    try:
        set_server("node3-web-2", "present", lb_address=address, lb_port=8002, lb_wait=True)
        assert replicas(lb, 80)["node3-web-2"] == 20
        assert "server node3-web-2 " in host("lb1").file("/etc/haproxy/haproxy.cfg").content_string
        set_server("node3-web-2", "absent")
        assert "node3-web-2" not in replicas(lb, 30)
        assert "node3-web-2" not in host("lb1").file("/etc/haproxy/haproxy.cfg").content_string
    finally:
        node3.run("systemctl stop fleet-e2e-web-2")


def test_reload_under_load_fails_no_request(lb, host):
    lb1 = host("lb1")

    def reloads():
        for _reload in range(3):
            lb1.run_expect([0], "systemctl reload haproxy")
            time.sleep(1)

    result = wrk_under_load(lb, 8, reloads)
    assert result["requests"] > 50, result["output"]
    assert result["errors"] == 0, result["output"]


def test_killed_replica_is_down_within_3s_and_clients_see_no_error(lb, host):
    node3 = host("node3")
    took = {}

    def kill():
        node3.run_expect([0], "systemctl stop fleet-e2e-web-1")
        took["down"] = wait_status(lb, "node3-web-1", "DOWN", 10)

    try:
        result = wrk_under_load(lb, 6, kill)
    finally:
        node3.run_expect(
            [0],
            "systemd-run --unit fleet-e2e-web-1 -E FLEET_REPLICA=node3-web-1 -E PORT=8001 python3 /srv/app.py",
        )
    assert took["down"] <= 3, took
    assert result["errors"] == 0, result["output"]
    wait_status(lb, "node3-web-1", "UP", 20)


def test_weights_1_2_3_share_the_traffic_config_change_reloads_not_restarts(lb, host):
    master = host("lb1").run_expect([0], "systemctl show -p MainPID --value haproxy").stdout.strip()
    run_playbook(REPLICAS, "--skip-tags", "replicas", "-e", json.dumps({"web_weights": WEIGHTS}))
    seen = replicas(lb, 600)
    for server, weight in zip(SERVERS, (1, 2, 3)):
        assert abs(seen[server] / 600 - weight / 6) <= 0.05 * weight / 6, seen
    again = run_playbook(REPLICAS, "--skip-tags", "replicas", "-e", json.dumps({"web_weights": WEIGHTS}))
    assert stats(again)["lb1"]["changed"] == 0  # idempotent
    assert host("lb1").run_expect([0], "systemctl show -p MainPID --value haproxy").stdout.strip() == master


@pytest.mark.parametrize("balance", ["bogus", "roundrobin\n    stats enable\n    stats uri /admin"])
def test_an_invalid_balance_is_refused_by_name_and_the_old_config_keeps_serving(lb, host, balance):
    """Refused before anything is rendered (a newline once enabled an admin stats page on the public frontend)."""
    lb1 = host("lb1")
    master = lb1.run_expect([0], "systemctl show -p MainPID --value haproxy").stdout.strip()
    before = lb1.file("/etc/haproxy/haproxy.cfg").content_string
    bogus = {"web_balance": balance, "web_weights": WEIGHTS}
    proc = run_playbook(REPLICAS, "--skip-tags", "replicas", "-e", json.dumps(bogus), check=False)
    assert proc.returncode != 0
    assert "haproxy_services[web].balance: " in proc.stdout and "is not one of roundrobin" in proc.stdout
    # Not installed, nothing restarted, and the running configuration still answers.
    after = lb1.file("/etc/haproxy/haproxy.cfg").content_string
    assert "bogus" not in after and "stats uri /admin" not in after
    assert after == before
    assert lb1.run_expect([0], "systemctl show -p MainPID --value haproxy").stdout.strip() == master
    assert sum(replicas(lb, 30).values()) == 30
