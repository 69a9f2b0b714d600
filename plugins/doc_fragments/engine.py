# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations


class ModuleDocFragment:
    # The connection to the container engine; defined once in plugins/module_utils/engine/options.py.
    DOCUMENTATION = r"""
options:
  docker_host:
    description:
      - The engine's API socket, as a V(unix://) URL (Docker, or Podman's Docker-compatible socket).
    type: str
    default: unix:///var/run/docker.sock
  api_timeout:
    description: Seconds one engine API call may take.
    type: int
    default: 60
"""
