#!/usr/bin/python
# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: haproxy_server
short_description: Enable, drain, disable, add or remove an HAProxy server at runtime, and keep it that way
version_added: 0.1.0
description:
  - Runs on the load balancer and talks to HAProxy's admin socket (C(level admin)) with the Python standard library.
  - Reads the server's current state first (C(show servers state)) and sends only the commands needed, so a
    second run reports C(changed=false).
  - O(state=present) adds a server at runtime (C(add server), HAProxy 2.6+) with the backend's C(default-server)
    options (health checks included), O(state=absent) puts it in maintenance, waits until it has no sessions and
    deletes it.
  - Changes survive reloads. Admin state and weight are written to the server state file the
    C(containerops.fleet.haproxy) role loads on reload (C(server-state-file), C(load-server-state-from-file));
    added, removed or moved servers are written to the backend's C(server) lines in the configuration file, which
    is checked with C(haproxy -c) before it replaces the old one.
author:
  - containerops.fleet contributors (@containerops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads the server state and reports the commands it would send; sends none and writes no file.
  diff_mode:
    support: full
    details: The server (address, port, admin state, weight) before and after.
  platform:
    platforms: posix
options:
  backend:
    description: Backend name (the service name with the C(containerops.fleet.haproxy) role).
    type: str
    required: true
  name:
    description: Server name (C(<host>-<container>) with the C(containerops.fleet.haproxy) role).
    type: str
    required: true
    aliases: [server]
  state:
    description:
      - V(enabled) takes traffic, V(drain) keeps its sessions but gets no new ones, V(disabled) is maintenance.
      - V(present) makes the server exist at O(address):O(port) (added enabled when missing; an existing server
        keeps its admin state). V(absent) removes it once it has no sessions left.
    type: str
    choices: [enabled, disabled, drain, present, absent]
    default: enabled
  address:
    description: Server address; required with O(state=present). Changes the address of an existing server.
    type: str
  port:
    description: Server port; required with O(state=present).
    type: int
  weight:
    description: Server weight (0-256).
    type: int
  wait:
    description:
      - Wait until the change took effect. With V(drain) and V(disabled), until the server has no sessions left;
        with V(enabled) and V(present), until it passes its health check (UP).
      - V(absent) always waits for the sessions to end before it deletes the server.
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait before failing.
    type: int
    default: 60
  socket:
    description: HAProxy admin socket.
    type: path
    default: /run/haproxy/admin.sock
  persist:
    description: Write the change to O(config_file) and O(state_file) so that a reload keeps it.
    type: bool
    default: true
  config_file:
    description: HAProxy configuration file whose C(server) lines follow added, moved and removed servers.
    type: path
    default: /etc/haproxy/haproxy.cfg
  state_file:
    description: Server state file (C(server-state-file)) refreshed after every change.
    type: path
    default: /var/lib/haproxy/server-state
notes:
  - Dynamic servers (O(state=present) for a server the configuration does not have) need a dynamic balance algorithm
    (not V(static-rr) or a non-consistent hash), as HAProxy documents for C(add server).
seealso:
  - name: HAProxy runtime API
    description: The commands this module sends.
    link: https://docs.haproxy.org/2.6/management.html#9.3
"""

EXAMPLES = r"""
- name: Drain a replica before stopping it, waiting until its last session ends
  containerops.fleet.haproxy_server:
    backend: web
    name: node1-web-1
    state: drain
    wait: true
    wait_timeout: 120

- name: Put it back into rotation once healthy
  containerops.fleet.haproxy_server:
    backend: web
    name: node1-web-1
    state: enabled
    wait: true

- name: Add a new replica without a reload
  containerops.fleet.haproxy_server:
    backend: web
    name: node2-web-3
    state: present
    address: 172.18.0.6
    port: 8003
    weight: 10

- name: Remove a replica
  containerops.fleet.haproxy_server:
    backend: web
    name: node2-web-3
    state: absent
"""

RETURN = r"""
server:
  description: The server after the change (predicted in check mode).
  returned: always
  type: dict
  contains:
    exists:
      description: Whether the server exists.
      type: bool
    address:
      description: Server address.
      type: str
    port:
      description: Server port.
      type: int
    state:
      description: Admin state, V(ready), V(drain) or V(maint).
      type: str
    weight:
      description: Current weight.
      type: int
  sample: {"exists": true, "address": "172.18.0.2", "port": 8001, "state": "drain", "weight": 1}
commands:
  description: Runtime API commands sent (in check mode, that would be sent).
  returned: always
  type: list
  elements: str
  sample: ["set server web/node1-web-1 state drain"]
config_changed:
  description: Whether the configuration file's server lines were (or would be) rewritten.
  returned: always
  type: bool
diff:
  description: Server before and after, with diff mode.
  returned: when diff mode is on
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.containerops.fleet.plugins.module_utils.haproxy.runner import run


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            backend=dict(type="str", required=True),
            name=dict(type="str", required=True, aliases=["server"]),
            state=dict(type="str", default="enabled", choices=["enabled", "disabled", "drain", "present", "absent"]),
            address=dict(type="str"),
            port=dict(type="int"),
            weight=dict(type="int"),
            wait=dict(type="bool", default=False),
            wait_timeout=dict(type="int", default=60),
            socket=dict(type="path", default="/run/haproxy/admin.sock"),
            persist=dict(type="bool", default=True),
            config_file=dict(type="path", default="/etc/haproxy/haproxy.cfg"),
            state_file=dict(type="path", default="/var/lib/haproxy/server-state"),
        ),
        required_if=[("state", "present", ("address", "port"))],
        required_together=[("address", "port")],
        supports_check_mode=True,
    )
    run(module)


if __name__ == "__main__":
    main()
