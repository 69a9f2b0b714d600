# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.containerops.fleet.plugins.module_utils.service.endpoints import running_image
from ansible_collections.containerops.fleet.plugins.module_utils.service.plan import (
    Replica,
    allocate_ports,
    endpoints_from_list,
    is_swarm_task,
    plan_update,
    published_ports,
    replica_from_list,
)
from ansible_collections.containerops.fleet.plugins.module_utils.service.spec import SpecError


def rep(index: int, digest: str = "new", running: bool = True) -> Replica:
    return Replica(
        id=f"id{index}{digest}",
        name=f"web-{index}-{digest}",
        index=index,
        spec_hash=digest,
        running=running,
        health="healthy",
        port=20000 + index,
    )


def test_converged_service_is_unchanged():
    plan = plan_update([rep(1), rep(2)], "new", 2)
    assert not plan.changed
    assert [r.index for r in plan.keep] == [1, 2]


def test_outdated_replicas_replaced_in_batches_keeping_their_index():
    plan = plan_update([rep(1, "old"), rep(2, "old"), rep(3, "old")], "new", 3, parallelism=2)
    assert [[(o.index, i) for o, i in batch] for batch in plan.replace] == [[(1, 1), (2, 2)], [(3, 3)]]
    assert plan.create == [] and plan.remove == []


def test_scale_up_creates_fresh_indices_and_scale_down_removes_highest():
    up = plan_update([rep(1), rep(3)], "new", 4)
    assert up.create == [2, 4]
    down = plan_update([rep(1), rep(2), rep(3)], "new", 1)
    assert [r.index for r in down.remove] == [2, 3]


def test_stopped_replicas_are_removed_and_refilled():
    plan = plan_update([rep(1), rep(2, running=False)], "new", 2)
    assert [r.index for r in plan.remove] == [2]
    assert plan.create == [2]


def test_outdated_beyond_the_count_are_removed_not_replaced():
    plan = plan_update([rep(1, "old"), rep(2, "old"), rep(3, "old")], "new", 1)
    assert [[o.index for o, _unused in b] for b in plan.replace] == [[1]]
    assert [r.index for r in plan.remove] == [2, 3]


def test_zero_replicas_removes_everything():
    plan = plan_update([rep(1), rep(2, "old")], "new", 0)
    assert sorted(r.index for r in plan.remove) == [1, 2]


def test_allocate_ports_skips_taken_and_fails_clearly():
    assert allocate_ports(2, (20000, 20005), {20000, 20002}) == [20001, 20003]
    with pytest.raises(SpecError, match=r"^ports\[\]\.host_range: no free host port left in 20000-20001"):
        allocate_ports(1, (20000, 20001), {20000, 20001})


def test_list_entries_parse_health_ports_and_labels():
    entry = {
        "Id": "abc",
        "Names": ["/web-1-x"],
        "State": "running",
        "Status": "Up 3 seconds (health: starting)",
        "Labels": {
            "io.containerops.fleet.replica": "1",
            "io.containerops.fleet.spec-hash": "x",
            "io.containerops.fleet.port": "20001,20002",
        },
        "Ports": [{"PublicPort": 20001}, {"PrivatePort": 9}],
    }
    r = replica_from_list(entry)
    assert (r.name, r.index, r.health, r.port, r.healthy) == ("web-1-x", 1, "starting", 20001, False)
    assert published_ports([entry]) == {20001, 20002}


def swarm_task_entry(port: int = 24001) -> dict:
    spec = '{"healthcheck": {"http_path": "/healthz"}, "metrics_path": "/metrics"}'
    return {
        "Id": "t1",
        "Names": ["/web.2.k3x9"],
        "State": "running",
        "Status": "Up 9 seconds (healthy)",
        "Labels": {
            "com.docker.swarm.task.id": "k3x9",
            "com.docker.swarm.task.name": "web.2.k3x9",
            "io.containerops.fleet.service": "web",
            "io.containerops.fleet.spec-hash": "h",
            "io.containerops.fleet.spec": spec,
        },
        "Ports": [{"IP": "0.0.0.0", "PrivatePort": 8000, "PublicPort": port, "Type": "tcp"}],
    }


def test_swarm_task_containers_are_endpoints_on_their_node():
    """A node's listing shows Swarm's task containers of our services: same endpoint shape as plain replicas."""
    entry = swarm_task_entry()
    assert is_swarm_task(entry)
    assert endpoints_from_list([entry], "node2", "10.0.0.2") == [
        {
            "service": "web",
            "host": "node2",
            "address": "10.0.0.2",
            "port": 24001,
            "container": "web.2.k3x9",
            "server": "node2-web.2.k3x9",
            "replica": 2,
            "spec_hash": "h",
            "healthy": True,
            "health_path": "/healthz",
            "metrics_path": "/metrics",
            "image": None,
        }
    ]
    plain = {"Id": "c", "Names": ["/web-1-x"], "State": "running", "Labels": {"io.containerops.fleet.replica": "1"}}
    assert not is_swarm_task(plain)


@pytest.mark.parametrize(
    ("label", "value"),
    [
        ("io.containerops.fleet.address", "10.0.0.1\nlisten x"),
        ("io.containerops.fleet.service", "web;x"),
        ("io.containerops.fleet.spec", '{"healthcheck": {"http_path": "/h\\nlisten x\\n bind :2222"}}'),
        ("io.containerops.fleet.spec", '{"metrics_path": "/m\\nremote_write:"}'),
    ],
)
def test_a_container_with_hostile_labels_is_left_out_with_a_warning(label, value):
    """Labels are read back from hosts: anyone who can start a container there could write them."""
    good = swarm_task_entry()
    del good["Labels"]["com.docker.swarm.task.id"]
    good["Labels"].update({"io.containerops.fleet.replica": "1", "io.containerops.fleet.port": "24001"})
    good["Names"] = ["/web-1-abc"]
    assert len(endpoints_from_list([good], "node2", "10.0.0.2")) == 1
    bad = {**good, "Names": ["/evil"], "Labels": {**good["Labels"], label: value}}
    warnings: list[str] = []
    assert endpoints_from_list([good, bad], "node2", "10.0.0.2", warnings.append) == endpoints_from_list(
        [good], "node2", "10.0.0.2"
    )
    assert len(warnings) == 1 and warnings[0].startswith("container 'evil' on node2 is left out of the endpoints")


def test_the_running_image_is_what_most_replicas_run():
    eps = [
        {"service": "web", "image": "web:2"},
        {"service": "web", "image": "web:2"},
        {"service": "web", "image": "web:1"},  # a replica left behind by an interrupted run
        {"service": "api", "image": "api:7"},
    ]
    assert running_image(eps, "web") == "web:2"
    assert running_image(eps, "api") == "api:7"
    assert running_image(eps, "db") is None
