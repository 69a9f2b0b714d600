#!/usr/bin/python
# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: autoscale
short_description: Decide a service's replica count from a metric, the way the Kubernetes HPA does
version_added: 0.1.0
description:
  - Decides how many replicas a service should run from a per-replica metric and a target. It does not deploy;
    a playbook redeploys with RV(desired_replicas) (see the collection's C(playbooks/autoscale.yml)).
  - The rules, as the Kubernetes Horizontal Pod Autoscaler applies them. C(ratio = metric / target); when
    C(|ratio - 1|) is at most O(tolerance) the recommendation is the current count, otherwise C(ceil(current x ratio)).
  - Below the current count, the result is the highest recommendation recorded in O(state_file) within
    O(scale_down_stabilization) seconds (this one included), capped at the current count, so a short dip does not
    remove replicas.
  - Above the current count, at most O(scale_up_limit) replicas are added per check.
  - The result is then clamped to [O(min_replicas), O(max_replicas)]. A current count outside that range is brought
    into it even without a usable metric.
  - A missing (V(null)), NaN, infinite or negative metric, one so large the recommendation overflows, a Prometheus
    that cannot be reached or answers no series, several series, NaN, or anything that is not its API's JSON answer
    (an HTML error page, a truncated or oversized body, a list where an object belongs, a sample without a value, ...)
    gives RV(decision=hold) with RV(reason) saying what was wrong; the module never scales on bad data.
  - Parameters out of range (O(min_replicas) > O(max_replicas), O(target_value) <= 0, ...) fail with a message naming
    the parameter. So do a query Prometheus rejects as malformed, a bad O(prometheus_url) and bad credentials.
  - Credentials never appear in RV(reason), messages, O(state_file) or O(audit_log).
  - >-
    The module changes nothing on hosts. C(changed) reports that the decision changes the replica count
    (RV(decision) is not V(hold)), so C(when: result is changed) triggers a redeploy. Writing O(state_file) and
    O(audit_log) is bookkeeping and does not count as a change.
author:
  - containerops.fleet contributors (@containerops)
options:
  service:
    description:
      - Service name. Keys the service's history in O(state_file) (so services may share one file) and names the
        service in O(audit_log).
    type: str
  current_replicas:
    description: Replicas running now.
    type: int
    required: true
  target_value:
    description: The per-replica metric value to aim for, for example V(50) requests per second per replica; > 0.
    type: float
    required: true
  metric_value:
    description:
      - The current per-replica average of the metric.
      - V(null) means the metric is missing (the decision holds).
      - Exactly one of O(metric_value) and O(prometheus_url) must be given.
    type: float
  prometheus_url:
    description:
      - Base URL of a Prometheus server, for example V(http://mon1:9090). O(query) is evaluated there as an instant
        query (C(/api/v1/query)).
      - V(http) or V(https), a host name or IP address (IPv6 in brackets), an optional port and path prefix; no query,
        fragment, spaces, quotes or control characters.
      - Credentials inside the URL (V(http://user:pass@host)) are refused; use O(prometheus_username) and
        O(prometheus_password), or O(prometheus_bearer_token).
      - Exactly one of O(metric_value) and O(prometheus_url) must be given.
    type: str
  prometheus_username:
    description:
      - User name for HTTP basic authentication to O(prometheus_url), sent in an C(Authorization) header (never along
        a redirect). Printable ASCII without C(:) or spaces.
      - Requires O(prometheus_password).
    type: str
  prometheus_password:
    description:
      - Password for HTTP basic authentication (with O(prometheus_username)); no control characters.
    type: str
  prometheus_bearer_token:
    description:
      - 'Bearer token sent as C(Authorization: Bearer <token>) to O(prometheus_url) (never along a redirect).'
      - Mutually exclusive with O(prometheus_username) and O(prometheus_password).
    type: str
  query:
    description:
      - PromQL expression returning one series (or a scalar) whose value is the per-replica average,
        for example V(avg(rate(fleet_demo_requests_total{service="web"}[1m]\)\)).
      - Required with O(prometheus_url).
    type: str
  prometheus_timeout:
    description: Seconds to wait for Prometheus; a timeout holds.
    type: float
    default: 10
  validate_certs:
    description: Verify the TLS certificate of an V(https) O(prometheus_url).
    type: bool
    default: true
  min_replicas:
    description: Fewest replicas to run; at least V(1).
    type: int
    default: 1
  max_replicas:
    description: Most replicas to run; at least O(min_replicas).
    type: int
    required: true
  tolerance:
    description: No scaling while the metric is within this fraction of the target (V(0.1) is 10 %).
    type: float
    default: 0.1
  scale_down_stabilization:
    description:
      - Seconds of recommendations considered before removing replicas; the highest one wins.
      - Needs O(state_file) to remember earlier checks (the module warns when it is not set).
    type: int
    default: 300
  scale_up_limit:
    description:
      - Most replicas one check may add.
      - Default C(max(current_replicas, 4)), the HPA's default, so one check ends with at most
        C(max(2 x current, current + 4)) replicas.
    type: int
  state_file:
    description:
      - JSON file recording each recommendation with its time, per O(service); entries older than
        O(scale_down_stabilization) are pruned on each write.
      - Written atomically (temporary file and rename), mode C(0600); its directory is created (C(0700)) if missing.
      - Not written in check mode.
    type: path
  audit_log:
    description:
      - File to which one JSON line per decision is appended, with C(time), C(service), C(metric), C(current),
        C(desired), C(decision) and C(reason). Created with mode C(0640).
      - Not written in check mode.
    type: path
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Decides and reports as in a real run; writes neither O(state_file) nor O(audit_log).
  diff_mode:
    support: full
    details: Shows the replica count before and after the decision.
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Decide from a number computed elsewhere
  containerops.fleet.autoscale:
    service: web
    current_replicas: 2
    metric_value: 180
    target_value: 100
    min_replicas: 1
    max_replicas: 10
  register: web_scale
  # -> desired_replicas: 4, decision: scale_up

- name: Decide from Prometheus, remembering recommendations and auditing every decision
  containerops.fleet.autoscale:
    service: web
    current_replicas: "{{ web_endpoints | length }}"
    prometheus_url: http://mon1:9090
    query: avg(rate(fleet_demo_requests_total{service="web"}[1m]))
    target_value: 5
    min_replicas: 1
    max_replicas: 6
    scale_down_stabilization: 300
    state_file: /var/lib/fleet-autoscaler/state.json
    audit_log: /var/log/fleet-autoscaler/decisions.log
  register: web_scale

- name: Decide from a Prometheus behind basic authentication
  containerops.fleet.autoscale:
    service: web
    current_replicas: 2
    prometheus_url: https://mon1.example.net/prometheus
    prometheus_username: fleet
    prometheus_password: "{{ vault_prometheus_password }}"
    query: avg(rate(fleet_demo_requests_total{service="web"}[1m]))
    target_value: 5
    max_replicas: 6
  register: web_scale

- name: Redeploy with the new count when the decision changes it
  ansible.builtin.include_tasks: tasks/redeploy_service.yml
  vars:
    service_replicas: "{{ web_scale.desired_replicas }}"
  when: web_scale is changed
"""

RETURN = r"""
desired_replicas:
  description: The replica count to run.
  returned: success
  type: int
  sample: 4
current_replicas:
  description: The O(current_replicas) the decision started from.
  returned: success
  type: int
  sample: 2
decision:
  description: V(scale_up), V(scale_down) or V(hold) (RV(desired_replicas) equals O(current_replicas)).
  returned: success
  type: str
  sample: scale_up
reason:
  description: Why, in one line, naming the metric, the target and the rule that decided.
  returned: success
  type: str
  sample: "scale_up 2 -> 4: metric 180 vs target 100 (ratio 1.800, tolerance 0.1) recommends 4"
metric_value:
  description: The metric the decision used; V(null) when none was usable.
  returned: success
  type: float
  sample: 180.0
recommendation:
  description:
    - The raw recommendation before stabilization, scale-up limit and clamping (what O(state_file) records);
      V(null) when no metric was usable.
  returned: success
  type: int
  sample: 4
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.containerops.fleet.plugins.module_utils.autoscale.runner import run

ARGUMENT_SPEC = {
    "service": {"type": "str"},
    "current_replicas": {"type": "int", "required": True},
    "target_value": {"type": "float", "required": True},
    "metric_value": {"type": "float"},
    "prometheus_url": {"type": "str"},
    "prometheus_username": {"type": "str"},
    "prometheus_password": {"type": "str", "no_log": True},
    "prometheus_bearer_token": {"type": "str", "no_log": True},
    "query": {"type": "str"},
    "prometheus_timeout": {"type": "float", "default": 10},
    "validate_certs": {"type": "bool", "default": True},
    "min_replicas": {"type": "int", "default": 1},
    "max_replicas": {"type": "int", "required": True},
    "tolerance": {"type": "float", "default": 0.1},
    "scale_down_stabilization": {"type": "int", "default": 300},
    "scale_up_limit": {"type": "int"},
    "state_file": {"type": "path"},
    "audit_log": {"type": "path"},
}


def main() -> None:
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        mutually_exclusive=[
            ("metric_value", "prometheus_url"),
            ("prometheus_bearer_token", "prometheus_username"),
            ("prometheus_bearer_token", "prometheus_password"),
        ],
        required_one_of=[("metric_value", "prometheus_url")],
        required_together=[("prometheus_url", "query"), ("prometheus_username", "prometheus_password")],
        required_by={
            "prometheus_username": "prometheus_url",
            "prometheus_password": "prometheus_url",
            "prometheus_bearer_token": "prometheus_url",
        },
        supports_check_mode=True,
    )
    run(module)


if __name__ == "__main__":
    main()
