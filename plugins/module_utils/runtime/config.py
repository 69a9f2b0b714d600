# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Engine configuration: merge the wanted keys into the current file, say what changed, check it.

Pure functions (text and dicts in, text and dicts out): /etc/docker/daemon.json (JSON),
containerd's config.toml (TOML, the 1.x `version = 2` and 2.x `version = 3` layouts) and podman's
containers.conf (TOML).  A key set to null in the wanted config is removed from the file.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import re
from typing import Any

from ansible_collections.containerops.fleet.plugins.module_utils.runtime import toml as runtime_toml


class ConfigError(ValueError):
    """The wanted configuration is invalid; the message names the key and the fix."""


# ----------------------------------------------------------------------------- merge / diff


def deep_merge(current: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    """`wanted` over `current`, tables merged key by key; a None value removes the key."""
    merged = copy.deepcopy(current)
    for key, value in wanted.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        elif isinstance(value, dict):
            merged[key] = deep_merge({}, value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def changed_keys(before: dict[str, Any], after: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted paths of the leaves that differ (added, removed or changed), sorted."""
    keys: list[str] = []
    for key in sorted(set(before) | set(after), key=str):
        path = f"{prefix}{key}"
        old, new = before.get(key), after.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            keys.extend(changed_keys(old, new, path + "."))
        elif key not in before or key not in after or old != new:
            keys.append(path)
    return keys


# ----------------------------------------------------------------------------- formats


def parse(fmt: str, text: str, path: str) -> dict[str, Any]:
    """Current file content -> dict ({} for an absent or empty file)."""
    if not text.strip():
        return {}
    if fmt == "json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"{path} is not valid JSON ({exc}); fix or remove it") from exc
    else:
        try:
            data = runtime_toml.loads(text)
        except runtime_toml.TomlError as exc:
            raise ConfigError(f"{path}: {exc}; fix or remove it") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold an object at the top level")
    return data


def render(fmt: str, data: dict[str, Any]) -> str:
    if fmt == "json":
        return json.dumps(data, indent=2, sort_keys=True) + "\n"
    try:
        return runtime_toml.dumps(data)
    except runtime_toml.TomlError as exc:
        raise ConfigError(f"config: {exc}") from exc


# ----------------------------------------------------------------------------- docker (daemon.json)

# dockerd 20.10 daemon.json keys (dockerd --help flags, with the plural names daemon.json uses).
DOCKER_KEYS = frozenset(
    """
    allow-nondistributable-artifacts api-cors-header authorization-plugins bip bridge builder cgroup-parent
    cluster-advertise cluster-store cluster-store-opts containerd containerd-namespace containerd-plugins-namespace
    cpu-rt-period cpu-rt-runtime data-root debug default-address-pools default-cgroupns-mode default-gateway
    default-gateway-v6 default-ipc-mode default-runtime default-shm-size default-ulimits dns dns-opts dns-search
    exec-opts exec-root experimental features fixed-cidr fixed-cidr-v6 group host-gateway-ip hosts icc init
    init-path insecure-registries ip ip-forward ip-masq ip6tables iptables ipv6 labels live-restore log-driver
    log-format log-level log-opts max-concurrent-downloads max-concurrent-uploads max-download-attempts metrics-addr
    mtu no-new-privileges node-generic-resources oom-score-adjust pidfile raw-logs registry-mirrors rootless
    runtimes seccomp-profile selinux-enabled shutdown-timeout storage-driver storage-opts swarm-default-advertise-addr
    tls tlscacert tlscert tlskey tlsverify userland-proxy userland-proxy-path userns-remap
    """.split()
)
DOCKER_STORAGE_DRIVERS = ("overlay2", "fuse-overlayfs", "btrfs", "zfs", "vfs", "devicemapper", "aufs", "overlay")
DOCKER_LOG_DRIVERS = (
    "json-file",
    "local",
    "journald",
    "syslog",
    "gelf",
    "fluentd",
    "awslogs",
    "splunk",
    "etwlogs",
    "gcplogs",
    "logentries",
    "none",
)
DOCKER_LOG_LEVELS = ("debug", "info", "warn", "error", "fatal")
_DOCKER_BOOLS = (
    "debug experimental icc ip-forward ip-masq ip6tables iptables ipv6 live-restore no-new-privileges raw-logs "
    "selinux-enabled tls tlsverify userland-proxy"
).split()
_DOCKER_LISTS = (
    "allow-nondistributable-artifacts authorization-plugins default-address-pools dns dns-opts dns-search exec-opts "
    "hosts insecure-registries labels node-generic-resources registry-mirrors storage-opts"
).split()
_DOCKER_INTS = "max-concurrent-downloads max-concurrent-uploads max-download-attempts mtu shutdown-timeout".split()
# Flags the distro's docker.service passes; the same key in daemon.json makes dockerd refuse to start.
_DOCKER_UNIT_FLAGS = {"hosts": ("-H", "--host"), "containerd": ("--containerd",)}


def _host_port(value: Any, key: str) -> None:
    match = re.fullmatch(r"\[?([^\]]*?)\]?:(\d+)", str(value))
    if not match or not 0 < int(match.group(2)) < 65536:
        raise ConfigError(f"config.{key}: {value!r} is not host:port; use e.g. 10.0.0.5:9323")
    try:
        ipaddress.ip_address(match.group(1))
    except ValueError:
        if not re.fullmatch(r"[A-Za-z0-9.-]+", match.group(1)):
            raise ConfigError(f"config.{key}: {match.group(1)!r} is not an address or host name") from None


# ----------------------------------------------------------------------------- engine API on the network

_INSECURE_TCP_FIX = "or set allow_insecure_tcp: true (role: container_runtime_allow_insecure_tcp) to accept the risk"
# dockerd listens on these without the network; anything else (tcp://, or host:port, which it reads as tcp://) is TCP
_DOCKER_LOCAL_SCHEMES = ("unix://", "fd://", "npipe://")
_DOCKER_TLS_FILES = ("tlscacert", "tlscert", "tlskey")
_CONTAINERD_TLS_FILES = ("tcp_tls_ca", "tcp_tls_cert", "tcp_tls_key")


def _set(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def check_docker_tcp(config: dict[str, Any], allow_insecure_tcp: bool = False) -> None:
    """A TCP engine host is root on this host for whoever reaches it: only with TLS client verification.

    dockerd verifies clients only with `tlsverify: true` and a CA (tlscacert); `tls: true` alone encrypts
    but lets anyone in.
    """
    tcp = [h for h in config.get("hosts") or [] if not str(h).lower().startswith(_DOCKER_LOCAL_SCHEMES)]
    if not tcp or allow_insecure_tcp:
        return
    missing = [] if config.get("tlsverify") is True else ["tlsverify"]
    missing += [key for key in _DOCKER_TLS_FILES if not _set(config.get(key))]
    if missing:
        raise ConfigError(
            f"config.hosts: {tcp[0]!r} serves the Docker API (root on this host) on the network without TLS client "
            f"verification (missing: {', '.join(missing)}); set tlsverify: true with tlscacert, tlscert and tlskey "
            f"(CA, server certificate and key files) in config, keep hosts on unix:// or fd:// only, "
            f"{_INSECURE_TCP_FIX}"
        )


def check_containerd_tcp(config: dict[str, Any], allow_insecure_tcp: bool = False) -> None:
    """containerd's [grpc] tcp_address: mutual TLS (client CA, certificate and key) or an explicit opt-in."""
    grpc = config.get("grpc")
    if not isinstance(grpc, dict) or not _set(grpc.get("tcp_address")) or allow_insecure_tcp:
        return
    missing = [f"grpc.{key}" for key in _CONTAINERD_TLS_FILES if not _set(grpc.get(key))]
    if missing:
        raise ConfigError(
            f"config.grpc.tcp_address: {grpc['tcp_address']!r} serves containerd's API (root on this host) on the "
            f"network without TLS client verification (missing: {', '.join(missing)}); set grpc.tcp_tls_ca, "
            f"tcp_tls_cert and tcp_tls_key (client CA, server certificate and key files), remove tcp_address "
            f"(null), {_INSECURE_TCP_FIX}"
        )


def validate_docker(config: dict[str, Any], exec_start: str = "", allow_insecure_tcp: bool = False) -> None:
    """Checks dockerd itself would only make at start (dockerd 20.10 has no --validate).

    `exec_start` is the service's command line: keys it already passes as flags are refused.  A TCP host
    without TLS client verification is refused unless `allow_insecure_tcp`.
    """
    unknown = sorted(k for k in config if k not in DOCKER_KEYS)
    if unknown:
        raise ConfigError(
            f"config: unknown daemon.json key(s) {', '.join(unknown)}; dockerd would refuse to start. "
            "Use the dockerd option names, e.g. log-opts, storage-driver, metrics-addr"
        )
    for key in _DOCKER_BOOLS:
        if key in config and not isinstance(config[key], bool):
            raise ConfigError(f"config.{key}: must be true or false, not {config[key]!r}")
    for key in _DOCKER_LISTS:
        if key in config and not isinstance(config[key], list):
            raise ConfigError(f"config.{key}: must be a list, not {config[key]!r}")
    for key in _DOCKER_INTS:
        if key in config and (isinstance(config[key], bool) or not isinstance(config[key], int)):
            raise ConfigError(f"config.{key}: must be an integer, not {config[key]!r}")
    driver = config.get("storage-driver")
    if driver is not None and driver not in DOCKER_STORAGE_DRIVERS:
        raise ConfigError(
            f"config.storage-driver: unknown storage driver {driver!r}; use one of {', '.join(DOCKER_STORAGE_DRIVERS)}"
        )
    log_driver = config.get("log-driver")
    if log_driver is not None and log_driver not in DOCKER_LOG_DRIVERS and "/" not in str(log_driver):
        raise ConfigError(
            f"config.log-driver: unknown log driver {log_driver!r}; use one of {', '.join(DOCKER_LOG_DRIVERS)} "
            "or a plugin reference (owner/name:tag)"
        )
    if "log-level" in config and config["log-level"] not in DOCKER_LOG_LEVELS:
        raise ConfigError(f"config.log-level: {config['log-level']!r} is not one of {', '.join(DOCKER_LOG_LEVELS)}")
    opts = config.get("log-opts")
    if opts is not None:
        if not isinstance(opts, dict):
            raise ConfigError("config.log-opts: must be a mapping of option names to strings")
        bad = sorted(k for k, v in opts.items() if not isinstance(v, str))
        if bad:
            raise ConfigError(
                f"config.log-opts: values must be strings (dockerd rejects others); quote {', '.join(bad)}"
            )
    if "metrics-addr" in config:
        _host_port(config["metrics-addr"], "metrics-addr")
    if exec_start:
        flags = exec_start.split()
        for key, names in _DOCKER_UNIT_FLAGS.items():
            if key in config and any(f == n or f.startswith(n + "=") for f in flags for n in names):
                raise ConfigError(
                    f"config.{key}: the docker service already passes {names[0]} on its command line; dockerd "
                    f"refuses a directive set both as a flag and in daemon.json. Drop {key} or override the unit"
                )
    check_docker_tcp(config, allow_insecure_tcp)


# ----------------------------------------------------------------------------- containerd (config.toml)

# Plugin ids that exist in one layout only (containerd 1.x `version = 2`, 2.x `version = 3`).
_CONTAINERD_ONLY_V2 = ("io.containerd.grpc.v1.cri.containerd", "io.containerd.grpc.v1.cri.registry")
_CONTAINERD_ONLY_V3 = ("io.containerd.cri.v1.runtime", "io.containerd.cri.v1.images")
CONTAINERD_TOP_KEYS = frozenset(
    """
    version root state temp plugin_dir disabled_plugins required_plugins oom_score imports grpc ttrpc debug metrics
    cgroup plugins timeouts stream_processors proxy_plugins
    """.split()
)


def containerd_layout(config: dict[str, Any]) -> int:
    """The config.toml schema version: 1 (no version key), 2 (containerd 1.x) or 3 (containerd 2.x)."""
    version = config.get("version", 1)
    if version not in (1, 2, 3):
        raise ConfigError(f"config.version: containerd knows config versions 1, 2 and 3, not {version!r}")
    return version


def validate_containerd(merged: dict[str, Any], allow_insecure_tcp: bool = False) -> None:
    unknown = sorted(k for k in merged if k not in CONTAINERD_TOP_KEYS)
    if unknown:
        raise ConfigError(
            f"config: unknown containerd top-level key(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(CONTAINERD_TOP_KEYS))}"
        )
    layout = containerd_layout(merged)
    plugins = merged.get("plugins", {})
    if not isinstance(plugins, dict):
        raise ConfigError("config.plugins: must be a table of plugin ids")
    if layout == 2:
        wrong = [p for p in plugins if p.startswith(_CONTAINERD_ONLY_V3)]
        fix = "this host's config.toml is version 2 (containerd 1.x): use io.containerd.grpc.v1.cri"
    elif layout == 3:
        wrong = [p for p in plugins if p.startswith(_CONTAINERD_ONLY_V2)]
        cri = plugins.get("io.containerd.grpc.v1.cri", {})
        if isinstance(cri, dict) and ("containerd" in cri or "registry" in cri):
            wrong.append("io.containerd.grpc.v1.cri.containerd")
        fix = "this host's config.toml is version 3 (containerd 2.x): use io.containerd.cri.v1.runtime / images"
    else:
        wrong = []
        fix = ""
    if wrong:
        raise ConfigError(f"config.plugins: {', '.join(sorted(wrong))} belongs to the other config layout; {fix}")
    check_containerd_tcp(merged, allow_insecure_tcp)


# ----------------------------------------------------------------------------- podman (containers.conf)

CONTAINERS_CONF_TABLES = frozenset(("containers", "engine", "machine", "network", "secrets", "configmaps", "farms"))
PODMAN_CGROUP_MANAGERS = ("systemd", "cgroupfs")


def validate_podman(config: dict[str, Any]) -> None:
    """containers.conf has no listen address: podman's API is podman.socket (a unix socket), so no TCP check here."""
    unknown = sorted(k for k in config if k not in CONTAINERS_CONF_TABLES)
    if unknown:
        raise ConfigError(
            f"config: unknown containers.conf table(s) {', '.join(unknown)}; "
            f"use {', '.join(sorted(CONTAINERS_CONF_TABLES))}"
        )
    bad = sorted(k for k, v in config.items() if not isinstance(v, dict))
    if bad:
        raise ConfigError(f"config: {', '.join(bad)} must be table(s), e.g. engine: {{cgroup_manager: cgroupfs}}")
    manager = config.get("engine", {}).get("cgroup_manager")
    if manager is not None and manager not in PODMAN_CGROUP_MANAGERS:
        raise ConfigError(
            f"config.engine.cgroup_manager: {manager!r} is not one of {', '.join(PODMAN_CGROUP_MANAGERS)}"
        )


VALIDATORS = {"docker": validate_docker, "containerd": validate_containerd, "podman": validate_podman}


def plan(
    fmt: str,
    engine: str,
    current_text: str,
    wanted: dict[str, Any],
    path: str,
    exec_start: str = "",
    allow_insecure_tcp: bool = False,
):
    """-> (new text, changed keys); raises ConfigError for a bad result (the merged file, keys already there too)."""
    before = parse(fmt, current_text, path)
    after = deep_merge(before, wanted)
    if engine == "docker":
        validate_docker(after, exec_start, allow_insecure_tcp)
    elif engine == "containerd":
        validate_containerd(after, allow_insecure_tcp)
    else:
        VALIDATORS[engine](after)
    text = render(fmt, after)
    return text, changed_keys(before, after)
