# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The autoscaler's memory: recommendations with their time, per service, in a small JSON file.

    {"version": 1, "services": {"web": [[1795000000.0, 3], [1795000060.0, 2]]}}

Pruning (`within_window`) is pure; `load`/`save` are the only I/O.  `save` writes a temporary file
in the same directory and renames it over the old one, so a reader never sees half a file; the file
is mode 0600.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Dict, List, Tuple

VERSION = 1
Entry = Tuple[float, int]
History = Dict[str, List[Entry]]


class HistoryError(Exception):
    """The state file cannot be read or written; the message names it and the fix."""


def within_window(entries: list[Entry], now: float, window: float) -> list[Entry]:
    """Entries no older than `window` seconds (entries from the future, after a clock step, go too)."""
    return [(t, n) for t, n in entries if now - window <= t <= now]


def record(history: History, key: str, recommendation: int, now: float, window: float) -> History:
    """A new history: `key`'s entries pruned to the window, plus this recommendation."""
    updated = {k: list(v) for k, v in history.items()}
    updated[key] = [*within_window(history.get(key, []), now, window), (now, int(recommendation))]
    return updated


def load(path: str) -> History:
    """The history in `path`; a missing file is an empty history."""
    try:
        with open(path, encoding="utf-8") as handle:
            doc = json.load(handle)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise HistoryError(f"state_file: cannot read {path}: {exc}; fix or remove the file") from exc
    services = doc.get("services") if isinstance(doc, dict) else None
    if not isinstance(services, dict):
        raise HistoryError(f"state_file: {path} is not an autoscaler state file; fix or remove it")
    try:
        return {str(k): [(float(t), int(n)) for t, n in v] for k, v in services.items()}
    except (TypeError, ValueError) as exc:
        raise HistoryError(f"state_file: {path} holds a malformed entry ({exc}); fix or remove it") from exc


def save(path: str, history: History) -> None:
    """Write `history` to `path` atomically (temporary file + rename), mode 0600."""
    directory = os.path.dirname(os.path.abspath(path))
    doc = {"version": VERSION, "services": {k: [[t, n] for t, n in v] for k, v in sorted(history.items())}}
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".autoscale-", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise HistoryError(f"state_file: cannot write in {directory}: {exc}") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), 0o600)
            json.dump(doc, handle, separators=(",", ":"))
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise HistoryError(f"state_file: cannot write {path}: {exc}") from exc


def append_line(path: str, line: str, mode: int = 0o640) -> None:
    """Append one line to `path` (created with `mode`); used for the audit log."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, mode)
        with os.fdopen(fd, "a", encoding="utf-8") as handle:
            handle.write(line.rstrip("\n") + "\n")
    except OSError as exc:
        raise HistoryError(f"audit_log: cannot append to {path}: {exc}") from exc
