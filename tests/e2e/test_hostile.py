# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hostile input and secrets on the lab: labels read back from hosts are untrusted, one change to a service at a
time, and a secret in env shows up nowhere but in the container."""

from __future__ import annotations

import concurrent.futures
import json
import secrets
import subprocess

import pytest
from conftest import BIN, INVENTORY, ROOT, ansible_env, on_host, run_playbook, task_results

PLAYBOOKS = ROOT / "tests" / "e2e" / "playbooks"
IMAGE = "fleet-demo:1"  # shipped to every node by site.yml (test_operator runs first)


def cfg_digest() -> str:
    return on_host("lb1", "sha256sum", "/etc/haproxy/haproxy.cfg").split()[0]


def test_a_foreign_container_with_our_labels_never_reaches_haproxy():
    """Anyone who can start a container on a host can write our labels: such labels are checked on read."""
    hostile_spec = json.dumps({"healthcheck": {"http_path": "/h\nlisten evil\n bind :2222"}})
    run_playbook(PLAYBOOKS / "edges.yml")
    before = cfg_digest()
    on_host("node1", "docker", "rm", "-f", "intruder")  # a leftover of an earlier run
    on_host(
        "node1", "docker", "run", "-d", "--name", "intruder",
        "--label", "io.containerops.fleet.service=web",
        "--label", "io.containerops.fleet.replica=9",
        "--label", "io.containerops.fleet.port=20999",
        "--label", f"io.containerops.fleet.spec={hostile_spec}",
        IMAGE,
    )  # fmt: skip
    try:
        proc = run_playbook(PLAYBOOKS / "edges.yml")
        facts = task_results(proc, "Set fleet_endpoints")["node1"]
        assert any("container 'intruder' on node1 is left out" in w for w in facts.get("warnings", [])), facts
        assert cfg_digest() == before
        assert "evil" not in on_host("lb1", "cat", "/etc/haproxy/haproxy.cfg")
        assert "intruder" not in on_host("lb1", "cat", "/etc/haproxy/haproxy.cfg")
    finally:
        on_host("node1", "docker", "rm", "-f", "intruder")


def module(args: dict, *flags: str, callback: str = "ansible.posix.json") -> subprocess.CompletedProcess:
    """containerops.fleet.container_service on node1, ad hoc (what a playbook task does), JSON args."""
    return subprocess.run(
        [str(BIN / "ansible"), "-i", str(INVENTORY), "node1", "-m", "containerops.fleet.container_service",
         "-a", json.dumps(args), *flags],
        cwd=ROOT, env=ansible_env(ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK=callback),
        capture_output=True, text=True, check=False,
    )  # fmt: skip


def result_of(proc: subprocess.CompletedProcess) -> dict:
    return json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["node1"]


def replicas_of(service: str, template: str) -> list[str]:
    """`docker inspect --format TEMPLATE` of each running replica of `service` on node1."""
    ids = on_host("node1", "docker", "ps", "-q", "--filter", f"label=io.containerops.fleet.service={service}").split()
    return on_host("node1", "docker", "inspect", "--format", template, *ids).splitlines() if ids else []


def lockdemo(version: str) -> dict:
    return {
        "name": "lockdemo",
        "image": IMAGE,
        "replicas": 2,
        "ports": [{"container": 8000, "host_range": "27000-27099"}],
        "env": {"FLEET_DEMO_VERSION": version},
        "healthcheck": {"http_path": "/healthz", "interval": 1, "start_period": 5},
    }


def test_two_deploys_of_one_service_at_once_run_one_after_the_other():
    try:
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            a, b = pool.map(lambda v: module(lockdemo(v)), ["a", "b"])
        ra, rb = result_of(a), result_of(b)
        assert not ra.get("failed") and not rb.get("failed"), (ra.get("msg"), rb.get("msg"))
        hashes = replicas_of("lockdemo", '{{index .Config.Labels "io.containerops.fleet.spec-hash"}}')
        # What runs is one of the two, whole, and it is what the deploy that ran last reported.
        assert len(hashes) == 2 and len(set(hashes)) == 1, hashes
        winner = hashes[0]
        assert winner in (ra["spec_hash"], rb["spec_hash"])
        last = ra if ra["spec_hash"] == winner else rb
        names = replicas_of("lockdemo", "{{.Name}}")
        assert sorted(e["container"] for e in last["endpoints"]) == sorted(n.lstrip("/") for n in names)
    finally:
        module({"name": "lockdemo", "state": "absent"})


@pytest.fixture
def secret_service():
    yield "secretdemo"
    module({"name": "secretdemo", "state": "absent"})


def test_a_secret_in_env_is_nowhere_but_in_the_container(secret_service):
    """--diff -vvv as an operator would run it: the value is in the replicas, not in any output or record."""
    first, rotated = f"s3cret-{secrets.token_hex(8)}", f"s3cret-{secrets.token_hex(8)}"
    spec = {**lockdemo("1"), "name": secret_service}
    outputs, names = [], []
    for value in (first, rotated):
        proc = module(
            {**spec, "env": {"FLEET_DEMO_VERSION": "1", "DB_PASSWORD": value}}, "--diff", "-vvv", callback="default"
        )
        assert proc.returncode == 0, proc.stdout[-3000:]
        outputs.append(proc.stdout + proc.stderr)
        names.append(sorted(replicas_of(secret_service, "{{.Name}}")))
    assert names[0] != names[1]  # rotating the value rolled the replicas
    assert "DB_PASSWORD" in outputs[1]  # the diff names the variable that changed
    env = "".join(replicas_of(secret_service, "{{json .Config.Env}}"))
    assert rotated in env  # the replicas have it ...
    seen = {
        "output": "".join(outputs),
        "labels": "".join(replicas_of(secret_service, "{{json .Config.Labels}}")),
        "history": on_host("node1", "cat", f"/var/lib/containerops-fleet/services/{secret_service}.json"),
        "journal": on_host("node1", "journalctl", "--no-pager", "-o", "cat", "--since", "-15min"),
    }
    for value in (first, rotated):  # ... nothing else does
        for where, text in seen.items():
            assert value not in text, f"the secret is in the {where}"
