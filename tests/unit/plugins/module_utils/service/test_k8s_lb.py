# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""platform kubernetes with `lb`, create_namespace and the HPA's behaviour: the pure parts (issue 19 items 4, 5).

Proven on a real cluster by tests/e2e/test_k8s_live.py; these pin the rendering, the read-back checks and the
errors that name their field.
"""

from __future__ import annotations

import copy

import kubernetes_validate
import pytest

from ansible_collections.containerops.fleet.plugins.filter.endpoints import endpoints
from ansible_collections.containerops.fleet.plugins.module_utils.service import k8s_manifest as manifest
from ansible_collections.containerops.fleet.plugins.module_utils.service.schema import DefinitionError, validate
from ansible_collections.containerops.fleet.plugins.module_utils.service.spec import L_HASH, SpecError, normalize

SPEC = normalize(
    {
        "name": "web",
        "image": "fleet-k8s/http:1",
        "replicas": 2,
        "ports": [{"container": 80}, {"container": 9100}],
        "resources": {"cpus": 0.1},
    }
)


def render(**kwargs):
    return manifest.render(copy.deepcopy(SPEC), digest="abc", **kwargs)


def test_lb_makes_a_node_port_service_local_to_the_serving_nodes():
    svc = render(lb={"port": 8080, "node_port": 30080})[1]
    assert svc["spec"]["type"] == "NodePort" and svc["spec"]["externalTrafficPolicy"] == "Local"
    assert [p.get("nodePort") for p in svc["spec"]["ports"]] == [30080, None]  # the first port is the balanced one
    kubernetes_validate.validate(svc, "1.30.0", strict=True)
    allocated = render(lb={"port": 8080})[1]
    assert allocated["spec"]["type"] == "NodePort" and "nodePort" not in allocated["spec"]["ports"][0]
    plain = render()[1]
    assert plain["spec"]["type"] == "ClusterIP" and "externalTrafficPolicy" not in plain["spec"]


@pytest.mark.parametrize(
    ("spec", "lb", "message"),
    [
        (SPEC, {"port": 80, "node_port": 80}, r"lb\.node_port: 80 is not allowed; use a whole number from 30000"),
        (SPEC, {"port": 80, "node_port": "30080; rm"}, r"lb\.node_port: .* is not allowed"),
        ({**SPEC, "ports": []}, {"port": 80}, r"lb: on platform kubernetes HAProxy balances over a NodePort Service"),
    ],
)
def test_bad_lb_is_named(spec, lb, message):
    with pytest.raises(SpecError, match=message):
        manifest.render(copy.deepcopy(spec), digest="abc", lb=lb)


def test_the_definition_names_the_bad_field_by_its_full_path():
    base = {"name": "web", "image": "web:1", "ports": [{"container": 80}]}
    with pytest.raises(DefinitionError, match=r"fleet_services\[web\]\.lb\.node_port: 29999 is not allowed"):
        validate([{**base, "platform": "kubernetes", "lb": {"port": 80, "node_port": 29999}}])
    with pytest.raises(DefinitionError, match=r"fleet_services\[web\]\.lb\.node_port: only for platform kubernetes"):
        validate([{**base, "lb": {"port": 80, "node_port": 30080}}])
    with pytest.raises(DefinitionError, match=r"fleet_services\[web\]\.autoscale\.scale_up_stabilization: a Horiz"):
        validate([{**base, "autoscale": {"max": 3, "query": "q", "target": 1, "scale_up_stabilization": 30}}])
    with pytest.raises(DefinitionError, match=r"fleet_services\[web\]\.autoscale\.scale_down_limit: 0 is not allowed"):
        validate([{**base, "platform": "kubernetes", "autoscale": {"max": 3, "scale_down_limit": 0}}])
    (ok,) = validate([{**base, "platform": "kubernetes", "lb": {"port": 80, "node_port": 30080}}])
    assert ok["lb"]["node_port"] == 30080 and ok["autoscale"] is None


def test_behaviour_fields_become_the_hpas_own():
    autoscale = {
        "min": 1,
        "max": 5,
        "scale_down_stabilization": 0,
        "scale_up_stabilization": 30,
        "scale_up_limit": 3,
        "scale_down_limit": 1,
    }
    hpa = render(autoscale=autoscale)[2]
    assert hpa["spec"]["behavior"] == {
        "scaleDown": {"stabilizationWindowSeconds": 0, "policies": [{"type": "Pods", "value": 1, "periodSeconds": 15}]},
        "scaleUp": {"stabilizationWindowSeconds": 30, "policies": [{"type": "Pods", "value": 3, "periodSeconds": 15}]},
    }
    kubernetes_validate.validate(hpa, "1.30.0", strict=True)
    with pytest.raises(SpecError, match=r"autoscale\.scale_up_stabilization: 3601 is not allowed"):
        render(autoscale={**autoscale, "scale_up_stabilization": 3601})


def pod(name: str, node: str, ready: bool = True, digest: str = "abc", phase: str = "Running") -> dict:
    return {
        "metadata": {"name": name, "annotations": {L_HASH: digest}},
        "spec": {"nodeName": node},
        "status": {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


def node(name: str, *addresses: tuple[str, str]) -> dict:
    return {"metadata": {"name": name}, "status": {"addresses": [{"type": t, "address": a} for t, a in addresses]}}


def test_the_serving_nodes_are_the_endpoints_at_their_address_and_the_node_port():
    nodes = [
        node("n2", ("Hostname", "n2"), ("InternalIP", "10.0.0.2")),
        node("n1", ("ExternalIP", "203.0.113.1"), ("InternalIP", "10.0.0.1")),
        node("n3", ("InternalIP", "10.0.0.3")),  # runs no ready pod: not a backend (externalTrafficPolicy Local)
    ]
    pods = [pod("a", "n1"), pod("b", "n2", digest="new"), pod("c", "n2"), pod("d", "n3", ready=False)]
    eps = manifest.node_endpoints(SPEC, 30080, pods, nodes)
    assert [(e["host"], e["address"], e["port"], e["server"], e["spec_hash"]) for e in eps] == [
        ("n1", "10.0.0.1", 30080, "n1-web-nodeport", "abc"),
        ("n2", "10.0.0.2", 30080, "n2-web-nodeport", ""),  # mid-rollout: its pods disagree
    ]
    assert [e["replica"] for e in eps] == [1, 2] and all(e["healthy"] for e in eps)


@pytest.mark.parametrize(
    ("nodes", "message"),
    [
        (
            [node("n1", ("InternalIP", "10.0.0.1\nbind :80"))],
            r"node n1 InternalIP as the API returned it: .* not allowed",
        ),
        ([node("n1 x", ("InternalIP", "10.0.0.1"))], r"node name as the API returned it: .* not allowed"),
    ],
)
def test_read_back_node_values_are_checked(nodes, message):
    with pytest.raises(SpecError, match=message):
        manifest.node_endpoints(SPEC, 30080, [pod("a", nodes[0]["metadata"]["name"])], nodes)


def test_the_node_port_is_read_back_checked():
    svc = {
        "spec": {
            "type": "NodePort",
            "ports": [{"port": 9100, "nodePort": 31000}, {"port": 80, "protocol": "TCP", "nodePort": 30123}],
        }
    }
    assert manifest.node_port_of(svc, SPEC) == 30123
    assert manifest.node_port_of({"spec": {"type": "ClusterIP", "ports": [{"port": 80}]}}, SPEC) is None
    assert manifest.node_port_of(None, SPEC) is None
    bad = {"spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": "80 # x"}]}}
    with pytest.raises(SpecError, match=r"Service web: nodePort of port 80 as the API returned it: .* not allowed"):
        manifest.node_port_of(bad, SPEC)


def test_the_namespace_is_labelled_as_ours():
    ns = manifest.namespace("apps")
    assert ns["metadata"] == {"name": "apps", "labels": {manifest.L_MANAGED: manifest.MANAGER}}
    kubernetes_validate.validate(ns, "1.30.0", strict=True)


def test_kubernetes_endpoints_reported_by_every_host_of_the_play_count_once():
    k8s = [{"service": "web", "host": "n1", "container": "web-nodeport", "address": "10.0.0.1", "port": 30080}]
    docker = [{"service": "api", "host": "h1", "container": "api-1", "address": "10.0.1.1", "port": 20000}]
    hv = {
        "h1": {"fleet_endpoints": docker, "service_kubernetes_endpoints": k8s},
        "h2": {"fleet_endpoints": [], "service_kubernetes_endpoints": k8s},
    }
    assert [(e["service"], e["host"]) for e in endpoints(["h1", "h2"], hv)] == [("api", "h1"), ("web", "n1")]
    assert endpoints(["h2"], hv, "web") == k8s


def test_without_lb_each_running_pod_is_an_endpoint_with_checked_values():
    pods = [pod("web-b", "n1"), pod("web-a", "n2", ready=False), pod("web-c", "n1", phase="Pending")]
    for p, ip in zip(pods, ("10.244.0.5", "10.244.0.6", "")):
        p["status"]["podIP"] = ip
    eps = manifest.pod_endpoints(SPEC, pods)
    assert [(e["container"], e["host"], e["address"], e["port"], e["healthy"], e["replica"]) for e in eps] == [
        ("web-a", "n2", "10.244.0.6", 80, False, 1),
        ("web-b", "n1", "10.244.0.5", 80, True, 2),
    ]
    pods[0]["status"]["podIP"] = "10.244.0.5 backup"
    with pytest.raises(SpecError, match=r"pod web-b podIP as the API returned it: .* not allowed"):
        manifest.pod_endpoints(SPEC, pods)


def test_a_kubernetes_service_cannot_take_the_frontend_port_of_another():
    """HAProxy balances kubernetes services too: their lb.port is checked against the others' at preflight."""
    services = [
        {"name": "web", "image": "web:1", "ports": [{"container": 80}], "lb": {"port": 8080}},
        {"name": "api", "image": "api:1", "platform": "kubernetes", "ports": [{"container": 80}], "lb": {"port": 8080}},
    ]
    with pytest.raises(DefinitionError, match=r"8080"):
        validate(services)
    services[1]["lb"]["port"] = 8081
    assert [d["name"] for d in validate(services)] == ["web", "api"]
