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


def _tasks(tasks: list[dict]) -> list[dict]:
    """Every task, those inside blocks (block, rescue, always) included."""
    found = []
    for task in tasks:
        found.append(task)
        for section in ("block", "rescue", "always"):
            found += _tasks(task.get(section) or [])
    return found


def test_join_token_is_never_logged():
    tasks = _tasks(yaml.safe_load((ROLE / "tasks" / "main.yml").read_text()))
    # Any mention of a token outside the task's name: the command that reads it, a register holding it, a use of it.
    handling = [t for t in tasks if "token" in str({k: v for k, v in t.items() if k != "name"})]
    reads = [t for t in handling if "docker swarm join-token" in str(t)]
    joins = [t for t in handling if "docker swarm join --token" in str(t)]
    assert reads and joins, f"no task reads or uses the join token: {[t.get('name') for t in handling]}"
    assert [t["name"] for t in handling if t.get("no_log") is not True] == []
