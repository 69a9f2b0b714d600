# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""container_runtime: plan what the host needs (reads only), then, outside check mode, do it.

`run(module)` is the module's single entry point and the one place errors become fail_json.
"""

from __future__ import annotations

import grp
import time
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.containerops.fleet.plugins.module_utils.runtime import config as rc
from ansible_collections.containerops.fleet.plugins.module_utils.runtime import install as ri
from ansible_collections.containerops.fleet.plugins.module_utils.runtime.engine import Engine, EngineDown
from ansible_collections.containerops.fleet.plugins.module_utils.runtime.host import Host, HostError


@dataclass
class Plan:
    spec: ri.EngineSpec
    packages: tuple[str, ...]
    install: list[str] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)
    repo: tuple[str, str, str] | None = None  # key URL, keyring, list line (when they must be written)
    key_fingerprint: str = ri.DOCKER_KEY_FINGERPRINT  # the only key the vendor repository's keyring may hold
    config_before: str = ""
    config_text: str = ""
    config_keys: list[str] = field(default_factory=list)
    start: bool = False
    users: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.install or self.remove or self.repo or self.config_keys or self.start or self.users)


def _config(host: Host, engine: Engine, params: dict[str, Any], binaries: bool) -> tuple[str, str, list[str]]:
    """-> (current text, new text, changed keys); validates the result, with the engine's own check when present."""
    spec = engine.spec
    current = host.read(spec.config_path) or ""
    exec_start = engine.exec_start() if spec.name == "docker" and binaries else ""
    text, keys = rc.plan(
        spec.config_format,
        spec.name,
        current,
        params["config"] or {},
        spec.config_path,
        exec_start,
        allow_insecure_tcp=bool(params.get("allow_insecure_tcp")),
    )
    if keys and binaries:
        try:
            engine.validate(text)
        except HostError as exc:
            raise rc.ConfigError(f"config: {spec.name} rejects the new {spec.config_path}: {exc}") from exc
    return current, text, keys


def _missing_users(group: str | None, users: list[str]) -> list[str]:
    if not users:
        return []
    try:
        members = set(grp.getgrnam(group).gr_mem) if group else set()
    except KeyError:
        members = set()
    return [u for u in users if u not in members]


def _keyring_is(text: str | None, fingerprint: str) -> bool:
    """The keyring on the host holds exactly the pinned key (else it is fetched and checked again)."""
    if text is None:
        return False
    try:
        return ri.key_fingerprints(text.encode()) == [fingerprint]
    except ri.InstallError:
        return False


def plan(host: Host, engine: Engine, params: dict[str, Any]) -> Plan:
    osr = ri.parse_os_release(host.read("/etc/os-release") or "")
    distro = ri.check_supported(osr)
    spec = engine.spec
    packages = ri.packages_for(spec.name, params["source"])
    apt = ri.Apt(host)
    installed = apt.installed(packages)
    p = Plan(spec=spec, packages=packages)
    if params["state"] == "absent":
        p.remove = [pkg for pkg in packages if installed[pkg]]
        return p
    if params["users"] and spec.group is None:
        raise rc.ConfigError(f"users: {spec.name} has no group that grants access to it; only docker has one")
    if params["source"] == "upstream":
        p.key_fingerprint = ri.expected_fingerprint(params.get("upstream_key_fingerprint"))
        key_url, keyring, line = ri.upstream_repo(distro, osr.codename, apt.architecture(), params.get("upstream_url"))
        if host.read(ri.DOCKER_LIST) != line or not _keyring_is(host.read(keyring), p.key_fingerprint):
            p.repo = (key_url, keyring, line)
    p.install = ri.missing(installed, packages, params["version"])
    binaries = all(installed.values())
    p.config_before, p.config_text, p.config_keys = _config(host, engine, params, binaries)
    p.start = not binaries or not (engine.is_active() and engine.is_enabled())
    p.users = _missing_users(spec.group, params["users"])
    return p


def _restart_or_roll_back(host: Host, engine: Engine, previous: str) -> None:
    since = time.time()
    engine.restart()
    try:
        engine.wait_healthy(since)
    except EngineDown as exc:
        path = engine.spec.config_path
        if previous:
            host.write(path, previous)
        else:
            host.remove(path)
        again = time.time()
        engine.restart()
        try:
            engine.wait_healthy(again)
            state = "the previous config was restored and the engine runs with it again"
        except EngineDown as exc2:
            state = f"the previous config was restored but the engine is still down: {exc2}"
        raise EngineDown(f"{engine.spec.name} did not come back healthy with the new config ({state}): {exc}") from exc


def execute(host: Host, engine: Engine, params: dict[str, Any], p: Plan) -> None:
    apt = ri.Apt(host)
    if p.remove:
        apt.remove(p.remove)
        return
    if p.repo:
        key_url, keyring, line = p.repo
        # Nothing is written (key, list, index) unless the downloaded key is the pinned one.
        host.write(keyring, ri.check_signing_key(host.fetch(key_url), p.key_fingerprint, key_url), 0o644)
        host.write(ri.DOCKER_LIST, line, 0o644)
        apt.update()
    if p.install:
        pin = params["version"] if p.install[0] == p.packages[0] else None
        apt.install(ri.install_args(tuple(p.install), pin))
    if p.install:
        # The package may have brought its own config file: merge into that one.
        p.config_before, p.config_text, p.config_keys = _config(host, engine, params, True)
    if p.config_keys:
        host.write(engine.spec.config_path, p.config_text)
    if not (engine.is_active() and engine.is_enabled()):
        engine.enable_and_start()
    if p.config_keys:
        _restart_or_roll_back(host, engine, p.config_before)
    for user in p.users:
        host.run(["usermod", "-aG", engine.spec.group, user])


def apply(host: Host, params: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    spec = ri.ENGINES[params["engine"]]
    engine = Engine(host, spec, timeout=params["timeout"])
    p = plan(host, engine, params)
    if not check_mode:  # the single mutation point
        execute(host, engine, params, p)
    facts: dict[str, Any] = {"version": None, "storage_driver": None, "cgroup_driver": None, "cgroup_version": None}
    if params["state"] == "present" and not (check_mode and (p.install or p.start)):
        facts = engine.wait_healthy(time.time())
    result: dict[str, Any] = {
        "changed": p.changed,
        "runtime": {"engine": spec.name, "service": spec.service, "config_path": spec.config_path, **facts},
        "changed_keys": p.config_keys,
        "packages": {"installed": p.install, "removed": p.remove},
    }
    if p.config_keys:
        result["diff"] = {
            "before": p.config_before,
            "after": p.config_text,
            "before_header": spec.config_path,
            "after_header": spec.config_path,
        }
    return result


def run(module: Any) -> None:
    host = Host(module)
    try:
        result = apply(host, module.params, module.check_mode)
    except (rc.ConfigError, ri.InstallError, EngineDown, HostError) as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)
