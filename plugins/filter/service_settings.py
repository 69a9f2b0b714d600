# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: service_settings
short_description: One section of every service definition, named after its service
version_added: 0.1.0
description:
  - From service definitions (C(fleet_services)), takes the given section (like C(lb) or C(autoscale)) of each
    service that has one and returns it with the service's C(name) added, plus C(health_path) and
    C(metrics_path) from the definition when the section does not set them.
  - This is how the HAProxy, Prometheus and autoscaler roles read the one definition of each service.
  - Services with C(platform=kubernetes) are left out of every section but C(lb) - the cluster scales them with its
    HorizontalPodAutoscaler; HAProxy balances them over the node ports of their NodePort Service.
positional: section
options:
  _input:
    description: Service definitions.
    type: list
    elements: dict
    required: true
  section:
    description: The section to take.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: HAProxy settings of every service that is load-balanced
  ansible.builtin.debug:
    msg: "{{ fleet_services | containerops.fleet.service_settings('lb') }}"
  # -> [{"name": "web", "port": 80, "balance": "roundrobin", "health_path": "/healthz", "metrics_path": "/metrics"}]
"""

RETURN = r"""
_value:
  description: One dict per service having the section.
  type: list
  elements: dict
"""


def service_settings(services, section):
    out = []
    for svc in services or []:
        settings = svc.get(section)
        if settings is None or settings is False or (svc.get("platform") == "kubernetes" and section != "lb"):
            continue
        item = dict(settings) if isinstance(settings, dict) else {}
        item["name"] = svc["name"]
        item.setdefault("health_path", (svc.get("healthcheck") or {}).get("http_path"))
        item.setdefault("metrics_path", svc.get("metrics_path"))
        out.append(item)
    return out


class FilterModule:
    def filters(self):
        return {"service_settings": service_settings}
