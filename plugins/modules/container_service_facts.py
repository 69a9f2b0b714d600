#!/usr/bin/python
# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: container_service_facts
short_description: Facts - the replicas of containerops.fleet services running on a Docker host
version_added: 0.1.0
description:
  - Reads the replicas that C(containerops.fleet.container_service) started on this host, from their labels, with
    one engine API call, and sets them as the C(fleet_endpoints) fact (the same shape C(container_service) returns
    and sets after every change).
  - Playbooks use it to know what runs without redeploying, for example before rendering HAProxy backends or
    Prometheus targets for a run that deploys only one service.
  - It sets a fact, not a variable, on purpose - a later C(container_service) task in the same run replaces it
    with what runs after the change.
author:
  - containerops.fleet contributors (@containerops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - containerops.fleet.engine
attributes:
  check_mode:
    support: full
    details: It only reads.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  name:
    description: Only this service.
    type: str
  advertise_address:
    description: Address reported for replicas that carry none in their labels; default the host's primary IPv4.
    type: str
  node_name:
    description: Host name reported in the endpoints; default the host's name.
    type: str
seealso:
  - module: containerops.fleet.container_service
"""

EXAMPLES = r"""
- name: What runs on the container hosts (sets fleet_endpoints)
  containerops.fleet.container_service_facts:
    node_name: "{{ inventory_hostname }}"
    advertise_address: "{{ ansible_host }}"

- name: Every replica of web, across hosts
  ansible.builtin.debug:
    msg: "{{ groups['container_hosts'] | containerops.fleet.endpoints(hostvars, 'web') }}"
"""

RETURN = r"""
ansible_facts:
  description: Facts set on the host.
  returned: always
  type: dict
  contains:
    fleet_endpoints:
      description: Every running replica of every service on the host (all services, even with O(name)).
      type: list
      elements: dict
      returned: always
endpoints:
  description: Running replicas, sorted by service and replica index (see docs/endpoints.md for the keys).
  returned: always
  type: list
  elements: dict
revisions:
  description:
    - Per service, the revision most of its running replicas here run, read from their labels (untrusted; give
      C(spec) to O(containerops.fleet.container_service#module:revision) to copy it, which checks it again).
    - Env values in C(spec) are digests, never the values.
  returned: always
  type: dict
  sample: {"web": {"spec_hash": "3f2a9c0d1e4b5a6c", "replicas": 2, "spec": {"image": "web:2", "env": {}}}}
services:
  description: Names of the services with at least one running replica here.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.containerops.fleet.plugins.module_utils.engine.options import engine_options
from ansible_collections.containerops.fleet.plugins.module_utils.service.facts import run


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str"),
            advertise_address=dict(type="str"),
            node_name=dict(type="str"),
            **engine_options(),
        ),
        supports_check_mode=True,
    )
    run(module)


if __name__ == "__main__":
    main()
