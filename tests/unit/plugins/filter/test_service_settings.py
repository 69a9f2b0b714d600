# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

from ansible_collections.containerops.fleet.plugins.filter.service_settings import service_settings


def test_takes_the_section_named_after_its_service():
    services = [
        {
            "name": "web",
            "healthcheck": {"http_path": "/healthz"},
            "metrics_path": "/metrics",
            "lb": {"port": 80, "balance": "leastconn"},
        },
        {"name": "worker"},
        {"name": "api", "lb": {"port": 81, "health_path": "/ready"}},
    ]
    assert service_settings(services, "lb") == [
        {"name": "web", "port": 80, "balance": "leastconn", "health_path": "/healthz", "metrics_path": "/metrics"},
        {"name": "api", "port": 81, "health_path": "/ready", "metrics_path": None},
    ]
    assert service_settings(services, "autoscale") == []


def test_kubernetes_services_are_balanced_by_haproxy_and_scaled_by_the_cluster():
    services = [
        {"name": "web", "lb": {"port": 80}, "autoscale": {"max": 4}},
        {"name": "api", "platform": "kubernetes", "lb": {"port": 81}, "autoscale": {"max": 4}},
    ]
    assert [s["name"] for s in service_settings(services, "lb")] == ["web", "api"]
    assert [s["name"] for s in service_settings(services, "autoscale")] == ["web"]
