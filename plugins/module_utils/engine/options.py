# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine connection options every module shares (documented once in doc_fragments/engine.py)."""

from __future__ import annotations

import re
from typing import Any

from ansible_collections.containerops.fleet.plugins.module_utils.engine.client import DockerEngine, EngineError

DEFAULT_HOST = "unix:///var/run/docker.sock"

ENGINE_OPTIONS: dict[str, dict[str, Any]] = {
    "docker_host": {"type": "str", "default": DEFAULT_HOST},
    "api_timeout": {"type": "int", "default": 60},
}


def engine_options() -> dict[str, dict[str, Any]]:
    """A fresh copy, to merge into a module's argument spec."""
    return {k: dict(v) for k, v in ENGINE_OPTIONS.items()}


def socket_path(docker_host: str) -> str:
    """unix:///path -> /path; anything else is refused by name (the client speaks to unix sockets only)."""
    m = re.fullmatch(r"unix://(/[A-Za-z0-9._/-]{1,200})", docker_host or "")
    if not m or "/../" in m.group(1) + "/":
        raise EngineError(f"docker_host: {docker_host!r} must be a unix socket URL like {DEFAULT_HOST}")
    return m.group(1)


def engine_from_params(params: dict[str, Any]) -> DockerEngine:
    """The engine client of a module's docker_host and api_timeout."""
    return DockerEngine(socket_path(params["docker_host"]), timeout=float(params["api_timeout"]))
