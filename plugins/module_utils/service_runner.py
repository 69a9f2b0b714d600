# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place container_service turns domain errors into fail_json."""

from __future__ import annotations

import os
import socket
from typing import Any

from ansible_collections.containerops.fleet.plugins.module_utils import service_history
from ansible_collections.containerops.fleet.plugins.module_utils.engine_client import DockerEngine, EngineError
from ansible_collections.containerops.fleet.plugins.module_utils.service_docker import DeployError, DockerService
from ansible_collections.containerops.fleet.plugins.module_utils.service_k8s import KubernetesError, KubernetesService
from ansible_collections.containerops.fleet.plugins.module_utils.service_plan import endpoints_from_list
from ansible_collections.containerops.fleet.plugins.module_utils.service_spec import L_SERVICE, SpecError, normalize
from ansible_collections.containerops.fleet.plugins.module_utils.service_swarm import SwarmService


def default_address() -> str:
    """The address this host uses to reach other hosts (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))
            return s.getsockname()[0]
        except OSError:
            return "127.0.0.1"


def run_cluster(module: Any) -> None:
    """platform swarm or kubernetes: one service object on a cluster instead of this host's containers."""
    p = module.params
    try:
        spec = normalize(p)
        if p["platform"] == "swarm":
            service: Any = SwarmService(
                engine=DockerEngine(p["docker_host"].removeprefix("unix://"), timeout=p["api_timeout"]),
                spec=spec,
                publish_mode=p["publish_mode"],
                endpoint_mode=p["endpoint_mode"],
                deadline=float(p["progress_deadline"]),
                check_mode=module.check_mode,
                warn=module.warn,
            )
        else:
            service = KubernetesService.connect(
                spec=spec,
                kubeconfig=p["kubeconfig"],
                context=p["context"],
                namespace=p["namespace"],
                autoscale=p["autoscale"],
                deadline=float(p["progress_deadline"]),
                rollback_on_failure=p["rollback_on_failure"],
                check_mode=module.check_mode,
            )
        result = {"present": service.present, "absent": service.absent, "restarted": service.restarted}[p["state"]]()
    except SpecError as exc:
        module.fail_json(msg=str(exc))
    except DeployError as exc:
        module.fail_json(msg=str(exc), changed=True, **exc.result)
    except EngineError as exc:
        module.fail_json(msg=f"Docker engine: {exc}")
    except KubernetesError as exc:
        module.fail_json(msg=f"Kubernetes: {exc}", **exc.result)
    result.setdefault("rolled_back", False)
    module.exit_json(**result)


def run(module: Any) -> None:
    p = module.params
    if p["platform"] != "docker":
        run_cluster(module)
        return
    history_path = os.path.join(p["history_dir"], f"{p['name']}.json") if p["history_dir"] else ""
    try:
        spec = normalize(p)
        if p["rollback_to"]:
            entry = service_history.pick(service_history.load(history_path), p["rollback_to"])
            spec = service_history.rollback_spec(entry, spec["replicas"])
        address = p["advertise_address"] or default_address()
        if not spec["bind_address"]:
            spec["bind_address"] = address
        service = DockerService(
            engine=DockerEngine(p["docker_host"].removeprefix("unix://"), timeout=p["api_timeout"]),
            spec=spec,
            address=address,
            node=p["node_name"] or socket.gethostname(),
            check_mode=module.check_mode,
            warn=module.warn,
            history_path=history_path,
            history_limit=p["history_limit"],
            keep_old=p["keep_old"],
        )
        result = {"present": service.present, "absent": service.absent, "restarted": service.restarted}[p["state"]]()
    except (SpecError, service_history.HistoryError) as exc:
        module.fail_json(msg=str(exc))
    except DeployError as exc:
        module.fail_json(msg=str(exc), changed=True, **exc.result)
    except EngineError as exc:
        module.fail_json(msg=f"Docker engine: {exc}")
    result.setdefault("rolled_back", False)
    try:
        # Every fleet service's replicas on this host: what HAProxy and Prometheus read (docs/endpoints.md).
        result["ansible_facts"] = {"fleet_endpoints": service.all_endpoints()}
    except EngineError as exc:
        module.fail_json(msg=f"Docker engine: {exc}", **result)
    module.exit_json(**result)


def run_facts(module: Any) -> None:
    p = module.params
    try:
        entries = DockerEngine(p["docker_host"].removeprefix("unix://")).containers({"label": L_SERVICE})
    except EngineError as exc:
        module.fail_json(msg=f"Docker engine: {exc}")
    every = endpoints_from_list(
        entries, p["node_name"] or socket.gethostname(), p["advertise_address"] or default_address()
    )
    found = [e for e in every if not p["name"] or e["service"] == p["name"]]
    module.exit_json(
        changed=False,
        endpoints=found,
        services=sorted({e["service"] for e in found}),
        ansible_facts={"fleet_endpoints": every},
    )
