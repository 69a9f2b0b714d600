# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest
import yaml

from ansible_collections.containerops.fleet.plugins.module_utils.service.compose import ComposeError, convert
from ansible_collections.containerops.fleet.plugins.module_utils.service.schema import validate

COMPOSE = yaml.safe_load("""
version: "3.8"
services:
  web:
    image: fleet-demo:1
    ports: ["8080:8000"]
    environment: [FLEET_DEMO_VERSION=1, EMPTY=]
    healthcheck:
      test: ["CMD", "curl", "-fsS", "http://localhost:8000/healthz"]
      interval: 5s
      retries: 3
    deploy:
      replicas: 3
      resources: {limits: {cpus: "0.5", memory: 256M}}
      update_config: {parallelism: 1, order: start-first, monitor: 1m}
  api:
    image: fleet-demo:1
    ports: [{target: 8000, published: 8081}]
    environment: {ROLE: api}
    healthcheck: {test: "test -f /tmp/ok", timeout: 500ms}
    restart: on-failure:3
""")


def test_maps_services_in_order():
    web, api = convert(COMPOSE)
    assert web == {
        "name": "web",
        "image": "fleet-demo:1",
        "replicas": 3,
        "ports": [{"container": 8000, "protocol": "tcp"}],
        "env": {"FLEET_DEMO_VERSION": "1", "EMPTY": ""},
        "healthcheck": {"http_path": "/healthz", "port": 8000, "interval": 5.0, "retries": 3},
        "resources": {"cpus": 0.5, "memory": "256M"},
        "update": {"parallelism": 1, "order": "start-first", "monitor": 60.0},
        "lb": {"port": 8080},
    }
    assert api["replicas"] == 1
    assert api["healthcheck"] == {"command": "test -f /tmp/ok", "timeout": 0.5}
    assert api["restart_policy"] == "on-failure"
    assert api["lb"] == {"port": 8081}


def test_unsupported_keys_are_named_not_dropped():
    doc = {
        "services": {"web": {"image": "x", "build": ".", "depends_on": ["db"], "deploy": {"placement": {}}}},
        "secrets": {},
    }
    with pytest.raises(ComposeError) as err:
        convert(doc)
    assert str(err.value) == (
        "unsupported compose input (list it in fleet_compose_ignore to drop it on purpose): "
        "top-level key 'secrets'; services.web: build, depends_on, deploy.placement"
    )
    assert convert(doc, ignore=["secrets", "build", "services.web.depends_on", "deploy.placement"])[0]["name"] == "web"


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"services": {"Web_1": {"image": "x"}}}, "services.Web_1: the name 'Web_1' must be lowercase"),
        ({"services": {"web": {"ports": ["80"]}}}, "services.web: 'image' is required"),
        ({"services": {"web": {"image": "x", "deploy": {"mode": "global"}}}}, "deploy.mode 'global'"),
        ({"version": "3"}, "no 'services' mapping"),
    ],
)
def test_bad_input_is_named(doc, message):
    with pytest.raises(ComposeError, match=message):
        convert(doc)


def test_converted_services_pass_the_service_schema():
    """What the converter makes is a service definition like any other: the same preflight accepts it."""
    assert [s["name"] for s in validate(convert(COMPOSE), "compose")] == ["web", "api"]
