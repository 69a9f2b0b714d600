# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Engine services: start/restart, "does it answer?", its own config validation, and its facts.

docker answers on its API socket (engine_client), containerd through `ctr version`, podman through
`podman info --format json`.  The `facts_*` functions are pure.
"""

from __future__ import annotations

import json
import os
import re
import time
from typing import Any

from ansible_collections.containerops.fleet.plugins.module_utils.engine.client import DockerEngine, EngineError
from ansible_collections.containerops.fleet.plugins.module_utils.runtime.config import parse
from ansible_collections.containerops.fleet.plugins.module_utils.runtime.host import Host, HostError
from ansible_collections.containerops.fleet.plugins.module_utils.runtime.install import EngineSpec

_SYSTEMD_LINE = re.compile(r"^(\S+\.(service|socket):|(Starting|Started|Stopping|Stopped|Failed to start) )")
_ROUTINE_LEVEL = re.compile(r"level=(info|warning|debug|trace)\b")
_ERROR_WORDS = re.compile(r"level=(error|fatal)|\b(failed to|error|fatal|invalid|unable to)\b", re.IGNORECASE)


class EngineDown(RuntimeError):
    """The engine does not answer; the message carries its own error output."""


# ----------------------------------------------------------------------------- pure fact extraction


def cgroup_version(sys_fs_cgroup_has_controllers: bool) -> str:
    return "2" if sys_fs_cgroup_has_controllers else "1"


def engine_error(journal: str, lines: int = 3) -> str:
    """The engine's own error lines out of its journal, without systemd's and routine log lines.

    Falls back to the last lines when none reads as an error.
    """
    own = [
        line.strip()
        for line in journal.splitlines()
        if line.strip() and not _SYSTEMD_LINE.match(line.strip()) and not _ROUTINE_LEVEL.search(line)
    ]
    errors = list(dict.fromkeys(line for line in own if _ERROR_WORDS.search(line)))
    return "\n".join((errors or own)[-lines:])


def facts_docker(info: dict[str, Any], version: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": version.get("Version") or info.get("ServerVersion"),
        "storage_driver": info.get("Driver"),
        "cgroup_driver": info.get("CgroupDriver"),
        "cgroup_version": str(info.get("CgroupVersion") or ""),
    }


def parse_ctr_version(text: str) -> str | None:
    """`ctr version` output -> the server's version (None when only the client answered)."""
    section = None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.endswith(":") and not line.startswith(" "):
            section = stripped[:-1]
        elif section == "Server" and stripped.startswith("Version:"):
            return stripped.split(":", 1)[1].strip()
    return None


def facts_containerd(config: dict[str, Any], version: str | None, cgroup_v: str) -> dict[str, Any]:
    """Snapshotter and cgroup driver as the config sets them (containerd's defaults otherwise)."""
    plugins = config.get("plugins", {})
    if config.get("version", 1) == 3:
        runtime = plugins.get("io.containerd.cri.v1.runtime", {})
        snapshotter = plugins.get("io.containerd.cri.v1.images", {}).get("snapshotter")
    else:
        runtime = plugins.get("io.containerd.grpc.v1.cri", {})
        snapshotter = runtime.get("containerd", {}).get("snapshotter")
    runc = runtime.get("containerd", {}).get("runtimes", {}).get("runc", {}).get("options", {})
    return {
        "version": version,
        "storage_driver": snapshotter or "overlayfs",
        "cgroup_driver": "systemd" if runc.get("SystemdCgroup") else "cgroupfs",
        "cgroup_version": cgroup_v,
    }


def facts_podman(info: dict[str, Any]) -> dict[str, Any]:
    host = info.get("host", {})
    return {
        "version": info.get("version", {}).get("Version"),
        "storage_driver": info.get("store", {}).get("graphDriverName"),
        "cgroup_driver": host.get("cgroupManager"),
        "cgroup_version": str(host.get("cgroupVersion", "")).lstrip("v"),
    }


# ----------------------------------------------------------------------------- the engine on the host


class Engine:
    """One engine's service on a host."""

    def __init__(self, host: Host, spec: EngineSpec, timeout: float = 60.0, docker_socket: str | None = None):
        self.host = host
        self.spec = spec
        self.timeout = timeout
        self.docker = DockerEngine(docker_socket) if docker_socket else DockerEngine()

    # service ---------------------------------------------------------------

    def _systemctl(self, *args: str, check: bool = True) -> tuple[int, str, str]:
        return self.host.run(["systemctl", *args], check=check)

    def is_active(self) -> bool:
        return self._systemctl("is-active", "--quiet", self.spec.service, check=False)[0] == 0

    def has_failed(self) -> bool:
        """Down for good (failed, stopped, or waiting to be restarted after a crash): no point waiting."""
        out = self._systemctl("show", "-p", "ActiveState", "-p", "SubState", self.spec.service, check=False)[1]
        state = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        return state.get("ActiveState") in ("failed", "inactive") or state.get("SubState") == "auto-restart"

    def is_enabled(self) -> bool:
        return self._systemctl("is-enabled", "--quiet", self.spec.service, check=False)[0] == 0

    def exec_start(self) -> str:
        rc, out, _err = self._systemctl("show", "-p", "ExecStart", "--value", self.spec.service, check=False)
        return out if rc == 0 else ""

    def enable_and_start(self) -> None:
        self._systemctl("enable", "--now", self.spec.service)

    def restart(self) -> None:
        """Restart; a failed start is not raised here: `wait_healthy` reports it with the engine's words.

        podman has no daemon: only its API service, when running, is restarted to read the new config.
        """
        if self.spec.name == "podman":
            self._systemctl("try-restart", "podman.service", check=False)
            return
        self._systemctl("reset-failed", self.spec.service, check=False)
        self._systemctl("restart", self.spec.service, check=False)

    def journal(self, since: float, lines: int = 15) -> str:
        unit = "podman.service" if self.spec.name == "podman" else self.spec.service
        rc, out, _err = self.host.run(
            ["journalctl", "-u", unit, "--no-pager", "-o", "cat", "-n", str(lines), "--since", f"@{int(since)}"],
            check=False,
        )
        return out.strip() if rc == 0 else ""

    # health ----------------------------------------------------------------

    def probe(self) -> dict[str, Any]:
        """Facts from the running engine; raises EngineDown when it does not answer."""
        if self.spec.name == "docker":
            try:
                if not self.docker.ping():
                    raise EngineDown(f"the Docker engine does not answer on {self.docker.socket_path}")
                return facts_docker(self.docker.info(), self.docker.version())
            except EngineError as exc:
                raise EngineDown(str(exc)) from exc
        if self.spec.name == "containerd":
            try:
                out = self.host.run(["ctr", "version"])[1]
            except HostError as exc:
                raise EngineDown(str(exc)) from exc
            version = parse_ctr_version(out)
            if version is None:
                raise EngineDown("containerd does not answer: `ctr version` shows no server")
            config = parse("toml", self.host.read(self.spec.config_path) or "", self.spec.config_path)
            cgv = cgroup_version(os.path.exists("/sys/fs/cgroup/cgroup.controllers"))
            return facts_containerd(config, version, cgv)
        try:
            out = self.host.run(["podman", "info", "--format", "json"])[1]
            return facts_podman(json.loads(out))
        except (HostError, ValueError) as exc:
            raise EngineDown(str(exc)) from exc

    def wait_healthy(self, since: float) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                if not self.is_active():
                    raise EngineDown(f"service {self.spec.service} is not active")
                return self.probe()
            except EngineDown as exc:
                if time.monotonic() >= deadline or self.has_failed():
                    output = engine_error(self.journal(since, lines=300))
                    raise EngineDown(f"{exc}; engine output:\n{output}" if output else str(exc)) from exc
            time.sleep(1)

    # the engine's own config check ---------------------------------------

    def validate(self, text: str) -> None:
        """Run the engine's validate mode on the new config where it has one (raises HostError)."""
        suffix = ".json" if self.spec.config_format == "json" else ".toml"
        path = self.host.scratch(text, suffix)
        try:
            if self.spec.name == "docker":
                dockerd = self.host.which("dockerd")
                if dockerd and "--validate" in self.host.run([dockerd, "--help"], check=False)[1]:
                    self.host.run([dockerd, "--validate", "--config-file", path])
            elif self.spec.name == "containerd":
                if self.host.which("containerd"):
                    self.host.run(["containerd", "--config", path, "config", "dump"])
            elif self.host.which("podman"):
                self.host.run(["podman", "info", "--format", "json"], env={"CONTAINERS_CONF": path})
        finally:
            self.host.remove(path)
