# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The address other hosts reach an inventory host on: one rule for every role and playbook."""

from __future__ import annotations

from typing import Any, Mapping

from ansible_collections.containerops.fleet.plugins.module_utils.allow import NotAllowed, address


class AddressError(NotAllowed):
    """A host's address is not an IP address or a host name."""


def checked_address(value: Any, where: str) -> str:
    """An IPv4/IPv6 address or a DNS host name, or AddressError naming `where`: nothing else reaches a config."""
    try:
        return address(str(value), where)
    except NotAllowed as exc:
        raise AddressError(str(exc)) from None


def host_address(name: str, hostvars: Mapping[str, Any]) -> str:
    """fleet_private_address, else ansible_host, else the default IPv4 fact, else the inventory name."""
    hv = hostvars.get(name) or {}
    for key in ("fleet_private_address", "ansible_host"):
        if hv.get(key):
            return checked_address(hv[key], f"{name}: {key}")
    facts = hv.get("ansible_facts") or {}
    fact = (facts.get("default_ipv4") or {}).get("address") or (hv.get("ansible_default_ipv4") or {}).get("address")
    if fact:
        return checked_address(fact, f"{name}: ansible_facts.default_ipv4.address")
    return checked_address(name, f"{name}: inventory name")
