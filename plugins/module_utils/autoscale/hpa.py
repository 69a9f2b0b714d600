# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Autoscaling decisions, the way the Kubernetes HPA makes them (pure functions, no I/O).

ratio = metric / target
|ratio - 1| <= tolerance        -> recommendation = current
otherwise                       -> recommendation = ceil(current * ratio)
recommendation < current        -> highest recommendation in the scale-down window (this one
                                   included), capped at current
recommendation > current        -> at most current + scale_up_limit (default max(current, 4):
                                   at most max(2 x current, current + 4) after one check)
then clamped to [min_replicas, max_replicas]; a current count outside the range is brought
into it even when there is no usable metric.
missing / NaN / infinite / negative metric, or one so large the recommendation overflows -> hold (after the
clamp), reason says why.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

SCALE_UP = "scale_up"
SCALE_DOWN = "scale_down"
HOLD = "hold"

DEFAULT_TOLERANCE = 0.1
DEFAULT_SCALE_DOWN_STABILIZATION = 300
_EPSILON = 1e-9  # float noise: 10 * 30 / 100 must recommend 3, not 4


class AutoscaleError(ValueError):
    """A parameter is out of range; the message names it and says what to change."""


@dataclass(frozen=True)
class Limits:
    """The per-service bounds a decision respects."""

    min_replicas: int
    max_replicas: int
    target_value: float
    tolerance: float = DEFAULT_TOLERANCE
    scale_down_stabilization: float = DEFAULT_SCALE_DOWN_STABILIZATION
    scale_up_limit: int | None = None


@dataclass(frozen=True)
class Decision:
    """What to do.  `recommendation` is the raw one (None without a usable metric): record it."""

    desired_replicas: int
    decision: str
    reason: str
    recommendation: int | None


def validate(current_replicas: int, limits: Limits) -> None:
    """Raise AutoscaleError naming the first bad field."""
    if not _whole(current_replicas) or current_replicas < 0:
        raise AutoscaleError(f"current_replicas: {current_replicas!r} must be a whole number >= 0")
    if not _whole(limits.min_replicas) or limits.min_replicas < 1:
        raise AutoscaleError(f"min_replicas: {limits.min_replicas!r} must be a whole number >= 1")
    if not _whole(limits.max_replicas) or limits.max_replicas < limits.min_replicas:
        raise AutoscaleError(
            f"max_replicas: {limits.max_replicas!r} is below min_replicas {limits.min_replicas}; "
            "raise max_replicas or lower min_replicas"
        )
    if not _finite(limits.target_value) or limits.target_value <= 0:
        raise AutoscaleError(
            f"target_value: {limits.target_value!r} must be a number > 0 (the per-replica metric value to aim for)"
        )
    if not _finite(limits.tolerance) or limits.tolerance < 0:
        raise AutoscaleError(f"tolerance: {limits.tolerance!r} must be a number >= 0, e.g. 0.1 for 10%")
    if not _finite(limits.scale_down_stabilization) or limits.scale_down_stabilization < 0:
        raise AutoscaleError(f"scale_down_stabilization: {limits.scale_down_stabilization!r} must be seconds >= 0")
    if limits.scale_up_limit is not None and (not _whole(limits.scale_up_limit) or limits.scale_up_limit < 1):
        raise AutoscaleError(
            f"scale_up_limit: {limits.scale_up_limit!r} must be a whole number >= 1 (replicas added per check)"
        )


def default_scale_up_limit(current_replicas: int) -> int:
    """Replicas one check may add by default: the HPA's max(100 %, 4 pods)."""
    return max(current_replicas, 4)


def metric_problem(metric_value: float | None) -> str | None:
    """Why the metric cannot be used, or None when it can."""
    if metric_value is None:
        return "no metric value"
    if isinstance(metric_value, bool) or not isinstance(metric_value, (int, float)):
        return f"metric value {metric_value!r} is not a number"
    if math.isnan(metric_value):
        return "metric value is NaN"
    if math.isinf(metric_value):
        return f"metric value is {metric_value}"
    if metric_value < 0:
        return f"metric value {_num(metric_value)} is negative"
    return None


def recommend(current_replicas: int, metric_value: float, target_value: float, tolerance: float) -> int:
    """The raw recommendation: current within tolerance, else ceil(current * metric / target)."""
    ratio = metric_value / target_value
    if abs(ratio - 1.0) <= tolerance + _EPSILON:
        return current_replicas
    return max(0, math.ceil(current_replicas * metric_value / target_value - _EPSILON))


def decide(
    current_replicas: int,
    metric_value: float | None,
    limits: Limits,
    history: Iterable[int] = (),
    metric_error: str | None = None,
) -> Decision:
    """The decision for one check.

    `history`: the recommendations recorded within the scale-down window before this check.
    `metric_error`: why no metric could be read (e.g. Prometheus unreachable); forces a hold.
    """
    validate(current_replicas, limits)
    problem = metric_error or metric_problem(metric_value)
    current = current_replicas
    if problem is not None:
        return _clamped(current, current, limits, None, f"{problem}; not scaling on bad data")

    if metric_value is None:  # metric_problem() returned None, so this cannot happen; it narrows the type
        raise AutoscaleError("metric_value: missing")
    ratio = metric_value / limits.target_value
    if not all(math.isfinite(x) for x in (ratio, current * ratio, current * metric_value / limits.target_value)):
        why = f"metric value {_num(metric_value)} is too large for target {_num(limits.target_value)} (overflows)"
        return _clamped(current, current, limits, None, f"{why}; not scaling on bad data")
    rec = recommend(current, metric_value, limits.target_value, limits.tolerance)
    seen = (
        f"metric {_num(metric_value)} vs target {_num(limits.target_value)} "
        f"(ratio {ratio:.3f}, tolerance {_num(limits.tolerance)})"
    )
    if rec == current:
        if abs(ratio - 1.0) <= limits.tolerance + _EPSILON:
            why = f"{seen} is within tolerance"
        else:
            why = f"{seen} recommends {rec}, the current count"
        return _clamped(current, current, limits, rec, why)
    if rec < current:
        window = [rec, *history]
        highest = max(window)
        desired = min(current, highest)
        why = f"{seen} recommends {rec}"
        if desired == current:
            why += (
                f"; held at {current} by the scale-down stabilization "
                f"(highest recommendation in the last {_num(limits.scale_down_stabilization)} s is {highest})"
            )
        elif desired > rec:
            why += (
                f"; stabilized to {desired}, the highest recommendation in the last "
                f"{_num(limits.scale_down_stabilization)} s"
            )
        return _clamped(current, desired, limits, rec, why)
    step = limits.scale_up_limit if limits.scale_up_limit is not None else default_scale_up_limit(current)
    desired = min(rec, current + step)
    why = f"{seen} recommends {rec}"
    if desired < rec:
        why += f"; limited to {desired} (scale_up_limit: at most {step} more per check)"
    return _clamped(current, desired, limits, rec, why)


def audit_record(
    *,
    service: str | None,
    metric_value: float | None,
    current_replicas: int,
    decision: Decision,
    now: float,
) -> str:
    """One JSON line (no newline) for the audit log."""
    metric = metric_value if metric_problem(metric_value) is None else None
    return json.dumps(
        {
            "time": datetime.fromtimestamp(now, tz=timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "service": service,
            "metric": metric,
            "current": current_replicas,
            "desired": decision.desired_replicas,
            "decision": decision.decision,
            "reason": decision.reason,
        },
        sort_keys=False,
    )


# ---------------------------------------------------------------------------------------------- helpers


def _clamped(current: int, desired: int, limits: Limits, rec: int | None, why: str) -> Decision:
    bounded = min(max(desired, limits.min_replicas), limits.max_replicas)
    if bounded != desired:
        if current < limits.min_replicas and bounded == limits.min_replicas:
            why += f"; current {current} is below min_replicas {limits.min_replicas}"
        elif current > limits.max_replicas and bounded == limits.max_replicas:
            why += f"; current {current} is above max_replicas {limits.max_replicas}"
        elif bounded == limits.min_replicas:
            why += f"; raised to min_replicas {limits.min_replicas}"
        else:
            why += f"; capped at max_replicas {limits.max_replicas}"
    if bounded > current:
        verdict = SCALE_UP
    elif bounded < current:
        verdict = SCALE_DOWN
    else:
        verdict = HOLD
    prefix = f"hold at {current}" if verdict == HOLD else f"{verdict} {current} -> {bounded}"
    return Decision(bounded, verdict, f"{prefix}: {why}", rec)


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _num(value: float) -> str:
    return f"{value:g}"
