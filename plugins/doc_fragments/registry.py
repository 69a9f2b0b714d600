# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations


class ModuleDocFragment:
    # Registry credentials; defined once in plugins/module_utils/image/options.py.
    DOCUMENTATION = r"""
options:
  registry_auth:
    description:
      - Registry credentials for pulls (and pushes), from the inventory or Ansible Vault. Sent to the engine only;
        the password is never logged, returned or written to a file.
    type: dict
    suboptions:
      username:
        description: Registry user.
        type: str
        required: true
      password:
        description: Registry password or token.
        type: str
        required: true
      serveraddress:
        description: Registry address; default the registry prefix of the image reference.
        type: str
"""
