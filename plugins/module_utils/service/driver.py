# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every platform driver (docker, swarm, kubernetes) shares: the interface the runner calls and the
errors it turns into fail_json.  Drivers import from here, never from each other.
"""

from __future__ import annotations

from typing import Any

try:
    from typing import Protocol
except ImportError:  # pragma: no cover - Python < 3.8 on a host
    Protocol = object  # type: ignore[assignment,misc]

from ansible_collections.containerops.fleet.plugins.module_utils.engine.client import DockerEngine
from ansible_collections.containerops.fleet.plugins.module_utils.service.spec import SpecError


class DeployError(Exception):
    """The deploy failed; `result` carries what is running now (after any rollback)."""

    def __init__(self, message: str, result: dict[str, Any] | None = None):
        super().__init__(message)
        self.result = result or {}


class Driver(Protocol):
    """One platform's way to converge a service.  Each call returns the module result."""

    def present(self) -> dict[str, Any]: ...

    def absent(self) -> dict[str, Any]: ...

    def restarted(self) -> dict[str, Any]: ...


def apply_state(driver: Driver, state: str) -> dict[str, Any]:
    """Run the driver's call for `state` (present, absent, restarted)."""
    return {"present": driver.present, "absent": driver.absent, "restarted": driver.restarted}[state]()


def local_image(engine: DockerEngine, ref: str, where: str) -> dict[str, Any]:
    """The image as the engine has it; this module never pulls, so a missing image is a clear error."""
    image = engine.inspect_image(ref)
    if image is None:
        raise SpecError(
            f"image: {ref!r} is not on {where}; the service role delivers it first (the definition's build, "
            "archive or pull), or put it there with containerops.fleet.container_image"
        )
    return image
