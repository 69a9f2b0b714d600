# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab itself: five real hosts answering Ansible over SSH, and site.yml running on them."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml
from conftest import BIN, ROOT, ansible_env, run_playbook, stats

LAB = [sys.executable, str(ROOT / "tools" / "lab" / "lab.py")]


def test_groups_have_the_documented_shape(lab_hosts):
    assert len(lab_hosts["container_hosts"]) == 3
    assert len(lab_hosts["loadbalancers"]) == 1
    assert len(lab_hosts["monitoring"]) == 1


def test_every_host_answers_ansible_over_ssh():
    proc = run_playbook(ROOT / "playbooks" / "site.yml")
    result = stats(proc)
    assert sorted(result) == ["lb1", "mon1", "node1", "node2", "node3"]
    assert all(s["unreachable"] == 0 and s["failures"] == 0 for s in result.values())


@pytest.mark.parametrize("name", ["node1", "lb1", "mon1"])
def test_hosts_are_systemd_servers_with_sshd(host, name):
    h = host(name)
    assert h.system_info.distribution == "debian"
    assert h.system_info.release.startswith("12")
    assert h.run("systemctl is-system-running").stdout.strip() in ("running", "degraded")
    assert h.service("ssh").is_running
    assert h.socket("tcp://0.0.0.0:22").is_listening


def test_second_up_reuses_the_image_and_the_hosts():
    proc = subprocess.run([*LAB, "up"], capture_output=True, text=True, check=True)
    assert "is cached (recipe unchanged)" in proc.stdout
    assert "created" not in proc.stdout.replace("created by", "")
    assert proc.stdout.count(" reused") == 5


def test_a_stopped_host_comes_back_on_its_address(inventory):
    """A reboot of the machine (or dockerd) stops the hosts; `lab up` starts them on the addresses they had."""
    before = inventory["all"]["children"]["container_hosts"]["hosts"]["node3"]["ansible_host"]
    subprocess.run(["docker", "stop", "-t", "5", "fleet-lab-node3"], capture_output=True, check=True)
    proc = subprocess.run([*LAB, "up"], capture_output=True, text=True, check=True)
    node3 = [line for line in proc.stdout.splitlines() if "node3" in line and "container_hosts" in line]
    assert node3 and node3[0].split()[-2:] == [before, "started"], proc.stdout
    after = yaml.safe_load((ROOT / "inventories" / "lab" / "hosts.yml").read_text())
    assert after["all"]["children"]["container_hosts"]["hosts"]["node3"]["ansible_host"] == before
    ping = subprocess.run(
        [str(BIN / "ansible"), "-i", str(ROOT / "inventories" / "lab"), "node3", "-m", "ansible.builtin.ping"],
        env=ansible_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert ping.returncode == 0, ping.stdout + ping.stderr


def test_clashing_host_name_is_one_line_error():
    proc = subprocess.run(
        [*LAB, "up", "--name", "fleet-lab-clash", "--hosts", "a:x,a:y"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == "lab: error: host name 'a' is given twice; lab host names must be unique"


def test_container_name_owned_by_someone_else_is_refused():
    subprocess.run(["docker", "rm", "-f", "fleet-lab-foreign-x"], capture_output=True, check=False)
    subprocess.run(
        ["docker", "create", "--name", "fleet-lab-foreign-x", "containerops-lab/host:latest"],
        check=True,
        capture_output=True,
    )
    try:
        proc = subprocess.run(
            [*LAB, "up", "--name", "fleet-lab-foreign", "--hosts", "x"], capture_output=True, text=True, check=False
        )
        assert proc.returncode == 2
        assert "exists and is not a host of lab 'fleet-lab-foreign'" in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1
    finally:
        subprocess.run(["docker", "rm", "-f", "fleet-lab-foreign-x"], capture_output=True, check=False)
        subprocess.run([*LAB, "down", "--name", "fleet-lab-foreign", "--hosts", "x"], capture_output=True, check=False)


def test_port_already_taken_is_one_line_error():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = subprocess.run(
            [*LAB, "up", "--name", "fleet-lab-port", "--http-port", str(port)],
            capture_output=True,
            text=True,
            check=False,
        )
    subprocess.run([*LAB, "down", "--name", "fleet-lab-port"], capture_output=True, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        f"lab: error: port {port} on 127.0.0.1 (for lb1) is already taken; free it or choose another with --http-port"
    )


def test_no_engine_as_non_root_says_what_to_do(tmp_path):
    # A user without access to the engine socket and without root: the lab must not try to install.
    proc = subprocess.run(
        [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "env",
            f"PATH={tmp_path}:/usr/bin:/bin",
            "DOCKER_HOST=unix:///nonexistent.sock",
            "/usr/bin/python3",  # the venv interpreter lives under /root, unreadable for nobody
            *LAB[1:],
            "up",
            "--name",
            "fleet-lab-nobody",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("lab: error: no Docker engine answers: install Docker")
    assert len(proc.stderr.strip().splitlines()) == 1
