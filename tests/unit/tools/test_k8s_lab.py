# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Kubernetes lab's pure parts: where the binaries are found, what is unpacked, what its configs say."""

from __future__ import annotations

import importlib.util
import ipaddress
import json
import lzma
import subprocess
import sys
from pathlib import Path

_TOOLS = Path(__file__).resolve().parents[3] / "tools" / "lab"
sys.path.insert(0, str(_TOOLS))  # k8s.py imports lab.py beside it
_SPEC = importlib.util.spec_from_file_location("fleet_k8s_lab", _TOOLS / "k8s.py")
k8s = importlib.util.module_from_spec(_SPEC)
sys.modules.setdefault("fleet_k8s_lab", k8s)  # dataclasses look their module up by name
_SPEC.loader.exec_module(k8s)


def _binaries(where: Path, suffix: str = ".xz") -> None:
    where.mkdir(parents=True)
    for name in k8s.BINARIES:
        with lzma.open(where / f"{name}{suffix}", "wb") as fh:
            fh.write(f"#!/bin/sh\necho {name}\n".encode())


def test_binaries_are_found_in_the_directory_or_its_bin(tmp_path, monkeypatch):
    monkeypatch.delenv("FLEET_K8S_BIN", raising=False)
    assert not k8s.binaries_available(tmp_path)
    _binaries(tmp_path / "shared" / "bin")
    assert k8s.source_dir(str(tmp_path / "shared")) == tmp_path / "shared" / "bin"
    monkeypatch.setenv("FLEET_K8S_BIN", str(tmp_path / "shared" / "bin"))
    assert k8s.source_dir() == tmp_path / "shared" / "bin"


def test_unpack_decompresses_once_per_source_file(tmp_path):
    _binaries(tmp_path / "src")
    dest = tmp_path / "cache" / "kubectl"
    dest.parent.mkdir()
    assert k8s._unpack(tmp_path / "src" / "kubectl.xz", dest) is True
    assert dest.read_text() == "#!/bin/sh\necho kubectl\n" and dest.stat().st_mode & 0o111
    assert k8s._unpack(tmp_path / "src" / "kubectl.xz", dest) is False


def test_everything_listens_on_loopback_apart_from_docker(tmp_path):
    cluster = k8s.Cluster(source=tmp_path, state=tmp_path / "state", node="vm")
    kubelet = json.loads(k8s.kubelet_config(cluster))
    assert kubelet["address"] == kubelet["healthzBindAddress"] == "127.0.0.1" and kubelet["readOnlyPort"] == 0
    assert kubelet["makeIPTablesUtilChains"] is False
    assert kubelet["containerRuntimeEndpoint"] == f"unix://{cluster.socket}"
    toml = k8s.containerd_config(cluster)
    assert f'address = "{cluster.socket}"' in toml and "restrict_oom_score_adj = true" in toml
    assert f'Root = "{cluster.run_dir}/runc"' in toml and "/run/containerd/" not in toml
    cni = json.loads(k8s.cni_config(cluster))
    bridge = cni["plugins"][0]
    assert bridge["bridge"] != "docker0" and bridge["ipMasq"] is False
    pods = ipaddress.ip_network(bridge["ipam"]["ranges"][0][0]["subnet"])
    assert not pods.overlaps(ipaddress.ip_network("172.16.0.0/12"))
    assert not ipaddress.ip_network(cluster.service_cidr).overlaps(ipaddress.ip_network("172.16.0.0/12"))


def test_a_long_state_path_moves_the_sockets_to_run(tmp_path):
    short = k8s.Cluster(source=tmp_path, state=Path("/srv/lab/k8s"), node="vm")
    assert short.run_dir == Path("/srv/lab/k8s/run")
    deep = k8s.Cluster(source=tmp_path, state=Path("/" + "d" * 90) / "k8s", node="vm")
    assert deep.run_dir.parent == Path("/run") and len(str(deep.socket)) < 100


def test_a_kubeconfig_carries_its_certificates(tmp_path):
    cluster = k8s.Cluster(source=tmp_path, state=tmp_path / "state", node="vm")
    cluster.pki.mkdir(parents=True)
    for name in ("ca.crt", "admin.crt", "admin.key"):
        (cluster.pki / name).write_text(name)
    k8s.write_kubeconfig(cluster, cluster.kubeconfig, "admin")
    doc = json.loads(cluster.kubeconfig.read_text())
    assert doc["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:6443"
    assert set(doc["users"][0]["user"]) == {"client-certificate-data", "client-key-data"}
    assert cluster.kubeconfig.stat().st_mode & 0o777 == 0o600


def test_kube_proxy_serves_node_ports_on_the_machines_address_only(tmp_path, monkeypatch):
    """NodePort Services need kube-proxy; its node ports answer on the machine's address, not on loopback (no
    route_localnet) nor Docker's bridges; metrics and health on loopback; no conntrack sysctl changed."""
    monkeypatch.setattr(k8s, "advertise_address", lambda: "192.0.2.7")
    cluster = k8s.Cluster(source=tmp_path, state=tmp_path / "state", node="vm")
    proxy = json.loads(k8s.kube_proxy_config(cluster))
    assert proxy["mode"] == "iptables" and proxy["hostnameOverride"] == "vm"
    assert proxy["nodePortAddresses"] == ["192.0.2.7/32"]
    assert proxy["bindAddress"] == "127.0.0.1"
    assert proxy["healthzBindAddress"].startswith("127.0.0.1:") and proxy["metricsBindAddress"].startswith("127.0.0.1:")
    assert proxy["clusterCIDR"] == cluster.pod_cidr
    assert proxy["conntrack"]["maxPerCore"] == 0 and proxy["conntrack"]["min"] == 0
    assert "kube-proxy" in k8s.BINARIES and k8s.COMPONENTS[-1] == "kube-proxy"


def test_down_removes_every_kube_chain_and_only_the_jumps_into_them(tmp_path, monkeypatch):
    """`kube-proxy --cleanup` leaves its canaries, KUBE-FIREWALL and KUBE-MARK-MASQ: down removes them too, and the
    jumps into them from the built-in chains, and nothing of Docker's."""
    dump = {
        "filter": ":INPUT ACCEPT [0:0]\n:KUBE-FIREWALL - [0:0]\n:KUBE-PROXY-CANARY - [0:0]\n"
        "-A INPUT -j KUBE-FIREWALL\n"
        '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD\n'
        "-A FORWARD -j DOCKER-USER\n-A KUBE-FIREWALL -j DROP\nCOMMIT\n",
        "nat": ":KUBE-MARK-MASQ - [0:0]\n-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000\nCOMMIT\n",
    }
    calls = []

    def fake_run(cmd, check=True, timeout=None, **_kw):
        calls.append(cmd)
        out = dump.get(cmd[2], "") if cmd[0] == "iptables-save" else ""
        return subprocess.CompletedProcess(cmd, 0, out.encode(), b"")

    monkeypatch.setattr(k8s, "run", fake_run)
    monkeypatch.setattr(k8s.shutil, "which", lambda name: f"/usr/sbin/{name}" if name == "iptables-save" else None)
    k8s.cleanup_kube_proxy(k8s.Cluster(source=tmp_path, state=tmp_path / "state", node="vm"))
    deletes = [c[3:] for c in calls if c[:2] == ["iptables", "-t"] and c[3] == "-D"]
    assert deletes == [
        ["-D", "INPUT", "-j", "KUBE-FIREWALL"],
        ["-D", "FORWARD", "-m", "comment", "--comment", "kubernetes forwarding rules", "-j", "KUBE-FORWARD"],
    ]
    removed = {(c[2], c[4]) for c in calls if c[:2] == ["iptables", "-t"] and c[3] == "-X"}
    assert removed == {("filter", "KUBE-FIREWALL"), ("filter", "KUBE-PROXY-CANARY"), ("nat", "KUBE-MARK-MASQ")}
