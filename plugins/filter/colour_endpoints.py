# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: colour_endpoints
short_description: Blue/green - a service's endpoints are its active colour's replicas
version_added: 0.1.0
description:
- For services deployed blue/green (replicas of C(<name>-blue) and C(<name>-green)), keeps the active colour's endpoints
  renamed to C(<name>) and drops the idle colour's (they keep running for an instant switch-back).
- Services without a colour entry pass through unchanged; a service whose colour is active loses its plain
  C(<name>) replicas from the list.
positional: colours
options:
  _input:
    description: Endpoints, from the C(containerops.fleet.endpoints) filter.
    type: list
    elements: dict
    required: true
  colours:
    description: Service name to C({active, previous}) colour, as C(playbooks/blue_green.yml) records it.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: HAProxy backends follow the active colours
  ansible.builtin.debug:
    msg: "{{ groups['container_hosts'] | containerops.fleet.endpoints(hostvars)
             | containerops.fleet.colour_endpoints({'web': {'active': 'green', 'previous': 'blue'}}) }}"
"""

RETURN = r"""
_value:
  description: Endpoints with the colour services mapped onto their base service; a C(colour) key is added.
  type: list
  elements: dict
"""


def colour_endpoints(eps, colours):
    """Blue/green: a service's backend serves its active colour's replicas (service `<name>-<colour>`)."""
    colours = colours or {}
    out = []
    for ep in eps:
        name = ep.get("service", "")
        base, _unused, colour = name.rpartition("-")
        if name in colours and colours[name].get("active") not in (None, "", "plain"):
            continue  # the plain service stepped aside for a colour
        if base and base in colours:
            if colours[base].get("active") == colour:
                out.append(dict(ep, service=base, colour=colour))
            continue  # the idle colour keeps running but takes no traffic
        out.append(ep)
    return out


class FilterModule:
    def filters(self):
        return {"colour_endpoints": colour_endpoints}
