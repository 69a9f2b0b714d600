# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: running_image
short_description: The image a service's running replicas were deployed with
version_added: 0.2.0
description:
  - From endpoints (see the C(containerops.fleet.endpoints) filter), the image reference most running replicas of
    the service were deployed with, or V(null) when none runs.
  - C(scale.yml) and the autoscaler deploy with it, so changing the count never undoes C(deploy.yml -e image=...).
positional: service
options:
  _input:
    description: Endpoints of every host.
    type: list
    elements: dict
    required: true
  service:
    description: The service name.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: What web runs now
  ansible.builtin.debug:
    msg: >-
      {{ groups['container_hosts'] | containerops.fleet.endpoints(hostvars)
         | containerops.fleet.running_image('web') }}
"""

RETURN = r"""
_value:
  description: The image reference, or null.
  type: str
"""

from ansible_collections.containerops.fleet.plugins.module_utils.service.endpoints import running_image


class FilterModule:
    def filters(self):
        return {"running_image": running_image}
