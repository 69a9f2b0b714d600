# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""container_service platform=kubernetes against a real API server.

Runs only when FLEET_KUBECONFIG names a kubeconfig (no API server can be had on the lab machines, and
a fake one proves nothing).  FLEET_K8S_NAMESPACE (default fleet-e2e, must exist) and FLEET_K8S_IMAGE
(default nginx:1.27-alpine, serving / on port 80; the cluster must be able to pull it) tune it.
"""

from __future__ import annotations

import json
import os

import pytest
from conftest import ROOT, run_playbook

KUBECONFIG = os.environ.get("FLEET_KUBECONFIG", "")
NAMESPACE = os.environ.get("FLEET_K8S_NAMESPACE", "fleet-e2e")
IMAGE = os.environ.get("FLEET_K8S_IMAGE", "nginx:1.27-alpine")
NAME = "fleet-k8s-e2e"

pytestmark = pytest.mark.skipif(
    not KUBECONFIG,
    reason="SKIPPED: no Kubernetes API server; set FLEET_KUBECONFIG=/path/to/kubeconfig to run the live "
    "platform=kubernetes tests (the manifests are schema-checked offline in tests/unit)",
)


def definition(**over) -> dict:
    spec = {
        "name": NAME,
        "image": IMAGE,
        "replicas": 2,
        "ports": [{"container": 80}],
        "env": {"RELEASE": "1"},
        "healthcheck": {"http_path": "/", "interval": 2, "timeout": 2, "retries": 3},
        "resources": {"cpus": 0.1, "memory": "64m"},
        "progress_deadline": 60,
    }
    spec.update(over)
    return spec


def deploy(spec: dict, *args: str, check: bool = True) -> dict:
    extra = {"test_service": spec, "test_kubeconfig": KUBECONFIG, "test_namespace": NAMESPACE}
    proc = run_playbook(
        ROOT / "tests" / "e2e" / "playbooks" / "k8s_service.yml", "-e", json.dumps(extra), *args, check=check
    )
    result = {}
    for play in json.loads(proc.stdout)["plays"]:
        for task in play["tasks"]:
            if task["task"]["name"] == "Deploy the service on Kubernetes":
                result = task["hosts"]["localhost"]
    result["rc"] = proc.returncode
    return result


@pytest.fixture(scope="module", autouse=True)
def cleanup():
    deploy({"name": NAME, "state": "absent"})
    yield
    deploy({"name": NAME, "state": "absent"})


def test_check_mode_is_a_server_dry_run_and_creates_nothing():
    result = deploy(definition(), "--check")
    assert result["changed"] is True and result["endpoints"] == []
    again = deploy(definition(), "--check")
    assert again["changed"] is True  # still nothing there


def test_apply_waits_for_rollout_and_is_idempotent():
    first = deploy(definition())
    assert first["changed"] is True
    assert len(first["endpoints"]) == 2 and all(e["healthy"] for e in first["endpoints"])
    again = deploy(definition())
    assert again["changed"] is False
    updated = deploy(definition(env={"RELEASE": "2"}))
    assert updated["changed"] is True and updated["spec_hash"] != first["spec_hash"]
    assert {e["spec_hash"] for e in updated["endpoints"]} == {updated["spec_hash"]}


def test_autoscaler_is_applied():
    result = deploy(definition(env={"RELEASE": "2"}, autoscale={"min": 2, "max": 4}))
    assert result["changed"] is True and "HorizontalPodAutoscaler" in result["plan"]["objects"]


def test_failed_rollout_fails_fast_and_rolls_back():
    good = deploy(definition(env={"RELEASE": "2"}))
    bad = deploy(definition(env={"RELEASE": "2"}, image="fleet.invalid/no-such-image:0"), check=False)
    assert bad["rc"] != 0 and bad["rolled_back"] is True
    assert "ProgressDeadlineExceeded" in bad["msg"]
    assert {e["spec_hash"] for e in bad["endpoints"] if e["healthy"]} == {good["spec_hash"]}
