# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Replica placement: a total replica count and the hosts' capacity in, per-host counts out.

Pure functions; the `containerops.fleet.placement` filter is a thin wrapper.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ansible_collections.containerops.fleet.plugins.module_utils.service.spec import MAX_REPLICAS_PER_HOST

STRATEGIES = ("spread", "binpack")
_UNITS = {"": 1 / (1024 * 1024), "b": 1 / (1024 * 1024), "k": 1 / 1024, "m": 1, "g": 1024, "t": 1024 * 1024}


class PlacementError(ValueError):
    """The replicas cannot be placed; the message says why and what to change."""


@dataclass(frozen=True)
class Node:
    name: str
    cpus: float
    memory_mb: float


def memory_mb(value: object, field: str = "memory") -> float:
    """'512m', '1g', '1.5G', 1073741824 (bytes) -> MiB."""
    if value in (None, "", 0):
        return 0.0
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) / (1024 * 1024)
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([bkmgt]?)i?b?\s*", str(value).lower())
    if not match:
        raise PlacementError(f"{field}: {value!r} is not a size; use e.g. 512m or 1g")
    return float(match.group(1)) * _UNITS[match.group(2)]


def place(
    total: int,
    nodes: list[Node],
    *,
    cpus: float = 0.0,
    memory: float = 0.0,
    strategy: str = "spread",
    current: dict[str, int] | None = None,
) -> dict[str, int]:
    """Split `total` replicas over `nodes`.

    cpus/memory are one replica's reservation (0: unconstrained).  `spread` evens the count out
    (ties go to the host with more free capacity, then to the one already running more of the
    service, so a re-placement moves as little as possible); `binpack` fills hosts in order.
    Raises PlacementError when the replicas do not fit.
    """
    if strategy not in STRATEGIES:
        raise PlacementError(f"strategy: {strategy!r} is not one of {', '.join(STRATEGIES)}")
    if isinstance(total, bool) or not isinstance(total, int) or total < 0:
        raise PlacementError(f"replicas: {total!r} must be a whole number >= 0")
    if cpus < 0 or memory < 0:
        raise PlacementError("cpus and memory per replica must be >= 0")
    if not nodes:
        if total == 0:
            return {}
        raise PlacementError(f"cannot place {total} replicas: no hosts given")
    if total > MAX_REPLICAS_PER_HOST * len(nodes):
        raise PlacementError(
            f"replicas: {total} over {len(nodes)} hosts is above the limit of {MAX_REPLICAS_PER_HOST} replicas of a "
            "service per host; add hosts or lower replicas"
        )
    names = [n.name for n in nodes]
    if len(set(names)) != len(names):
        raise PlacementError(f"hosts: {sorted({n for n in names if names.count(n) > 1})[0]!r} is listed twice")
    current = current or {}

    capacity = {n.name: _capacity(n, cpus, memory) for n in nodes}
    room = sum(min(c, total) for c in capacity.values())
    if room < total:
        detail = ", ".join(f"{n.name}: {_fmt(capacity[n.name])}" for n in nodes)
        raise PlacementError(
            f"cannot place {total} replicas of {cpus:g} CPU / {memory:g} MiB: the hosts hold {room} "
            f"({detail}); lower replicas or per-replica resources, or add hosts"
        )

    counts = {n.name: 0 for n in nodes}
    if strategy == "binpack":
        left = total
        for n in nodes:
            take = min(left, capacity[n.name])
            counts[n.name] = int(take)
            left -= take
        return counts
    order = {n.name: i for i, n in enumerate(nodes)}
    for _attempt in range(total):
        candidates = [n for n in nodes if counts[n.name] < capacity[n.name]]
        best = min(
            candidates,
            key=lambda n: (
                counts[n.name],
                -(capacity[n.name] - counts[n.name]),
                -current.get(n.name, 0),
                order[n.name],
            ),
        )
        counts[best.name] += 1
    return counts


def _capacity(node: Node, cpus: float, memory: float) -> float:
    limits = []
    if cpus:
        limits.append(math.floor(node.cpus / cpus + 1e-9))
    if memory:
        limits.append(math.floor(node.memory_mb / memory + 1e-9))
    return min(limits) if limits else math.inf


def _fmt(value: float) -> str:
    return "unlimited" if value == math.inf else str(int(value))


def replica_total(definition: dict, running: int, override: object = "") -> int:
    """How many replicas a deploy runs in all.

    An explicit count (scale.yml, the autoscaler) wins.  A service with ``autoscale`` that runs keeps its count,
    kept within its min..max, so a later site.yml does not undo the autoscaler.  Otherwise the definition's count.
    """
    if override not in (None, ""):
        total = int(str(override))
        if total < 0:
            raise PlacementError(f"replicas: {total} must be a whole number >= 0")
        return total
    auto = definition.get("autoscale") or {}
    if auto and running > 0:
        low = int(auto.get("min") or 1)
        high = int(auto.get("max") if auto.get("max") is not None else running)
        return min(max(running, low), high)
    return int(definition.get("replicas", 1) if definition.get("replicas") is not None else 1)
