# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: host_address
short_description: The address other hosts reach an inventory host on
version_added: 0.2.0
description:
  - The host's C(fleet_private_address), else its C(ansible_host), else its default IPv4 fact, else its inventory
    name - the one rule every role and playbook of the collection uses for listen, advertise and target addresses.
  - The value must be an IP address or a host name; anything else fails naming the host and the variable.
options:
  _input:
    description: The inventory host name.
    type: str
    required: true
  hostvars:
    description: C(hostvars).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Where this host's replicas are reached
  ansible.builtin.debug:
    msg: "{{ inventory_hostname | containerops.fleet.host_address(hostvars) }}"
"""

RETURN = r"""
_value:
  description: The address.
  type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.containerops.fleet.plugins.module_utils.inventory.address import AddressError, host_address


def _host_address(name, hostvars):
    try:
        return host_address(name, hostvars)
    except AddressError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule:
    def filters(self):
        return {"host_address": _host_address}
