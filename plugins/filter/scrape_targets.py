# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: scrape_targets
short_description: Prometheus static target groups for inventory hosts
version_added: 0.1.0
description:
  - Turns a list of inventory host names into Prometheus C(static_configs) entries, one per host, each with the
    label C(host) set to the inventory name.
  - The address is the host's C(fleet_private_address), else its C(ansible_host), else its default IPv4 fact, else
    its inventory name.
positional: hostvars, port
options:
  _input:
    description: Inventory host names, for example C(groups['all']).
    type: list
    elements: str
    required: true
  hostvars:
    description: The C(hostvars) magic variable.
    type: dict
    required: true
  port:
    description: The port the exporter listens on.
    type: int
    required: true
  labels:
    description: Extra labels put on every target group.
    type: dict
"""

EXAMPLES = r"""
- name: Node exporter on every host
  ansible.builtin.debug:
    msg: "{{ groups['all'] | containerops.fleet.scrape_targets(hostvars, 9100) }}"
  # -> [{"targets": ["172.18.0.2:9100"], "labels": {"host": "node1"}}, ...]
"""

RETURN = r"""
_value:
  description: Target groups (C(targets), C(labels)), sorted by host name.
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.containerops.fleet.plugins.module_utils.monitoring.targets import (
    MonitoringError,
    static_targets,
)


def scrape_targets(hosts, hostvars, port, labels=None):
    try:
        return static_targets(hosts, hostvars or {}, port, labels)
    except MonitoringError as exc:
        raise AnsibleFilterError(f"scrape_targets: {exc}") from None


class FilterModule:
    def filters(self):
        return {"scrape_targets": scrape_targets}
