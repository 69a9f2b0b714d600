# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.containerops.fleet.plugins.module_utils.haproxy.config import (
    NOT_FOUND,
    HaproxyConfigError,
    backends,
    check_lb,
    config_server,
    default_server_options,
    frontends,
    server_line,
    set_config_server,
    tls_certificates,
)


def ep(host, replica=1, service="web", port=8001, health_path="/healthz"):
    return {
        "service": service,
        "host": host,
        "address": f"10.0.0.{host[-1]}",
        "port": port + replica - 1,
        "container": f"{service}-{replica}",
        "replica": replica,
        "health_path": health_path,
    }


EPS = [ep("node2"), ep("node1", 2), ep("node1"), ep("node3"), ep("node1", service="api", port=9000)]


def test_one_server_per_replica_across_hosts_sorted_and_named_host_container():
    (web,) = backends([{"name": "web", "port": 80}], EPS)
    assert [s["name"] for s in web["servers"]] == ["node1-web-1", "node1-web-2", "node2-web-1", "node3-web-1"]
    assert web["servers"][1] == {
        "name": "node1-web-2",
        "address": "10.0.0.1",
        "port": 8002,
        "weight": None,
        "maxconn": None,
    }
    assert web["balance"] == "roundrobin"
    assert web["health_path"] == "/healthz"
    assert web["port"] == 80 and web["mode"] == "http"


def redeployed(eps, spec_hash):
    """The same replicas after a deploy: same hosts and replica indexes, new container names."""
    return [{**e, "container": f"{e['container']}-{spec_hash}"} for e in eps]


def test_weights_and_maxconn_by_host_or_host_replica_survive_a_redeploy_and_a_scale():
    eps = [ep("node1"), ep("node2"), ep("node3")]
    service = {"name": "web", "port": 80, "weights": {"node1": 1, "node2": 2, "node3": 3, "node3/2": 7}, "maxconn": 50}
    hosts = ["node1", "node2", "node3"]
    for replicas in (eps, redeployed(eps, "b2c3"), [*eps, ep("node1", 2), ep("node2", 2), ep("node3", 2)]):
        (web,) = backends([service], replicas, hosts)
        weights = {(s["name"].split("-")[0], s["port"] - 8000): s["weight"] for s in web["servers"]}
        assert weights == {k: {"node1": 1, "node2": 2, "node3": 3}[k[0]] if k != ("node3", 2) else 7 for k in weights}
        assert {s["maxconn"] for s in web["servers"]} == {50}
    per_host = backends([{**service, "maxconn": {"node2": 10}}], eps, hosts)[0]
    assert [s["maxconn"] for s in per_host["servers"]] == [None, 10, None]


def test_weights_keyed_by_position_or_container_or_an_unknown_host_are_refused():
    eps = [ep("node1"), ep("node2"), ep("node3")]
    with pytest.raises(HaproxyConfigError, match=r"haproxy_services\[web\]\.weights: key it by inventory host"):
        backends([{"name": "web", "port": 80, "weights": [1, 2, 3]}], eps)
    with pytest.raises(HaproxyConfigError, match=r"\.weights: no inventory host named web-1-ab12"):
        backends([{"name": "web", "port": 80, "weights": {"web-1-ab12": 2}}], eps, ["node1", "node2", "node3"])
    with pytest.raises(HaproxyConfigError, match=r"\.maxconn: no inventory host named nod1"):
        backends([{"name": "web", "port": 80, "maxconn": {"nod1": 2}}], eps, ["node1", "node2", "node3"])


def test_service_settings_override_endpoint_defaults():
    (web,) = backends([{"name": "web", "port": 81, "balance": "leastconn", "health_path": "/up", "retries": 5}], EPS)
    assert (web["balance"], web["health_path"], web["retries"]) == ("leastconn", "/up", 5)


def test_service_without_replicas_gets_an_empty_backend():
    (none,) = backends([{"name": "ghost", "port": 80}], EPS)
    assert none["servers"] == [] and none["health_path"] is None


@pytest.mark.parametrize(
    ("services", "message"),
    [
        ([{"port": 80}], r"haproxy_services\[0\]: every service needs a name"),
        ([{"name": "web"}], r"haproxy_services\[web\].port: missing; give the frontend port, or tls: true"),
        ([{"name": "web", "port": 80}, {"name": "web", "port": 81}], r"\[web\]: listed twice"),
        ([{"name": "web", "port": 80, "weights": {"node1": 999}}], r"weights.node1: 999 is not allowed; use a whole"),
        ([{"name": "web", "port": 80, "weights": {"node1 x": 1}}], r"weights key: 'node1 x' is not allowed"),
        ([{"name": "web", "port": 80, "maxconn": 0}], r"\[web\].maxconn: 0 is not allowed"),
        ([{"name": "web", "port": 80, "health_path": "healthz"}], r"health_path: 'healthz' is not allowed; use a path"),
        ([{"name": "web app", "port": 80}], r"name: 'web app' is not allowed; use 1-41 lowercase"),
        ([{"name": "_fleet_not_found", "port": 80}], r"name: '_fleet_not_found' is not allowed"),
        ([{"name": "web", "port": 80, "hosts": ["a.example.net\n acl x"]}], r"\[web\].hosts\[0\]: .* not allowed"),
        ([{"name": "web", "port": 80, "hosts": "a.example.net"}], r"\[web\].hosts: give a list"),
        ([{"name": "web", "port": 80, "hosts": ["a.example.net:80"]}], r"\[web\].hosts\[0\]: .* \(no port"),
        ([{"name": "web", "port": 80, "paths": ["/a b"]}], r"\[web\].paths\[0\]: '/a b' is not allowed"),
        ([{"name": "web", "port": 80, "paths": ["/a", "/a"]}], r"\[web\].paths: /a listed twice"),
        ([{"name": "web", "port": 80, "mode": "udp"}], r"\[web\].mode: 'udp' is not one of http, tcp"),
        ([{"name": "db", "port": 5432, "mode": "tcp", "hosts": ["db.example.net"]}], r"\[db\].hosts: HTTP only"),
        ([{"name": "db", "mode": "tcp"}], r"\[db\].port: a mode tcp service needs its own frontend port"),
        ([{"name": "web", "port": 80, "redirect_https": True}], r"\[web\].redirect_https: needs tls: true"),
        ([{"name": "web", "port": 80, "tls": "yes"}], r"\[web\].tls: 'yes' is not allowed; use true or false"),
        # What once rewrote the load balancer: a section, a stats page, an admin command through a value.
        (
            [{"name": "web", "port": 80, "health_path": "/h\nlisten x\n bind :2222"}],
            r"\[web\].health_path: .* not allowed",
        ),
        ([{"name": "web", "port": 80, "balance": "roundrobin\n stats enable"}], r"\[web\].balance: .* is not one of"),
        ([{"name": "web", "port": 80, "retries": "3\n stats enable"}], r"\[web\].retries: .* whole number"),
        ([{"name": "web\n", "port": 80}], r"name: 'web\\n' is not allowed"),
    ],
)
def test_bad_settings_name_the_field_and_the_fix(services, message):
    with pytest.raises(HaproxyConfigError, match=message):
        backends(services, EPS)


CONFIG = """global
    master-worker

backend web
    balance roundrobin
    default-server check inter 1s fall 2 # comment
    server node1-web-1 10.0.0.1:8001
    server node2-web-1 10.0.0.2:8001 weight 3

backend empty
    balance roundrobin

frontend fe_web
    bind :80
"""


def test_config_server_reads_one_backends_line():
    assert config_server(CONFIG, "web", "node2-web-1") == "server node2-web-1 10.0.0.2:8001 weight 3"
    assert config_server(CONFIG, "web", "node3-web-1") is None
    with pytest.raises(HaproxyConfigError, match="backend 'nope' is not in the configuration file"):
        config_server(CONFIG, "nope", "x")


def test_add_server_goes_after_the_last_server_line_of_its_backend():
    new = set_config_server(CONFIG, "web", "node3-web-1", server_line("node3-web-1", "10.0.0.3", 8001, 2))
    lines = new.splitlines()
    assert lines[lines.index("    server node2-web-1 10.0.0.2:8001 weight 3") + 1] == (
        "    server node3-web-1 10.0.0.3:8001 weight 2"
    )
    assert new.endswith("\n") and new.count("server node3-web-1") == 1


def test_add_to_a_backend_without_servers_and_replace_and_remove():
    added = set_config_server(CONFIG, "empty", "a", "server a 1.2.3.4:80")
    assert "    balance roundrobin\n    server a 1.2.3.4:80\n\nfrontend fe_web" in added
    moved = set_config_server(CONFIG, "web", "node1-web-1", "server node1-web-1 10.0.0.9:9")
    assert "    server node1-web-1 10.0.0.9:9\n    server node2-web-1" in moved
    removed = set_config_server(CONFIG, "web", "node1-web-1", None)
    assert "node1-web-1" not in removed and "node2-web-1" in removed
    assert set_config_server(removed, "web", "node1-web-1", None) == removed


def test_default_server_options_of_the_backend():
    assert default_server_options(CONFIG, "web") == ["check", "inter", "1s", "fall", "2"]
    assert default_server_options(CONFIG, "empty") == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("address", "10.0.0.1\nlisten x"),
        ("address", "10.0.0.1 check disabled"),
        ("port", "80\n"),
        ("port", 70000),
        ("container", "web-1 10.0.0.9:22"),
    ],
)
def test_endpoint_values_from_hosts_are_checked_before_rendering(field, value):
    """Endpoints come from container labels on the hosts: a hostile one never reaches haproxy.cfg."""
    hostile = [{**EPS[0], field: value}]
    with pytest.raises(HaproxyConfigError, match=r"haproxy_services\[web\] server"):
        backends([{"name": "web", "port": 80}], hostile)


def _fe(services, https_port=None):
    eps = [ep("node1", service=s["name"]) for s in services]
    return frontends(backends(services, eps), https_port)


def test_services_on_one_port_are_routed_by_host_and_path_most_specific_first():
    (fe,) = _fe(
        [
            {"name": "web", "port": 80},
            {"name": "api", "port": 80, "paths": ["/api"]},
            {"name": "shop", "port": 80, "hosts": ["Shop.example.net"]},
            {"name": "shop-api", "port": 80, "hosts": ["shop.example.net"], "paths": ["/api", "/static/"]},
        ]
    )
    assert fe["name"] == "fe_port_80" and fe["default"] == "web" and fe["mode"] == "http"
    assert [r["backend"] for r in fe["rules"]] == ["shop-api", "shop", "api"]
    assert fe["rules"][0] == {
        "backend": "shop-api",
        "hosts": ["shop.example.net"],
        "exact": ["/api"],
        "prefixes": ["/api/", "/static/"],
    }


def test_a_port_without_a_default_service_answers_404_and_one_service_keeps_its_own_frontend():
    fes = _fe([{"name": "web", "port": 80}, {"name": "a", "port": 81, "hosts": ["a.example.net"]}])
    assert [(f["name"], f["port"], f["default"]) for f in fes] == [("fe_web", 80, "web"), ("fe_a", 81, NOT_FOUND)]
    (fe,) = _fe([{"name": "a", "port": 80, "hosts": ["a.example.net"]}, {"name": "b", "port": 80, "default": True}])
    assert fe["default"] == "b"


def test_tls_services_are_routed_on_the_https_frontend_too():
    fes = _fe(
        [{"name": "web", "port": 80, "tls": True}, {"name": "api", "tls": True, "hosts": ["api.example.net"]}], 443
    )
    assert [(f["name"], f["port"], f["tls"], f["default"]) for f in fes] == [
        ("fe_web", 80, False, "web"),
        ("fe_https", 443, True, "web"),
    ]
    assert [r["backend"] for r in fes[1]["rules"]] == ["api"]


def test_tcp_services_have_a_port_of_their_own_with_tcp_checks_and_proxy_protocol():
    services = [{"name": "redis", "port": 6379, "mode": "tcp", "proxy_protocol": True, "health_path": None}]
    (be,) = backends(services, [ep("node1", service="redis", port=6379, health_path="/ignored")])
    assert (be["mode"], be["health_path"], be["proxy_protocol"]) == ("tcp", None, True)
    (fe,) = frontends([be])
    assert (fe["name"], fe["mode"], fe["default"], fe["rules"]) == ("fe_redis", "tcp", "redis", [])


@pytest.mark.parametrize(
    ("services", "https_port", "message"),
    [
        ([{"name": "web", "port": 80}, {"name": "api", "port": 80}], None, r"\[api\].default: web and api would both"),
        (
            [
                {"name": "a", "port": 80, "hosts": ["x.example.net"]},
                {"name": "b", "port": 80, "hosts": ["X.example.net"]},
            ],
            None,
            r"\[b\].hosts: host x.example.net path \* is already routed to a",
        ),
        (
            [{"name": "db", "port": 80, "mode": "tcp"}, {"name": "web", "port": 80}],
            None,
            r"\[db\].port: 80 is also the port of web; a mode tcp service has a port of its own",
        ),
        (
            [{"name": "web", "port": 443}, {"name": "a", "port": 80, "tls": True}],
            443,
            r"\[web\].port: 443 is the HTTPS",
        ),
        ([{"name": "web", "port": 80, "tls": True}], None, r"\[web\].tls: no HTTPS frontend; give the load balancer"),
    ],
)
def test_routes_between_services_are_checked(services, https_port, message):
    with pytest.raises(HaproxyConfigError, match=message):
        _fe(services, https_port)


def test_check_lb_is_what_preflight_runs():
    assert check_lb({"port": 80})["mode"] == "http"
    with pytest.raises(HaproxyConfigError, match=r"^lb\.hsts: needs tls: true"):
        check_lb({"port": 80, "hsts": 300})


CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
KEY = "-----BEGIN PRIVATE KEY-----\nSECRETSECRET\n-----END PRIVATE KEY-----\n"


def test_certificates_go_one_file_each_default_first_with_their_sni_names():
    certs = [
        {"name": "www", "cert": CERT, "key": KEY},
        {"name": "api.example.net", "cert": CERT, "key": KEY, "sni": ["api.example.net", "API2.example.net"]},
    ]
    assert tls_certificates(certs, "/etc/haproxy/certs/") == [
        {"name": "www", "file": "/etc/haproxy/certs/www.pem", "sni": []},
        {
            "name": "api.example.net",
            "file": "/etc/haproxy/certs/api.example.net.pem",
            "sni": ["api.example.net", "api2.example.net"],
        },
    ]
    assert tls_certificates(None, "/x") == []


@pytest.mark.parametrize(
    ("cert", "message"),
    [
        ({"name": "../etc/passwd", "cert": CERT, "key": KEY}, r"\[0\].name: '../etc/passwd' is not allowed"),
        ({"name": "www", "cert": "nope", "key": KEY}, r"\[www\].cert: not a PEM certificate"),
        (
            {"name": "www", "cert": CERT, "key": "SECRETSECRET"},
            r"\[www\].key: not a PEM private key \(the value is not",
        ),
        ({"name": "www", "cert": CERT, "key": KEY, "sni": ["a b"]}, r"\[www\].sni\[0\]: 'a b' is not allowed"),
    ],
)
def test_a_bad_certificate_is_named_and_its_key_never_shown(cert, message):
    with pytest.raises(HaproxyConfigError, match=message) as info:
        tls_certificates([cert], "/etc/haproxy/certs")
    assert "SECRETSECRET" not in str(info.value)
