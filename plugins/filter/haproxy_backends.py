# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: haproxy_backends
short_description: Per-service HAProxy backends from the running replicas
version_added: 0.1.0
description:
  - Joins the per-service load-balancer settings with the endpoints the deploys reported (see docs/endpoints.md).
  - One server per running replica, across hosts, named C(<host>-<container>).
  - The C(containerops.fleet.haproxy) role renders its configuration from this list.
positional: endpoints, hosts
options:
  _input:
    description: Per-service settings (C(name) and the C(lb) section of the service definition).
    type: list
    elements: dict
    required: true
  endpoints:
    description: Endpoint dicts, usually C(groups['container_hosts'] | containerops.fleet.endpoints(hostvars)).
    type: list
    elements: dict
    required: true
  hosts:
    description:
      - Inventory hosts C(weights) and C(maxconn) may be keyed by (C(host) or C(host/replica)); a key naming another
        host is refused. Not checked when omitted.
    type: list
    elements: str
"""

EXAMPLES = r"""
- name: Show the backends HAProxy would get
  ansible.builtin.debug:
    msg: "{{ [{'name': 'web', 'port': 80}] | containerops.fleet.haproxy_backends(endpoints) }}"
"""

RETURN = r"""
_value:
  description: One dict per service with its checked settings (C(name), C(mode), C(port), C(hosts), C(paths),
    C(tls), C(balance), C(health_path), C(retries), ...) and C(servers) (each C(name), C(address), C(port),
    C(weight), C(maxconn)).
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.containerops.fleet.plugins.module_utils.haproxy.config import HaproxyConfigError, backends


def haproxy_backends(services, endpoints, hosts=None):
    try:
        return backends(services, endpoints, hosts)
    except HaproxyConfigError as exc:
        raise AnsibleFilterError(str(exc)) from exc


class FilterModule:
    def filters(self):
        return {"haproxy_backends": haproxy_backends}
