# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A team's own project, not the lab's: the collection installed from its Galaxy tarball into an empty directory,
the team's own inventory (lab hosts by address under other names, none of the lab's group_vars) and its own image,
pulled from a registry with a password kept in Ansible Vault.

`containerops.fleet.site` twice (the second run changes nothing), then HAProxy reaches every replica; a pull the
registry refuses fails naming the image, the host and the registry's answer while the replicas keep serving.

It takes over the lab's load balancer and Prometheus, so it runs last (the Makefile's E2E order); it needs the
container hosts' engines (test_runtime) and pushes through the lab registry (tests/e2e/playbooks/image_registry.yml).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest
import yaml
from conftest import (
    BIN,
    ROOT,
    ansible_playbook,
    build_noshell_image,
    container,
    failures,
    run_playbook,
    stats,
    wait_for,
)
from load import Load

APP_HOSTS = {"app1": "node1", "app2": "node2"}  # the team's names for two lab hosts
PORT = 8093
REPLICAS = 4
USER = "team"


def on(host: str, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["docker", "exec", "-i", container(host), *args], input=stdin, capture_output=True, check=False
    )


@pytest.fixture(scope="module")
def registry(inventory) -> dict:
    """The lab registry with the team's user; its image pushed there as :1 and :2, then removed from every host."""
    password = "pw-" + secrets.token_urlsafe(18)
    run_playbook(
        ROOT / "tests/e2e/playbooks/image_registry.yml",
        "-e",
        json.dumps({"image_registry_user": USER, "image_registry_password": password}),
    )
    address = inventory["all"]["children"]["monitoring"]["hosts"]["mon1"]["ansible_host"] + ":5000"
    repo = f"{address}/team/hello"
    build_noshell_image(Path(subprocess.check_output(["mktemp", "-d"], text=True).strip()), f"{repo}:1")
    saved = subprocess.run(["docker", "save", f"{repo}:1"], capture_output=True, check=True).stdout
    assert on("node1", "docker", "load", stdin=saved).returncode == 0
    login = on("node1", "docker", "login", address, "-u", USER, "--password-stdin", stdin=password.encode())
    assert login.returncode == 0, login.stderr
    for tag in ("1", "2"):  # :2 is the same image under a new tag: a pull of it needs the registry
        assert on("node1", "docker", "tag", f"{repo}:1", f"{repo}:{tag}").returncode == 0
        pushed = on("node1", "docker", "push", f"{repo}:{tag}")
        assert pushed.returncode == 0, pushed.stderr
    on("node1", "docker", "logout", address)
    for node in APP_HOSTS.values():
        on(node, "docker", "image", "rm", "-f", f"{repo}:1", f"{repo}:2")
    return {"address": address, "repo": repo, "password": password}


def run(
    project: Path, playbook: str, *args: str, inventory: str = "inventory", check: bool = True
) -> subprocess.CompletedProcess:
    """ansible-playbook in the team's project: its own ansible.cfg, collections and inventory, no ANSIBLE_* of ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", HOME=str(project), PATH=f"{BIN}:{env.get('PATH', '')}")
    return ansible_playbook(project, env, inventory, playbook, *args, check=check)


@pytest.fixture(scope="module")
def project(tmp_path_factory, inventory, registry) -> Path:
    """An empty directory made into a project: the tarball installed offline, a vault, an inventory, a service."""
    root = tmp_path_factory.mktemp("team")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(HOME=str(root), ANSIBLE_GALAXY_SERVER="http://127.0.0.1:9/")
    dist = root / "dist"
    subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
        env=env,
    )
    (tarball,) = dist.glob("containerops-fleet-*.tar.gz")
    subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "install", "--offline", "-p", "collections", str(tarball)],
        check=True,
        capture_output=True,
        env=env,
        cwd=root,
    )
    (root / ".vault-pass").write_text(secrets.token_urlsafe(16) + "\n")
    (root / ".vault-pass").chmod(0o600)
    (root / "ansible.cfg").write_text(
        "[defaults]\ncollections_path = ./collections\nvault_password_file = .vault-pass\nhost_key_checking = false\n"
    )
    encrypted = subprocess.run(
        [str(BIN / "ansible-vault"), "encrypt_string", "--stdin-name", "vault_registry_password"],
        input=registry["password"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=root,
    ).stdout
    lab = inventory["all"]
    connection = {k: v for k, v in lab.get("vars", {}).items() if k.startswith("ansible_")}
    hosts = {group: data["hosts"] for group, data in lab["children"].items()}

    def address(group: str, name: str) -> dict:
        return {"ansible_host": hosts[group][name]["ansible_host"]}

    team_inventory = {
        "all": {
            "vars": connection,
            "children": {
                "container_hosts": {
                    "hosts": {app: address("container_hosts", node) for app, node in APP_HOSTS.items()}
                },
                "loadbalancers": {"hosts": {"edge1": address("loadbalancers", "lb1")}},
                "monitoring": {"hosts": {"metrics1": address("monitoring", "mon1")}},
            },
        }
    }
    inv = root / "inventory"
    (inv / "group_vars" / "all").mkdir(parents=True)
    (inv / "group_vars" / "monitoring").mkdir(parents=True)
    (inv / "hosts.yml").write_text(yaml.safe_dump(team_inventory))
    (inv / "group_vars" / "all" / "vault.yml").write_text(encrypted)
    (inv / "group_vars" / "monitoring" / "grafana.yml").write_text(
        # Grafana's packages cannot be reached from here: the role provisions datasource and dashboards only.
        "grafana_install: false\ngrafana_admin_password: '{{ vault_registry_password }}'\n"
    )
    (inv / "group_vars" / "all" / "services.yml").write_text(
        yaml.safe_dump(
            {
                "fleet_services": [
                    {
                        "name": "hello",
                        "image": f"{registry['repo']}:1",
                        "pull": "missing",
                        "registry_auth": {"username": USER, "password": "{{ vault_registry_password }}"},
                        "replicas": REPLICAS,
                        "ports": [{"container": 8000, "host_range": "27000-27099"}],
                        "env": {"FLEET_NOSHELL_VERSION": "1"},
                        "healthcheck": {"http_path": "/healthz", "interval": 1, "timeout": 2, "retries": 3},
                        "lb": {"port": PORT},
                    }
                ]
            }
        )
    )
    return root


def replicas_behind(lb: str) -> set[str]:
    seen: set[str] = set()
    for _unused in range(20 * REPLICAS):
        with urllib.request.urlopen(f"http://{lb}:{PORT}/", timeout=5) as resp:
            seen.add(resp.read().decode().split(" ", 1)[0])
        if len(seen) == REPLICAS:
            break
    return seen


@pytest.fixture(scope="module")
def lb(inventory) -> str:
    return inventory["all"]["children"]["loadbalancers"]["hosts"]["lb1"]["ansible_host"]


def test_site_from_the_installed_tarball_twice_then_haproxy_reaches_every_replica(project, registry, lb):
    first = run(project, "containerops.fleet.site")
    pulled = [r for play in json.loads(first.stdout)["plays"] for r in _results(play, "Pull the image")]
    assert pulled and all(r.get("changed") for r in pulled), "the image was not pulled on every app host"
    second = run(project, "containerops.fleet.site")
    changed = {h: s["changed"] for h, s in stats(second).items() if s["changed"]}
    assert changed == {}, f"second site.yml run changed something: {changed}"
    assert {"app1", "app2", "edge1", "metrics1"} <= set(stats(second))
    wait_for("HAProxy to reach every replica", lambda: len(replicas_behind(lb)) == REPLICAS)
    for proc in (first, second):
        assert leaks(proc, registry["password"]) == []
    token = base64.b64encode(f"{USER}:{registry['password']}".encode()).decode()
    for node in APP_HOSTS.values():  # the password reached the engine's API only: no file on the host holds it
        found = on(
            node, "grep", "-rlsF", "-e", registry["password"], "-e", token, "/root", "/etc/docker", "/var/lib/docker"
        )
        assert found.stdout == b"", found.stdout


def leaks(proc: subprocess.CompletedProcess, secret: str) -> list[str]:
    """Where a run's output shows `secret`: 'task | host' for each result holding it, else 'stdout'/'stderr'."""
    found = [
        f"{t['task']['name']} | {host}"
        for play in json.loads(proc.stdout)["plays"]
        for t in play["tasks"]
        for host, result in t["hosts"].items()
        if secret in json.dumps(result)
    ]
    if not found and secret in proc.stdout:
        found.append("stdout")
    return found + (["stderr"] if secret in proc.stderr else [])


def _results(play: dict, name: str) -> list[dict]:
    return [r for t in play["tasks"] if name in t["task"]["name"] for r in t["hosts"].values()]


def test_a_pull_the_registry_refuses_fails_by_name_and_the_replicas_keep_serving(project, registry, lb):
    wrong = "wrong-" + secrets.token_urlsafe(12)
    with Load(lb, port=PORT) as load:
        proc = run(
            project,
            "containerops.fleet.deploy",
            "-e",
            "service=hello",
            "-e",
            f"image={registry['repo']}:2",
            "-e",
            json.dumps({"vault_registry_password": wrong}),
            check=False,
        )
    assert proc.returncode != 0
    said = failures(proc)
    assert f"{registry['repo']}:2" in said and "app1" in said, said
    assert "unauthorized" in said.lower() or "authentication required" in said.lower(), said
    assert leaks(proc, wrong) == []
    assert load.failures == [], f"{len(load.failures)} of {load.total} requests failed: {load.failures[:5]}"
    assert load.ok > 100
    assert load.versions().keys() == {"1"}
    assert len(replicas_behind(lb)) == REPLICAS


def test_the_example_inventory_passes_preflight_and_a_check_run_on_lab_hosts(project, inventory):
    """inventories/example as shipped (its group_vars, its services pulled from registry.example.net), its hosts
    pointed at lab hosts: preflight passes and `site --check` runs through without changing any host."""
    example = yaml.safe_load((ROOT / "inventories/example/hosts.yml").read_text())
    lab = {
        name: data["ansible_host"]
        for group in inventory["all"]["children"].values()
        for name, data in group["hosts"].items()
    }
    lab_name = {"app1": "node1", "app2": "node2", "app3": "node3", "lb1": "lb1", "mon1": "mon1"}
    for group in example["all"]["children"].values():
        for name, data in group["hosts"].items():
            if data:
                data["ansible_host"] = lab[lab_name[name.split(".", 1)[0]]]
    example["all"]["vars"] = {k: v for k, v in inventory["all"].get("vars", {}).items() if k.startswith("ansible_")}
    copy = project / "example"
    shutil.copytree(ROOT / "inventories/example/group_vars", copy / "group_vars")
    (copy / "hosts.yml").write_text(yaml.safe_dump(example))
    # The example's autoscaler host runs autoscale.yml from cron, so it needs Ansible (the role checks it is there).
    installed = on("mon1", "sh", "-c", "command -v ansible-playbook || apt-get install -y -qq ansible-core")
    assert installed.returncode == 0, installed.stderr
    before = {node: on(node, "docker", "ps", "-aq").stdout for node in ("node1", "node2", "node3")}
    # the vault a team keeps beside it; Grafana's apt repository cannot be reached from these machines
    secrets_given = json.dumps({"vault_grafana_admin_password": secrets.token_urlsafe(16), "grafana_install": False})
    preflight = run(project, "containerops.fleet.preflight", "-e", secrets_given, inventory="example")
    assert preflight.returncode == 0
    check = run(project, "containerops.fleet.site", "-e", secrets_given, "--check", "--diff", inventory="example")
    assert {"app1.example.net", "lb1.example.net", "mon1.example.net"} <= set(stats(check))
    assert before == {node: on(node, "docker", "ps", "-aq").stdout for node in ("node1", "node2", "node3")}
