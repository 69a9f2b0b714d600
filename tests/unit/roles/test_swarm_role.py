# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

from pathlib import Path

import yaml

ROLE = Path(__file__).resolve().parents[3] / "roles" / "swarm"


def test_argument_specs_mirror_defaults():
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    options = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
    assert set(defaults) == set(options)


def test_join_token_is_never_logged():
    tasks = yaml.safe_load((ROLE / "tasks" / "main.yml").read_text())
    for task in tasks:
        if "token" in str(task.get("ansible.builtin.command", "")) + str(task.get("ansible.builtin.shell", "")):
            assert task.get("no_log") is True, task["name"]
