# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's fixed host addresses: a function of the pinned subnet and the host order, nothing else."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_LAB_PY = Path(__file__).resolve().parents[3] / "tools" / "lab" / "lab.py"
_SPEC = importlib.util.spec_from_file_location("fleet_lab", _LAB_PY)
lab = importlib.util.module_from_spec(_SPEC)
sys.modules.setdefault("fleet_lab", lab)  # dataclasses look their module up by name
_SPEC.loader.exec_module(lab)


def test_hosts_get_consecutive_addresses_above_the_ones_docker_hands_out():
    assert lab.plan_addresses("172.20.0.0/16", ["node1", "node2", "lb1"]) == {
        "node1": "172.20.0.10",
        "node2": "172.20.0.11",
        "lb1": "172.20.0.12",
    }


def test_the_lab_hosts_on_a_20_subnet_get_the_addresses_stated_here():
    names = ["node1", "node2", "node3", "lb1", "mon1"]
    assert lab.plan_addresses("192.168.16.0/20", names) == {
        "node1": "192.168.16.10",
        "node2": "192.168.16.11",
        "node3": "192.168.16.12",
        "lb1": "192.168.16.13",
        "mon1": "192.168.16.14",
    }


def test_the_host_order_decides_who_gets_which_address():
    assert lab.plan_addresses("10.9.0.0/24", ["mon1", "node1"]) == {"mon1": "10.9.0.10", "node1": "10.9.0.11"}


def test_a_subnet_too_small_is_a_clear_error():
    with pytest.raises(lab.LabError, match=r"too small for 5 hosts; remove it \(make lab-down\)"):
        lab.plan_addresses("10.9.0.0/29", ["a", "b", "c", "d", "e"])
