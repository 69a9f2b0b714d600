# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: service_definitions
short_description: Validate service definitions against the one service schema, defaults filled
version_added: 0.2.0
description:
  - Checks every service definition (C(fleet_services)) against the schema the C(containerops.fleet.container_service)
    module is built from, at every depth, on the controller - before any host is touched.
  - Every bad field is named by its full path, with the names allowed there and the likely one meant, for example
    C(fleet_services[web].healthcheck.http_pth) (did you mean C(http_path)?). All errors are reported at once.
    Service names must be unique.
  - Returns the definitions with the schema's defaults filled in at every depth.
options:
  _input:
    description: Service definitions.
    type: list
    elements: dict
    required: true
  where:
    description: What the list is called in messages.
    type: str
    default: fleet_services
"""

EXAMPLES = r"""
- name: Refuse a bad definition before any host is touched
  ansible.builtin.set_fact:
    fleet_services_checked: "{{ fleet_services | containerops.fleet.service_definitions }}"
  run_once: true
  delegate_to: localhost
"""

RETURN = r"""
_value:
  description: The definitions, defaults filled.
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.containerops.fleet.plugins.module_utils.service.schema import DefinitionError, validate


def service_definitions(services, where="fleet_services"):
    try:
        return validate(services, where)
    except DefinitionError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule:
    def filters(self):
        return {"service_definitions": service_definitions}
