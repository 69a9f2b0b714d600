# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one service schema: the role's argument spec and the doc fragment follow it; validate() names every
bad field by its full path before any host is touched."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ansible_collections.containerops.fleet.plugins.doc_fragments.registry import (
    ModuleDocFragment as RegistryDocFragment,
)
from ansible_collections.containerops.fleet.plugins.doc_fragments.service import ModuleDocFragment
from ansible_collections.containerops.fleet.plugins.module_utils.service.schema import (
    SERVICE_OPTIONS,
    DefinitionError,
    validate,
)

ROOT = Path(__file__).resolve().parents[5]
ROLE_SPEC = ROOT / "roles" / "service" / "meta" / "argument_specs.yml"
KEYS = ("type", "elements", "required", "choices", "default")


def _shape(options: dict, sub_key: str) -> dict:
    """name -> (type, elements, required, choices, default, suboptions), recursively; absent = None/False."""
    out = {}
    for name, o in (options or {}).items():
        item = {k: o.get(k) for k in KEYS}
        item["required"] = bool(item["required"])
        if item["type"] == "float" and item["default"] is not None:
            item["default"] = float(item["default"])
        item["sub"] = _shape(o.get(sub_key) or {}, sub_key)
        out[name] = item
    return out


def _differences(a: dict, b: dict, path: str = "") -> list[str]:
    diffs = []
    for name in sorted(set(a) | set(b)):
        where = f"{path}{name}"
        if name not in a or name not in b:
            diffs.append(f"{where}: only in {'the schema' if name in a else 'the other'}")
            continue
        for k in (*KEYS,):
            if a[name][k] != b[name][k]:
                diffs.append(f"{where}.{k}: schema {a[name][k]!r} != {b[name][k]!r}")
        diffs += _differences(a[name]["sub"], b[name]["sub"], where + ".")
    return diffs


SCHEMA = _shape(SERVICE_OPTIONS, "options")


def test_role_argument_spec_follows_the_schema():
    spec = yaml.safe_load(ROLE_SPEC.read_text())
    role = spec["argument_specs"]["main"]["options"]["service_definition"]["options"]
    assert _differences(SCHEMA, _shape(role, "options")) == []


def test_doc_fragment_follows_the_schema():
    # the service fragment, and the registry fragment container_service also extends (registry_auth, shared)
    doc = {
        **yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"],
        **yaml.safe_load(RegistryDocFragment.DOCUMENTATION)["options"],
    }
    assert _differences(SCHEMA, _shape(doc, "suboptions")) == []


def test_the_drift_check_sees_a_drift():
    spec = yaml.safe_load(ROLE_SPEC.read_text())
    role = spec["argument_specs"]["main"]["options"]["service_definition"]["options"]
    role["healthcheck"]["options"]["interval"]["type"] = "str"
    del role["update"]["options"]["order"]
    diffs = _differences(SCHEMA, _shape(role, "options"))
    assert "healthcheck.interval.type: schema 'float' != 'str'" in diffs
    assert "update.order: only in the schema" in diffs


BASE = {"name": "web", "image": "fleet-demo:1", "ports": [{"container": 8000}]}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"healthcheck": {"http_pth": "/x"}},
            r"fleet_services\[web\]\.healthcheck\.http_pth: unknown field; "
            r"allowed here: command, http_path, interval, port, retries, start_period, timeout "
            r"\(did you mean http_path\?\)",
        ),
        (
            {"update": {"paralelism": 2}},
            r"fleet_services\[web\]\.update\.paralelism: unknown field.*did you mean parallelism",
        ),
        ({"ports": [{"contaner": 80}]}, r"fleet_services\[web\]\.ports\[0\]\.contaner: unknown field"),
        ({"resources": {"cpu": 1}}, r"fleet_services\[web\]\.resources\.cpu: unknown field.*did you mean cpus"),
        ({"lb": {"balanse": "roundrobin"}}, r"fleet_services\[web\]\.lb\.balanse: unknown field"),
        ({"lb": {"metrics_path": "/m"}}, r"fleet_services\[web\]\.lb\.metrics_path: unknown field"),
        ({"autoscale": {"max": 3, "querry": "x"}}, r"fleet_services\[web\]\.autoscale\.querry: unknown field"),
        ({"imgae": "x"}, r"fleet_services\[web\]\.imgae: unknown field.*did you mean image"),
        ({"restart_policy": "sometimes"}, r"fleet_services\[web\]: .*restart_policy.*sometimes"),
        ({"update": {"order": "sideways"}}, r"fleet_services\[web\]: .*order.*sideways"),
        ({"lb": {"balance": "roundrobin\nlisten x"}}, r"fleet_services\[web\]: .*balance"),
        ({"replicas": "three"}, r"fleet_services\[web\]: .*replicas"),
        ({"healthcheck": {"http_path": "/h", "command": "true"}}, r"mutually exclusive: http_path\|command"),
        (
            {"healthcheck": {"http_path": "healthz"}},
            r"fleet_services\[web\]\.healthcheck\.http_path: 'healthz' must start",
        ),
        (
            {"autoscale": {"max": 3}},
            r"fleet_services\[web\]\.autoscale: on platform docker and swarm the cron autoscaler needs query and "
            r"target",
        ),
        ({"autoscale": {"min": 4, "max": 3, "query": "q", "target": 1}}, r"autoscale: needs 1 <= min <= max"),
        ({"autoscale": {"max": 3, "query": "q"}}, r"parameters are required together: query, target"),
        ({"autoscale": {"max": 3, "cpu_utilization": 70}}, r"autoscale: on platform docker and swarm .* needs query"),
        (
            {"platform": "kubernetes", "autoscale": {"max": 3, "query": "q", "target": 1}},
            r"autoscale\.query: on platform kubernetes",
        ),
        ({"platform": "kubernetes", "autoscale": {"max": 3, "cpu_utilization": 170}}, r"between 1 and 100"),
        ({"lb": {"port": 70000}}, r"fleet_services\[web\]\.lb\.port: 70000 is not allowed; use a port number"),
        ({"image": ""}, r"fleet_services\[web\]\.image: missing; give the image reference"),
        ({"lb": {"health_path": "/h\nlisten x"}}, r"fleet_services\[web\]\.lb\.health_path: .* is not allowed"),
        ({"lb": {"port": 80, "weights": [1, 3]}}, r"fleet_services\[web\]\.lb\.weights: key it by inventory host"),
        ({"lb": {"port": 80, "weights": {"node1": 300}}}, r"fleet_services\[web\]\.lb\.weights\.node1: 300 is not"),
        ({"lb": {"port": 80, "hosts": ["a b"]}}, r"fleet_services\[web\]\.lb\.hosts\[0\]: 'a b' is not allowed"),
        ({"lb": {"port": 80, "paths": ["api"]}}, r"fleet_services\[web\]\.lb\.paths\[0\]: 'api' is not allowed"),
        ({"lb": {"port": 6379, "mode": "tcp", "tls": True}}, r"fleet_services\[web\]\.lb\.tls: HTTP only"),
        ({"lb": {"hosts": ["a.example.net"]}}, r"fleet_services\[web\]\.lb\.port: missing; give the frontend port"),
        ({"lb": {"weights": {"a;b": 1}}}, r"fleet_services\[web\]\.lb\.weights key: 'a;b' is not allowed"),
        ({"healthcheck": {"http_path": "/h\n"}}, r"fleet_services\[web\]\.healthcheck\.http_path: .* is not allowed"),
    ],
)
def test_a_bad_field_is_named_by_its_full_path(change, message):
    with pytest.raises(DefinitionError, match=message):
        validate([{**BASE, **change}])


def test_every_error_at_once_and_names_unique():
    with pytest.raises(DefinitionError) as err:
        validate([BASE, {**BASE, "env": {"A": "1"}}, {"name": "api", "image": "a", "helthcheck": {}}])
    text = str(err.value)
    assert "fleet_services[web].name: 'web' is used by entries 0 and 1" in text
    assert "fleet_services[api].helthcheck: unknown field" in text


def test_a_definition_that_is_not_a_mapping_is_named_by_index():
    with pytest.raises(DefinitionError, match=r"fleet_services\[0\]: must be a mapping"):
        validate(["web"])


def test_defaults_are_filled_at_every_depth():
    (web,) = validate(
        [{**BASE, "healthcheck": {"http_path": "/healthz"}, "autoscale": {"max": 4, "query": "q", "target": 5}}]
    )
    assert web["replicas"] == 1
    assert web["platform"] == "docker"
    assert web["ports"] == [{"container": 8000, "protocol": "tcp", "host_range": "20000-29999"}]
    assert web["healthcheck"]["interval"] == 2
    assert web["autoscale"]["min"] == 1 and web["autoscale"]["scale_down_stabilization"] == 300
    assert web["update"] is None  # an absent section stays absent: the module fills it


def test_kubernetes_autoscale_on_utilisation_is_accepted():
    (svc,) = validate(
        [
            {
                **BASE,
                "platform": "kubernetes",
                "resources": {"cpus": 0.5},
                "autoscale": {"min": 2, "max": 5, "cpu_utilization": 60},
            }
        ]
    )
    assert svc["autoscale"]["cpu_utilization"] == 60


def test_services_sharing_a_load_balancer_port_are_checked_together_before_any_host_is_touched():
    web = {**BASE, "lb": {"port": 80}}
    api = {**BASE, "name": "api", "lb": {"port": 80, "hosts": ["api.example.net"], "paths": ["/v1"]}}
    assert [d["lb"]["hosts"] for d in validate([web, api])] == [None, ["api.example.net"]]
    with pytest.raises(DefinitionError, match=r"fleet_services\[api\]\.lb\.default: web and api would both be"):
        validate([web, {**api, "lb": {"port": 80}}])
