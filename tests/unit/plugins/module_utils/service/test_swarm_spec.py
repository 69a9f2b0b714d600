# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import json

from ansible_collections.containerops.fleet.plugins.module_utils.service import swarm_spec as sw
from ansible_collections.containerops.fleet.plugins.module_utils.service.spec import L_HASH, L_SERVICE, normalize

PARAMS = {
    "name": "web",
    "image": "fleet-test/httpd:1",
    "replicas": 3,
    "command": ["httpd", "-f"],
    "ports": [{"container": 8000, "host_range": "24000-24999"}],
    "env": {"RELEASE": "1"},
    "volumes": ["/srv:/srv:ro", "data:/data"],
    "healthcheck": {"http_path": "/healthz", "interval": 1, "retries": 2},
    "resources": {"cpus": 0.25, "memory": "64m"},
    "restart_policy": "on-failure",
    "networks": ["backend"],
    "update": {"parallelism": 2, "monitor": 15, "failure_action": "rollback", "max_failure_ratio": 0.5},
}


def body(**kw):
    return sw.service_body(normalize({**PARAMS, **kw}), digest="d1", published=[24001])


def test_service_body_maps_the_spec():
    b = body()
    task = b["TaskTemplate"]
    c = task["ContainerSpec"]
    assert b["Name"] == "web" and b["Mode"] == {"Replicated": {"Replicas": 3}}
    assert c["Image"] == "fleet-test/httpd:1" and c["Args"] == ["httpd", "-f"]
    assert "RELEASE=1" in c["Env"] and "FLEET_REPLICA=web-{{.Task.Slot}}@{{.Node.Hostname}}" in c["Env"]
    assert c["Labels"][L_HASH] == "d1" and c["Labels"][L_SERVICE] == "web"
    assert json.loads(c["Labels"]["io.containerops.fleet.spec"])["healthcheck"]["http_path"] == "/healthz"
    assert c["Healthcheck"]["Retries"] == 2 and c["Healthcheck"]["Interval"] == 1_000_000_000
    assert c["Mounts"] == [
        {"Type": "bind", "Source": "/srv", "Target": "/srv", "ReadOnly": True},
        {"Type": "volume", "Source": "data", "Target": "/data", "ReadOnly": False},
    ]
    assert task["Resources"]["Limits"] == {"NanoCPUs": 250_000_000, "MemoryBytes": 64 * 1024**2}
    assert task["RestartPolicy"]["Condition"] == "on-failure"
    assert task["Networks"] == [{"Target": "backend"}]
    assert b["EndpointSpec"] == {
        "Mode": "vip",
        "Ports": [{"Protocol": "tcp", "TargetPort": 8000, "PublishedPort": 24001, "PublishMode": "host"}],
    }
    assert b["UpdateConfig"] == {
        "Parallelism": 2,
        "Delay": 0,
        "FailureAction": "rollback",
        "Monitor": 15_000_000_000,
        "MaxFailureRatio": 0.5,
        "Order": "stop-first",  # host-mode ports: a node cannot hold old and new task on one port
    }
    assert b["RollbackConfig"]["FailureAction"] == "pause"


def test_order_kept_without_host_ports():
    spec = normalize({**PARAMS, "ports": [], "healthcheck": {"command": "true"}})
    b = sw.service_body(spec, digest="d1", published=[], endpoint_mode="dnsrr")
    assert b["UpdateConfig"]["Order"] == "start-first"
    assert b["EndpointSpec"] == {"Mode": "dnsrr", "Ports": []}
    ingress = sw.service_body(normalize(PARAMS), digest="d1", published=[24001], publish_mode="ingress")
    assert ingress["UpdateConfig"]["Order"] == "start-first"


def test_body_hash_changes_with_replicas_and_update_only_as_much_as_needed():
    a, again = body(), body()
    assert a["Labels"][sw.L_SWARM_HASH] == again["Labels"][sw.L_SWARM_HASH]
    assert body(replicas=4)["Labels"][sw.L_SWARM_HASH] != a["Labels"][sw.L_SWARM_HASH]
    assert body(update={"parallelism": 1})["Labels"][sw.L_SWARM_HASH] != a["Labels"][sw.L_SWARM_HASH]
    assert sw.body_hash(a) == a["Labels"][sw.L_SWARM_HASH]


def _svc(name, port):
    return {"Spec": {"Name": name, "EndpointSpec": {"Ports": [{"TargetPort": 8000, "PublishedPort": port}]}}}


def test_ports_in_use_skips_the_service_itself():
    assert sw.ports_in_use([_svc("a", 24000), _svc("b", 24001)], "a") == {24001}
    assert sw.published_of(_svc("a", 24000)) == {(8000, "tcp"): 24000}
    assert sw.published_of(None) == {}


def _task(tid, slot, node, state="running", desired="running", digest="d1", port=24000, err=""):
    return {
        "ID": tid,
        "Slot": slot,
        "NodeID": node,
        "DesiredState": desired,
        "Spec": {"ContainerSpec": {"Labels": {L_HASH: digest}}},
        "Status": {"State": state, "Err": err, "Timestamp": tid, "PortStatus": {"Ports": [{"PublishedPort": port}]}},
    }


NODES = [
    {"ID": "n1", "Description": {"Hostname": "h1"}, "Status": {"Addr": "10.0.0.1"}, "Spec": {"Labels": {}}},
    {
        "ID": "n2",
        "Description": {"Hostname": "h2"},
        "Status": {"Addr": "10.0.0.2"},
        "Spec": {"Labels": {sw.L_NODE_HOST: "node2", sw.L_NODE_ADDRESS: "172.18.0.6"}},
    },
]


def test_endpoints_one_per_running_task_with_node_address_and_port():
    service = body()
    service = {"Spec": service}
    tasks = [
        _task("t1", 1, "n1"),
        _task("t2", 2, "n2"),
        _task("t0", 2, "n1", state="shutdown", desired="shutdown"),
        _task("t3", 3, "n1", state="starting"),
    ]
    eps = sw.endpoints_from_tasks(service, tasks, NODES)
    assert [(e["host"], e["address"], e["port"], e["replica"], e["container"]) for e in eps] == [
        ("h1", "10.0.0.1", 24000, 1, "web.1.t1"),
        ("node2", "172.18.0.6", 24000, 2, "web.2.t2"),
    ]
    assert eps[0]["health_path"] == "/healthz" and eps[0]["spec_hash"] == "d1"


def test_running_tasks_and_errors():
    tasks = [
        _task("t1", 1, "n1", digest="old"),
        _task("t2", 1, "n1", state="failed", err="task: non-zero exit (1)"),
        _task("t3", 2, "n1", state="failed", err="task: non-zero exit (1)"),
        _task("t4", 3, "n1", state="pending", err="no suitable node (host-mode port already in use on 3 nodes)"),
    ]
    assert [t["ID"] for t in sw.running_tasks(tasks)] == ["t1"]
    assert sw.running_tasks(tasks, "d1") == []
    assert sw.task_errors(tasks) == ["task: non-zero exit (1)"]
    assert sw.pending_reasons(tasks) == ["no suitable node (host-mode port already in use on 3 nodes)"]
    assert sw.update_outcome({"UpdateStatus": {"State": "rollback_completed", "Message": "m"}}) == (
        "rollback_completed",
        "m",
    )
    assert sw.update_outcome({}) == ("", "")
