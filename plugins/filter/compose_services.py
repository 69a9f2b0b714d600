# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: compose_services
short_description: Turn a docker-compose v3 document into containerops.fleet service definitions
version_added: 0.1.0
description:
  - Maps C(services.*.image), C(ports) (container port; the first published port becomes the load balancer port),
    C(environment), C(healthcheck) (a C(curl)/C(wget) probe of localhost becomes an HTTP health path that HAProxy
    checks too), C(command), C(volumes), C(labels), C(restart), C(networks), C(deploy.replicas),
    C(deploy.resources.limits), C(deploy.update_config) and C(deploy.restart_policy).
  - Anything else is reported by name and fails the conversion, unless listed in O(ignore).
positional: ignore
options:
  _input:
    description: The compose document (for example C(lookup('file', 'compose.yml') | from_yaml)).
    type: dict
    required: true
  ignore:
    description: Keys to drop on purpose, like V(build), V(depends_on) or V(services.web.logging).
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Deploy every service of a compose file across the container hosts
  ansible.builtin.include_role:
    name: containerops.fleet.service
  vars:
    service_definition: "{{ item }}"
  loop: "{{ lookup('ansible.builtin.file', 'compose.yml') | from_yaml | containerops.fleet.compose_services }}"
"""

RETURN = r"""
_value:
  description: Service definitions, as the C(containerops.fleet.service) role takes them.
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.containerops.fleet.plugins.module_utils.service.compose import ComposeError, convert


def compose_services(compose, ignore=None):
    try:
        return convert(compose, ignore)
    except ComposeError as exc:
        raise AnsibleFilterError(f"compose_services: {exc}") from exc


class FilterModule:
    def filters(self):
        return {"compose_services": compose_services}
