# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One change to a service at a time on a host; limits refused before anything changes."""

from __future__ import annotations

import multiprocessing
import time

import pytest

from ansible_collections.containerops.fleet.plugins.module_utils.service.driver import DeployError
from ansible_collections.containerops.fleet.plugins.module_utils.service.lock import service_lock
from ansible_collections.containerops.fleet.plugins.module_utils.service.placement import (
    Node,
    PlacementError,
    place,
)


def _hold(directory: str, seconds: float, ready) -> None:
    with service_lock(directory, "web", timeout=5):
        ready.set()
        time.sleep(seconds)


def test_a_second_change_waits_for_the_first(tmp_path):
    ready = multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold, args=(str(tmp_path), 1.0, ready))
    holder.start()
    assert ready.wait(10)
    started = time.monotonic()
    with service_lock(str(tmp_path), "web", timeout=10, poll=0.05):
        waited = time.monotonic() - started
    holder.join()
    assert waited >= 0.5  # it waited for the holder, it did not run beside it


def test_a_change_that_waits_too_long_fails_naming_the_holder(tmp_path):
    ready = multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold, args=(str(tmp_path), 3.0, ready))
    holder.start()
    assert ready.wait(10)
    try:
        expected = rf"another change to service web on this host \(pid {holder.pid}\)"
        with pytest.raises(DeployError, match=expected), service_lock(str(tmp_path), "web", timeout=0.3, poll=0.05):
            pytest.fail("ran beside the holder")
    finally:
        holder.join()


def test_other_services_do_not_wait(tmp_path):
    with service_lock(str(tmp_path), "web", timeout=1), service_lock(str(tmp_path), "api", timeout=0.1):
        pass
    assert (tmp_path / "web.lock").stat().st_mode & 0o777 == 0o600


def test_a_lock_left_by_a_dead_process_is_free(tmp_path):
    holder = multiprocessing.Process(target=_hold, args=(str(tmp_path), 0, multiprocessing.Event()))
    holder.start()
    holder.join()
    with service_lock(str(tmp_path), "web", timeout=0.1):
        pass


def test_placement_refuses_more_than_the_per_host_limit():
    nodes = [Node("a", 2, 2048), Node("b", 2, 2048)]
    with pytest.raises(PlacementError, match="replicas: 100000 over 2 hosts is above the limit of 250"):
        place(100000, nodes)
    assert sum(place(500, nodes).values()) == 500
