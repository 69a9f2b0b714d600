# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Revision history of a service on a host: what each successful deploy ran (spec + image ID), so a
rollback works without a registry.  Pure functions plus one small file reader/writer.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from typing import Any, Callable

from ansible_collections.containerops.fleet.plugins.module_utils.service.spec import sealed_value


class HistoryError(ValueError):
    """The requested revision does not exist; the message lists the ones that do."""


def record(
    history: list[dict[str, Any]],
    spec: dict[str, Any],
    image_id: str,
    digest: str,
    limit: int,
    now: float | None = None,
) -> list[dict[str, Any]]:
    """Append a revision unless the newest one already is this spec hash; keep the newest `limit`."""
    if history and history[-1].get("spec_hash") == digest:
        return history
    revision = (history[-1]["revision"] + 1) if history else 1
    entry = {
        "revision": revision,
        "spec_hash": digest,
        "image_id": image_id,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "spec": {k: v for k, v in spec.items() if k != "replicas"},
    }
    return [*history, entry][-max(limit, 1) :]


def pick(history: list[dict[str, Any]], target: str) -> dict[str, Any]:
    """`previous` (the one before the newest) or a revision number."""
    known = ", ".join(str(h["revision"]) for h in history) or "none"
    if target == "previous":
        if len(history) < 2:
            raise HistoryError(f"rollback_to: no previous revision recorded (revisions: {known})")
        return history[-2]
    try:
        wanted = int(target)
    except ValueError as exc:
        raise HistoryError(f"rollback_to: {target!r} must be 'previous' or a revision number") from exc
    for entry in history:
        if entry["revision"] == wanted:
            return entry
    raise HistoryError(f"rollback_to: revision {wanted} is not in the history (revisions: {known})")


def rollback_spec(entry: dict[str, Any], replicas: int, env: dict[str, str], key: bytes = b"") -> dict[str, Any]:
    """The spec to deploy for a rollback: the recorded spec, pinned to the recorded image ID.

    The history holds env values only as keyed digests (spec.seal); each is taken from `env` (the task's) when
    its digest matches, so no secret is ever read from the history file.
    """
    spec = dict(entry["spec"])
    spec["image"] = entry["image_id"]
    spec["replicas"] = replicas
    spec["env"] = restore_env(
        spec.get("env") or {},
        [env],
        key,
        lambda name: (
            f"rollback_to: revision {entry.get('revision')} ran with another value of env {name} than the task "
            "gives (the history keeps only a digest of it); give that value in env to roll back to it"
        ),
    )
    return spec


def restore_env(
    recorded: dict[str, str], sources: list[dict[str, str]], key: bytes, missing: Callable[[str], str]
) -> dict[str, str]:
    """The values behind a sealed env (name -> digest): each from the first source whose value has that digest.

    Sources are plain env maps (the task's, a running replica's); a name no source can give raises HistoryError
    with `missing(name)`.  No value is ever read from the sealed record itself.
    """
    restored = {}
    for name, digest in recorded.items():
        value = next(
            (s[name] for s in sources if name in s and sealed_value(s[name], key) == sealed_value(digest, key)), None
        )
        if value is None:
            raise HistoryError(missing(name))
        restored[name] = value
    return restored


def load(path: str) -> list[dict[str, Any]]:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        return []
    except ValueError:
        return []  # a damaged history is not worth failing a deploy over; it restarts
    return data if isinstance(data, list) else []


def save(path: str, history: list[dict[str, Any]]) -> None:
    """Write the history atomically (temp file, fsync, rename), 0600; a failure leaves the old file and no temp."""
    directory = os.path.dirname(path)
    tmp = ""
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".history-")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            os.fchmod(fh.fileno(), 0o600)
            json.dump(history, fh, indent=1, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        if tmp:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise HistoryError(
            f"history_dir: cannot record the revision in {path}: {exc.strerror or exc}; the replicas run, "
            "but rollback_to will not know this revision until a deploy records it"
        ) from None
