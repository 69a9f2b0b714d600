# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The haproxy_server module's logic: current server state + wanted state -> runtime commands -> persisted.

`plan` and `config_after` are pure; `manage` runs them against the admin socket and the files, and `run`
turns every domain error into fail_json in one place.

Persistence (so a reload does not lose what was changed at runtime):
- admin state (ready/drain/maint) and weight: the module dumps `show servers state` into the server state
  file the role configures (`server-state-file` + `load-server-state-from-file global`);
- servers added or removed, or moved to another address: the module rewrites the backend's `server` line in
  the configuration file, checked with `haproxy -c` before it replaces the file.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from typing import Any, Callable

from ansible_collections.containerops.fleet.plugins.module_utils import allow
from ansible_collections.containerops.fleet.plugins.module_utils.haproxy.config import (
    HaproxyConfigError,
    config_server,
    default_server_options,
    server_line,
    set_config_server,
)
from ansible_collections.containerops.fleet.plugins.module_utils.haproxy.runtime import (
    HaproxyRuntimeError,
    RuntimeSocket,
    ServerState,
)

_ADMIN = {"enabled": "ready", "present": None, "disabled": "maint", "drain": "drain", "absent": None}
_CHECK_OK = ("L4OK", "L6OK", "L7OK")


class HaproxyManageError(Exception):
    """The wanted server state cannot be reached; the message says why and what to change."""


@dataclass(frozen=True)
class Wanted:
    backend: str
    name: str
    state: str
    address: str | None = None
    port: int | None = None
    weight: int | None = None

    @property
    def ref(self) -> str:
        return f"{self.backend}/{self.name}"


def plan(current: ServerState | None, want: Wanted, add_options: list[str] | None = None) -> list[str]:
    """Runtime API commands that take `current` (None: no such server) to `want`; [] when nothing changes."""
    ref = want.ref
    if want.weight is not None and not 0 <= want.weight <= 256:
        raise HaproxyManageError(f"weight: {want.weight} is out of range; use 0 to 256")
    if want.state == "absent":
        if current is None:
            return []
        return ([] if current.admin == "maint" else [f"set server {ref} state maint"]) + [f"del server {ref}"]
    if current is None:
        if want.state != "present":
            raise HaproxyManageError(
                f"server {ref} does not exist; use state=present with address and port to add it, "
                "or check the backend and server names"
            )
        words = [w for w in add_options or [] if w]
        if want.weight is not None:
            words += ["weight", str(want.weight)]
        commands = [" ".join([f"add server {ref} {want.address}:{want.port}", *words])]
        if "check" in words:  # joins once its checks pass (`rise`), not on the assumption it is healthy
            commands += [f"enable health {ref}", f"set server {ref} health down"]
        return [*commands, f"set server {ref} state ready"]
    commands = []
    if (
        want.address is not None
        and want.port is not None
        and (current.address, current.port)
        != (
            want.address,
            want.port,
        )
    ):
        commands.append(f"set server {ref} addr {want.address} port {want.port}")
    if want.weight is not None and current.weight != want.weight:
        commands.append(f"set server {ref} weight {want.weight}")
    admin = _ADMIN[want.state]
    if admin is not None and current.admin != admin:
        commands.append(f"set server {ref} state {admin}")
    return commands


def config_after(text: str, current_line: str | None, want: Wanted) -> str | None:
    """The configuration text with want's server line in step; None when it already is."""
    if want.state == "absent":
        return None if current_line is None else set_config_server(text, want.backend, want.name, None)
    if want.address is None or want.port is None:
        return None  # only state/weight change: the server state file carries those
    if current_line is None:
        if want.state != "present":
            return None
        line = server_line(want.name, want.address, want.port, want.weight)
    else:
        words = current_line.split()
        if words[2] == f"{want.address}:{want.port}":
            return None
        line = " ".join([*words[:2], f"{want.address}:{want.port}", *words[3:]])
    return set_config_server(text, want.backend, want.name, line)


def describe(state: ServerState | None) -> dict[str, Any]:
    if state is None:
        return {"exists": False}
    return {
        "exists": True,
        "address": state.address,
        "port": state.port,
        "state": state.admin,
        "weight": state.weight,
    }


def _write_atomic(path: str, text: str, like: str | None = None) -> None:
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=".fleet-", dir=directory)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        source = like if like and os.path.exists(like) else None
        if source:
            st = os.stat(source)
            os.chmod(tmp, st.st_mode & 0o7777)
            os.chown(tmp, st.st_uid, st.st_gid)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class Manager:
    """Applies one Wanted through the admin socket and keeps the files in step."""

    def __init__(
        self,
        api: RuntimeSocket,
        config_file: str | None,
        state_file: str | None,
        validate: Callable[[str], None],
        wait_timeout: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.api = api
        self.config_file = config_file
        self.state_file = state_file
        self.validate = validate
        self.wait_timeout = wait_timeout
        self.sleep = sleep

    def current(self, want: Wanted) -> ServerState | None:
        return self.api.servers_state(want.backend).get((want.backend, want.name))

    def _stat(self, want: Wanted) -> dict[str, str]:
        return self.api.stat().get((want.backend, want.name)) or {}

    def _until(self, what: str, ready: Callable[[], bool]) -> None:
        deadline = time.monotonic() + self.wait_timeout
        while not ready():
            if time.monotonic() > deadline:
                raise HaproxyManageError(f"timed out after {self.wait_timeout:g}s waiting for {what}")
            self.sleep(0.25)

    def wait_drained(self, want: Wanted) -> None:
        def drained() -> bool:
            row = self._stat(want)
            return not row or (int(row.get("scur") or 0) == 0 and int(row.get("qcur") or 0) == 0)

        self._until(f"{want.ref} to have no sessions left", drained)

    def wait_healthy(self, want: Wanted) -> None:
        def healthy() -> bool:
            row = self._stat(want)
            return row.get("status", "").startswith("UP") or row.get("status") == "no check"

        self._until(f"{want.ref} to pass its health check (UP)", healthy)

    def execute(self, commands: list[str], want: Wanted, wait: bool) -> None:
        for command in commands:
            if command.startswith("del server"):
                self.wait_drained(want)
                self._delete(command)
                continue
            self.api.command(command)
        if not wait:
            return
        if want.state in ("drain", "disabled"):
            self.wait_drained(want)
        elif want.state in ("enabled", "present"):
            self.wait_healthy(want)

    def _delete(self, command: str) -> None:
        """`del server` refuses while idle connections linger: retry until the timeout."""
        deadline = time.monotonic() + self.wait_timeout
        while True:
            try:
                self.api.command(command)
                return
            except HaproxyRuntimeError:
                if time.monotonic() > deadline:
                    raise
                self.sleep(0.25)

    def read_config(self) -> str | None:
        if not self.config_file:
            return None
        try:
            with open(self.config_file) as handle:
                return handle.read()
        except OSError as exc:
            raise HaproxyManageError(f"cannot read {self.config_file}: {exc.strerror}") from exc

    def write_config(self, text: str) -> None:
        if not self.config_file:
            raise HaproxyManageError("no configuration file to write (persist is off)")
        directory = os.path.dirname(self.config_file) or "."
        fd, candidate = tempfile.mkstemp(prefix=".fleet-check-", suffix=".cfg", dir=directory)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(text)
            self.validate(candidate)
        finally:
            os.unlink(candidate)
        _write_atomic(self.config_file, text, like=self.config_file)

    def save_state(self) -> None:
        if self.state_file:
            _write_atomic(self.state_file, self.api.raw("show servers state"))


def checked(want: Wanted) -> Wanted:
    """Every value that goes into a runtime command or a server line, against its allow-list."""
    try:
        allow.check("server", want.backend, "backend")
        allow.check("server", want.name, "name")
        if want.address is not None:
            allow.address(want.address, "address")
        if want.port is not None:
            allow.port(want.port, "port")
    except allow.NotAllowed as exc:
        raise HaproxyManageError(str(exc)) from None
    return want


def manage(manager: Manager, want: Wanted, wait: bool, check_mode: bool) -> dict[str, Any]:
    checked(want)
    before = manager.current(want)
    text = manager.read_config()
    options: list[str] = []
    new_text = None
    if text is not None:
        try:
            options = default_server_options(text, want.backend)
            new_text = config_after(text, config_server(text, want.backend, want.name), want)
        except HaproxyConfigError as exc:
            raise HaproxyManageError(f"{manager.config_file}: {exc}") from exc
    commands = plan(before, want, options)
    changed = bool(commands) or new_text is not None
    result: dict[str, Any] = {"changed": changed, "commands": commands, "config_changed": new_text is not None}
    if check_mode or not changed:
        after = describe(before)
        if changed:
            after = _predict(before, want)
    else:
        manager.execute(commands, want, wait)
        if new_text is not None:
            manager.write_config(new_text)
        if commands:
            manager.save_state()
        after = describe(manager.current(want))
    if not check_mode and not changed and wait:
        manager.execute([], want, wait)
    result["diff"] = {"before": describe(before), "after": after}
    result["server"] = after
    return result


def _predict(before: ServerState | None, want: Wanted) -> dict[str, Any]:
    if want.state == "absent":
        return {"exists": False}
    after = describe(before)
    if not after["exists"]:
        after = {"exists": True, "address": want.address, "port": want.port, "state": "ready", "weight": 1}
    if want.address is not None and want.port is not None:
        after.update(address=want.address, port=want.port)
    if want.weight is not None:
        after["weight"] = want.weight
    if _ADMIN[want.state]:
        after["state"] = _ADMIN[want.state]
    return after


def run(module: Any) -> None:
    """Entry point of the haproxy_server module: the one place domain errors become fail_json."""
    p = module.params
    want = Wanted(p["backend"], p["name"], p["state"], p["address"], p["port"], p["weight"])
    haproxy = module.get_bin_path("haproxy", required=False) or "haproxy"

    def validate(path: str) -> None:
        rc, out, err = module.run_command([haproxy, "-c", "-f", path])
        if rc != 0:
            raise HaproxyManageError(f"haproxy -c rejected the updated configuration: {(err or out).strip()}")

    manager = Manager(
        RuntimeSocket(p["socket"]),
        p["config_file"] if p["persist"] else None,
        p["state_file"] if p["persist"] else None,
        validate,
        wait_timeout=p["wait_timeout"],
    )
    try:
        result = manage(manager, want, p["wait"], module.check_mode)
    except (HaproxyManageError, HaproxyRuntimeError, OSError) as exc:
        module.fail_json(msg=str(exc))
    if not module._diff:
        result.pop("diff")
    module.exit_json(**result)
