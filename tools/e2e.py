# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run end-to-end test files, the independent ones side by side on a second lab.

    e2e.py lab runtime image ... team      # tests/e2e/test_<name>.py, in this order

The files in SECOND share no state with the others (their own services, ports, swarm, cluster and project), so
they run on a lab of their own, `fleet-lab-b` (inventory in .build/lab-b, the lab's group_vars, its own
controller state dir), once site.yml has converged it (as test_lab does on the first).  Each group runs in its
own pytest process, at the same time; each one's output goes to .build/e2e/<group>.log and is printed when it
ends, and the run fails when either group fails.  With no file of SECOND, one pytest runs in the foreground on
the first lab.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SECOND = ("swarm", "k8s_live", "team")
LAB_B = ROOT / ".build" / "lab-b"
STATE_B = ROOT / ".build" / "lab-b-state"  # not inside the inventory directory: Ansible would read it as inventory
LAB_B_ENV = {
    "FLEET_LAB_NAME": "fleet-lab-b",
    "FLEET_LAB_INVENTORY": str(LAB_B / "hosts.yml"),
    "FLEET_E2E_INVENTORY": str(LAB_B),
    "FLEET_LAB_HTTP_PORT": "8180",
    "FLEET_LAB_STATS_PORT": "8504",
    "FLEET_LAB_HTTPS_PORT": "8543",
    "FLEET_LAB_PROMETHEUS_PORT": "9190",
    "FLEET_LAB_GRAFANA_PORT": "3100",
}


def groups(names: list[str]) -> dict[str, list[str]]:
    """Names in the given order -> {'a': [...], 'b': [...]} (the files of SECOND)."""
    unknown = [n for n in names if not (ROOT / "tests" / "e2e" / f"test_{n}.py").is_file()]
    if unknown:
        raise SystemExit(f"e2e: no tests/e2e/test_{unknown[0]}.py")
    second = [n for n in names if n in SECOND]
    first = [n for n in names if n not in SECOND]
    return {"a": first, "b": second}


def lab_b_inventory() -> None:
    """.build/lab-b: the lab's group_vars (linked), its own controller state (image archives, seal key)."""
    group_vars = LAB_B / "group_vars"
    (group_vars / "all").mkdir(parents=True, exist_ok=True)
    source = ROOT / "inventories" / "lab" / "group_vars"
    for entry in source.iterdir():
        if entry.name == "all":
            for item in entry.iterdir():
                link = group_vars / "all" / item.name
                if not link.is_symlink():
                    link.symlink_to(item)
        elif not (group_vars / entry.name).is_symlink():
            (group_vars / entry.name).symlink_to(entry)
    (group_vars / "all" / "zz_lab_b.yml").write_text(
        "---\n# Written by tools/e2e.py: the second lab keeps its controller state apart from the first's.\n"
        f"fleet_state_dir: {STATE_B}\n"
    )


def pytest_args(names: list[str]) -> list[str]:
    return [str(BIN / "pytest"), "-q", "--durations=10", *(f"tests/e2e/test_{n}.py" for n in names)]


def run_group(name: str, names: list[str], env: dict[str, str], done: queue.Queue) -> None:
    """One group's pytest (lab b brought up and converged first), its output in .build/e2e/<name>.log;
    (name, exit code, seconds) to `done`."""
    started = time.monotonic()
    log_path = ROOT / ".build" / "e2e" / f"{name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    rc = 1
    try:
        with log_path.open("w") as log:
            if name == "b":
                lab_b_inventory()
                for step in (
                    [sys.executable, str(ROOT / "tools" / "lab" / "lab.py"), "up"],
                    [str(BIN / "ansible-playbook"), "-i", str(LAB_B), str(ROOT / "playbooks" / "site.yml")],
                ):
                    rc = subprocess.run(
                        step, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, check=False
                    ).returncode
                    if rc != 0:
                        log.write(f"e2e: {' '.join(step[:4])} failed (exit {rc})\n")
                        return
            rc = subprocess.run(
                pytest_args(names), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, check=False
            ).returncode
    finally:
        done.put((name, rc, time.monotonic() - started))


def main(argv: list[str]) -> int:
    plan = groups(argv)
    if not plan["b"]:
        return subprocess.run(pytest_args(plan["a"]), cwd=ROOT, check=False).returncode
    ansible = {  # what `make` exports, for a run straight from the shell
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_COLLECTIONS_PATH": str(ROOT / ".build" / "collections"),
        "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
    }
    envs = {"a": dict(os.environ), "b": dict(os.environ, **ansible, **LAB_B_ENV)}
    done: queue.Queue = queue.Queue()
    started = [name for name in ("a", "b") if plan[name]]
    for name in started:
        lab = envs[name].get("FLEET_LAB_NAME", "fleet-lab")
        print(f"e2e group {name} on {lab}: {' '.join(plan[name])}", flush=True)
        threading.Thread(target=run_group, args=(name, plan[name], envs[name], done), daemon=True).start()
    failed = []
    for _unused in started:
        name, rc, took = done.get()
        print(f"\n===== e2e group {name}: exit {rc} after {took:.0f} s =====", flush=True)
        print((ROOT / ".build" / "e2e" / f"{name}.log").read_text(), flush=True)
        if rc != 0:
            failed.append(name)
    if failed:
        print(f"e2e: group {', '.join(failed)} failed (logs in .build/e2e)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
