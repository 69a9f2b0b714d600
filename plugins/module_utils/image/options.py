# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Registry credentials as an option, defined once (documented once in doc_fragments/registry.py)."""

from __future__ import annotations

import copy
from typing import Any

REGISTRY_AUTH: dict[str, Any] = {
    "type": "dict",
    "no_log": False,  # the dict is not the secret; its password is
    "options": {
        "username": {"type": "str", "required": True},
        "password": {"type": "str", "required": True, "no_log": True},
        "serveraddress": {"type": "str"},
    },
}


def registry_auth_option() -> dict[str, Any]:
    """A fresh copy, for an argument spec."""
    return copy.deepcopy(REGISTRY_AUTH)
