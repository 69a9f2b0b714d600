# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: replica_total
short_description: The total replica count a deploy of a service runs
version_added: 0.2.0
description:
  - An explicit O(override) wins (C(scale.yml), the autoscaler).
  - A service with C(autoscale) that already runs keeps its running count, kept within C(autoscale.min) and
    C(autoscale.max), so a later C(site.yml) does not undo the autoscaler.
  - Otherwise the definition's C(replicas) (default 1).
positional: running, override
options:
  _input:
    description: The service definition.
    type: dict
    required: true
  running:
    description: Replicas of the service running now, across the hosts.
    type: int
    required: true
  override:
    description: An explicit total; empty for none.
    type: raw
    default: ""
"""

EXAMPLES = r"""
- name: Total replicas of web (3 running, autoscale 2..6 -> 3)
  ansible.builtin.debug:
    msg: "{{ web_definition | containerops.fleet.replica_total(3) }}"
"""

RETURN = r"""
_value:
  description: The total replica count.
  type: int
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.containerops.fleet.plugins.module_utils.service.placement import PlacementError, replica_total


def _replica_total(definition, running, override=""):
    try:
        return replica_total(definition or {}, int(running), override)
    except (PlacementError, ValueError) as exc:
        raise AnsibleFilterError(f"replica_total of {(definition or {}).get('name')!r}: {exc}") from exc


class FilterModule:
    def filters(self):
        return {"replica_total": _replica_total}
