# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The containerops.fleet.autoscale module's work: read the metric, decide, record, report.

`check(params, ...)` does it all from the module's parameters and returns the result dict;
`run(module)` is the only place errors become fail_json.
"""

from __future__ import annotations

import time
from typing import Any

from ansible_collections.containerops.fleet.plugins.module_utils.autoscale.history import (
    HistoryError,
    append_line,
    load,
    record,
    save,
    within_window,
)
from ansible_collections.containerops.fleet.plugins.module_utils.autoscale.hpa import (
    HOLD,
    AutoscaleError,
    Limits,
    audit_record,
    decide,
    metric_problem,
    validate,
)
from ansible_collections.containerops.fleet.plugins.module_utils.autoscale.prometheus import (
    BadQuery,
    MetricUnavailable,
    query_value,
)

DEFAULT_KEY = "default"


def limits_from(params: dict[str, Any]) -> Limits:
    return Limits(
        min_replicas=params["min_replicas"],
        max_replicas=params["max_replicas"],
        target_value=params["target_value"],
        tolerance=params["tolerance"],
        scale_down_stabilization=params["scale_down_stabilization"],
        scale_up_limit=params.get("scale_up_limit"),
    )


def read_metric(params: dict[str, Any]) -> tuple[float | None, str | None]:
    """(metric, why it is unavailable).  A rejected query raises BadQuery."""
    if params.get("prometheus_url"):
        try:
            return (
                query_value(
                    params["prometheus_url"],
                    params["query"],
                    timeout=params.get("prometheus_timeout") or 10.0,
                    validate_certs=params.get("validate_certs", True),
                ),
                None,
            )
        except MetricUnavailable as exc:
            return None, str(exc)
    return params.get("metric_value"), None


def check(params: dict[str, Any], check_mode: bool = False, now: float | None = None) -> dict[str, Any]:
    """Decide for one service; write state_file and audit_log unless check_mode."""
    now = time.time() if now is None else now
    current = params["current_replicas"]
    limits = limits_from(params)
    validate(current, limits)  # before any network call
    metric, unavailable = read_metric(params)

    key = params.get("service") or DEFAULT_KEY
    state_file = params.get("state_file")
    history = load(state_file) if state_file else {}
    window = limits.scale_down_stabilization
    recent = [count for _when, count in within_window(history.get(key, []), now, window)]

    decision = decide(current, metric, limits, recent, metric_error=unavailable)
    usable = metric if unavailable is None and metric_problem(metric) is None else None

    if not check_mode:
        if state_file and decision.recommendation is not None:
            save(state_file, record(history, key, decision.recommendation, now, window))
        if params.get("audit_log"):
            line = audit_record(
                service=params.get("service"),
                metric_value=usable,
                current_replicas=current,
                decision=decision,
                now=now,
            )
            append_line(params["audit_log"], line)

    return {
        "changed": decision.decision != HOLD,
        "desired_replicas": decision.desired_replicas,
        "current_replicas": current,
        "decision": decision.decision,
        "reason": decision.reason,
        "metric_value": usable,
        "recommendation": decision.recommendation,
        "diff": {"before": {"replicas": current}, "after": {"replicas": decision.desired_replicas}},
    }


def run(module) -> None:
    """Module entry point: the one place an error becomes fail_json."""
    params = module.params
    if not params.get("state_file") and params["scale_down_stabilization"] > 0:
        module.warn(
            "scale_down_stabilization has no memory without state_file: every check stands alone, "
            "so a short dip removes replicas; set state_file"
        )
    try:
        result = check(params, check_mode=module.check_mode)
    except (AutoscaleError, BadQuery, HistoryError) as exc:
        module.fail_json(msg=str(exc))
    if not module._diff:
        result.pop("diff")
    module.exit_json(**result)
