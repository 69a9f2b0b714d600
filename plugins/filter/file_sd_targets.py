# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: file_sd_targets
short_description: Prometheus file_sd target groups per service, from the service endpoints
version_added: 0.1.0
description:
  - Groups the endpoints a deploy returned (see C(docs/endpoints.md)) by service into Prometheus file_sd target
    groups, one group per replica with the labels C(service), C(host) and C(container); the replica's
    C(metrics_path) becomes C(__metrics_path__).
  - Endpoints without a C(metrics_path) are left out. The output is sorted, so the same replicas give the same file.
options:
  _input:
    description: Endpoint dicts, usually C(groups['container_hosts'] | containerops.fleet.endpoints(hostvars)).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: One file_sd file per service
  ansible.builtin.copy:
    content: "{{ item.value | to_nice_json }}\n"
    dest: "/etc/prometheus/file_sd/{{ item.key }}.json"
    mode: "0644"
  loop: "{{ fleet_all_endpoints | containerops.fleet.file_sd_targets | dict2items }}"
  vars:
    fleet_all_endpoints: "{{ groups['container_hosts'] | containerops.fleet.endpoints(hostvars) }}"
"""

RETURN = r"""
_value:
  description: Service name to its list of target groups (C(targets), C(labels)).
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.containerops.fleet.plugins.module_utils.monitoring.targets import (
    MonitoringError,
    file_sd_groups,
)


def file_sd_targets(endpoints):
    try:
        return file_sd_groups(endpoints)
    except MonitoringError as exc:
        raise AnsibleFilterError(f"file_sd_targets: {exc}") from None


class FilterModule:
    def filters(self):
        return {"file_sd_targets": file_sd_targets}
