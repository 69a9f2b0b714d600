# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Autoscaling end to end: load through HAProxy -> the cron entry's exact command -> more replicas, in HAProxy and
in Prometheus; load stops -> after the (shortened) stabilization window -> back to min; audit log shows both."""

from __future__ import annotations

import datetime
import json
import os
import re
import subprocess
import time
import urllib.parse
import urllib.request

import pytest
from conftest import BIN, ROOT, ansible_env, haproxy_status, run_playbook, wait_for
from load import Load

AUDIT = "/var/log/fleet-autoscaler/decisions.log"
RUN_LOG = "/var/log/fleet-autoscaler/autoscale.log"


def crontab() -> str:
    return subprocess.run(["crontab", "-l"], capture_output=True, text=True, check=False).stdout


def haproxy_servers(lb: str, backend: str) -> int:
    return len(haproxy_status(lb, backend))


def prometheus_targets(mon: str, service: str) -> list[dict]:
    with urllib.request.urlopen(f"http://{mon}:9090/api/v1/targets?state=active", timeout=5) as resp:
        targets = json.load(resp)["data"]["activeTargets"]
    return [t for t in targets if t["labels"].get("service") == service]


def audit_lines() -> list[dict]:
    try:
        with open(AUDIT, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]
    except FileNotFoundError:
        return []


@pytest.fixture(scope="module")
def addresses(inventory) -> tuple[str, str]:
    groups = inventory["all"]["children"]
    return (
        groups["loadbalancers"]["hosts"]["lb1"]["ansible_host"],
        groups["monitoring"]["hosts"]["mon1"]["ansible_host"],
    )


@pytest.fixture(scope="module")
def autoscaler():
    # An hour that does not come during the test: the entry is real, the test runs its command itself.
    hour = (datetime.datetime.now().hour + 12) % 24
    run_playbook(
        ROOT / "tests" / "e2e" / "autoscale" / "manager.yml",
        "-e",
        json.dumps({"fleet_repo": str(ROOT), "fleet_cron_hour": str(hour)}),
    )
    command = re.search(r"^\S+ \S+ \* \* \* (\S+)$", crontab(), re.M)
    assert command, f"no autoscaler cron entry:\n{crontab()}"
    yield command.group(1)
    subprocess.run(
        [
            str(BIN / "ansible"),
            "localhost",
            "-c",
            "local",
            "-m",
            "ansible.builtin.cron",
            "-a",
            "name='containerops.fleet autoscaler' state=absent",
        ],
        env=ansible_env(),
        check=False,
        capture_output=True,
    )


def served_versions(lb: str, replicas: int) -> set[str]:
    """The releases the replicas behind HAProxy answer with, once every one of them has answered."""
    seen: dict[str, str] = {}
    for _unused in range(40 * replicas):
        with urllib.request.urlopen(f"http://{lb}/", timeout=5) as resp:
            replica, version = resp.read().decode().strip().rsplit(" ", 1)
        seen[replica] = version
        if len(seen) == replicas:
            break
    assert len(seen) == replicas, f"HAProxy reached {sorted(seen)}, not {replicas} replicas"
    return set(seen.values())


def run_cron_command(command: str) -> subprocess.CompletedProcess:
    return subprocess.run([command], capture_output=True, text=True, check=False, timeout=600)


def test_load_scales_up_then_back_to_min_after_the_window(addresses, autoscaler, version_2):
    """...and every decision keeps the running release: fleet-demo:2 from deploy.yml, not the inventory's :1."""
    lb, mon = addresses
    run_playbook(ROOT / "playbooks" / "deploy.yml", "-e", "service=web", "-e", f"image={version_2}")
    run_playbook(ROOT / "playbooks" / "scale.yml", "-e", "service=web", "-e", "replicas=2")
    before = len(audit_lines())
    with Load(lb, threads=6) as load:
        # rate(...[1m]) needs a few scrapes of the busy replicas
        wait_for("Prometheus to see the load", lambda: _rate(mon) > 20, timeout=120)
        proc = run_cron_command(autoscaler)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert load.failures == [], load.failures[:5]
    up = audit_lines()[before:]
    assert [d["decision"] for d in up if d["service"] == "web"] == ["scale_up"], up
    desired = up[-1]["desired"]
    assert desired > 2
    wait_for("HAProxy to hold every replica", lambda: haproxy_servers(lb, "web") == desired, timeout=90)
    wait_for("Prometheus to target every replica", lambda: len(prometheus_targets(mon, "web")) == desired, timeout=90)
    assert served_versions(lb, desired) == {"2"}, "a scale-up started replicas of another release"

    wait_for("the load to leave the 1m rate", lambda: _rate(mon) < 1, timeout=150)
    time.sleep(11)  # the shortened stabilization window (10 s)
    proc = run_cron_command(autoscaler)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    down = [d for d in audit_lines()[before + 1 :] if d["service"] == "web"]
    assert down and down[-1]["decision"] == "scale_down" and down[-1]["desired"] == 2, down
    wait_for("HAProxy back to min", lambda: haproxy_servers(lb, "web") == 2, timeout=90)
    assert served_versions(lb, 2) == {"2"}
    for line in up + down:
        assert {"time", "service", "metric", "current", "desired", "decision", "reason"} <= set(line)


def test_two_overlapping_runs_do_not_both_act(autoscaler):
    before = len(audit_lines())
    # The run log outlives this test (earlier tests, earlier CI runs): read only what this test's runs append.
    offset = os.path.getsize(RUN_LOG) if os.path.exists(RUN_LOG) else 0
    procs = [subprocess.Popen([autoscaler]) for _unused in range(2)]
    for p in procs:
        p.wait(timeout=600)
    with open(RUN_LOG, encoding="utf-8") as fh:
        fh.seek(offset)
        lines = fh.read().splitlines()
    assert len([line for line in lines if "skipped: another autoscale run holds" in line]) == 1, lines
    assert len([line for line in lines if " start pid " in line]) == 1, lines
    assert len(audit_lines()) - before == 1  # one decision for web, from the run that held the lock


def _rate(mon: str) -> float:
    query = 'sum(rate(fleet_demo_requests_total{service="web", path=~"/|/work"}[1m])) or vector(0)'
    url = f"http://{mon}:9090/api/v1/query?" + urllib.parse.urlencode({"query": query})
    with urllib.request.urlopen(url, timeout=5) as resp:
        result = json.load(resp)["data"]["result"]
    return float(result[0]["value"][1]) if result else 0.0
