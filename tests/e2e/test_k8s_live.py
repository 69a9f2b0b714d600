# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""container_service platform=kubernetes against a real API server, kubelet and containerd.

The cluster: FLEET_KUBECONFIG when set (a cluster of your own), else the Kubernetes lab, which
`tools/lab/k8s.py up` brings up here from the server binaries in FLEET_K8S_BIN (default
../shared/k8s/bin beside the checkout; a running lab is reused).  Without either the tests skip, saying so.

FLEET_K8S_NAMESPACE (default fleet-e2e, created when missing), FLEET_K8S_IMAGE (serves / on port 80;
default the lab's imported fleet-k8s/http:1) and FLEET_K8S_UNREADY_IMAGE (runs but fails an HTTP probe
on / port 80; default fleet-k8s/http:unready) tune it for another cluster.  Nothing is pulled from a
registry on the lab: both images are imported by k8s.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, run_playbook, wait_for

sys.path.insert(0, str(ROOT / "tools" / "lab"))
import k8s as k8s_lab  # the Kubernetes lab (stdlib only)

kubernetes = pytest.importorskip("kubernetes", reason="the kubernetes Python client is in requirements.txt")
from kubernetes.client.exceptions import ApiException

NAMESPACE = os.environ.get("FLEET_K8S_NAMESPACE", "fleet-e2e")
IMAGE = os.environ.get("FLEET_K8S_IMAGE", k8s_lab.TEST_IMAGE)
UNREADY_IMAGE = os.environ.get("FLEET_K8S_UNREADY_IMAGE", k8s_lab.UNREADY_IMAGE)
NAME = "fleet-k8s-e2e"
L_HASH = "io.containerops.fleet.spec-hash"
BAD_DEADLINE = 16  # seconds: how long a rollout onto the unready image may take before it is failed


def definition(**over) -> dict:
    spec = {
        "name": NAME,
        "image": IMAGE,
        "replicas": 2,
        "ports": [{"container": 80}],
        "env": {"RELEASE": "1"},
        "healthcheck": {"http_path": "/", "interval": 1, "timeout": 2, "retries": 2},
        "resources": {"cpus": 0.1, "memory": "64m"},
        "progress_deadline": 60,
    }
    spec.update(over)
    return spec


K8S_PY = [sys.executable, str(ROOT / "tools" / "lab" / "k8s.py")]


@pytest.fixture(scope="module")
def kubeconfig():
    """FLEET_KUBECONFIG, else the lab cluster: a running one is used and left running; one this module brings up
    from FLEET_K8S_BIN is taken down again at the end, so the machine is left as it was found."""
    given = os.environ.get("FLEET_KUBECONFIG", "")
    if given:
        yield given
        return
    lab_kubeconfig = str(k8s_lab.ROOT / ".lab" / "k8s" / "kubeconfig")
    if subprocess.run([*K8S_PY, "status"], capture_output=True, check=False).returncode == 0:
        yield lab_kubeconfig
        return
    source = k8s_lab.source_dir()
    if not k8s_lab.binaries_available(source):
        pytest.skip(
            f"no Kubernetes cluster: set FLEET_KUBECONFIG=/path/to/kubeconfig to use yours, or FLEET_K8S_BIN to a "
            f"directory with the server binaries ({', '.join(k8s_lab.BINARIES)}, plain or .xz; not in {source}) "
            "for tools/lab/k8s.py to bring one up"
        )
    started = time.monotonic()
    proc = subprocess.run([*K8S_PY, "up"], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        subprocess.run([*K8S_PY, "down"], capture_output=True, check=False)
        pytest.fail(f"tools/lab/k8s.py up failed (rc {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr}")
    print(f"\nKubernetes lab up in {time.monotonic() - started:.0f} s")
    yield lab_kubeconfig
    subprocess.run([*K8S_PY, "down"], capture_output=True, check=False)


class Cluster:
    """Reads what the module made, with the official client (the module's own answer is not the proof)."""

    def __init__(self, kubeconfig: str):
        self.kubeconfig = kubeconfig
        client = kubernetes.config.new_client_from_config(config_file=kubeconfig)
        self.core = kubernetes.client.CoreV1Api(client)
        self.apps = kubernetes.client.AppsV1Api(client)
        self.hpa = kubernetes.client.AutoscalingV2Api(client)

    def deploy(self, spec: dict, *args: str, check: bool = True) -> dict:
        extra = {"test_service": spec, "test_kubeconfig": self.kubeconfig, "test_namespace": NAMESPACE}
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

    def read(self, kind: str):
        """The live object of this service, or None."""
        reader = {
            "Deployment": self.apps.read_namespaced_deployment,
            "Service": self.core.read_namespaced_service,
            "HorizontalPodAutoscaler": self.hpa.read_namespaced_horizontal_pod_autoscaler,
        }[kind]
        try:
            return reader(NAME, NAMESPACE)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def pods(self) -> list:
        return self.core.list_namespaced_pod(NAMESPACE, label_selector=f"app.kubernetes.io/name={NAME}").items

    def template_hash(self) -> str:
        return self.read("Deployment").spec.template.metadata.annotations[L_HASH]


@pytest.fixture(scope="module")
def cluster(kubeconfig) -> Cluster:
    live = Cluster(kubeconfig)
    try:
        live.core.read_namespace(NAMESPACE)
    except ApiException as exc:
        if exc.status != 404:
            raise
        live.core.create_namespace({"metadata": {"name": NAMESPACE}})
    # A new namespace gets its default ServiceAccount from the controller manager; pods wait for it.
    wait_for(f"the default ServiceAccount in {NAMESPACE}", lambda: _has_default_sa(live), timeout=60, interval=0.5)
    live.deploy({"name": NAME, "state": "absent"})
    yield live
    live.deploy({"name": NAME, "state": "absent"})


def _has_default_sa(live: Cluster) -> bool:
    try:
        live.core.read_namespaced_service_account("default", NAMESPACE)
        return True
    except ApiException:
        return False


def test_check_mode_is_a_server_dry_run_and_creates_nothing(cluster):
    result = cluster.deploy(definition(), "--check")
    assert result["changed"] is True and result["endpoints"] == []
    again = cluster.deploy(definition(), "--check")
    assert again["changed"] is True  # still nothing there
    assert cluster.read("Deployment") is None


def test_apply_waits_for_rollout_and_is_idempotent(cluster):
    first = cluster.deploy(definition())
    assert first["changed"] is True
    assert len(first["endpoints"]) == 2 and all(e["healthy"] for e in first["endpoints"])
    again = cluster.deploy(definition())
    assert again["changed"] is False
    updated = cluster.deploy(definition(env={"RELEASE": "2"}))
    assert updated["changed"] is True and updated["spec_hash"] != first["spec_hash"]
    assert {e["spec_hash"] for e in updated["endpoints"]} == {updated["spec_hash"]}


def test_failed_rollout_names_progress_deadline_exceeded_and_rolls_back(cluster):
    """Issue 19 bug 1: the module waited exactly progressDeadlineSeconds and gave up before the controller said so."""
    good = cluster.deploy(definition(env={"RELEASE": "2"}))
    bad = cluster.deploy(
        definition(env={"RELEASE": "2"}, image=UNREADY_IMAGE, progress_deadline=BAD_DEADLINE), check=False
    )
    assert bad["rc"] != 0 and bad["rolled_back"] is True, bad.get("msg")
    assert "ProgressDeadlineExceeded" in bad["msg"]
    assert {e["spec_hash"] for e in bad["endpoints"] if e["healthy"]} == {good["spec_hash"]}
    assert cluster.template_hash() == good["spec_hash"]  # the Deployment itself is back on the good template


def test_stale_deadline_condition_does_not_fail_the_next_deploy(cluster):
    """Issue 19 bug 2: a ProgressDeadlineExceeded left by an earlier rollout failed the next, good one at once."""
    cluster.deploy(definition(env={"RELEASE": "2"}))
    stuck = cluster.deploy(
        definition(
            env={"RELEASE": "2"}, image=UNREADY_IMAGE, progress_deadline=BAD_DEADLINE, rollback_on_failure=False
        ),
        check=False,
    )
    assert stuck["rc"] != 0 and stuck["rolled_back"] is False, stuck.get("msg")
    fixed = cluster.deploy(definition(env={"RELEASE": "3"}), check=False)
    assert fixed["rc"] == 0, fixed.get("msg")
    assert {e["spec_hash"] for e in fixed["endpoints"]} == {fixed["spec_hash"]} and len(fixed["endpoints"]) == 2
    assert cluster.template_hash() == fixed["spec_hash"]  # not put back onto the broken image


def test_turning_on_autoscale_hands_replicas_to_the_autoscaler_without_a_dip(cluster):
    """Issue 19 bug 3: dropping `replicas` from the apply reset the Deployment to 1 until the HPA restored it."""
    cluster.deploy(definition(env={"RELEASE": "3"}))
    before = cluster.read("Deployment")
    autoscale = {"min": 2, "max": 4, "cpu_utilization": 80, "scale_down_stabilization": 60, "scale_up_limit": 1}
    result = cluster.deploy(definition(env={"RELEASE": "3"}, autoscale=autoscale))
    after = cluster.read("Deployment")
    assert result["changed"] is True and "HorizontalPodAutoscaler" in result["plan"]["objects"]
    assert after.spec.replicas == 2
    # No write to the Deployment's spec at all: the count never went to 1 and back.
    assert after.metadata.generation == before.metadata.generation
    hpa = cluster.read("HorizontalPodAutoscaler")
    assert (hpa.spec.min_replicas, hpa.spec.max_replicas) == (2, 4)
    assert hpa.spec.behavior.scale_down.stabilization_window_seconds == 60
    assert [(p.type, p.value) for p in hpa.spec.behavior.scale_up.policies] == [("Pods", 1)]
    again = cluster.deploy(definition(env={"RELEASE": "3"}, autoscale=autoscale))
    assert again["changed"] is False, again["plan"]


def test_removing_autoscale_deletes_the_autoscaler(cluster):
    """Issue 19 bug 4: the HPA of an earlier run stayed and kept overriding replicas."""
    autoscale = {"min": 3, "max": 4, "cpu_utilization": 80}
    cluster.deploy(definition(env={"RELEASE": "3"}, autoscale=autoscale))
    wait_for("the autoscaler to raise the Deployment to 3", lambda: cluster.read("Deployment").spec.replicas == 3)
    result = cluster.deploy(definition(env={"RELEASE": "3"}))
    assert result["changed"] is True
    assert cluster.read("HorizontalPodAutoscaler") is None
    assert cluster.read("Deployment").spec.replicas == 2
    again = cluster.deploy(definition(env={"RELEASE": "3"}))
    assert again["changed"] is False, again["plan"]


def test_removing_ports_deletes_the_service(cluster):
    """Issue 19 bug 4: a Service whose ports were removed from the definition stayed."""
    cluster.deploy(definition(env={"RELEASE": "3"}))
    assert cluster.read("Service") is not None
    no_ports = definition(env={"RELEASE": "3"}, ports=[], healthcheck={"http_path": "/", "port": 80, "interval": 1})
    result = cluster.deploy(no_ports)
    assert result["changed"] is True
    assert cluster.read("Service") is None
    assert cluster.deploy(no_ports)["changed"] is False


def test_absent_waits_until_everything_is_gone(cluster):
    """Issue 19 bug 5: state=absent returned during the foreground delete; a deploy right after was lost."""
    cluster.deploy(definition(env={"RELEASE": "3"}, autoscale={"min": 2, "max": 3}))
    gone = cluster.deploy({"name": NAME, "state": "absent"})
    assert gone["changed"] is True
    assert [cluster.read(k) for k in ("Deployment", "Service", "HorizontalPodAutoscaler")] == [None, None, None]
    assert cluster.pods() == []
    back = cluster.deploy(definition(env={"RELEASE": "3"}), check=False)
    assert back["rc"] == 0, back.get("msg")
    assert len(back["endpoints"]) == 2 and all(e["healthy"] for e in back["endpoints"])


def test_rollback_playbook_refuses_a_kubernetes_service(tmp_path: Path):
    """playbooks/rollback.yml keeps docker hosts' revisions; on kubernetes it says what to do instead."""
    inventory = tmp_path / "hosts.yml"
    services = [{"name": "web", "image": "fleet-demo:1", "platform": "kubernetes", "replicas": 2}]
    inventory.write_text(
        json.dumps(
            {
                "all": {
                    "vars": {
                        "fleet_services": services,
                        "ansible_connection": "local",
                        "ansible_python_interpreter": sys.executable,
                    },
                    "children": {"container_hosts": {"hosts": {"k8s-controller": {}}}},
                }
            }
        )
    )
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "-i",
            str(inventory),
            str(ROOT / "playbooks" / "rollback.yml"),
            "-e",
            "service=web",
        ],
        cwd=ROOT,
        env=dict(
            os.environ,
            ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
            ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".build" / "collections"),
        ),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode != 0
    assert "platform kubernetes" in proc.stdout and "rollout undo" in proc.stdout, proc.stdout[-2000:]
