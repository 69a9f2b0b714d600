# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: haproxy_certificates
short_description: The TLS certificates of the load balancer, checked, without their keys
version_added: 0.2.0
description:
  - Checks each certificate's C(name) (its file name), that C(cert) and C(key) are PEM and that its C(sni) names
    are host names, and returns where each goes and which names select it. The keys are never returned or shown.
  - The first certificate is the default one (served to clients that send no or an unknown SNI name).
positional: directory
options:
  _input:
    description: Certificates, each C(name), C(cert) (PEM), C(key) (PEM) and optionally C(sni) (host names).
    type: list
    elements: dict
    required: true
  directory:
    description: Directory the combined PEM files go into.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Where the certificates go
  ansible.builtin.debug:
    msg: "{{ haproxy_tls_certificates | containerops.fleet.haproxy_certificates('/etc/haproxy/certs') }}"
"""

RETURN = r"""
_value:
  description: One dict per certificate with C(name), C(file) and C(sni).
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.containerops.fleet.plugins.module_utils.haproxy.config import (
    HaproxyConfigError,
    tls_certificates,
)


def haproxy_certificates(certificates, directory):
    try:
        return tls_certificates(certificates, directory)
    except HaproxyConfigError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule:
    def filters(self):
        return {"haproxy_certificates": haproxy_certificates}
