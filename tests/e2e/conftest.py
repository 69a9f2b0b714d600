# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures for end-to-end tests on the lab hosts (`make lab-up` first; `make e2e` does it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import testinfra
import yaml

ROOT = Path(__file__).resolve().parents[2]
# The lab these tests run on: inventories/lab, or a second lab's inventory directory when tools/e2e.py runs a
# group of test files beside the first (FLEET_LAB_NAME names its containers, as for tools/lab/lab.py).
INVENTORY = Path(os.environ.get("FLEET_E2E_INVENTORY") or ROOT / "inventories" / "lab")
LAB_NAME = os.environ.get("FLEET_LAB_NAME") or "fleet-lab"
BIN = Path(sys.executable).parent


def container(host: str) -> str:
    """The Docker container of lab host `host` on this machine."""
    return f"{LAB_NAME}-{host}"


@pytest.fixture(scope="session")
def inventory() -> dict:
    hosts_file = INVENTORY / "hosts.yml"
    if not hosts_file.exists():
        pytest.fail("no lab inventory: run `make lab-up` first")
    return yaml.safe_load(hosts_file.read_text())


@pytest.fixture(scope="session")
def lab_hosts(inventory) -> dict[str, list[str]]:
    return {group: list(data["hosts"]) for group, data in inventory["all"]["children"].items()}


def ansible_env(**extra: str) -> dict[str, str]:
    """The environment `make` gives Ansible: this checkout as containerops.fleet, the venv's tools first."""
    return dict(
        os.environ,
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".build" / "collections"),
        PATH=f"{BIN}:{os.environ.get('PATH', '')}",
        **extra,
    )


def run_playbook(playbook: str | Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run ansible-playbook on the lab; the JSON callback's stats are parsed by `stats`."""
    env = ansible_env(ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    return ansible_playbook(ROOT, env, str(INVENTORY), playbook, *args, check=check)


def ansible_playbook(
    cwd: Path, env: dict[str, str], inventory: str, playbook: str | Path, *args: str, check: bool = True
) -> subprocess.CompletedProcess:
    """ansible-playbook in `cwd` with exactly `env`; a failure (when `check`) shows each failed task's words."""
    proc = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", inventory, str(playbook), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"{playbook} failed (rc {proc.returncode}):\n{failures(proc)}\n{proc.stderr[-3000:]}")
    return proc


def failures(proc: subprocess.CompletedProcess) -> str:
    """The failed and unreachable results of a run, one block per task and host, with the module's own words."""
    try:
        plays = json.loads(proc.stdout)["plays"]
    except (ValueError, KeyError):
        return proc.stdout[-6000:]
    blocks = []
    for play in plays:
        for task in play["tasks"]:
            for host, result in task["hosts"].items():
                if not (result.get("failed") or result.get("unreachable")):
                    continue
                lines = [f"TASK [{task['task']['name']}] {host}: {result.get('msg', '')}"]
                for item in [result, *result.get("results", [])]:
                    if item is not result and item.get("failed"):
                        lines.append(f"  item {item.get('item')!r}: {item.get('msg', '')}")
                    for key in ("stderr", "stdout", "module_stderr", "actions"):
                        if item.get(key) and (item is result or item.get("failed")):
                            lines.append(f"  {key}: {str(item[key])[-1500:]}")
                blocks.append("\n".join(lines))
    return "\n".join(blocks) or proc.stdout[-6000:]


def on_host(host: str, *args: str) -> str:
    """Run a command inside lab host `host` (its container, as root); its stdout, stripped. Fails on a non-zero exit."""
    return subprocess.run(
        ["docker", "exec", container(host), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def task_results(proc: subprocess.CompletedProcess, name_prefix: str) -> dict[str, dict]:
    """Per-host results of the tasks whose name starts with `name_prefix`, from the JSON callback's output."""
    out = {}
    for play in json.loads(proc.stdout)["plays"]:
        for task in play["tasks"]:
            if task["task"]["name"].startswith(name_prefix):
                out.update(task["hosts"])
    return out


def stats(proc: subprocess.CompletedProcess) -> dict:
    return json.loads(proc.stdout)["stats"]


def build_noshell_image(workdir: Path, tag: str) -> None:
    """An image with no shell, curl, wget or python: FROM scratch and one static binary (tests/e2e/noshell/server.c),
    built on this machine's engine as `tag`."""
    subprocess.run(
        ["gcc", "-static", "-O2", "-o", str(workdir / "server"), str(ROOT / "tests/e2e/noshell/server.c")], check=True
    )
    (workdir / "Dockerfile").write_text('FROM scratch\nCOPY server /server\nENTRYPOINT ["/server"]\n')
    subprocess.run(["docker", "build", "-q", "-t", tag, str(workdir)], check=True, capture_output=True)


@pytest.fixture(scope="session")
def version_2(lab_hosts) -> str:
    """fleet-demo:2, a real new release of the lab's demo (it reports its version), made on every container host."""
    for node in lab_hosts["container_hosts"]:
        subprocess.run(
            ["docker", "exec", "-i", container(node), "docker", "build", "-q", "-t", "fleet-demo:2", "-"],
            input=b"FROM fleet-demo:1\nENV FLEET_DEMO_VERSION=2\n",
            check=True,
            capture_output=True,
        )
    return "fleet-demo:2"


@pytest.fixture(scope="session")
def host():
    """testinfra host factory over Ansible's SSH connection: host('node1')."""

    def factory(name: str):
        return testinfra.get_host(f"ansible://{name}?ansible_inventory={INVENTORY}")

    return factory


def wait_for(what: str, probe, timeout: float = 60, interval: float = 2):
    """Poll `probe` until it returns something truthy (returned); fail naming `what` and the last value."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; last: {last!r}")


def haproxy_status(address: str, backend: str) -> dict[str, str]:
    """Server name -> status (UP, DOWN, DRAIN, MAINT...) of one backend, from the stats page on port 8404."""
    with urllib.request.urlopen(f"http://{address}:8404/stats;csv", timeout=10) as resp:
        rows = resp.read().decode().lstrip("# ").splitlines()
    header = rows[0].split(",")
    out = {}
    for row in rows[1:]:
        rec = dict(zip(header, row.split(",")))
        if rec.get("pxname") == backend and rec["svname"] not in ("BACKEND", "FRONTEND"):
            out[rec["svname"]] = rec["status"]
    return out


def haproxy_all_up(address: str, backend: str, count: int, timeout: float = 30) -> dict[str, str]:
    """Wait until `backend` holds exactly `count` servers, all UP (a new replica passes `rise` checks first)."""

    def probe():
        status = haproxy_status(address, backend)
        return status if len(status) == count and set(status.values()) == {"UP"} else None

    return wait_for(f"{count} {backend} servers UP in HAProxy", probe, timeout=timeout)
