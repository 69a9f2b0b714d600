# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""container_service_facts: the replicas running on a host, read from their labels with one engine call."""

from __future__ import annotations

import socket
from typing import Any

from ansible_collections.containerops.fleet.plugins.module_utils.engine.client import EngineError
from ansible_collections.containerops.fleet.plugins.module_utils.engine.options import engine_from_params
from ansible_collections.containerops.fleet.plugins.module_utils.service.plan import (
    endpoints_from_list,
    running_revisions,
)
from ansible_collections.containerops.fleet.plugins.module_utils.service.runner import default_address
from ansible_collections.containerops.fleet.plugins.module_utils.service.spec import L_SERVICE


def run(module: Any) -> None:
    p = module.params
    try:
        entries = engine_from_params(p).containers({"label": L_SERVICE})
    except EngineError as exc:
        module.fail_json(msg=f"Docker engine: {exc}")
    every = endpoints_from_list(
        entries, p["node_name"] or socket.gethostname(), p["advertise_address"] or default_address(), module.warn
    )
    found = [e for e in every if not p["name"] or e["service"] == p["name"]]
    module.exit_json(
        changed=False,
        endpoints=found,
        services=sorted({e["service"] for e in found}),
        revisions={k: v for k, v in running_revisions(entries).items() if not p["name"] or k == p["name"]},
        ansible_facts={"fleet_endpoints": every},
    )
