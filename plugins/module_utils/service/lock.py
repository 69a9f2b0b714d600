# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One change to a service at a time on a host: deploy, scale, rollback and the autoscaler take this lock."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator

from ansible_collections.containerops.fleet.plugins.module_utils.service.driver import DeployError


@contextlib.contextmanager
def service_lock(directory: str, name: str, timeout: float, poll: float = 0.5) -> Iterator[None]:
    """Hold `<directory>/<name>.lock` (flock) while the body runs; wait up to `timeout` s for another holder.

    The lock goes with the process: a deploy that dies leaves nothing to clean up.
    """
    os.makedirs(directory, mode=0o700, exist_ok=True)
    path = os.path.join(directory, f"{name}.lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
                    raise DeployError(
                        f"another change to service {name} on this host (pid {holder}) still holds {path} after "
                        f"{timeout:g} s; wait for it to finish, or raise lock_timeout"
                    ) from None
                time.sleep(poll)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the flock
