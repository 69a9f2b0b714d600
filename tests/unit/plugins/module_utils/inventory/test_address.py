# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.containerops.fleet.plugins.module_utils.inventory.address import AddressError, host_address

HOSTVARS = {
    "node1": {"ansible_host": "10.0.0.1"},
    "lb1": {"ansible_facts": {"default_ipv4": {"address": "10.0.0.9"}}},
    "v6": {"ansible_host": "fd00::5"},
    "named": {"ansible_host": "app1.example.net"},
}


def test_private_address_then_ansible_host_then_default_ipv4_then_name():
    assert host_address("node1", HOSTVARS) == "10.0.0.1"
    assert host_address("lb1", HOSTVARS) == "10.0.0.9"
    assert host_address("unknown", HOSTVARS) == "unknown"
    assert host_address("v6", HOSTVARS) == "fd00::5"
    assert host_address("named", HOSTVARS) == "app1.example.net"
    assert host_address("x", {"x": {"ansible_default_ipv4": {"address": "10.1.1.1"}}}) == "10.1.1.1"
    assert host_address("p", {"p": {"fleet_private_address": "10.2.2.2", "ansible_host": "203.0.113.9"}}) == "10.2.2.2"


@pytest.mark.parametrize(
    "hostile",
    [
        "10.0.0.1\nlisten x",
        "10.0.0.1;disable frontend web",
        "$(id)",
        "`id`",
        "a b",
        "10.0.0.1 ",
        "ex\u00e4mple.net",
        "x" * 10_000,
        "-rf",
        "host:80",
    ],
)
def test_anything_but_an_address_or_host_name_is_refused_naming_host_and_variable(hostile):
    with pytest.raises(
        AddressError, match=r"^node1: fleet_private_address: .* is not allowed; use an IP address or a host name"
    ):
        host_address("node1", {"node1": {"fleet_private_address": hostile}})
