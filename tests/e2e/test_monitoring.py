# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Monitoring on the lab: node exporters, Prometheus with derived targets, alert rules, Grafana provisioning.

Until the service module deploys replicas, monitoring/replicas.yml runs the demo app as systemd units on the
container hosts, publishes their endpoints as the fleet_endpoints fact and balances them with a HAProxy of its own
on lb1 (ports 18080/18404, so the haproxy role's instance is left alone). Prometheus answers on the machine's
127.0.0.1:9090 (published from mon1).
"""

from __future__ import annotations

import json
import re
import socket
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from conftest import ROOT, run_playbook, stats, wait_for

HERE = Path(__file__).resolve().parent / "monitoring"
PROMETHEUS = "http://127.0.0.1:9090"
DASHBOARDS = ROOT / "roles" / "grafana" / "files" / "dashboards"
LAYOUT = {"node1": [18101, 18102], "node2": [18101], "node3": [18101]}
SCALED = {"node1": [18101], "node2": [18101, 18102], "node3": [18101, 18102]}
PASSWORD = "montest-S3cret-pw"  # checked never to appear in the output
ALERTS = {"FleetInstanceDown", "FleetHAProxyBackendServerDown", "FleetHigh5xxRate", "FleetHighLatency"}

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def api(path: str, **params: str) -> dict:
    url = f"{PROMETHEUS}{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
    with urllib.request.urlopen(url, timeout=10) as resp:
        body = json.load(resp)
    assert body["status"] == "success", body
    return body["data"]


def targets(job: str) -> dict[str, dict]:
    return {
        t["scrapeUrl"]: t for t in api("/api/v1/targets", state="active")["activeTargets"] if t["labels"]["job"] == job
    }


def replica_urls(layout: dict[str, list[int]], address: dict[str, str]) -> set[str]:
    return {f"http://{address[h]}:{p}/metrics" for h, ports in layout.items() for p in ports}


def layout_arg(layout: dict) -> str:
    return json.dumps({"montest_layout": layout})


def prometheus_process(h) -> tuple[str, str]:
    pid = h.run("systemctl show -p MainPID --value prometheus").stdout.strip()
    started = h.run(f"ps -o lstart= -p {pid}").stdout.strip()
    return pid, started


def reload_timestamp() -> str:
    """When Prometheus last loaded its configuration, from the server itself (not a scraped metric: no scrape lag)."""
    return api("/api/v1/status/runtimeinfo")["lastConfigTime"]


@pytest.fixture(scope="module")
def address(inventory) -> dict[str, str]:
    found = {}
    for group in inventory["all"]["children"].values():
        for name, hv in group["hosts"].items():
            found[name] = hv["ansible_host"]
    return found


@pytest.fixture(scope="module")
def deployed(lab_hosts):
    """Replicas and test HAProxy (monitoring/replicas.yml), then the roles under test (monitoring/monitoring.yml)."""
    run_playbook(HERE / "replicas.yml", "-e", layout_arg(LAYOUT))
    return run_playbook(HERE / "monitoring.yml")


@pytest.fixture(scope="module")
def traffic(deployed, address):
    """Requests through the test HAProxy (and so to every replica), so that rates and latencies have data."""
    for _unused in range(40):
        with urllib.request.urlopen(f"http://{address['lb1']}:18080/", timeout=5) as resp:
            assert resp.status == 200
    time.sleep(6)  # one more scrape after the traffic
    for _unused in range(20):
        with urllib.request.urlopen(f"http://{address['lb1']}:18080/", timeout=5) as resp:
            assert resp.status == 200


def test_every_expected_target_is_up(deployed, lab_hosts, address):
    all_hosts = [h for hosts in lab_hosts.values() for h in hosts]
    expected = {
        "node": {f"http://{address[h]}:9100/metrics" for h in all_hosts},
        "haproxy": {f"http://{address[h]}:18404/metrics" for h in lab_hosts["loadbalancers"]},
        "fleet_services": replica_urls(LAYOUT, address),
        "prometheus": {f"http://{address[h]}:9090/metrics" for h in lab_hosts["monitoring"]},
    }

    def all_up():
        # exactly the expected targets of each job, every one up (Prometheus itself included)
        found = {job: targets(job) for job in expected}
        ok = all(
            {u: t["health"] for u, t in found[job].items()} == dict.fromkeys(urls, "up")
            for job, urls in expected.items()
        )
        return found if ok else None

    found = wait_for(
        "exactly 5 node exporters, the LB exporter, 4 replicas and Prometheus itself up", all_up, timeout=90
    )
    node, svc = found["node"], found["fleet_services"]
    assert len(node) == 5
    assert {t["labels"]["host"] for t in node.values()} == set(all_hosts)
    assert len(svc) == 4
    for url, t in svc.items():
        host = next(h for h, a in address.items() if f"//{a}:" in url)
        port = url.rsplit(":", 1)[1].split("/")[0]
        assert t["labels"]["service"] == "montest"
        assert t["labels"]["host"] == host
        assert t["labels"]["container"] == f"montest-{port}"
    assert [t["labels"]["host"] for t in found["prometheus"].values()] == lab_hosts["monitoring"]


@pytest.mark.parametrize("name", ["node1", "node2", "node3"])
def test_engine_metrics_target_per_container_host(deployed, address, name):
    url = f"http://{address[name]}:9323/metrics"
    wait_for(f"the docker_engine job to list {url}", lambda: url in targets("docker_engine"), timeout=30)
    with socket.socket() as s:
        s.settimeout(2)
        refused = s.connect_ex((address[name], 9323))
    assert refused == 0, (
        f"nothing listens on {name}'s Docker engine metrics address {address[name]}:9323 (errno {refused}): "
        "site.yml's container_runtime play sets daemon.json metrics-addr there (test_lab runs site.yml first); "
        "without it the docker_engine target can never be up"
    )
    wait_for(
        f"engine metrics of {name} up", lambda: targets("docker_engine").get(url, {}).get("health") == "up", timeout=30
    )


def test_listens_on_private_address_only(deployed, host, address):
    mon = host("mon1")
    listening = mon.run("ss -Hltn").stdout
    assert f"{address['mon1']}:9090 " in listening
    assert "0.0.0.0:9090 " not in listening and "*:9090 " not in listening
    node1 = host("node1").run("ss -Hltn").stdout
    assert f"{address['node1']}:9100 " in node1 and "*:9100 " not in node1
    flags = mon.file("/etc/default/prometheus").content_string
    assert "--storage.tsdb.retention.time=15d" in flags


def test_second_run_changes_nothing(deployed):
    again = stats(run_playbook(HERE / "monitoring.yml"))
    assert {h: s["changed"] for h, s in again.items()} == {h: 0 for h in again}


def test_rules_are_loaded_with_configured_for(deployed):
    def evaluated_ok():
        # a rule's health is "unknown" until its group's first evaluation after a (re)load
        rules = {r["name"]: r for g in api("/api/v1/rules")["groups"] for r in g["rules"]}
        return rules if set(rules) >= ALERTS and all(rules[a]["health"] == "ok" for a in ALERTS) else None

    rules = wait_for(f"the rules {sorted(ALERTS)} loaded and evaluated with health ok", evaluated_ok, timeout=30)
    assert rules["FleetInstanceDown"]["duration"] == 5
    assert rules["FleetHAProxyBackendServerDown"]["query"] == 'haproxy_server_status{state="DOWN"} == 1'


def test_dashboard_queries_return_data(traffic):
    exprs = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            exprs += [(path.stem, panel["title"], t["expr"]) for t in panel["targets"]]
    assert len(exprs) >= 15
    empty = []
    for dashboard, title, expr in exprs:
        query = expr.replace("$__rate_interval", "1m")
        try:
            wait_for(f"{title}", lambda q=query: api("/api/v1/query", query=q)["result"], timeout=20)
        except AssertionError:
            empty.append(f"{dashboard} / {title}: {expr}")
    assert not empty, "queries without data:\n" + "\n".join(empty)


def test_replica_targets_follow_a_scale_without_restart_or_reload(deployed, host, address):
    mon = host("mon1")
    before = prometheus_process(mon)
    reloaded = reload_timestamp()
    run_playbook(HERE / "replicas.yml", "-e", layout_arg(SCALED))
    wait_for(
        "the replica targets of the scaled layout",
        lambda: (
            {u for u, t in targets("fleet_services").items() if t["health"] == "up"} == replica_urls(SCALED, address)
            and set(targets("fleet_services")) == replica_urls(SCALED, address)
        ),
        timeout=60,
    )
    assert prometheus_process(mon) == before, "Prometheus was restarted"
    assert reload_timestamp() == reloaded, "Prometheus was reloaded; file_sd needs neither"
    sd = json.loads(mon.file("/etc/prometheus/file_sd/fleet/montest.json").content_string)
    assert sorted(g["targets"][0] for g in sd) == sorted(
        u[len("http://") : -len("/metrics")] for u in replica_urls(SCALED, address)
    )


def test_stopping_a_replica_fires_backend_and_instance_down(deployed, host, address):
    node3 = host("node3")
    assert node3.run("systemctl stop fleet-montest-18101").rc == 0
    try:

        def firing():
            alerts = [a for a in api("/api/v1/alerts")["alerts"] if a["state"] == "firing"]
            backend = [a for a in alerts if a["labels"]["alertname"] == "FleetHAProxyBackendServerDown"]
            instance = [a for a in alerts if a["labels"]["alertname"] == "FleetInstanceDown"]
            ok = any(a["labels"]["server"] == "montest-18101-node3" for a in backend) and any(
                a["labels"]["instance"] == f"{address['node3']}:18101" and a["labels"]["container"] == "montest-18101"
                for a in instance
            )
            return (backend, instance) if ok else None

        backend, _unused = wait_for("backend-down and instance-down alerts for node3:18101", firing, timeout=90)
        assert {a["labels"]["proxy"] for a in backend} == {"montest"}
    finally:
        node3.run(
            "systemd-run --unit fleet-montest-18101 --property Restart=no --setenv PORT=18101 "
            f"--setenv FLEET_REPLICA=node3-18101 --setenv FLEET_DEMO_HOST={address['node3']} "
            "/usr/bin/python3 /root/fleet-montest/app.py"
        )


def test_broken_rule_is_rejected_and_running_prometheus_untouched(deployed, host):
    mon = host("mon1")
    rules_before = mon.file("/etc/prometheus/rules/fleet.yml").content_string
    process = prometheus_process(mon)
    reloaded = reload_timestamp()
    broken = json.dumps({"prometheus_alert_rules_extra": [{"alert": "Broken", "expr": "sum(rate(up[5m]"}]})
    proc = run_playbook(HERE / "monitoring.yml", "--limit", "monitoring", "-e", broken, check=False)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "failed validation" in out or "check rules" in out, out[-3000:]
    assert "Broken" in out and re.search(r"parse error|unclosed|unexpected", out), out[-3000:]
    assert mon.file("/etc/prometheus/rules/fleet.yml").content_string == rules_before
    assert prometheus_process(mon) == process
    assert reload_timestamp() == reloaded
    names = {r["name"] for g in api("/api/v1/rules")["groups"] for r in g["rules"]}
    assert names >= ALERTS
    assert "Broken" not in names


def test_grafana_refuses_missing_or_default_password():
    out = run_playbook(HERE / "grafana-refusals.yml").stdout
    for label, why in (
        ("none", "is not set"),
        ("admin", "is the default 'admin'"),
        ("ADMIN", "is the default 'admin'"),
    ):
        assert f"REFUSED({label}): grafana_admin_password {why}; set it to a secret of your own" in out, label


def test_grafana_provisioning_is_written_valid_and_consistent(deployed, host, address):
    proc = run_playbook(HERE / "grafana.yml", "-e", json.dumps({"grafana_admin_password": PASSWORD}), "-v")
    assert PASSWORD not in proc.stdout + proc.stderr
    assert "Grafana installation skipped (grafana_install: false)" in proc.stdout
    mon = host("mon1")
    ini = mon.file("/etc/grafana/grafana.ini")
    assert (ini.user, ini.group, ini.mode) == ("root", "grafana", 0o640)
    assert f'admin_password = """{PASSWORD}"""' in ini.content_string
    assert f"http_addr = {address['mon1']}" in ini.content_string
    ds_file = mon.file("/etc/grafana/provisioning/datasources/fleet.yaml")
    assert (ds_file.user, ds_file.group, ds_file.mode) == ("root", "grafana", 0o640)
    datasources = json.loads(ds_file.content_string)["datasources"]
    assert [(d["uid"], d["type"], d["url"]) for d in datasources] == [
        ("fleet-prometheus", "prometheus", f"http://{address['mon1']}:9090")
    ]
    # The datasource URL is the Prometheus this suite talks to (published on the machine from that address).
    with urllib.request.urlopen(f"{datasources[0]['url']}/-/ready", timeout=5) as resp:
        assert resp.status == 200
    provider = json.loads(mon.file("/etc/grafana/provisioning/dashboards/fleet.yaml").content_string)
    path = provider["providers"][0]["options"]["path"]
    installed = sorted(mon.run(f"ls {path}").stdout.split())
    assert installed == sorted(p.name for p in DASHBOARDS.glob("*.json"))
    for name in installed:
        dashboard = json.loads(mon.file(f"{path}/{name}").content_string)
        uids = {t["datasource"]["uid"] for p in dashboard["panels"] for t in p["targets"]}
        uids |= {p["datasource"]["uid"] for p in dashboard["panels"]}
        assert uids == {"fleet-prometheus"}, name
    again = stats(run_playbook(HERE / "grafana.yml", "-e", json.dumps({"grafana_admin_password": PASSWORD})))
    assert again["mon1"]["changed"] == 0
