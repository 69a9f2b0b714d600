# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""HAProxy's admin (stats) socket: one command per connection, stdlib only.

The parsing functions are pure (text in, data out); `RuntimeSocket` is the only part that talks to
HAProxy.  Errors are raised as HaproxyRuntimeError carrying HAProxy's own message.
"""

from __future__ import annotations

import csv
import io
import socket
from dataclasses import asdict, dataclass
from typing import Any

DEFAULT_SOCKET = "/run/haproxy/admin.sock"

# srv_admin_state bits (src/server.h): forced/inherited/resolution maintenance, config maintenance, drain.
_ADMF_MAINT = 0x01 | 0x02 | 0x04 | 0x20 | 0x40
_ADMF_DRAIN = 0x08 | 0x10
_OP_STATES = {0: "DOWN", 1: "STARTING", 2: "UP", 3: "STOPPING"}
# Answers the runtime API gives to a command that did what it was asked (anything else is its error message).
_OK_PREFIXES = ("New server registered", "Server deleted", "IP changed", "port changed", "no need to change")


class HaproxyRuntimeError(Exception):
    """HAProxy refused a runtime command or its socket cannot be reached."""


@dataclass
class ServerState:
    backend: str
    name: str
    address: str
    port: int
    admin: str  # ready | drain | maint
    operational: str  # UP | DOWN | STARTING | STOPPING
    weight: int
    initial_weight: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def admin_state(bits: int) -> str:
    if bits & _ADMF_MAINT:
        return "maint"
    if bits & _ADMF_DRAIN:
        return "drain"
    return "ready"


def parse_servers_state(text: str) -> dict[tuple[str, str], ServerState]:
    """`show servers state` output -> {(backend, server): ServerState}."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    header: list[str] = []
    found: dict[tuple[str, str], ServerState] = {}
    for line in lines:
        if line.startswith("#"):
            header = line.lstrip("# ").split()
            continue
        if not header:  # the format version line ("1")
            continue
        row = dict(zip(header, line.split()))
        if "srv_name" not in row:
            continue
        try:
            state = ServerState(
                backend=row["be_name"],
                name=row["srv_name"],
                address=row.get("srv_addr", ""),
                port=int(row.get("srv_port") or 0),
                admin=admin_state(int(row.get("srv_admin_state") or 0)),
                operational=_OP_STATES.get(int(row.get("srv_op_state") or 0), "DOWN"),
                weight=int(row.get("srv_uweight") or 0),
                initial_weight=int(row.get("srv_iweight") or 0),
            )
        except ValueError as exc:
            raise HaproxyRuntimeError(f"unexpected `show servers state` line: {line!r}") from exc
        found[(state.backend, state.name)] = state
    return found


def parse_stat(text: str) -> dict[tuple[str, str], dict[str, str]]:
    """`show stat` CSV -> {(proxy, server): row}."""
    body = text.lstrip("# ")
    rows = csv.DictReader(io.StringIO(body))
    return {(row["pxname"], row["svname"]): row for row in rows if row.get("pxname")}


def check_answer(command: str, answer: str) -> str:
    """Raise when the answer to a mutating command is an error message."""
    text = answer.strip()
    if not text or text.startswith(_OK_PREFIXES):
        return text
    raise HaproxyRuntimeError(f"HAProxy refused `{command}`: {text}")


class RuntimeSocket:
    """The admin socket at `path` (needs `level admin`)."""

    def __init__(self, path: str = DEFAULT_SOCKET, timeout: float = 10.0):
        self.path = path
        self.timeout = timeout

    def raw(self, command: str) -> str:
        # One command per connection: ';' would chain a second one, a control character end this one.
        if ";" in command or any(ord(c) < 32 or ord(c) == 127 for c in command):
            raise HaproxyRuntimeError(f"refusing to send {command[:80]!r}: ';' and control characters chain commands")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.path)
            sock.sendall(command.encode() + b"\n")
            chunks = []
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except FileNotFoundError as exc:
            raise HaproxyRuntimeError(f"no HAProxy admin socket at {self.path}; is HAProxy running?") from exc
        except OSError as exc:
            raise HaproxyRuntimeError(f"cannot talk to HAProxy at {self.path}: {exc}") from exc
        finally:
            sock.close()
        return b"".join(chunks).decode(errors="replace")

    def command(self, command: str) -> str:
        return check_answer(command, self.raw(command))

    def servers_state(self, backend: str | None = None) -> dict[tuple[str, str], ServerState]:
        command = f"show servers state {backend}" if backend else "show servers state"
        text = self.raw(command)
        if text.strip().startswith("Can't find backend"):
            raise HaproxyRuntimeError(f"HAProxy has no backend {backend!r}; check the backend name")
        return parse_servers_state(text)

    def stat(self) -> dict[tuple[str, str], dict[str, str]]:
        return parse_stat(self.raw("show stat"))
