# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""container_image on the lab: rebuild on context change only, ship where the ID is missing, push/pull.

The test image is FROM scratch (a few files), so shipping it costs seconds; the demo image and the
base image go the same way in site.yml.
"""

from __future__ import annotations

import json
import secrets
import subprocess

import pytest
from conftest import ROOT, container, run_playbook, task_results

PLAYBOOK = ROOT / "tests" / "e2e" / "playbooks" / "image.yml"
REGISTRY_PLAYBOOK = ROOT / "tests" / "e2e" / "playbooks" / "image_registry.yml"
HOSTS = ("node1", "node2", "node3")
NAME = "fleet-e2e-image"


def engine_image_id(host: str, ref: str) -> str | None:
    proc = subprocess.run(
        ["docker", "exec", container(host), "docker", "image", "inspect", "--format", "{{.Id}}", ref],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.stdout.strip() if proc.returncode == 0 else None


def engine(host: str, *args: str) -> None:
    subprocess.run(["docker", "exec", container(host), "docker", *args], capture_output=True, check=False)


@pytest.fixture(scope="module")
def lab(tmp_path_factory, inventory):
    ctx = tmp_path_factory.mktemp("context")
    (ctx / "Dockerfile").write_text("FROM scratch\nCOPY . /ctx/\n")
    (ctx / ".dockerignore").write_text("scratch-*\n")
    (ctx / "a.txt").write_text("a\n")
    tag = secrets.token_hex(4)  # a fresh tag per run: the first build really builds
    registry = inventory["all"]["children"]["monitoring"]["hosts"]["mon1"]["ansible_host"] + ":5000"
    data = {
        "name": NAME,
        "tag": tag,
        "context": str(ctx),
        "build_host": "node1",
        "export": str(tmp_path_factory.mktemp("export") / "image.tar"),
        "registry": registry,
    }
    yield data
    for host in HOSTS:
        engine(host, "image", "rm", "-f", f"{NAME}:{tag}", f"{registry}/{NAME}:{tag}")


def play(image_test: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return run_playbook(PLAYBOOK, "-e", json.dumps({"image_test": image_test}), *args, check=check)


def build_result(lab: dict, *args: str) -> dict:
    spec = {k: v for k, v in lab.items() if k not in ("export", "registry")}
    return task_results(play(spec, *args), "Build")["node1"]


def test_build_once_then_only_on_context_change(lab):
    ref = f"{NAME}:{lab['tag']}"
    first = build_result(lab)
    assert first["changed"] and first["rebuilt"], first
    assert first["image_id"] == engine_image_id("node1", ref)
    assert first["context_hash"].startswith("sha256:")

    ignored = lab["context"] + "/scratch-notes.txt"  # matched by .dockerignore: not part of the context
    with open(ignored, "w") as fh:
        fh.write("ignored\n")
    again = build_result(lab)
    assert not again["changed"] and not again["rebuilt"], again["actions"]
    assert again["image_id"] == first["image_id"]
    assert again["context_hash"] == first["context_hash"]

    with open(lab["context"] + "/b.txt", "w"):  # touch a new file in the context
        pass
    checked = build_result(lab, "--check")
    assert checked["changed"] and checked["rebuilt"] and checked["actions"] == [f"build {ref}"]
    assert engine_image_id("node1", ref) == first["image_id"], "check mode must not build"

    rebuilt = build_result(lab)
    assert rebuilt["changed"] and rebuilt["rebuilt"]
    assert rebuilt["context_hash"] != first["context_hash"]
    assert rebuilt["image_id"] != first["image_id"]
    assert engine_image_id("node1", ref) == rebuilt["image_id"]


def test_distribute_to_the_other_hosts_only_where_missing(lab):
    ref = f"{NAME}:{lab['tag']}"
    spec = {k: v for k, v in lab.items() if k != "registry"}
    spec["ship_to"] = ["node2", "node3"]
    proc = play(spec)
    built = task_results(proc, "Build")["node1"]
    shipped = task_results(proc, "Ship")
    assert built["exported"], built
    assert {h: r["shipped_to"] for h, r in shipped.items()} == {"node2": ["node2"], "node3": ["node3"]}
    ids = {h: engine_image_id(h, ref) for h in HOSTS}
    assert set(ids.values()) == {built["image_id"]}, ids

    again = play(spec)
    assert not task_results(again, "Build")["node1"]["changed"]
    assert not task_results(again, "Build")["node1"]["exported"]
    shipped_again = task_results(again, "Ship")
    assert sorted(shipped_again) == ["node2", "node3"], shipped_again
    for host, result in shipped_again.items():
        assert not result["changed"] and result["shipped_to"] == [], (host, result["actions"])


def test_push_and_pull_through_the_lab_registry(lab):
    password = "pw-" + secrets.token_urlsafe(18)
    creds = {"image_registry_user": "fleet", "image_registry_password": password}
    setup = run_playbook(REGISTRY_PLAYBOOK, "-e", json.dumps(creds))
    ref = f"{lab['registry']}/{NAME}:{lab['tag']}"
    engine("node2", "image", "rm", "-f", ref)
    spec = {k: v for k, v in lab.items() if k != "export"}
    spec.update(user="fleet", password=password, pull_on="node2")

    denied = play({**spec, "password": "wrong-" + password}, check=False)
    assert denied.returncode != 0
    assert engine_image_id("node2", ref) is None

    proc = play(spec)
    pushed = task_results(proc, "Build and push")["node1"]
    pulled = task_results(proc, "Pull")["node2"]
    assert pushed["pushed"] and pulled["pulled"] and pulled["changed"]
    assert engine_image_id("node2", ref) == pushed["image_id"] == pulled["image_id"]

    again = play(spec)
    assert not task_results(again, "Build and push")["node1"]["changed"]
    assert not task_results(again, "Pull")["node2"]["changed"]

    for out in (setup, denied, proc, again):
        text = out.stdout + out.stderr
        assert password not in text
        assert password.split("-", 1)[1] not in text
