# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The containerops.fleet.autoscale module's work: read the metric, decide, record, report.

`check(params, ...)` does it all from the module's parameters and returns the result dict;
`run(module)` is the only place errors become fail_json.  Credentials (prometheus_password,
prometheus_bearer_token, anything given inside prometheus_url) never reach a result, a message, the
state file or the audit log: the client never puts them in a message, and `scrub` masks them anyway.
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
    validate,
)
from ansible_collections.containerops.fleet.plugins.module_utils.autoscale.prometheus import (
    BadQuery,
    MetricUnavailable,
    query_value,
    url_secrets,
)

DEFAULT_KEY = "default"
MASK = "********"


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
                    username=params.get("prometheus_username"),
                    password=params.get("prometheus_password"),
                    bearer_token=params.get("prometheus_bearer_token"),
                ),
                None,
            )
        except MetricUnavailable as exc:
            return None, str(exc)
    return params.get("metric_value"), None


def secrets(params: dict[str, Any]) -> list[str]:
    """Every credential the parameters hold (longest first), to be masked in whatever leaves the module."""
    found = [params.get("prometheus_password"), params.get("prometheus_bearer_token")]
    found += url_secrets(params.get("prometheus_url"))
    return sorted({s for s in found if isinstance(s, str) and s}, key=len, reverse=True)


def scrub(text: str, params: dict[str, Any]) -> str:
    """`text` with every credential of `params` masked (defence in depth: no message is built with one)."""
    for secret in secrets(params):
        text = text.replace(secret, MASK)
    return text


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

    why_unavailable = None if unavailable is None else scrub(unavailable, params)
    decision = decide(current, metric, limits, recent, metric_error=why_unavailable)
    usable = metric if decision.recommendation is not None else None  # None: the decision could not use it

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
    # Credentials given inside prometheus_url are refused below; hide them from every output (invocation included).
    module.no_log_values.update(url_secrets(params.get("prometheus_url")))
    if not params.get("state_file") and params["scale_down_stabilization"] > 0:
        module.warn(
            "scale_down_stabilization has no memory without state_file: every check stands alone, "
            "so a short dip removes replicas; set state_file"
        )
    try:
        result = check(params, check_mode=module.check_mode)
    except (AutoscaleError, BadQuery, HistoryError) as exc:
        module.fail_json(msg=scrub(str(exc), params))
    if not module._diff:
        result.pop("diff")
    module.exit_json(**result)
