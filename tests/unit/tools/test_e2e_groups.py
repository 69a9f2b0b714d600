# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""tools/e2e.py: which test files run on the second lab, in which order, and what that lab's inventory holds."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_E2E_PY = Path(__file__).resolve().parents[3] / "tools" / "e2e.py"
_SPEC = importlib.util.spec_from_file_location("fleet_e2e", _E2E_PY)
e2e = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(e2e)


def test_independent_files_go_to_the_second_lab_in_their_order():
    plan = e2e.groups(["lab", "runtime", "service", "swarm", "autoscale", "team", "k8s_live"])
    assert plan == {"a": ["lab", "runtime", "service", "autoscale"], "b": ["swarm", "team", "k8s_live"]}


def test_one_group_only_needs_no_second_lab():
    assert e2e.groups(["operator", "autoscale"]) == {"a": ["operator", "autoscale"], "b": []}
    assert e2e.groups(["team"]) == {"a": [], "b": ["team"]}


def test_an_unknown_file_is_named():
    with pytest.raises(SystemExit, match=r"test_nosuch\.py"):
        e2e.groups(["service", "nosuch"])


def test_the_second_lab_uses_the_lab_group_vars_and_its_own_state(tmp_path, monkeypatch):
    monkeypatch.setattr(e2e, "LAB_B", tmp_path / "lab-b")
    e2e.lab_b_inventory()
    e2e.lab_b_inventory()  # again: links kept
    group_vars = tmp_path / "lab-b" / "group_vars"
    source = e2e.ROOT / "inventories" / "lab" / "group_vars"
    assert (group_vars / "loadbalancers").resolve() == (source / "loadbalancers").resolve()
    assert (group_vars / "all" / "services.yml").resolve() == (source / "all" / "services.yml").resolve()
    state = (group_vars / "all" / "zz_lab_b.yml").read_text()
    assert f"fleet_state_dir: {e2e.STATE_B}\n" in state
    assert e2e.LAB_B not in e2e.STATE_B.parents  # Ansible would read the image archives as inventory sources


def test_the_second_lab_sits_two_levels_below_the_checkout_like_inventories_lab():
    """The lab's group_vars find the demo app and .lab/ through inventory_dir/../../."""
    assert e2e.LAB_B.parent.parent == e2e.ROOT
