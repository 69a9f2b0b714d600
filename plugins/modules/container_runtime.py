#!/usr/bin/python
# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: container_runtime
short_description: Install a container engine, merge its configuration, keep it healthy
version_added: 0.1.0
description:
  - Installs V(docker), V(containerd) or V(podman) from the distribution or from the vendor's apt repository,
    merges O(config) into the engine's configuration file, validates the result before it is used, restarts
    the engine only when its configuration changed, and verifies that the engine answers.
  - If the engine does not come back healthy after a configuration change, the previous configuration is
    restored, the engine restarted, and the task fails with the engine's own error output.
  - Needs only C(python3) (3.11 or later, for C(tomllib)) on the host. The collection's modules talk to Docker
    through a standard-library client, so nothing else (such as C(python3-docker)) is installed.
  - Supports the Debian OS family (Debian, Ubuntu).
author:
  - containerops.fleet contributors (@containerops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: On a host without the engine, reports what would be installed and does not fail.
  diff_mode:
    support: full
    details: Shows the configuration file before and after.
  platform:
    support: N/A
    platforms: debian
options:
  engine:
    description: The container engine.
    type: str
    choices: [docker, containerd, podman]
    default: docker
  state:
    description: V(present) installs and configures the engine, V(absent) removes its packages (configuration is kept).
    type: str
    choices: [present, absent]
    default: present
  source:
    description:
      - V(distro) installs the distribution's packages (C(docker.io), C(containerd), C(podman)).
      - V(upstream) adds the vendor's apt repository and signing key (C(download.docker.com), key in
        C(/etc/apt/keyrings/docker.asc)) and installs C(docker-ce) or C(containerd.io). podman has no
        vendor apt repository.
      - The downloaded signing key is refused, before anything is written, unless it is exactly the key with
        the fingerprint O(upstream_key_fingerprint).
    type: str
    choices: [distro, upstream]
    default: distro
  upstream_url:
    description:
      - With O(source=upstream), a mirror of C(https://download.docker.com/linux) with the same layout
        (C(<upstream_url>/<distro>/gpg), C(<upstream_url>/<distro>/dists/<codename>/stable)). Unset uses Docker's.
    type: str
  upstream_key_fingerprint:
    description:
      - With O(source=upstream), the full fingerprint (40 hex digits; spaces and case ignored) of the only key
        the repository's keyring may hold. Unset pins Docker's release key,
        V(9DC858229FC7DD38854AE2D88D81803C0EBFCD88).
      - Set it for a mirror that signs with its own key. A key with another fingerprint (or a file with more
        than one key) fails the task, showing the expected and the downloaded fingerprints.
      - A keyring already on the host with another key is fetched and checked again.
    type: str
  version:
    description:
      - Version of the engine package to install, exact (V(20.10.24+dfsg1-1+deb12u1+b6)), as a glob (V(20.10.*))
        or as the upstream part (V(20.10.24)). Unset accepts any installed version.
    type: str
  config:
    description:
      - Keys merged into the engine's configuration file, tables key by key; a key set to V(null) is removed.
      - docker C(/etc/docker/daemon.json), containerd C(/etc/containerd/config.toml) (layouts C(version = 2)
        and C(version = 3)), podman C(/etc/containers/containers.conf).
      - The file is written only when its content changes. Unknown keys, wrong types, unknown storage or log
        drivers, malformed addresses, and anything the engine's own check rejects fail the task before the
        file is touched.
      - The engine's API on TCP is refused unless clients must present a certificate (see
        O(allow_insecure_tcp)).
    type: dict
    default: {}
  allow_insecure_tcp:
    description:
      - The engine's API gives root on the host to whoever reaches it. By default a configuration that serves
        it on TCP without TLS client verification fails the task, naming the field and the fix. This holds for
        the merged file, so such a setting already in it fails too.
      - docker, a C(hosts) entry other than C(unix://) or C(fd://) (C(tcp://...), or C(host:port), which dockerd
        reads as TCP) needs C(tlsverify=true) with C(tlscacert), C(tlscert) and C(tlskey) in O(config).
      - containerd, C(grpc.tcp_address) needs C(grpc.tcp_tls_ca), C(grpc.tcp_tls_cert) and C(grpc.tcp_tls_key).
      - podman has no listen address in C(containers.conf) (its API is the C(podman.socket) unix socket).
      - V(true) accepts an API open on the network without client verification, for a network you trust
        completely.
    type: bool
    default: false
  users:
    description: Users added to the engine's group (docker only; the other engines have none).
    type: list
    elements: str
    default: []
  timeout:
    description: Seconds to wait for the engine to answer after a start or restart.
    type: int
    default: 60
notes:
  - podman is daemonless; its service is C(podman.socket) and a configuration change restarts C(podman.service)
    only when it runs.
  - podman on a host that is itself a container (read-only C(/proc/sys)) needs C(default_sysctls) set to an
    empty list in the C(containers) table of O(config); the C(overlay) storage driver (on a C(/var/lib/containers)
    volume) and the C(systemd) cgroup manager work there unchanged.
"""

EXAMPLES = r"""
- name: Docker from Debian, metrics on the private address, rotated logs
  containerops.fleet.container_runtime:
    engine: docker
    users: [deploy]
    config:
      metrics-addr: "{{ ansible_host }}:9323"
      log-driver: json-file
      log-opts:
        max-size: 10m
        max-file: "3"

- name: containerd with the systemd cgroup driver (config.toml version 2)
  containerops.fleet.container_runtime:
    engine: containerd
    config:
      plugins:
        io.containerd.grpc.v1.cri:
          containerd:
            runtimes:
              runc:
                options:
                  SystemdCgroup: true

- name: podman with cgroupfs
  containerops.fleet.container_runtime:
    engine: podman
    config:
      engine:
        cgroup_manager: cgroupfs

- name: Docker CE from Docker's own repository, pinned
  containerops.fleet.container_runtime:
    source: upstream
    version: "5:24.0.*"

- name: Docker CE from a mirror that signs with its own key
  containerops.fleet.container_runtime:
    source: upstream
    upstream_url: https://apt-mirror.example.net/docker/linux
    upstream_key_fingerprint: 0123456789ABCDEF0123456789ABCDEF01234567
"""

RETURN = r"""
runtime:
  description: The engine as it runs after the task (versions and drivers are null in check mode before install).
  returned: always
  type: dict
  contains:
    engine:
      description: The engine.
      type: str
      sample: docker
    service:
      description: The systemd unit that runs it.
      type: str
      sample: docker
    version:
      description: The engine's version as it reports it.
      type: str
      sample: 20.10.24+dfsg1
    storage_driver:
      description: Storage driver (docker, podman) or snapshotter (containerd).
      type: str
      sample: overlay2
    cgroup_driver:
      description: C(cgroupfs) or C(systemd).
      type: str
      sample: cgroupfs
    cgroup_version:
      description: C(1) or C(2).
      type: str
      sample: "1"
    config_path:
      description: The configuration file the module manages.
      type: str
      sample: /etc/docker/daemon.json
changed_keys:
  description: Dotted paths of the configuration keys that changed (would change in check mode).
  returned: always
  type: list
  elements: str
  sample: [log-opts.max-size, metrics-addr]
packages:
  description: Packages installed or removed (that would be, in check mode).
  returned: always
  type: dict
  contains:
    installed:
      description: Package arguments given to apt-get install.
      type: list
      elements: str
      sample: [docker.io]
    removed:
      description: Packages removed.
      type: list
      elements: str
      sample: []
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.containerops.fleet.plugins.module_utils.runtime.runner import run

ARGUMENT_SPEC = {
    "engine": {"type": "str", "choices": ["docker", "containerd", "podman"], "default": "docker"},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "source": {"type": "str", "choices": ["distro", "upstream"], "default": "distro"},
    "upstream_url": {"type": "str"},
    "upstream_key_fingerprint": {"type": "str", "no_log": False},  # public: a key's fingerprint
    "version": {"type": "str"},
    "config": {"type": "dict", "default": {}},
    "allow_insecure_tcp": {"type": "bool", "default": False},
    "users": {"type": "list", "elements": "str", "default": []},
    "timeout": {"type": "int", "default": 60},
}


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    run(module)


if __name__ == "__main__":
    main()
