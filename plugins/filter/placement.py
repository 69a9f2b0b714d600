# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: placement
short_description: Split a total replica count over hosts by their CPU and memory
version_added: 0.1.0
description:
  - Turns the total number of replicas of a service and the hosts' capacity into a per-host replica count.
  - C(spread) (default) evens the count out over the hosts; C(binpack) fills hosts in the order given.
  - Refuses over-commit, naming each host's capacity, when per-replica O(cpus) or O(memory) are given.
positional: replicas
options:
  _input:
    description:
      - The hosts, as a list of host names (then O(hostvars) gives their facts) or a list of dicts with
        C(name), C(cpus) and C(memory_mb).
    type: list
    elements: raw
    required: true
  replicas:
    description: Total number of replicas.
    type: int
    required: true
  hostvars:
    description: The C(hostvars) magic variable; the C(ansible_facts) C(processor_vcpus) and C(memtotal_mb) are used.
    type: dict
  cpus:
    description: CPUs one replica reserves; V(0) means unconstrained.
    type: float
    default: 0
  memory:
    description: Memory one replica reserves, like V(512m) or V(1g); V(0) means unconstrained.
    type: str
    default: '0'
  strategy:
    description: How to place.
    type: str
    choices: [spread, binpack]
    default: spread
  current:
    description: The per-host counts running now; ties are broken in their favour so fewer replicas move.
    type: dict
"""

EXAMPLES = r"""
- name: Place 6 replicas of 0.5 CPU / 256 MiB over the container hosts
  ansible.builtin.set_fact:
    web_placement: >-
      {{ groups['container_hosts'] | containerops.fleet.placement(6, hostvars=hostvars, cpus=0.5, memory='256m') }}
  # -> {"node1": 2, "node2": 2, "node3": 2}

- name: Deploy this host's share
  containerops.fleet.container_service:
    name: web
    image: demo:1
    replicas: "{{ web_placement[inventory_hostname] }}"
"""

RETURN = r"""
_value:
  description: Host name to replica count, one key per input host (zero included).
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.containerops.fleet.plugins.module_utils.service.placement import (
    Node,
    PlacementError,
    memory_mb,
    place,
)


def _node(item, hostvars) -> Node:
    if isinstance(item, dict):
        return Node(str(item["name"]), float(item.get("cpus", 0) or 0), float(item.get("memory_mb", 0) or 0))
    facts = (hostvars or {}).get(item, {}).get("ansible_facts", {})
    if not facts:
        raise AnsibleFilterError(f"placement: no facts for host {item!r}; gather facts first or pass hostvars=hostvars")
    return Node(
        str(item),
        float(facts.get("processor_vcpus") or facts.get("processor_count") or 1),
        float(facts.get("memtotal_mb") or 0),
    )


def placement(hosts, replicas, hostvars=None, cpus=0, memory="0", strategy="spread", current=None):
    try:
        nodes = [_node(h, hostvars) for h in hosts]
        return place(
            int(replicas), nodes, cpus=float(cpus), memory=memory_mb(memory), strategy=strategy, current=current
        )
    except PlacementError as exc:
        raise AnsibleFilterError(f"placement: {exc}") from exc


class FilterModule:
    def filters(self):
        return {"placement": placement}
