# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

from ansible_collections.containerops.fleet.plugins.filter.colour_endpoints import colour_endpoints
from ansible_collections.containerops.fleet.plugins.filter.endpoints import endpoints


def test_gathers_sorted_and_filters_by_service():
    hv = {
        "n2": {"fleet_endpoints": [{"service": "web", "host": "n2", "replica": 1, "port": 20001}]},
        "n1": {
            "fleet_endpoints": [
                {"service": "web", "host": "n1", "replica": 2, "port": 20002},
                {"service": "api", "host": "n1", "replica": 1, "port": 21001},
            ]
        },
        "n3": {},
    }
    assert [(e["service"], e["host"], e["replica"]) for e in endpoints(["n1", "n2", "n3"], hv)] == [
        ("api", "n1", 1),
        ("web", "n1", 2),
        ("web", "n2", 1),
    ]
    assert [e["host"] for e in endpoints(["n1", "n2", "n3", "missing"], hv, "web")] == ["n1", "n2"]


def test_colour_endpoints_serve_the_active_colour_only():
    eps = [
        {"service": "web", "container": "web-1"},
        {"service": "web-blue", "container": "web-blue-1"},
        {"service": "web-green", "container": "web-green-1"},
        {"service": "api", "container": "api-1"},
        {"service": "my-app", "container": "my-app-1"},
    ]
    got = colour_endpoints(eps, {"web": {"active": "green", "previous": "blue"}})
    assert [(e["service"], e["container"]) for e in got] == [
        ("web", "web-green-1"),
        ("api", "api-1"),
        ("my-app", "my-app-1"),
    ]
    assert colour_endpoints(eps, {}) == eps
    back = colour_endpoints(eps, {"web": {"active": "plain", "previous": "green"}})
    assert [e["container"] for e in back] == ["web-1", "api-1", "my-app-1"]
