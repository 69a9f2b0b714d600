# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A team's own image with no shell, curl, wget or python inside (FROM scratch + one static binary), delivered
from an archive by the service definition itself, behind HAProxy: health is probed from the host, so it deploys,
rolls and rolls back under load without losing a request."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import yaml
from conftest import ROOT, build_noshell_image, haproxy_all_up, run_playbook, wait_for
from load import Load

PLAYBOOKS = ROOT / "playbooks"
PORT = 8091
LAB_SERVICES = yaml.safe_load((ROOT / "inventories/lab/group_vars/all/services.yml").read_text())["fleet_services"]


@pytest.fixture(scope="module")
def lb(inventory) -> str:
    return inventory["all"]["children"]["loadbalancers"]["hosts"]["lb1"]["ansible_host"]


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> str:
    """fleet-noshell:1 built on this machine's engine: FROM scratch, the static server, nothing else."""
    ctx = tmp_path_factory.mktemp("noshell")
    build_noshell_image(ctx, "fleet-noshell:1")
    listing = subprocess.run(
        ["docker", "run", "--rm", "--entrypoint", "/bin/sh", "fleet-noshell:1", "-c", "true"],
        capture_output=True,
        check=False,
    )
    assert listing.returncode != 0, "the test image must have no shell"
    path = ctx / "fleet-noshell.tar"
    subprocess.run(["docker", "save", "-o", str(path), "fleet-noshell:1"], check=True)
    return str(path)


def definition(archive: str, version: str, health: str = "ok") -> dict:
    return {
        "name": "noshell",
        "image": "fleet-noshell:1",
        "archive": archive,  # the definition delivers its own image: loaded where its ID is missing
        "replicas": 3,
        "ports": [{"container": 8000, "host_range": "26000-26099"}],
        "env": {"FLEET_NOSHELL_VERSION": version, "FLEET_NOSHELL_HEALTH": health},
        "healthcheck": {"http_path": "/healthz", "interval": 1, "timeout": 2, "retries": 3},
        "update": {"order": "start-first", "monitor": 20},
        "lb": {"port": PORT},
    }


def extra(archive: str, version: str, health: str = "ok") -> str:
    return json.dumps({"fleet_services": [*LAB_SERVICES, definition(archive, version, health)]})


@pytest.fixture(scope="module")
def noshell(lb, archive):
    run_playbook(PLAYBOOKS / "services.yml", "-e", extra(archive, "1"))
    run_playbook(ROOT / "tests/e2e/playbooks/edges.yml", "-e", extra(archive, "1"))
    haproxy_all_up(lb, "noshell", 3)
    yield archive
    run_playbook(PLAYBOOKS / "teardown.yml", "-e", "service=noshell", "-e", extra(archive, "1"))
    run_playbook(ROOT / "tests/e2e/playbooks/edges.yml")


def loaded_until(load: Load, count: int) -> None:
    """Keep the load on after the change until `count` requests have been answered (the issue's floor)."""
    wait_for(
        f"{count} requests through HAProxy", lambda: load.ok + len(load.failures) >= count, timeout=120, interval=1
    )


def test_a_rolling_update_of_an_image_without_a_shell_loses_no_request(lb, noshell):
    with Load(lb, PORT, threads=8) as load:
        run_playbook(PLAYBOOKS / "deploy.yml", "-e", "service=noshell", "-e", extra(noshell, "2"))
        loaded_until(load, 10_000)
    assert load.failures == [], f"{len(load.failures)} of {load.ok + len(load.failures)} failed: {load.failures[:5]}"
    assert load.last_versions() == {"2"}


def test_a_failed_health_check_rolls_back_under_load_without_a_failed_request(lb, noshell):
    with Load(lb, PORT, threads=8) as load:
        proc = run_playbook(
            PLAYBOOKS / "deploy.yml", "-e", "service=noshell", "-e", extra(noshell, "3", "fail"), check=False
        )
        loaded_until(load, 10_000)
    assert proc.returncode != 0, "a replica that fails its health check must fail the deploy"
    assert "health check failed: GET http://" in proc.stdout and ": 500" in proc.stdout
    assert load.failures == [], f"{len(load.failures)} of {load.ok + len(load.failures)} failed: {load.failures[:5]}"
    assert load.last_versions() == {"2"}


@pytest.fixture(scope="module", autouse=True)
def _gcc_and_docker():
    for tool in ("gcc", "docker"):
        if not shutil.which(tool):
            pytest.fail(f"the no-shell image is built with {tool} on this machine: install it")
