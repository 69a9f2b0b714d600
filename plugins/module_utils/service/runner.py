# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""container_service: pick the platform's driver, run it, and turn domain errors into fail_json (here only)."""

from __future__ import annotations

import os
import socket
import tempfile
from typing import Any

from ansible_collections.containerops.fleet.plugins.module_utils.engine.client import EngineError
from ansible_collections.containerops.fleet.plugins.module_utils.engine.options import engine_from_params
from ansible_collections.containerops.fleet.plugins.module_utils.service import history
from ansible_collections.containerops.fleet.plugins.module_utils.service.docker import DockerService
from ansible_collections.containerops.fleet.plugins.module_utils.service.driver import DeployError, Driver, apply_state
from ansible_collections.containerops.fleet.plugins.module_utils.service.kubernetes import (
    KubernetesError,
    KubernetesService,
)
from ansible_collections.containerops.fleet.plugins.module_utils.service.lock import service_lock
from ansible_collections.containerops.fleet.plugins.module_utils.service.plan import is_swarm_task
from ansible_collections.containerops.fleet.plugins.module_utils.service.spec import (
    L_SERVICE,
    SpecError,
    normalize,
    revision_params,
    revision_spec,
)
from ansible_collections.containerops.fleet.plugins.module_utils.service.swarm import SwarmService

LOCK_DIR = "/run/containerops-fleet"  # where service locks live when no history is kept


def default_address() -> str:
    """The address this host uses to reach other hosts (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))
            return s.getsockname()[0]
        except OSError:
            return "127.0.0.1"


def seal_key(history_dir: str | None, create: bool = True) -> bytes:
    """This host's key for the digests that stand for env values (0600 beside the history, made once).

    Used when the task gives no seal_key (the service role gives the controller's, so every host seals alike).
    Without a writable place the digests are unkeyed: values still never appear, but a guessable one could be
    confirmed from its digest.
    """
    if not history_dir:
        return b""
    path = os.path.join(os.path.dirname(os.path.normpath(history_dir)), "seal.key")
    try:
        with open(path, "rb") as fh:
            key = fh.read()
        if key:
            return key
    except FileNotFoundError:
        pass
    except OSError:
        return b""
    if not create:  # check mode writes nothing
        return b""
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".seal-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(os.urandom(32))
        try:
            os.link(tmp, path)  # whole or not at all; the first writer wins, the others read its key
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return b""


def _driver(module: Any, spec: dict[str, Any]) -> tuple[Driver, DockerService | None]:
    """The platform's driver, and for docker the same object (it also reports every service's endpoints)."""
    p = module.params
    key = (p.get("seal_key") or "").encode() or seal_key(p["history_dir"], create=not module.check_mode)
    if p["platform"] == "swarm":
        return (
            SwarmService(
                engine=engine_from_params(p),
                spec=spec,
                publish_mode=p["publish_mode"],
                endpoint_mode=p["endpoint_mode"],
                deadline=float(p["progress_deadline"]),
                check_mode=module.check_mode,
                warn=module.warn,
                seal_key=key,
            ),
            None,
        )
    if p["platform"] == "kubernetes":
        return (
            KubernetesService.connect(
                spec=spec,
                kubeconfig=p["kubeconfig"],
                context=p["context"],
                namespace=p["namespace"],
                create_namespace=p["create_namespace"],
                autoscale=p["autoscale"],
                lb=p["lb"],
                deadline=float(p["progress_deadline"]),
                rollback_on_failure=p["rollback_on_failure"],
                check_mode=module.check_mode,
                seal_key=key,
            ),
            None,
        )
    history_path = os.path.join(p["history_dir"], f"{p['name']}.json") if p["history_dir"] else ""
    engine = engine_from_params(p)
    if p["revision"] and p["replicas"]:  # a host that runs no replica of it has nothing to copy
        spec = _revision_spec(p, engine, key)
    if p["rollback_to"]:
        entry = history.pick(history.load(history_path), p["rollback_to"])
        spec = history.rollback_spec(entry, spec["replicas"], spec["env"], key)
    address = p["advertise_address"] or default_address()
    if not spec["bind_address"]:
        spec["bind_address"] = address
    docker = DockerService(
        engine=engine,
        spec=spec,
        address=address,
        node=p["node_name"] or socket.gethostname(),
        check_mode=module.check_mode,
        warn=module.warn,
        history_path=history_path,
        history_limit=p["history_limit"],
        keep_old=p["keep_old"],
        seal_key=key,
    )
    return docker, docker


def _revision_spec(p: dict[str, Any], engine: Any, key: bytes) -> dict[str, Any]:
    """The spec of the running revision (p["revision"], a replica's spec label), env values restored, checked again."""
    params = {**p, **revision_params(p["revision"])}
    sealed = params.get("env") or {}

    def missing(name: str) -> str:
        return (
            f"revision: the running replicas of {p['name']} have another value of env {name} than the task gives, "
            "and no replica on this host has it (only a digest is kept); deploy the definition's value first "
            "(deploy.yml or site.yml), then scale"
        )

    try:
        params["env"] = history.restore_env(sealed, [p.get("env") or {}], key, missing)
    except history.HistoryError:
        running = [
            e["Id"]
            for e in engine.containers({"label": f"{L_SERVICE}={p['name']}"})
            if e.get("State") == "running" and not is_swarm_task(e)
        ]
        envs = [
            dict(v.split("=", 1) for v in engine.inspect_container(i)["Config"]["Env"] or [] if "=" in v)
            for i in running
        ]
        params["env"] = history.restore_env(sealed, [p.get("env") or {}, *envs], key, missing)
    return revision_spec(params)


def _invocation(module: Any) -> dict[str, Any]:
    """The module arguments as -vvv shows them: env keys with masked values."""
    params = dict(module.params)
    params["env"] = {k: "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" for k in params.get("env") or {}}
    return {"module_args": params}


def run(module: Any) -> None:
    # env is no_log, so its values stay out of the journal; Ansible would also blank every occurrence of each
    # value in the whole result ("1" in every replica name).  Instead the values are kept out of what this
    # module returns: digests in diffs, labels and history (spec.seal), keys only in the invocation.
    module.no_log_values.difference_update(str(v) for v in (module.params.get("env") or {}).values())
    invocation = _invocation(module)
    docker = None
    try:
        driver, docker = _driver(module, normalize(module.params))
        if docker is not None and not module.check_mode:
            p = module.params
            with service_lock(p["history_dir"] or LOCK_DIR, p["name"], p["lock_timeout"]):
                result = apply_state(driver, p["state"])
        else:
            result = apply_state(driver, module.params["state"])
        result.setdefault("rolled_back", False)
        if docker is not None:
            # Every fleet service's replicas on this host: what HAProxy and Prometheus read (docs/endpoints.md).
            result["ansible_facts"] = {"fleet_endpoints": docker.all_endpoints()}
    except (SpecError, history.HistoryError) as exc:
        module.fail_json(msg=str(exc), invocation=invocation)
    except DeployError as exc:
        module.fail_json(msg=str(exc), changed=True, invocation=invocation, **exc.result)
    except EngineError as exc:
        module.fail_json(msg=f"Docker engine: {exc}", invocation=invocation)
    except KubernetesError as exc:
        module.fail_json(msg=f"Kubernetes: {exc}", invocation=invocation, **exc.result)
    module.exit_json(invocation=invocation, **result)
