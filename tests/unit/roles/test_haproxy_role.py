# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The haproxy role without a host: specs mirror defaults, the stats page's basic auth is checked against its
allow-list before it reaches the config line, never logged, and the rendered configuration passes `haproxy -c`."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import jinja2
import pytest
import yaml
from ansible.plugins.test.core import TestModule as AnsibleTests

from ansible_collections.containerops.fleet.plugins.module_utils import allow
from ansible_collections.containerops.fleet.plugins.module_utils.haproxy.config import (
    backends,
    frontends,
    tls_certificates,
)

ROLE = Path(__file__).resolve().parents[3] / "roles" / "haproxy"
ENDPOINTS = [
    {"service": "web", "host": "node1", "address": "10.0.0.1", "port": 8080, "container": "web-1", "replica": 1}
]
BACKENDS = backends([{"name": "web", "port": 80, "health_path": "/healthz"}], ENDPOINTS)
# Computed by the role's filters (vars/main.yml); the tests give them.
COMPUTED = ("_haproxy_backends", "_haproxy_frontends", "_haproxy_tls")


def _yaml(path: Path):
    return yaml.safe_load(path.read_text())


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(ROLE / "templates"),
        trim_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.tests.update(AnsibleTests().tests())
    env.filters["to_json"] = json.dumps
    return env


def _vars(**overrides) -> dict:
    variables = {k: v for k, v in _yaml(ROLE / "defaults" / "main.yml").items() if "{{" not in str(v)}
    variables.update(haproxy_stats_address="10.0.0.9", haproxy_services=[{"name": "web", "port": 80}])
    variables.update(_haproxy_backends=BACKENDS, _haproxy_frontends=frontends(BACKENDS), _haproxy_tls=[])
    role_vars = _yaml(ROLE / "vars" / "main.yml")
    variables.update({k: v for k, v in role_vars.items() if "{{" not in str(v)})
    variables.update(overrides)
    for key in ("haproxy_https_redirect_port",):
        variables.setdefault(key, variables["haproxy_https_port"])
    for key, value in role_vars.items():
        if "{{" in str(value) and key not in variables and key not in COMPUTED:
            variables[key] = _env().from_string(value).render(**variables).strip()
    return variables


def _render(**overrides) -> str:
    return _env().get_template("haproxy.cfg.j2").render(ansible_managed="managed", **_vars(**overrides))


def _tasks(name: str) -> list[dict]:
    return _yaml(ROLE / "tasks" / name)


def _preflight_ok(**overrides) -> bool:
    """Every `that` of the preflight asserts, evaluated as Ansible would (its `match` test)."""
    variables = _vars(**overrides)
    env = _env()
    for task in _tasks("preflight.yml"):
        for condition in task["ansible.builtin.assert"]["that"]:
            if not env.compile_expression(condition)(**variables):
                return False
    return True


def test_argument_specs_mirror_defaults():
    defaults = _yaml(ROLE / "defaults" / "main.yml")
    options = _yaml(ROLE / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]
    assert set(defaults) == set(options)
    assert defaults["haproxy_stats_user"] == "" and defaults["haproxy_stats_password"] == ""
    assert options["haproxy_stats_password"].get("no_log") is True
    # the stats page stays on the host's private address
    assert defaults["haproxy_stats_address"] == "{{ inventory_hostname | containerops.fleet.host_address(hostvars) }}"


def test_role_patterns_are_the_allow_list_kinds():
    role_vars = _yaml(ROLE / "vars" / "main.yml")
    assert role_vars["_haproxy_stats_user_pattern"] == allow._COMPILED["basic_auth_user"].pattern
    assert role_vars["_haproxy_stats_password_pattern"] == allow._COMPILED["basic_auth_password"].pattern


GOOD = [("stats", "s3cret-Pass.word"), ("ops.team_1", "a:b;c=d/e+f,g(h)i*j!k%l&m<n>o?p@q^r|s~t-u")]
BAD_USERS = ["with space", "quo'te", 'dq"', "hash#tag", "col:on", "new\nline", "tab\tx", "-lead", "x" * 65, "ctl\x01"]
BAD_PASSWORDS = [
    "has space1",
    "quote'quote",
    'dquote"dq',
    "hash#hash1",
    "dollar$HOME",
    "back\\slash1",
    "brace{{x}}1",
    "new\nline12",
    "nul\x00nul12",
    "bell\x07bell",
    "short",
    "x" * 129,
]


@pytest.mark.parametrize(("user", "password"), GOOD)
def test_good_credentials_pass_preflight_and_render_one_stats_auth_line(user, password):
    assert allow.check("basic_auth_user", user, "u") and allow.check("basic_auth_password", password, "p")
    assert _preflight_ok(haproxy_stats_user=user, haproxy_stats_password=password)
    lines = [line.strip() for line in _render(haproxy_stats_user=user, haproxy_stats_password=password).splitlines()]
    assert lines.count(f"stats auth {user}:{password}") == 1


@pytest.mark.parametrize("user", BAD_USERS)
def test_a_user_that_could_break_the_config_line_is_refused(user):
    with pytest.raises(allow.NotAllowed):
        allow.check("basic_auth_user", user, "haproxy_stats_user")
    assert not _preflight_ok(haproxy_stats_user=user, haproxy_stats_password="s3cret-Pass.word")


@pytest.mark.parametrize("password", BAD_PASSWORDS)
def test_a_password_that_could_break_the_config_line_is_refused(password):
    with pytest.raises(allow.NotAllowed):
        allow.check("basic_auth_password", password, "haproxy_stats_password")
    assert not _preflight_ok(haproxy_stats_user="stats", haproxy_stats_password=password)


def test_user_and_password_come_together_and_no_auth_by_default():
    assert _preflight_ok()
    assert "stats auth" not in _render()
    assert not _preflight_ok(haproxy_stats_user="stats", haproxy_stats_password="")
    assert not _preflight_ok(haproxy_stats_user="", haproxy_stats_password="s3cret-Pass.word")


def _handles_password(task: dict) -> bool:
    text = str({k: v for k, v in task.items() if k != "name"})
    return "haproxy_stats_password" in text or "haproxy.cfg.j2" in text or "_haproxy_stats_auth" in text


def test_every_task_that_handles_the_password_is_no_log():
    tasks = [t for name in ("main.yml", "preflight.yml") for t in _tasks(name)]
    handling = [t for t in tasks if _handles_password(t)]
    names = {t["name"] for t in handling}
    assert any("ansible.builtin.template" in t for t in handling), names
    assert any("ansible.builtin.uri" in t for t in handling), names
    assert any("ansible.builtin.assert" in t for t in handling), names
    env = _env()
    for task in handling:
        no_log = task.get("no_log")
        rendered = env.from_string(str(no_log)).render(**_vars(haproxy_stats_user="a", haproxy_stats_password="p" * 8))
        assert no_log is True or rendered.strip() == "True", task["name"]


def test_config_file_is_not_world_readable():
    task = next(t for t in _tasks("main.yml") if "ansible.builtin.template" in t)
    args = task["ansible.builtin.template"]
    assert (args["owner"], args["group"], args["mode"]) == ("root", "haproxy", "0640")
    assert args["validate"] == "haproxy -c -f %s"


def test_stats_probe_authenticates_when_auth_is_set():
    task = next(t for t in _tasks("main.yml") if "ansible.builtin.uri" in t)
    args = task["ansible.builtin.uri"]
    assert args["url_username"] == "{{ haproxy_stats_user or omit }}"
    assert args["url_password"] == "{{ haproxy_stats_password or omit }}"


@pytest.mark.parametrize("auth", [{}, {"haproxy_stats_user": "ops.team_1", "haproxy_stats_password": GOOD[1][1]}])
def test_rendered_config_passes_haproxy_check(tmp_path, auth):
    haproxy = shutil.which("haproxy")
    if haproxy is None:
        pytest.skip("the haproxy binary is not installed here (apt-get install haproxy) - cannot run haproxy -c")
    path = tmp_path / "haproxy.cfg"
    path.write_text(_render(**auth))
    result = subprocess.run([haproxy, "-c", "-f", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def _edge(tmp_path: Path) -> dict:
    """Two services on one port by Host and path, one on HTTPS with redirect and HSTS, weights and maxconn by host,
    a TCP service with PROXY protocol, two certificates (one picked by SNI): what the e2e tests run, as variables."""
    certs = []
    for name, extra in (("default", []), ("api", ["api.example.test"])):
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                f"/CN={name}.example.test",
                "-keyout",
                str(tmp_path / f"{name}.key"),
                "-out",
                str(tmp_path / f"{name}.crt"),
            ],
            check=True,
            capture_output=True,
        )
        cert = {
            "name": name,
            "cert": (tmp_path / f"{name}.crt").read_text(),
            "key": (tmp_path / f"{name}.key").read_text(),
        }
        certs.append({**cert, "sni": extra})
    endpoints = [
        {"service": s, "host": h, "address": f"10.0.0.{i}", "port": p, "container": f"{s}-1-ab", "replica": 1}
        for s, p in (("web", 8001), ("api", 8002), ("redis", 6379))
        for i, h in ((1, "node1"), (2, "node2"))
    ]
    services = [
        {
            "name": "web",
            "port": 8080,
            "tls": True,
            "redirect_https": True,
            "hsts": 31536000,
            "health_path": "/healthz",
            "weights": {"node1": 1, "node2": 3},
            "maxconn": {"node2/1": 50},
        },
        {"name": "api", "port": 8080, "hosts": ["api.example.test"], "paths": ["/v1"], "tls": True},
        {"name": "redis", "port": 6379, "mode": "tcp", "proxy_protocol": True, "balance": "leastconn"},
    ]
    bes = backends(services, endpoints, ["node1", "node2"])
    tls = tls_certificates(certs, str(tmp_path / "certs"))
    (tmp_path / "certs").mkdir()
    for cert, placed in zip(certs, tls):
        Path(placed["file"]).write_text(cert["cert"] + cert["key"])
    (tmp_path / "certs" / "crt-list").write_text("".join(f"{c['file']} {' '.join(c['sni'])}\n" for c in tls))
    return {
        "_haproxy_backends": bes,
        "_haproxy_frontends": frontends(bes, 8443),
        "_haproxy_tls": tls,
        "_haproxy_crt_list": str(tmp_path / "certs" / "crt-list"),
        "haproxy_https_port": 8443,
        "haproxy_https_redirect_port": 8443,
    }


def test_edge_config_routes_terminates_tls_and_balances_tcp(tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed here")
    edge = _edge(tmp_path)
    lines = [line.strip() for line in _render(**edge).splitlines()]
    assert f"bind :8443 ssl crt-list {tmp_path}/certs/crt-list alpn h2,http/1.1" in lines
    assert "ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets" in lines
    assert "acl host_api req.hdr(host),field(1,:),lower -m str api.example.test" in lines
    assert "acl path_api path -m str /v1" in lines and "acl path_api path -m beg /v1/" in lines
    assert lines.count("use_backend api if host_api path_api") == 2  # port 8080 and HTTPS
    assert lines.count("default_backend web") == 2
    assert "server node1-web-1-ab 10.0.0.1:8001 weight 1" in lines
    assert "server node2-web-1-ab 10.0.0.2:8001 weight 3 maxconn 50" in lines
    assert (
        "http-request redirect location https://%[req.hdr(host),field(1,:)]:8443%[pathq] code 301 unless { ssl_fc }"
        in lines
    )
    assert 'http-response set-header Strict-Transport-Security "max-age=31536000" if { ssl_fc }' in lines
    redis = lines[lines.index("backend redis") :]
    assert redis[1] == "mode tcp" and not any("httpchk" in line for line in redis)
    assert redis[5].startswith("default-server check ") and redis[5].endswith(" send-proxy-v2")
    assert "backend _fleet_not_found" not in lines


def test_a_port_without_default_renders_the_404_backend():
    bes = backends([{"name": "a", "port": 80, "hosts": ["a.example.test"]}], [])
    text = _render(_haproxy_backends=bes, _haproxy_frontends=frontends(bes))
    assert "default_backend _fleet_not_found" in text
    assert (
        'http-request return status 404 content-type text/plain string "404 no service for this host or path"' in text
    )


def test_certificate_files_are_0600_root_and_never_logged():
    tasks = {t["name"]: t for t in _tasks("main.yml")}
    install = tasks["Install the certificates and keys"]
    assert install["no_log"] is True
    assert (install["ansible.builtin.copy"]["owner"], install["ansible.builtin.copy"]["mode"]) == ("root", "0600")
    assert tasks["Create the certificate directory"]["ansible.builtin.file"]["mode"] == "0700"
    options = _yaml(ROLE / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]
    assert options["haproxy_tls_certificates"]["no_log"] is True


def test_edge_config_passes_haproxy_check(tmp_path):
    haproxy = shutil.which("haproxy")
    if haproxy is None or shutil.which("openssl") is None:
        pytest.skip("haproxy and openssl are needed here (apt-get install haproxy openssl) - cannot run haproxy -c")
    path = tmp_path / "haproxy.cfg"
    path.write_text(_render(**_edge(tmp_path)))
    result = subprocess.run([haproxy, "-c", "-f", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ALERT" not in result.stderr
