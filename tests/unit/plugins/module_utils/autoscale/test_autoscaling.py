# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decision table for the HPA rules (plugins/module_utils/autoscale/hpa.py)."""

from __future__ import annotations

import json
import math

import pytest

from ansible_collections.containerops.fleet.plugins.module_utils.autoscale.hpa import (
    HOLD,
    SCALE_DOWN,
    SCALE_UP,
    AutoscaleError,
    Decision,
    Limits,
    audit_record,
    decide,
    default_scale_up_limit,
    recommend,
)

L = Limits(min_replicas=1, max_replicas=20, target_value=100)


# --------------------------------------------------------------------------- ratio and tolerance


@pytest.mark.parametrize(
    ("current", "metric", "expected"),
    [
        (4, 100, 4),  # on target
        (4, 110, 4),  # +10 %: the edge of the tolerance is still inside
        (4, 90, 4),  # -10 %
        (4, 111, 5),  # just outside: ceil(4.44)
        (4, 150, 6),
        (4, 50, 2),
        (10, 30, 3),  # 10 * 0.3 is 3.0000000000000004 in floats: still 3
        (3, 0, 0),
        (2, 250, 5),
    ],
)
def test_recommendation_is_ceil_of_current_times_ratio_outside_tolerance(current, metric, expected):
    assert recommend(current, metric, 100, 0.1) == expected


def test_zero_tolerance_scales_on_any_deviation():
    assert recommend(4, 101, 100, 0.0) == 5
    assert recommend(4, 100, 100, 0.0) == 4


def test_within_tolerance_holds_and_says_so():
    d = decide(4, 105, L)
    assert (d.desired_replicas, d.decision, d.recommendation) == (4, HOLD, 4)
    assert d.reason == "hold at 4: metric 105 vs target 100 (ratio 1.050, tolerance 0.1) is within tolerance"


def test_scale_up_by_ratio():
    d = decide(2, 180, L)
    assert d == Decision(
        4, SCALE_UP, "scale_up 2 -> 4: metric 180 vs target 100 (ratio 1.800, tolerance 0.1) recommends 4", 4
    )


# --------------------------------------------------------------------------- scale-up limit


def test_default_scale_up_limit_is_max_of_double_and_plus_four():
    assert [c + default_scale_up_limit(c) for c in (0, 1, 2, 4, 5, 10)] == [4, 5, 6, 8, 10, 20]


@pytest.mark.parametrize(
    ("current", "metric", "desired"),
    [
        (1, 1000, 5),  # recommends 10; 1 + 4
        (2, 1000, 6),  # recommends 20; 2 + 4
        (6, 1000, 12),  # recommends 60; 2 x 6
        (3, 200, 6),  # recommends 6; within the limit
    ],
)
def test_scale_up_is_capped_by_the_default_limit(current, metric, desired):
    d = decide(current, metric, Limits(1, 100, 100))
    assert (d.desired_replicas, d.decision) == (desired, SCALE_UP)
    if d.recommendation != desired:
        assert f"limited to {desired}" in d.reason


def test_explicit_scale_up_limit_is_replicas_added_per_check():
    d = decide(2, 1000, Limits(1, 100, 100, scale_up_limit=1))
    assert (d.desired_replicas, d.recommendation) == (3, 20)
    assert "scale_up_limit: at most 1 more per check" in d.reason


# --------------------------------------------------------------------------- scale-down stabilization


def test_scale_down_without_history_follows_the_recommendation():
    d = decide(6, 50, L)
    assert (d.desired_replicas, d.decision, d.recommendation) == (3, SCALE_DOWN, 3)


def test_short_dip_is_held_by_the_highest_recommendation_in_the_window():
    d = decide(6, 20, L, history=[6, 6, 4])
    assert (d.desired_replicas, d.decision, d.recommendation) == (6, HOLD, 2)
    assert "held at 6 by the scale-down stabilization" in d.reason
    assert "highest recommendation in the last 300 s is 6" in d.reason


def test_stabilized_scale_down_goes_to_the_highest_recommendation_below_current():
    d = decide(6, 20, L, history=[4, 3, 2])
    assert (d.desired_replicas, d.decision, d.recommendation) == (4, SCALE_DOWN, 2)
    assert "stabilized to 4" in d.reason


def test_stabilization_is_capped_at_current():
    # a higher recommendation in the window never scales up on a scale-down check
    d = decide(4, 50, L, history=[9])
    assert (d.desired_replicas, d.decision) == (4, HOLD)


def test_history_does_not_hold_back_a_scale_up():
    d = decide(2, 300, L, history=[1, 1])
    assert (d.desired_replicas, d.decision) == (6, SCALE_UP)


# --------------------------------------------------------------------------- clamping


def test_scale_down_stops_at_min_replicas():
    d = decide(4, 0, Limits(2, 10, 100))
    assert (d.desired_replicas, d.decision, d.recommendation) == (2, SCALE_DOWN, 0)
    assert "raised to min_replicas 2" in d.reason


def test_scale_up_stops_at_max_replicas():
    d = decide(4, 300, Limits(1, 6, 100))
    assert (d.desired_replicas, d.decision, d.recommendation) == (6, SCALE_UP, 12)
    assert "capped at max_replicas 6" in d.reason


def test_current_above_max_is_brought_down_even_when_the_metric_asks_for_more():
    d = decide(12, 300, Limits(1, 10, 100))
    assert (d.desired_replicas, d.decision) == (10, SCALE_DOWN)
    assert "current 12 is above max_replicas 10" in d.reason


@pytest.mark.parametrize("metric", [None, math.nan, -1.0, math.inf])
def test_current_below_min_is_brought_up_without_a_usable_metric(metric):
    d = decide(0, metric, Limits(2, 10, 100))
    assert (d.desired_replicas, d.decision, d.recommendation) == (2, SCALE_UP, None)
    assert "not scaling on bad data" in d.reason
    assert "current 0 is below min_replicas 2" in d.reason


def test_current_above_max_is_brought_down_without_a_metric():
    d = decide(9, None, Limits(1, 5, 100), metric_error="Prometheus at http://x is unreachable: refused")
    assert (d.desired_replicas, d.decision) == (5, SCALE_DOWN)
    assert d.reason.startswith("scale_down 9 -> 5: Prometheus at http://x is unreachable")


# --------------------------------------------------------------------------- bad data holds


@pytest.mark.parametrize(
    ("metric", "why"),
    [
        (None, "no metric value"),
        (math.nan, "metric value is NaN"),
        (-3.0, "metric value -3 is negative"),
        (math.inf, "metric value is inf"),
        ("12", "metric value '12' is not a number"),
    ],
)
def test_bad_metric_holds_with_the_reason(metric, why):
    d = decide(4, metric, L, history=[1])
    assert d == Decision(4, HOLD, f"hold at 4: {why}; not scaling on bad data", None)


def test_unreachable_prometheus_holds_even_with_a_stale_number():
    d = decide(4, 900, L, metric_error="Prometheus at http://mon1:9090 is unreachable: timed out")
    assert d.decision == HOLD
    assert d.reason == "hold at 4: Prometheus at http://mon1:9090 is unreachable: timed out; not scaling on bad data"


# --------------------------------------------------------------------------- bad parameters


@pytest.mark.parametrize(
    ("current", "limits", "message"),
    [
        (2, Limits(3, 2, 100), "max_replicas: 2 is below min_replicas 3; raise max_replicas or lower min_replicas"),
        (2, Limits(0, 2, 100), "min_replicas: 0 must be a whole number >= 1"),
        (2, Limits(1, 5, 0), "target_value: 0 must be a number > 0"),
        (2, Limits(1, 5, -5.0), "target_value: -5.0 must be a number > 0"),
        (2, Limits(1, 5, math.nan), "target_value: nan must be a number > 0"),
        (-1, Limits(1, 5, 100), "current_replicas: -1 must be a whole number >= 0"),
        (2, Limits(1, 5, 100, tolerance=-0.1), "tolerance: -0.1 must be a number >= 0"),
        (2, Limits(1, 5, 100, scale_down_stabilization=-1), "scale_down_stabilization: -1 must be seconds >= 0"),
        (2, Limits(1, 5, 100, scale_up_limit=0), "scale_up_limit: 0 must be a whole number >= 1"),
    ],
)
def test_bad_parameters_fail_naming_the_field(current, limits, message):
    with pytest.raises(AutoscaleError) as err:
        decide(current, 100, limits)
    assert str(err.value).startswith(message)


def test_bad_parameters_fail_even_without_a_metric():
    with pytest.raises(AutoscaleError, match=r"^max_replicas"):
        decide(2, None, Limits(3, 2, 100))


# --------------------------------------------------------------------------- audit line


def test_audit_record_is_one_json_line_with_every_field():
    d = decide(2, 180, L)
    line = audit_record(service="web", metric_value=180.0, current_replicas=2, decision=d, now=1795000000)
    assert "\n" not in line
    assert json.loads(line) == {
        "time": "2026-11-18T11:06:40Z",
        "service": "web",
        "metric": 180.0,
        "current": 2,
        "desired": 4,
        "decision": "scale_up",
        "reason": d.reason,
    }


def test_audit_record_writes_null_for_an_unusable_metric():
    d = decide(2, math.nan, L)
    record = json.loads(audit_record(service=None, metric_value=math.nan, current_replicas=2, decision=d, now=0))
    assert record["metric"] is None
    assert record["decision"] == "hold"
    assert record["time"] == "1970-01-01T00:00:00Z"


# --------------------------------------------------------------------------- huge numbers


@pytest.mark.parametrize(
    ("current", "metric", "target"),
    [
        (4, 1.7e308, 0.5),  # the ratio overflows to inf
        (10, 1e308, 1.0),  # current x metric overflows
        (4, 1e300, 1e-10),
        (10, 1e308, 100.0),  # current x metric overflows before the division
    ],
)
def test_a_metric_so_large_the_recommendation_overflows_holds(current, metric, target):
    limits = Limits(min_replicas=1, max_replicas=20, target_value=target)
    d = decide(current, metric, limits)
    assert (d.decision, d.desired_replicas, d.recommendation) == (HOLD, current, None)
    assert "too large" in d.reason and "not scaling on bad data" in d.reason
    json.loads(audit_record(service="web", metric_value=metric, current_replicas=current, decision=d, now=0))


def test_a_large_but_computable_metric_still_scales_up_to_the_limit():
    d = decide(4, 1e12, L)
    assert (d.decision, d.desired_replicas) == (SCALE_UP, 8)
