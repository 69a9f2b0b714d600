# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: endpoints
short_description: Gather the running replicas of services from the container hosts
version_added: 0.1.0
description:
  - Collects the C(fleet_endpoints) fact that every container host holds after a deploy into one list, sorted by
    service, host and replica, optionally for one service only.
  - Also the C(service_kubernetes_endpoints) fact the service role sets on the hosts of its play after a
    C(platform=kubernetes) deploy (the cluster's nodes that serve the service); an endpoint several hosts report
    counts once.
  - This list is what HAProxy backends, Prometheus targets and the autoscaler are built from.
positional: hostvars, service
options:
  _input:
    description: Inventory host names to gather from, usually C(groups['container_hosts']).
    type: list
    elements: str
    required: true
  hostvars:
    description: The C(hostvars) magic variable.
    type: dict
    required: true
  service:
    description: Only this service's endpoints.
    type: str
"""

EXAMPLES = r"""
- name: Every replica of the web service, across hosts
  ansible.builtin.debug:
    msg: "{{ groups['container_hosts'] | containerops.fleet.endpoints(hostvars, 'web') }}"
"""

RETURN = r"""
_value:
  description: Endpoint dicts (keys C(service), C(host), C(address), C(port), C(container), C(replica),
    C(spec_hash), C(healthy), C(health_path), C(metrics_path)).
  type: list
  elements: dict
"""


def endpoints(hosts, hostvars, service=None):
    found = []
    seen = set()
    for name in hosts:
        facts = hostvars.get(name) or {}
        for ep in [*(facts.get("fleet_endpoints") or []), *(facts.get("service_kubernetes_endpoints") or [])]:
            key = (ep.get("service"), ep.get("host"), ep.get("container"), ep.get("address"), ep.get("port"))
            if (service is None or ep.get("service") == service) and key not in seen:
                seen.add(key)
                found.append(dict(ep))
    return sorted(found, key=lambda e: (e.get("service", ""), e.get("host", ""), e.get("replica", 0)))


class FilterModule:
    def filters(self):
        return {"endpoints": endpoints}
