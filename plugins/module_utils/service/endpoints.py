# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The endpoint: one running replica as HAProxy, Prometheus and the autoscaler see it (docs/endpoints.md).

Every platform driver builds its endpoints here, so they have one shape and one server name.
"""

from __future__ import annotations

from typing import Any


def server_name(host: str, container: str) -> str:
    """The replica's HAProxy server name: `<host>-<container>`, unique across hosts."""
    return f"{host}-{container}"


def endpoint(
    *,
    service: str,
    host: str,
    address: str,
    port: int | None,
    container: str,
    replica: int,
    spec_hash: str,
    healthy: bool,
    spec: dict[str, Any],
) -> dict[str, Any]:
    """One endpoint; health and metrics paths come from the replica's normalised spec."""
    return {
        "service": service,
        "host": host,
        "address": address,
        "port": port,
        "container": container,
        "server": server_name(host, container),
        "replica": replica,
        "spec_hash": spec_hash,
        "healthy": healthy,
        "health_path": (spec.get("healthcheck") or {}).get("http_path"),
        "metrics_path": spec.get("metrics_path"),
        "image": spec.get("image") or None,
    }


def running_image(endpoints: list[dict[str, Any]], service: str) -> str | None:
    """The image reference most running replicas of `service` were deployed with (None when none runs).

    scale.yml and the autoscaler keep it, so a count change never undoes `deploy.yml -e image=...`.
    """
    counts: dict[str, int] = {}
    for ep in endpoints or []:
        if ep.get("service") == service and ep.get("image"):
            counts[ep["image"]] = counts.get(ep["image"], 0) + 1
    return max(sorted(counts), key=lambda image: counts[image]) if counts else None
