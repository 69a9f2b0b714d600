# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: haproxy_frontends
short_description: The HAProxy frontends the backends need, with their Host and path routes
version_added: 0.2.0
description:
  - One frontend per port; services sharing a port are routed by C(Host) header (C(hosts)) and path prefix
    (C(paths)), most specific rule first. The service marked C(default), else the one without hosts and paths,
    gets what no rule matches; without one, a 404 answers.
  - With an HTTPS port, one more frontend (C(fe_https)) routes the services that set C(tls) the same way.
  - A C(mode=tcp) service has a port of its own.
  - The C(containerops.fleet.haproxy) role renders its configuration from this list.
positional: https_port
options:
  _input:
    description: Backends from C(containerops.fleet.haproxy_backends).
    type: list
    elements: dict
    required: true
  https_port:
    description: Port of the HTTPS frontend; none when the load balancer has no certificate.
    type: int
"""

EXAMPLES = r"""
- name: Show the frontends HAProxy would get
  ansible.builtin.debug:
    msg: "{{ backends | containerops.fleet.haproxy_frontends(443) }}"
  vars:
    backends: "{{ [{'name': 'web', 'port': 80}] | containerops.fleet.haproxy_backends([]) }}"
"""

RETURN = r"""
_value:
  description: One dict per frontend with C(name), C(port), C(mode), C(tls), C(default) (a backend) and C(rules)
    (each C(backend), C(hosts), C(exact) and C(prefixes)).
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.containerops.fleet.plugins.module_utils.haproxy.config import HaproxyConfigError, frontends


def haproxy_frontends(backends, https_port=None):
    try:
        return frontends(backends, None if https_port in (None, "") else int(https_port))
    except (HaproxyConfigError, ValueError) as exc:
        raise AnsibleFilterError(str(exc)) from exc


class FilterModule:
    def filters(self):
        return {"haproxy_frontends": haproxy_frontends}
