# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Galaxy round trip: build the tarball, install it offline into an empty project, use an FQCN there."""

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
