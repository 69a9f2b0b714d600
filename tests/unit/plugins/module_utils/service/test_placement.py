# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.containerops.fleet.plugins.module_utils.service.placement import (
    Node,
    PlacementError,
    memory_mb,
    place,
    replica_total,
)

THREE = [Node("n1", 2, 2048), Node("n2", 2, 2048), Node("n3", 2, 2048)]


def test_spread_evens_out_and_sums_to_total():
    assert place(6, THREE) == {"n1": 2, "n2": 2, "n3": 2}
    assert place(7, THREE) == {"n1": 3, "n2": 2, "n3": 2}
    assert place(0, THREE) == {"n1": 0, "n2": 0, "n3": 0}


def test_spread_prefers_hosts_with_more_room_then_current_replicas():
    nodes = [Node("small", 1, 1024), Node("big", 4, 8192)]
    assert place(1, nodes, cpus=0.5) == {"small": 0, "big": 1}
    assert place(1, THREE, current={"n3": 1}) == {"n1": 0, "n2": 0, "n3": 1}


def test_spread_respects_capacity():
    nodes = [Node("small", 1, 4096), Node("big", 4, 4096)]
    assert place(6, nodes, cpus=0.5) == {"small": 2, "big": 4}


def test_binpack_fills_in_order():
    assert place(5, THREE, cpus=1, strategy="binpack") == {"n1": 2, "n2": 2, "n3": 1}
    assert place(5, THREE, strategy="binpack") == {"n1": 5, "n2": 0, "n3": 0}


def test_overcommit_is_refused_with_each_hosts_capacity():
    with pytest.raises(PlacementError) as err:
        place(7, THREE, cpus=1, memory=512)
    assert str(err.value) == (
        "cannot place 7 replicas of 1 CPU / 512 MiB: the hosts hold 6 (n1: 2, n2: 2, n3: 2); "
        "lower replicas or per-replica resources, or add hosts"
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"total": -1}, "replicas: -1 must be a whole number >= 0"),
        ({"total": 2, "strategy": "random"}, "strategy: 'random' is not one of spread, binpack"),
    ],
)
def test_bad_input_names_the_field(kwargs, message):
    total = kwargs.pop("total")
    with pytest.raises(PlacementError, match=message):
        place(total, THREE, **kwargs)


def test_duplicate_and_missing_hosts():
    with pytest.raises(PlacementError, match="'n1' is listed twice"):
        place(1, [Node("n1", 1, 1), Node("n1", 1, 1)])
    with pytest.raises(PlacementError, match="no hosts given"):
        place(1, [])


@pytest.mark.parametrize(
    ("value", "mib"),
    [("512m", 512), ("1g", 1024), ("1.5G", 1536), ("256MiB", 256), (1073741824, 1024), (None, 0), ("0", 0)],
)
def test_memory_sizes(value, mib):
    assert memory_mb(value) == mib


def test_memory_size_error_names_field():
    with pytest.raises(PlacementError, match="memory: 'lots' is not a size"):
        memory_mb("lots")


@pytest.mark.parametrize(
    ("definition", "running", "override", "total"),
    [
        ({"replicas": 3}, 5, "", 3),  # the definition's count
        ({}, 0, "", 1),  # default one
        ({"replicas": 3}, 5, "7", 7),  # scale.yml / the autoscaler win
        ({"replicas": 3}, 5, 0, 0),
        ({"replicas": 2, "autoscale": {"min": 2, "max": 6}}, 5, "", 5),  # the autoscaler's count is kept
        ({"replicas": 2, "autoscale": {"min": 2, "max": 4}}, 5, "", 4),  # ... within max
        ({"replicas": 2, "autoscale": {"min": 3, "max": 6}}, 1, "", 3),  # ... and min
        ({"replicas": 2, "autoscale": {"min": 1, "max": 6}}, 0, "", 2),  # nothing runs: the definition's count
    ],
)
def test_replica_total(definition, running, override, total):
    assert replica_total(definition, running, override) == total


def test_replica_total_refuses_a_negative_count():
    with pytest.raises(PlacementError, match="replicas: -1 must be a whole number >= 0"):
        replica_total({}, 0, "-1")
