# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: image_delivery
short_description: The containerops.fleet.container_image arguments that put a service's image on a host
version_added: 0.2.0
description:
  - With C(build) in the definition, the build host builds the image once and saves it to O(state_dir) on the
    controller; the other hosts load it where its image ID is missing.
  - With C(archive), every host loads that C(docker save) archive where the image ID is missing.
  - Otherwise the image is pulled with C(registry_auth) - when missing (C(pull=missing), the default) or every
    run (C(pull=always)) - or must already be on the host (C(pull=never)).
  - Relative C(build.context) and C(archive) paths are resolved against O(base_dir) (the inventory's directory).
options:
  _input:
    description: A service definition.
    type: dict
    required: true
  host:
    description: The host the image goes to.
    type: str
    required: true
  build_host:
    description: The host that builds.
    type: str
    required: true
  state_dir:
    description: The controller directory for archives (never inside the collection).
    type: str
    required: true
  base_dir:
    description: Where relative paths start (the inventory's directory).
    type: str
    required: true
  image:
    description: An image reference overriding the definition's (C(deploy.yml -e image=...)).
    type: str
"""

EXAMPLES = r"""
- name: The image arguments of web on this host
  ansible.builtin.debug:
    msg: >-
      {{ web | containerops.fleet.image_delivery(host=inventory_hostname, build_host='node1',
         state_dir='/var/cache/fleet', base_dir=inventory_dir) }}
"""

RETURN = r"""
_value:
  description: Arguments of C(containerops.fleet.container_image) (name, tags, source, build, archive_path, ...).
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.containerops.fleet.plugins.module_utils.image.delivery import DeliveryError, image_args


def image_delivery(definition, host, build_host, state_dir, base_dir, image=None):
    try:
        return image_args(
            definition, host=host, build_host=build_host, state_dir=state_dir, base_dir=base_dir, image=image
        )
    except DeliveryError as exc:
        raise AnsibleFilterError(f"fleet_services[{definition.get('name')}].{exc}") from None


class FilterModule:
    def filters(self):
        return {"image_delivery": image_delivery}
