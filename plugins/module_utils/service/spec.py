# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The service spec: one format for every platform.  Normalising, hashing, and the Docker container
body a replica is created from.  Pure functions: data in, data out.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import shlex
from typing import Any

from ansible_collections.containerops.fleet.plugins.module_utils import allow

LABEL_PREFIX = "io.containerops.fleet"
L_SERVICE = f"{LABEL_PREFIX}.service"
L_REPLICA = f"{LABEL_PREFIX}.replica"
L_HASH = f"{LABEL_PREFIX}.spec-hash"
L_SPEC = f"{LABEL_PREFIX}.spec"
L_PORT = f"{LABEL_PREFIX}.port"
L_ADDRESS = f"{LABEL_PREFIX}.address"
L_MANAGED = f"{LABEL_PREFIX}.managed"  # on the networks the collection created
# The engine's own networks: a replica on them has no service alias (or no ports), so they are refused by name.
ENGINE_NETWORKS = ("bridge", "host", "none", "default", "ingress", "docker_gwbridge")

DEFAULT_PORT_RANGE = (20000, 29999)
MAX_REPLICAS_PER_HOST = 250  # one service on one host; placement refuses totals that would need more
# An HTTP probe from inside the replica with whatever the image has; the URL comes in as $0.
HTTP_PROBE = (
    'if command -v curl >/dev/null 2>&1; then exec curl -fsS -o /dev/null "$0"; '
    'elif command -v wget >/dev/null 2>&1; then exec wget -q -O /dev/null "$0"; '
    'else exec python3 -c "import sys, urllib.request as u; u.build_opener().open(sys.argv[1], timeout=2)" "$0"; fi'
)
# What changes a replica's container or how it is watched (metrics_path travels in its labels to
# Prometheus).  replicas and update settings do not: changing them never replaces a running replica.
HASHED_KEYS = (
    "image",
    "image_id",
    "command",
    "env",
    "ports",
    "volumes",
    "labels",
    "healthcheck",
    "resources",
    "restart_policy",
    "networks",
    "bind_address",
    "metrics_path",
)


class SpecError(ValueError):
    """A service spec field is invalid; the message names it and says what is expected."""


def _port_range(value: Any, field: str) -> tuple[int, int]:
    if value in (None, ""):
        return DEFAULT_PORT_RANGE
    if isinstance(value, str):
        m = re.fullmatch(r"\s*(\d+)\s*-\s*(\d+)\s*", value)
        if not m:
            raise SpecError(f"{field}: {value!r} is not a range; use e.g. 20000-20999")
        lo, hi = int(m.group(1)), int(m.group(2))
    elif isinstance(value, (list, tuple)) and len(value) == 2:
        lo, hi = int(value[0]), int(value[1])
    else:
        raise SpecError(f"{field}: {value!r} is not a range; use e.g. 20000-20999")
    if not 1 <= lo <= hi <= 65535:
        raise SpecError(f"{field}: {lo}-{hi} must satisfy 1 <= start <= end <= 65535")
    return lo, hi


def _seconds(value: Any, field: str) -> float:
    if value in (None, ""):
        return 0.0
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*", str(value))
    if not m:
        raise SpecError(f"{field}: {value!r} is not a duration; use seconds or e.g. 500ms, 10s, 2m")
    return float(m.group(1)) * {"ms": 0.001, "s": 1, None: 1, "m": 60, "h": 3600}[m.group(2)]


def memory_bytes(value: Any, field: str = "resources.memory") -> int:
    if value in (None, "", 0):
        return 0
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*", str(value).lower())
    if not m:
        raise SpecError(f"{field}: {value!r} is not a size; use e.g. 256m or 1g")
    return int(float(m.group(1)) * 1024 ** " kmgt".index(m.group(2) or " "))


def _ok(kind: str, value: Any, where: str) -> str:
    """The allow-list check of `kind` (allow.py), as a SpecError."""
    try:
        return allow.address(value, where) if kind == "address" else allow.check(kind, value, where)
    except allow.NotAllowed as exc:
        raise SpecError(str(exc)) from None


def _command(value: Any, field: str) -> list[str] | None:
    """A command as a list of words: a list as it is, a string split like a shell would (never run by one)."""
    if value in (None, "", []):
        return None
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError as exc:
            raise SpecError(f"{field}: {value[:80]!r} cannot be split into words ({exc}); give a list") from None
    if isinstance(value, list) and all(isinstance(w, (str, int, float)) and not isinstance(w, bool) for w in value):
        return [str(w) for w in value]
    raise SpecError(f"{field}: {value!r} must be a list of words or a string")


def normalize(params: dict[str, Any]) -> dict[str, Any]:
    """Module parameters -> canonical spec (defaults filled, types fixed, order-insensitive parts sorted).

    Names, types and choices are the argument spec's job (schema.SERVICE_OPTIONS); this checks only what an
    argument spec cannot say: formats, ranges and rules between fields.
    """
    name = _ok("service", params.get("name") or "", "name")
    command = _command(params.get("command"), "command")
    ports = []
    for i, port in enumerate(params.get("ports") or []):
        if isinstance(port, int):
            port = {"container": port}
        if not isinstance(port, dict) or "container" not in port:
            raise SpecError(f"ports[{i}]: give a container port, e.g. {{container: 8000}}")
        cport = int(port["container"])
        if not 1 <= cport <= 65535:
            raise SpecError(f"ports[{i}].container: {cport} is not a port number")
        ports.append(
            {
                "container": cport,
                "protocol": port.get("protocol") or "tcp",
                "host_range": list(_port_range(port.get("host_range"), f"ports[{i}].host_range")),
            }
        )
    hc = params.get("healthcheck") or {}
    healthcheck = None
    if hc:
        if hc.get("command") and hc.get("http_path"):
            raise SpecError("healthcheck: give either command or http_path, not both")
        if hc.get("http_path") and not ports and not hc.get("port"):
            raise SpecError("healthcheck.http_path: needs a port; add ports or healthcheck.port")
        hc_cmd = hc.get("command")
        if isinstance(hc_cmd, str):
            hc_cmd = ["CMD-SHELL", hc_cmd]
        elif hc_cmd is not None:
            hc_cmd = ["CMD", *_command(hc_cmd, "healthcheck.command")]
        path = hc.get("http_path")
        if path is not None:
            if not str(path).startswith("/"):
                raise SpecError(f"healthcheck.http_path: {path!r} must start with /")
            _ok("http_path", path, "healthcheck.http_path")
        healthcheck = {
            "command": hc_cmd,
            "http_path": path,
            "port": int(hc.get("port") or (ports[0]["container"] if ports else 0)) or None,
            "interval": _seconds(hc.get("interval", 2), "healthcheck.interval") or 2.0,
            "timeout": _seconds(hc.get("timeout", 2), "healthcheck.timeout") or 2.0,
            "retries": int(hc.get("retries", 3)),
            "start_period": _seconds(hc.get("start_period", 0), "healthcheck.start_period"),
        }
    res = params.get("resources") or {}
    cpus = float(res.get("cpus") or 0)
    if cpus < 0:
        raise SpecError("resources.cpus: must be >= 0")
    restart = params.get("restart_policy") or "unless-stopped"
    upd = params.get("update") or {}
    update = {
        "parallelism": int(upd.get("parallelism") or 1),
        "order": upd.get("order") or "start-first",
        "failure_action": upd.get("failure_action") or "rollback",
        "monitor": _seconds(upd.get("monitor", 60), "update.monitor") or 60.0,
        "max_failure_ratio": float(upd.get("max_failure_ratio") or 0.0),
    }
    if update["parallelism"] < 1:
        raise SpecError("update.parallelism: must be >= 1")
    if not 0 <= update["max_failure_ratio"] <= 1:
        raise SpecError("update.max_failure_ratio: must be between 0 and 1")
    replicas = params.get("replicas", 1)
    if replicas is None or int(replicas) < 0:
        raise SpecError(f"replicas: {replicas!r} must be a whole number >= 0")
    volumes = sorted(str(v) for v in params.get("volumes") or [])
    for v in volumes:
        if ":" not in v:
            raise SpecError(f"volumes: {v!r} must be SOURCE:TARGET[:MODE]")
        _ok("volume", v, "volumes")
    env = {str(k): str(v) for k, v in sorted((params.get("env") or {}).items())}
    for key in env:
        _ok("env_key", key, f"env.{key[:40]}")
    labels = {str(k): str(v) for k, v in sorted((params.get("labels") or {}).items())}
    for key in labels:
        _ok("label_key", key, f"labels.{key[:40]}")
        if key.startswith(LABEL_PREFIX):
            raise SpecError(f"labels.{key}: the {LABEL_PREFIX}.* labels are the collection's own; use another prefix")
    networks = sorted(params.get("networks") or [])
    for i, net in enumerate(networks):
        _ok("network", net, f"networks[{i}]")
        if net in ENGINE_NETWORKS:
            raise SpecError(
                f"networks[{i}]: {net!r} is the engine's own network, where replicas cannot be found by the service "
                "name; name a network of your own (it is created when missing) or leave networks empty"
            )
    if len(set(networks)) != len(networks):
        raise SpecError("networks: a network is listed twice")
    if params.get("image"):
        _ok("image", params["image"], "image")
    if params.get("bind_address"):
        _ok("address", params["bind_address"], "bind_address")
    if params.get("metrics_path") is not None:
        _ok("metrics_path", params["metrics_path"], "metrics_path")
    return {
        "name": name,
        "image": params.get("image") or "",
        "replicas": int(replicas),
        "command": [str(c) for c in command] if command else None,
        "env": env,
        "ports": ports,
        "volumes": volumes,
        "labels": labels,
        "healthcheck": healthcheck,
        "resources": {"cpus": cpus, "memory": memory_bytes(res.get("memory"))},
        "restart_policy": restart,
        "networks": networks,
        "bind_address": params.get("bind_address") or "",
        "metrics_path": params.get("metrics_path"),
        "update": update,
    }


SEALED = "hmac-sha256:"


def seal(spec: dict[str, Any], key: bytes = b"") -> dict[str, Any]:
    """The spec as it may be shown and stored: each env value replaced by a keyed digest of it.

    Labels, history, diffs and the spec hash see only this; a changed value still changes the hash (so the
    replicas roll) and the digest says which variable changed, without the value.  The key is the host's
    (see runner.seal_key); without one the digest is unkeyed.
    """
    sealed = dict(spec)
    sealed["env"] = {k: sealed_value(v, key) for k, v in (spec.get("env") or {}).items()}
    return sealed


def sealed_value(value: str, key: bytes = b"") -> str:
    if isinstance(value, str) and value.startswith(SEALED):
        return value
    return SEALED + hmac.new(key or b"containerops.fleet", str(value).encode(), hashlib.sha256).hexdigest()[:24]


def spec_label(spec: dict[str, Any], key: bytes = b"") -> str:
    """The L_SPEC label: the sealed spec without the replica count (it is read back for endpoints and diffs)."""
    return json.dumps({k: v for k, v in seal(spec, key).items() if k != "replicas"}, sort_keys=True)


def spec_hash(spec: dict[str, Any], image_id: str, key: bytes = b"") -> str:
    """Hash of what a replica's container is made of (not replicas, not the update policy); env values keyed."""
    material = {k: seal(spec, key).get(k) for k in HASHED_KEYS}
    material["image_id"] = image_id
    return hashlib.sha256(json.dumps(material, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def health_path(spec: dict[str, Any]) -> str | None:
    hc = spec.get("healthcheck") or {}
    return hc.get("http_path")


def probe_index(spec: dict[str, Any]) -> int | None:
    """Which of the spec's ports an HTTP health check goes to, when that port is published (else None)."""
    hc = spec.get("healthcheck") or {}
    if not hc.get("http_path"):
        return None
    for i, port in enumerate(spec.get("ports") or []):
        if port["container"] == hc.get("port") and port["protocol"] == "tcp":
            return i
    return None


def probe_url(spec: dict[str, Any], host_ports: list[int]) -> str | None:
    """The URL container_service probes from the host, as the kubelet does: no shell or tool in the image needed."""
    i = probe_index(spec)
    if i is None or i >= len(host_ports):
        return None
    host = spec.get("bind_address") or "127.0.0.1"
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{host_ports[i]}{spec['healthcheck']['http_path']}"


def docker_healthcheck(spec: dict[str, Any], outside: bool = False) -> dict[str, Any] | None:
    """The Docker Healthcheck body; an HTTP path is probed from inside with curl, wget or python3."""
    hc = spec.get("healthcheck")
    if not hc:
        return None
    if outside and probe_index(spec) is not None:
        # Probed from the host by container_service (probe_url); the image's own HEALTHCHECK is switched off.
        return {"Test": ["NONE"]}
    if hc["http_path"]:
        # Exec form: the URL is an argument ($0 of the script), never part of shell text.
        url = f"http://127.0.0.1:{hc['port']}{hc['http_path']}"
        test = ["CMD", "/bin/sh", "-c", HTTP_PROBE, url]
    else:
        test = hc["command"]
    ns = 1_000_000_000
    return {
        "Test": test,
        "Interval": int(hc["interval"] * ns),
        "Timeout": int(hc["timeout"] * ns),
        "Retries": hc["retries"],
        "StartPeriod": int(hc["start_period"] * ns),
    }


def container_body(
    spec: dict[str, Any], *, replica: int, digest: str, host_ports: list[int], address: str, key: bytes = b""
) -> dict[str, Any]:
    """The POST /containers/create body for one replica."""
    labels = dict(spec["labels"])
    labels.update(
        {
            L_SERVICE: spec["name"],
            L_REPLICA: str(replica),
            L_HASH: digest,
            L_PORT: ",".join(str(p) for p in host_ports),
            L_ADDRESS: address,
            L_SPEC: spec_label(spec, key),
        }
    )
    env = [f"{k}={v}" for k, v in spec["env"].items()]
    env.append(f"FLEET_REPLICA={spec['name']}-{replica}@{address or 'local'}")
    exposed: dict[str, dict] = {}
    bindings: dict[str, list[dict[str, str]]] = {}
    for port, hport in zip(spec["ports"], host_ports):
        key = f"{port['container']}/{port['protocol']}"
        exposed[key] = {}
        bindings[key] = [{"HostIp": spec["bind_address"] or "", "HostPort": str(hport)}]
    host_config: dict[str, Any] = {
        "PortBindings": bindings,
        "Binds": spec["volumes"] or None,
        "RestartPolicy": {"Name": "" if spec["restart_policy"] == "no" else spec["restart_policy"]},
        "Init": True,
    }
    if spec["resources"]["cpus"]:
        host_config["NanoCpus"] = int(spec["resources"]["cpus"] * 1_000_000_000)
    if spec["resources"]["memory"]:
        host_config["Memory"] = spec["resources"]["memory"]
    if spec["networks"]:
        # The first network at create time (engines before API 1.44 take one), the others joined before start
        # (DockerDriver._start); on every one the service name is an alias, so other replicas find it by name.
        host_config["NetworkMode"] = spec["networks"][0]
    body: dict[str, Any] = {
        "Image": spec["image"],
        "Env": env,
        "Labels": labels,
        "ExposedPorts": exposed,
        "HostConfig": host_config,
    }
    if spec["networks"]:
        body["NetworkingConfig"] = {"EndpointsConfig": {spec["networks"][0]: {"Aliases": [spec["name"]]}}}
    if spec["command"]:
        body["Cmd"] = spec["command"]
    health = docker_healthcheck(spec, outside=True)
    if health:
        body["Healthcheck"] = health
    return body


def diff_fields(old: dict[str, Any] | None, new: dict[str, Any]) -> list[str]:
    """Names of the spec fields that differ (for diff output and messages)."""
    if not old:
        return sorted(k for k in new if k not in ("name", "replicas"))
    return sorted(k for k in set(old) | set(new) if k not in ("name", "replicas") and old.get(k) != new.get(k))


# What a replica is made of, copied from the running revision by keep_revision; bind_address (the host's own)
# and the update policy (how to roll, not what runs) stay the task's.
REVISION_KEYS = tuple(k for k in HASHED_KEYS if k not in ("image_id", "bind_address"))


def revision_params(label: Any) -> dict[str, Any]:
    """The module parameters that give the spec a running replica was started with (its L_SPEC label).

    The label was read back from a host, so it is untrusted: only the keys it has are taken (a label of an older
    release leaves the task's value for a key it lacks), the fields the module's argument spec would check for
    type and choice are checked here, and normalize() checks every value again.  Env values are digests (seal);
    the caller restores them (history.restore_env).
    """
    from ansible_collections.containerops.fleet.plugins.module_utils.service.schema import RESTART_POLICIES

    def bad(field: str) -> SpecError:
        return SpecError(f"revision: {field} in the running replicas' spec label is not valid; redeploy the service")

    if not isinstance(label, dict):
        raise bad("the spec")
    params = {k: label[k] for k in REVISION_KEYS if k in label}
    env = params.get("env", {})
    if not isinstance(env, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
        raise bad("env")
    if any(not v.startswith(SEALED) for v in env.values()):
        # written before values were sealed: never pass a plain value on (results, invocation, journal)
        raise bad("env (a value that is not a digest)")
    if "restart_policy" in params and params["restart_policy"] not in RESTART_POLICIES:
        raise bad("restart_policy")
    for i, port in enumerate(params.get("ports") or []):
        container = port.get("container") if isinstance(port, dict) else None
        if not isinstance(container, int) or isinstance(container, bool) or port.get("protocol") not in ("tcp", "udp"):
            raise bad(f"ports[{i}]")
    res = params.get("resources")
    if res is not None:
        cpus = res.get("cpus") if isinstance(res, dict) else None
        if cpus is not None and (isinstance(cpus, bool) or not isinstance(cpus, (int, float)) or not 0 <= cpus < 1e6):
            raise bad("resources.cpus")
    hc = label.get("healthcheck")
    if "healthcheck" in params and hc is not None:
        if not isinstance(hc, dict):
            raise bad("healthcheck")
        hc = dict(hc)
        cmd = hc.get("command")
        if isinstance(cmd, list) and cmd[:1] == ["CMD-SHELL"] and len(cmd) == 2:
            hc["command"] = cmd[1]
        elif isinstance(cmd, list) and cmd[:1] == ["CMD"] and len(cmd) > 1:
            hc["command"] = cmd[1:]
        elif cmd is not None:
            raise bad("healthcheck.command")
        params["healthcheck"] = hc
    return params


def revision_spec(params: dict[str, Any]) -> dict[str, Any]:
    """normalize() for task parameters merged with revision_params: a value the label made unusable is named as the
    label's, never a traceback."""
    try:
        return normalize(params)
    except SpecError as exc:
        raise SpecError(f"revision: {exc} (in the running replicas' spec label; redeploy the service)") from None
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        raise SpecError(
            f"revision: the running replicas' spec label does not make a valid spec ({exc}); redeploy"
        ) from None
