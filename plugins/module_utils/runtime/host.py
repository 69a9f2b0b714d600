# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The thin layer between container_runtime and the host: commands, files, downloads.

Everything that touches the host goes through `Host`, so the logic above it stays testable and
check mode is decided in one place (the caller never reaches a write in check mode).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from typing import Any


class HostError(RuntimeError):
    """A command failed or a file could not be written; the message carries the host's own output."""


class Host:
    def __init__(self, module: Any):
        self.module = module

    def run(
        self, args: list[str], env: dict[str, str] | None = None, check: bool = True, data: str | None = None
    ) -> tuple[int, str, str]:
        rc, out, err = self.module.run_command(args, environ_update=env or {}, data=data)
        if check and rc != 0:
            detail = (err or out).strip() or f"exit code {rc}"
            raise HostError(f"{' '.join(args[:3])} failed: {detail}")
        return rc, out, err

    def which(self, name: str) -> str | None:
        return self.module.get_bin_path(name)

    @staticmethod
    def read(path: str) -> str | None:
        try:
            with open(path, encoding="utf-8") as handle:
                return handle.read()
        except FileNotFoundError:
            return None

    def write(self, path: str, text: str, mode: int = 0o644) -> None:
        """Atomic replace; the directory is created when missing."""
        directory = os.path.dirname(path)
        os.makedirs(directory, mode=0o755, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".fleet-")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, mode)
        self.module.atomic_move(tmp, path)

    @staticmethod
    def remove(path: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)

    @staticmethod
    def scratch(text: str, suffix: str) -> str:
        """A temporary file holding `text` (for validating a config before it is installed)."""
        fd, tmp = tempfile.mkstemp(prefix="fleet-runtime-", suffix=suffix)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        return tmp

    def fetch(self, url: str) -> bytes:
        from ansible.module_utils.urls import fetch_url

        resp, info = fetch_url(self.module, url, timeout=30)
        if info.get("status") != 200 or resp is None:
            raise HostError(f"cannot download {url}: {info.get('msg', info.get('status'))}")
        return resp.read()
