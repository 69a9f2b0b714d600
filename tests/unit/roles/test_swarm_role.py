# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

from pathlib import Path

import pytest
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
    handling = [t for t in tasks if "block" not in t and "token" in str({k: v for k, v in t.items() if k != "name"})]
    reads = [t for t in handling if "docker swarm join-token" in str(t)]
    joins = [t for t in handling if "docker swarm join --token" in str(t)]
    assert reads and joins, f"no task reads or uses the join token: {[t.get('name') for t in handling]}"
    assert [t["name"] for t in handling if t.get("no_log") is not True] == []


def _command(task: dict) -> str:
    return " ".join(str(task.get("ansible.builtin.command", "")).split())


def _render(command: str, address: str) -> list[str]:
    import jinja2

    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    variables = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())
    listen = env.from_string(variables["_swarm_listen"]).render(swarm_advertise_address=address, swarm_port=2377)
    text = env.from_string(command).render(
        swarm_advertise_address=address,
        swarm_port=2377,
        _swarm_listen=listen,
        _swarm_is_manager=False,
        _swarm_first_manager="m1",
        __swarm_tokens={"stdout_lines": ["SWMTKN-manager", "SWMTKN-worker"]},
        hostvars={"m1": {"__swarm_listen": "10.0.0.1:2377"}},
    )
    return text.split()


def _swarm_commands() -> dict[str, dict]:
    tasks = _tasks(yaml.safe_load((ROLE / "tasks" / "main.yml").read_text()))
    return {
        verb: next(t for t in tasks if _command(t).startswith(f"docker swarm {verb}"))
        for verb in ("init", "join")
        if any(_command(t).startswith(f"docker swarm {verb}") for t in tasks)
    }


def _flag(argv: list[str], name: str) -> str:
    assert argv.count(name) == 1, f"{name} given {argv.count(name)} times in {argv}"
    return argv[argv.index(name) + 1]


@pytest.mark.parametrize(("address", "listen"), [("10.0.0.5", "10.0.0.5:2377"), ("fd00::5", "[fd00::5]:2377")])
def test_swarm_listens_advertises_and_carries_data_on_the_private_address(address, listen):
    commands = _swarm_commands()
    assert set(commands) == {"init", "join"}
    for verb, task in commands.items():
        argv = _render(_command(task), address)
        assert _flag(argv, "--listen-addr") == listen, verb
        assert _flag(argv, "--advertise-addr") == listen, verb
        assert _flag(argv, "--data-path-addr") == address, verb
        assert "0.0.0.0" not in " ".join(argv), verb
    assert _render(_command(commands["join"]), address)[-1] == "10.0.0.1:2377"


def test_nothing_in_the_role_binds_every_address():
    for path in ROLE.rglob("*.yml"):
        assert "0.0.0.0" not in path.read_text(), path


def test_readme_says_what_is_exposed_and_how_to_restrict_it():
    readme = (ROLE / "README.md").read_text()
    for needle in ("2377/tcp", "7946", "4789/udp", "publish_mode", "host", "ingress", "firewall", "--data-path-addr"):
        assert needle in readme, needle
