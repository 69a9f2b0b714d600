# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Galaxy round trip: build the tarball, install it offline into an empty project, use a filter, a role and modules
there (their module_utils come from the tarball)."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PLAYBOOK = """\
- name: Use the installed collection
  hosts: localhost
  gather_facts: false
  vars:
    fleet_services:
      - name: web
        image: registry.example.net/web:1.4
        replicas: 3
        ports: [{container: 8000}]
        healthcheck: {http_path: /healthz}
        autoscale: {min: 2, max: 6, query: 'avg(rate(http_requests_total[1m]))', target: 50}
  tasks:
    - name: Place 7 replicas over three hosts
      ansible.builtin.set_fact:
        placed: "{{ fleet_hosts | containerops.fleet.placement(7) }}"
      vars:
        fleet_hosts:
          - {name: a, cpus: 2, memory_mb: 2048}
          - {name: b, cpus: 2, memory_mb: 2048}
          - {name: c, cpus: 2, memory_mb: 2048}
    - name: Show it
      ansible.builtin.debug:
        msg: "placed={{ placed | dictsort | map('join', '=') | join(',') }}"

    - name: A role of the collection - the service role's preflight
      ansible.builtin.include_role:
        name: containerops.fleet.service
        tasks_from: preflight

    - name: A module of the collection, with its module_utils - an autoscaling decision
      containerops.fleet.autoscale:
        service: web
        current_replicas: 2
        metric_value: 180
        target_value: 100
        max_replicas: 10
      register: decision
    - name: Show the decision
      ansible.builtin.debug:
        msg: "desired={{ decision.desired_replicas }}"

    - name: The service module reaches for its engine (none here)
      containerops.fleet.container_service:
        name: web
        image: registry.example.net/web:1.4
        docker_host: unix:///nonexistent/docker.sock
      register: deploy
      ignore_errors: true
    - name: Show how it failed
      ansible.builtin.debug:
        msg: "deploy={{ deploy.msg }}"
"""

BAD = """\
- name: A bad definition is refused by name
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Preflight
      ansible.builtin.include_role:
        name: containerops.fleet.service
        tasks_from: preflight
      vars:
        fleet_services: [{name: web, image: "web:1", healthcheck: {http_pth: /x}}]
"""


def _clean_env(project: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(project / "collections"),
        ANSIBLE_CONFIG=str(project / "ansible.cfg"),
        ANSIBLE_GALAXY_SERVER="http://127.0.0.1:9/",
        HOME=str(project),
    )
    return env


def test_tarball_builds_installs_offline_and_works(tmp_path):
    version = yaml.safe_load((ROOT / "galaxy.yml").read_text())["version"]
    out = tmp_path / "dist"
    subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    tarball = out / f"containerops-fleet-{version}.tar.gz"
    assert tarball.exists()
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
    assert "plugins/filter/placement.py" in names
    assert not [n for n in names if n.startswith((".venv", ".build", ".lab", "tools/", "inventories/lab/hosts"))]

    project = tmp_path / "project"
    project.mkdir()
    (project / "ansible.cfg").write_text("[defaults]\ncollections_path = ./collections\n")
    env = _clean_env(project)
    subprocess.run(
        [
            str(BIN / "ansible-galaxy"),
            "collection",
            "install",
            "--offline",
            "-p",
            str(project / "collections"),
            str(tarball),
        ],
        check=True,
        capture_output=True,
        env=env,
        cwd=project,
    )
    assert (project / "collections/ansible_collections/containerops/fleet/MANIFEST.json").exists()

    (project / "use.yml").write_text(PLAYBOOK)
    proc = subprocess.run(
        [str(BIN / "ansible-playbook"), "use.yml"], capture_output=True, text=True, env=env, cwd=project, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "placed=a=3,b=2,c=2" in proc.stdout
    assert "desired=4" in proc.stdout  # ceil(2 * 180 / 100)
    assert "deploy=Docker engine:" in proc.stdout and "/nonexistent/docker.sock" in proc.stdout

    (project / "bad.yml").write_text(BAD)
    bad = subprocess.run(
        [str(BIN / "ansible-playbook"), "bad.yml"], capture_output=True, text=True, env=env, cwd=project, check=False
    )
    assert bad.returncode != 0
    assert "fleet_services[web].healthcheck.http_pth: unknown field" in bad.stdout + bad.stderr
