#!/usr/bin/python
# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: container_service
short_description: Deploy a service as health-gated replicas with rolling updates and automatic rollback
version_added: 0.1.0
description:
  - Runs O(replicas) containers of a service on this host and keeps them converged to the spec.
  - Idempotent by a hash of the normalised spec (and the image ID) stored as a label on each container; a
    converged service is checked with one list call and reports C(changed=false).
  - Changes roll out in batches of O(update.parallelism). With O(update.order=start-first) a new replica is
    healthy before the old one stops. When new replicas fail their health check within O(update.monitor), the
    service is rolled back (old replicas were only stopped, never removed, until the rollout succeeded) and the
    task fails quoting the failing replica's health output and log tail.
  - Returns the endpoints actually running, the single source HAProxy, Prometheus and the autoscaler read
    (see the C(containerops.fleet.endpoints) filter).
  - Placement over several hosts is done by the C(containerops.fleet.placement) filter; here O(replicas) is this
    host's count.
  - Talks to the Docker Engine API over its unix socket with the Python standard library; nothing needs to be
    installed on the host besides the engine.
author:
  - containerops.fleet contributors (@containerops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - containerops.fleet.service
  - containerops.fleet.registry
  - containerops.fleet.engine
attributes:
  check_mode:
    support: full
    details: With O(platform=kubernetes) the prediction is the API server's dry run of the apply.
  diff_mode:
    support: full
  platform:
    platforms: posix
options:
  state:
    description:
      - V(present) converges the replicas, V(absent) removes them, V(restarted) restarts them in batches,
        waiting for health.
    type: str
    choices: [present, absent, restarted]
    default: present
  kubeconfig:
    description: O(platform=kubernetes) only. Path of the kubeconfig; default C($KUBECONFIG) or C(~/.kube/config).
    type: path
  context:
    description: O(platform=kubernetes) only. Kubeconfig context; default its current context.
    type: str
  namespace:
    description: O(platform=kubernetes) only. Namespace of the Deployment, Service and autoscaler.
    type: str
    default: default
  create_namespace:
    description:
      - O(platform=kubernetes) only. Create O(namespace) when it does not exist (and wait for its default
        ServiceAccount); without it a missing namespace fails the task, naming it. O(state=absent) never deletes it.
    type: bool
    default: false
  rollback_on_failure:
    description:
      - O(platform=kubernetes) only. When the rollout fails (ProgressDeadlineExceeded or the deadline passes),
        put the previous ReplicaSet's pod template back before failing.
    type: bool
    default: true
  keep_old:
    description:
      - Start and health-gate the new replicas but leave the replicas they replace, and those beyond O(replicas),
        running; they are returned in RV(retiring) instead of RV(endpoints). A later run without O(keep_old)
        removes them.
      - This lets a playbook add the new replicas to a load balancer and drain the old ones before they stop
        (see the C(rollout) entry point of the C(containerops.fleet.service) role). Needs O(update.order=start-first).
    type: bool
    default: false
  advertise_address:
    description: Address other hosts reach the replicas on; reported in the endpoints. Default the host's
      primary IPv4 address.
    type: str
  node_name:
    description: Host name reported in the endpoints; default the host's name. Playbooks pass C(inventory_hostname).
    type: str
  history_dir:
    description:
      - Directory on the host where each service's revision history (spec and image ID of every successful deploy)
        is kept, in C(<name>.json), mode 0600. Empty to keep none.
    type: path
    default: /var/lib/containerops-fleet/services
  history_limit:
    description:
      - Revisions kept per service.
      - Keep at least as many images (the C(keep) option of C(containerops.fleet.container_image)).
    type: int
    default: 5
  rollback_to:
    description:
      - Deploy a recorded revision instead of the given spec - V(previous) or a revision number (see RV(history)).
      - The recorded spec is deployed pinned to the recorded image ID, so no registry and no retagging are needed.
        Only O(replicas) is taken from the task. The rollback is recorded as a new revision.
    type: str
  revision:
    description:
      - O(platform=docker). Copy the running revision instead of the task's spec (C(scale.yml) and the autoscaler
        change only the count) - the spec label of a running replica, as C(containerops.fleet.container_service_facts)
        returns it in RV(containerops.fleet.container_service_facts#module:revisions).
      - What a replica is made of (image, command, env, ports, volumes, labels, health check, resources, restart
        policy, networks, metrics path) comes from it; O(replicas), O(bind_address) and O(update) from the task.
      - It was read back from a host, so every value is checked again like the task's own. Env values in it are
        digests; each is taken from O(env) when its digest matches, else from a running replica of the service on
        this host; a value neither has fails the task, naming the variable. A key the label lacks (written by an
        older release) keeps the task's value. On a host placed no replica it is not used.
      - Mutually exclusive with O(rollback_to).
    type: dict
  seal_key:
    description:
      - Key of the digests that stand for O(env) values in labels, history, diffs and the spec hash.
      - The C(containerops.fleet.service) role gives one kept on the controller (C(fleet_state_dir)/seal.key, made
        once, 0600), so every host and any swarm manager seals alike. Without it, a key kept on the host beside
        O(history_dir) is used (made once, 0600).
    type: str
  lock_timeout:
    description:
      - O(platform=docker). Seconds to wait for another change to the same service on this host (a deploy, a
        scale, a rollback, the autoscaler) to finish before failing. Changes to one service on one host never
        run at once; the lock is C(<name>.lock) in O(history_dir).
    type: int
    default: 600
notes:
  - The spec hash covers the image ID, so a rebuilt tag is rolled out like any other change.
  - O(replicas) and O(update) are not part of the hash; changing them never replaces a running replica.
seealso:
  - plugin: containerops.fleet.placement
    plugin_type: filter
  - plugin: containerops.fleet.endpoints
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Two replicas of the demo app on this host, health-gated, rolled back on failure
  containerops.fleet.container_service:
    name: web
    image: registry.example.net/shop/web:1.4.2
    replicas: 2
    ports:
      - container: 8000
    env:
      FLEET_DEMO_VERSION: "1"
    healthcheck:
      http_path: /healthz
      interval: 1
      retries: 3
    metrics_path: /metrics
    resources:
      cpus: 0.5
      memory: 256m
    update:
      parallelism: 1
      order: start-first
      monitor: 30
    advertise_address: "{{ ansible_host }}"
    node_name: "{{ inventory_hostname }}"
  register: web

- name: Publish this host's replicas for HAProxy and Prometheus
  ansible.builtin.set_fact:
    fleet_endpoints: "{{ web.endpoints }}"

- name: Remove the service
  containerops.fleet.container_service:
    name: web
    state: absent
"""

RETURN = r"""
endpoints:
  description:
    - The replicas running on this host after the task (O(platform=docker)).
    - With O(platform=swarm), one per running task of the service on any node (its node's address and published
      port); with O(platform=kubernetes), one per ready pod (pod IP and container port), or with O(lb) one per node
      running ready pods (its InternalIP and the node port of the first port, server C(<node>-<name>-nodeport)).
  returned: always
  type: list
  elements: dict
  contains:
    service: {description: Service name., type: str, returned: always}
    host: {description: O(node_name)., type: str, returned: always}
    address: {description: O(advertise_address)., type: str, returned: always}
    port: {description: Host port of the first published port., type: int, returned: always}
    container: {description: Container name., type: str, returned: always}
    replica: {description: Replica index., type: int, returned: always}
    spec_hash: {description: Spec hash the replica runs., type: str, returned: always}
    healthy: {description: Health at report time., type: bool, returned: always}
    health_path: {description: HTTP health path or null., type: str, returned: always}
    metrics_path: {description: Metrics path or null., type: str, returned: always}
ansible_facts:
  description: Facts set on the host.
  returned: success and O(platform=docker)
  type: dict
  contains:
    fleet_endpoints:
      description:
        - The endpoints of every containerops.fleet service on this host (not only this one), after the task.
        - The C(containerops.fleet.endpoints) filter gathers them from all hosts for HAProxy, Prometheus and the
          autoscaler.
      type: list
      elements: dict
      returned: success
retiring:
  description: With O(keep_old), the replicas left running that a later run removes (same keys as RV(endpoints)).
  returned: state=present
  type: list
  elements: dict
networks_created:
  description: The O(networks) this host's engine did not have and the task created (in check mode, would create).
  returned: when a network was missing (O(platform=docker))
  type: list
  elements: str
  sample: [backend]
spec_hash:
  description: Hash of the desired spec and image ID.
  returned: state=present
  type: str
  sample: 3f1c0a9be2d41177
plan:
  description: What was (or in check mode would be) done.
  returned: state=present
  type: dict
  contains:
    keep: {description: Replicas left running., type: list, elements: str, returned: platform=docker}
    create: {description: Indices of new replicas., type: list, elements: int, returned: platform=docker}
    replace: {description: Batches of replaced replicas., type: list, elements: list, returned: platform=docker}
    remove: {description: Replicas removed., type: list, elements: str, returned: platform=docker}
    action:
      description: V(create), V(update) or V(none) (the Swarm service or Kubernetes objects).
      type: str
      returned: platform=swarm or platform=kubernetes
    objects:
      description:
        - Kinds of the Kubernetes objects applied (or in check mode to be applied), in order; C(Namespace) first when
          O(create_namespace) creates it.
      type: list
      elements: str
      returned: platform=kubernetes
    update_order:
      description: Order Swarm replaces tasks in (V(stop-first) whenever host-mode ports are published).
      type: str
      returned: platform=swarm and changed
changed_fields:
  description: Spec fields that differ from what the running replicas were made from.
  returned: when replicas of an older spec run
  type: list
  elements: str
  sample: [env]
rolled_back:
  description: Whether a failed update was rolled back.
  returned: always
  type: bool
revision:
  description: The history revision the running replicas were made from.
  returned: state=present and O(history_dir) set
  type: int
  sample: 3
history:
  description: Recorded revisions, oldest first (without their specs).
  returned: state=present and O(history_dir) set
  type: list
  elements: dict
  contains:
    revision: {description: Revision number., type: int, returned: always}
    spec_hash: {description: Spec hash., type: str, returned: always}
    image_id: {description: Image ID the revision ran., type: str, returned: always}
    time: {description: When it was recorded (UTC)., type: str, returned: always}
removed:
  description: Containers removed.
  returned: state=absent
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.containerops.fleet.plugins.module_utils.engine.options import engine_options
from ansible_collections.containerops.fleet.plugins.module_utils.service.runner import run
from ansible_collections.containerops.fleet.plugins.module_utils.service.schema import module_options


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            **module_options(),
            **engine_options(),
            state=dict(type="str", default="present", choices=["present", "absent", "restarted"]),
            kubeconfig=dict(type="path"),
            context=dict(type="str"),
            namespace=dict(type="str", default="default"),
            create_namespace=dict(type="bool", default=False),
            rollback_on_failure=dict(type="bool", default=True),
            advertise_address=dict(type="str"),
            node_name=dict(type="str"),
            keep_old=dict(type="bool", default=False),
            history_dir=dict(type="path", default="/var/lib/containerops-fleet/services"),
            history_limit=dict(type="int", default=5),
            rollback_to=dict(type="str"),
            revision=dict(type="dict"),
            lock_timeout=dict(type="int", default=600),
            seal_key=dict(type="str", no_log=True),
        ),
        required_if=[("state", "present", ("image", "rollback_to"), True)],
        mutually_exclusive=[("revision", "rollback_to")],
        supports_check_mode=True,
    )
    run(module)


if __name__ == "__main__":
    main()
