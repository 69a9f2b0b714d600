# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The containerops.fleet Kubernetes lab: a single-node cluster on this machine, on loopback only.

    k8s.py up      etcd, kube-apiserver, controller-manager, scheduler, a containerd of its own and the
                   kubelet, from the server binaries in FLEET_K8S_BIN (default ../shared/k8s/bin beside
                   the checkout; *.xz are decompressed once into .lab/k8s-bin/); the test images are built
                   with the lab's Docker engine and imported (nothing is pulled); waits until the node is
                   Ready and writes .lab/k8s/kubeconfig.  On a running cluster it says so and returns.
    k8s.py down    stop what `up` started, by the PIDs it recorded; remove the pods' mounts, network
                   namespaces and bridge, and all state under .lab/k8s/ (the decompressed binaries stay)
    k8s.py status  the components, the node, and how to use the cluster
    k8s.py deps    only install the Debian packages the lab needs (when the server binaries are there)

Everything listens on 127.0.0.1; Docker's engine and its containerd are not touched (their own socket,
root, runc root, CNI bridge and pod network, none of it in 172.16.0.0/12).  Root is needed (containerd,
kubelet); on Debian the packages are installed when missing, as lab.py installs docker.io.
Stdlib only: it runs before any virtualenv exists.  Errors are one line on stderr, exit code 2.
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures
import hashlib
import ipaddress
import json
import lzma
import os
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import lab  # the Docker lab: engine, base image, command runner
from lab import LabError, run

ROOT = HERE.parents[1]
BINARIES = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy", "kubectl")
# What must exist on the machine -> the Debian package that provides it (RECIPE.md).
PACKAGES = {
    "/usr/bin/etcd": "etcd-server",
    "/usr/bin/containerd": "containerd",
    "/usr/bin/ctr": "containerd",
    "/usr/sbin/runc": "runc",
    "/usr/lib/cni/bridge": "containernetworking-plugins",
    "/usr/lib/cni/host-local": "containernetworking-plugins",
    "/usr/lib/cni/loopback": "containernetworking-plugins",
    "/usr/sbin/conntrack": "conntrack",
    "/usr/bin/socat": "socat",
    "/usr/sbin/iptables": "iptables",
    "/usr/bin/openssl": "openssl",
}
PAUSE_IMAGE = "registry.k8s.io/pause:3.10"  # the 1.33 kubelet's sandbox image
TEST_IMAGE = "fleet-k8s/http:1"  # serves /, /healthz and /metrics (Prometheus text format) on port 80
UNREADY_IMAGE = "fleet-k8s/http:unready"  # serves on port 80 from an empty root: every probe gets 404
IMAGE_RECIPE = "2"
MARK = "containerops.fleet k8s lab"
# The order `up` starts them in; `down` stops them in reverse.
COMPONENTS = (
    "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "containerd", "kubelet", "kube-proxy"
)  # fmt: skip

SERVE_PY = """\
# The test image's server: static files from ROOT on PORT; exits at once on SIGTERM (it runs as PID 1).
import functools, http.server, signal, sys
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
port, root = int(sys.argv[1]), sys.argv[2]
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=root)
http.server.ThreadingHTTPServer(("", port), handler).serve_forever()
"""


def progress(msg: str) -> None:
    print(f"[k8s] {msg}", flush=True)


def source_dir(given: str | None = None) -> Path:
    """Where the server binaries are: FLEET_K8S_BIN (or `given`), else ../shared/k8s/bin beside the checkout.

    A directory whose bin/ holds them (../shared/k8s itself) is taken too.
    """
    path = Path(given or os.environ.get("FLEET_K8S_BIN") or ROOT.parent / "shared" / "k8s" / "bin").resolve()
    if not binaries_available(path) and binaries_available(path / "bin"):
        return path / "bin"
    return path


def binaries_available(source: Path) -> bool:
    """Every server binary is in `source`, plain or .xz (what the e2e tests ask before bringing a cluster up)."""
    return all((source / b).is_file() or (source / f"{b}.xz").is_file() for b in BINARIES)


@dataclass
class Cluster:
    source: Path
    state: Path = ROOT / ".lab" / "k8s"
    cache: Path = ROOT / ".lab" / "k8s-bin"
    node: str = ""
    pod_cidr: str = "10.244.0.0/24"
    service_cidr: str = "10.96.0.0/24"
    bridge: str = "fleet-k8s0"
    network: str = "fleet-k8s-pods"
    apiserver_port: int = 6443
    etcd_port: int = 2379

    def __post_init__(self) -> None:
        self.node = self.node or socket.gethostname().split(".")[0].lower()

    # ------------------------------------------------------------------ paths

    @property
    def kubeconfig(self) -> Path:
        return self.state / "kubeconfig"

    @property
    def pki(self) -> Path:
        return self.state / "pki"

    @property
    def conf(self) -> Path:
        return self.state / "conf"

    @property
    def run_dir(self) -> Path:
        """Sockets of the cluster's containerd: under the state dir unless that path is too long for a socket."""
        inside = self.state / "run"
        if len(str(inside / "containerd.sock.ttrpc")) < 100:
            return inside
        return Path("/run") / f"fleet-k8s-{hashlib.sha256(str(self.state).encode()).hexdigest()[:10]}"

    @property
    def socket(self) -> Path:
        return self.run_dir / "containerd.sock"

    def bin(self, name: str) -> Path:
        return self.cache / name

    def pid_file(self, name: str) -> Path:
        return self.state / "pids" / f"{name}.pid"

    def log(self, name: str) -> Path:
        return self.state / "logs" / f"{name}.log"

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.apiserver_port}"


# --------------------------------------------------------------------------- machine


def ensure_packages() -> None:
    missing = sorted({pkg for path, pkg in PACKAGES.items() if not Path(path).exists()})
    if not missing:
        return
    if os.geteuid() != 0 or not lab._debian_family():
        raise LabError(f"the Kubernetes lab needs these packages: install {' '.join(missing)} (Debian names)")
    progress(f"installing {' '.join(missing)} from the distribution (apt-get)...")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=False, env=env, stdout=subprocess.DEVNULL)
    proc = subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
        env=env,
        stdout=subprocess.DEVNULL,
        check=False,
    )
    if proc.returncode != 0:
        raise LabError(f"apt-get install {' '.join(missing)} failed; see the output above")
    # Debian starts the packaged daemons where an init system runs; the lab runs its own instances.
    if Path("/run/systemd/system").is_dir():
        run(["systemctl", "disable", "--now", "etcd.service"], check=False)


def ensure_node_name(cluster: Cluster) -> None:
    """The kubelet registers as the host name and the API server reaches it by that name: it must resolve."""
    try:
        socket.gethostbyname(cluster.node)
        return
    except OSError:
        pass
    if os.geteuid() != 0:
        raise LabError(f"the node name {cluster.node!r} does not resolve: add '127.0.0.1 {cluster.node}' to /etc/hosts")
    progress(f"adding '127.0.0.1 {cluster.node}' to /etc/hosts (the node name must resolve)")
    with open("/etc/hosts", "a") as fh:
        fh.write(f"127.0.0.1 {cluster.node}  # {MARK}\n")


def advertise_address() -> str:
    """The machine's source address: the API server only writes it into the `kubernetes` Endpoints."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))
            addr = s.getsockname()[0]
        except OSError:
            addr = ""
    if not addr or ipaddress.ip_address(addr).is_loopback:
        raise LabError("no non-loopback IPv4 address found for --advertise-address (the machine has no network?)")
    return addr


def check_cidrs(cluster: Cluster) -> None:
    """The pod network must not overlap a route this machine already has (Docker's networks above all)."""
    ours = ipaddress.ip_network(cluster.pod_cidr)
    for line in run(["ip", "-4", "-o", "route", "show"]).stdout.decode().splitlines():
        dst, *rest = line.split()
        if dst == "default" or f"dev {cluster.bridge}" in line:
            continue
        try:
            net = ipaddress.ip_network(dst, strict=False)
        except ValueError:
            continue
        if net.overlaps(ours):
            dev = rest[rest.index("dev") + 1] if "dev" in rest else "?"
            raise LabError(
                f"the pod network {cluster.pod_cidr} overlaps {dst} on {dev}; choose another with --pod-cidr"
            )


def _port_taken(port: int) -> bool:
    return not lab._port_free(port)


# --------------------------------------------------------------------------- binaries


def _stamp(src: Path) -> str:
    st = src.stat()
    return f"{src.name} {st.st_size} {int(st.st_mtime)}"


def _unpack(src: Path, dest: Path) -> bool:
    """Copy or decompress one binary into the cache unless the cached copy came from the same file."""
    stamp = dest.with_name(f".{dest.name}.from")
    if dest.exists() and stamp.exists() and stamp.read_text() == _stamp(src):
        return False
    tmp = dest.with_name(f".{dest.name}.tmp")
    with open(tmp, "wb") as out:
        if src.suffix == ".xz":
            with lzma.open(src) as fh:
                shutil.copyfileobj(fh, out, 1 << 20)
        else:
            with open(src, "rb") as fh:
                shutil.copyfileobj(fh, out, 1 << 20)
    tmp.chmod(0o755)
    tmp.replace(dest)
    stamp.write_text(_stamp(src))
    return True


def ensure_binaries(cluster: Cluster) -> None:
    if not binaries_available(cluster.source):
        raise LabError(
            f"no Kubernetes server binaries in {cluster.source} ({', '.join(BINARIES)}, plain or .xz): "
            "set FLEET_K8S_BIN to their directory, or FLEET_KUBECONFIG to use a cluster of your own"
        )
    if not (cluster.source / "pause").is_file():
        raise LabError(f"no static pause binary in {cluster.source} (the sandbox image is built from it)")
    cluster.cache.mkdir(parents=True, exist_ok=True)
    sources = {
        b: (cluster.source / b if (cluster.source / b).is_file() else cluster.source / f"{b}.xz") for b in BINARIES
    }
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(BINARIES)) as pool:
        done = dict(zip(sources, pool.map(lambda b: _unpack(sources[b], cluster.bin(b)), sources)))
    fresh = [b for b, unpacked in done.items() if unpacked]
    if fresh:
        progress(f"unpacked {', '.join(fresh)} into {_show(cluster.cache)}")


def _show(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


# --------------------------------------------------------------------------- PKI and kubeconfigs


def _openssl(*args: str) -> None:
    run(["openssl", *args])


def _key(path: Path) -> None:
    if not path.exists():
        _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(path))
        path.chmod(0o600)


def _cert(pki: Path, name: str, cn: str, org: str = "", san: str = "", usage: str = "clientAuth") -> None:
    crt = pki / f"{name}.crt"
    if crt.exists():
        return
    _key(pki / f"{name}.key")
    ext = [
        "[req]",
        "distinguished_name=dn",
        "[dn]",
        "[ext]",
        "basicConstraints=CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        f"extendedKeyUsage={usage}",
    ]
    if san:
        ext.append(f"subjectAltName={san}")
    cnf = pki / f"{name}.cnf"
    cnf.write_text("\n".join(ext) + "\n")
    subj = f"/O={org}/CN={cn}" if org else f"/CN={cn}"
    csr = pki / f"{name}.csr"
    _openssl("req", "-new", "-key", str(pki / f"{name}.key"), "-subj", subj, "-config", str(cnf), "-out", str(csr))
    _openssl(
        "x509", "-req", "-in", str(csr), "-CA", str(pki / "ca.crt"), "-CAkey", str(pki / "ca.key"),
        "-CAcreateserial", "-days", "3650", "-extfile", str(cnf), "-extensions", "ext", "-out", str(crt),
    )  # fmt: skip
    csr.unlink()
    cnf.unlink()


def ensure_pki(cluster: Cluster) -> None:
    pki = cluster.pki
    pki.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not (pki / "ca.crt").exists():
        _key(pki / "ca.key")
        _openssl(
            "req", "-x509", "-new", "-key", str(pki / "ca.key"), "-days", "3650",
            "-subj", "/CN=containerops-fleet-k8s-lab-ca", "-out", str(pki / "ca.crt"),
        )  # fmt: skip
    if not (pki / "sa.pub").exists():
        _key(pki / "sa.key")
        _openssl("pkey", "-in", str(pki / "sa.key"), "-pubout", "-out", str(pki / "sa.pub"))
    names = ",".join(
        f"DNS:{n}" for n in ("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                             "kubernetes.default.svc.cluster.local")
    )  # fmt: skip
    first_service_ip = ipaddress.ip_network(cluster.service_cidr).network_address + 1
    _cert(pki, "apiserver", "kube-apiserver", san=f"{names},IP:127.0.0.1,IP:{first_service_ip}", usage="serverAuth")
    _cert(pki, "admin", "kubernetes-admin", "system:masters")
    _cert(pki, "controller-manager", "system:kube-controller-manager")
    _cert(pki, "scheduler", "system:kube-scheduler")
    _cert(pki, "kubelet-client", f"system:node:{cluster.node}", "system:nodes")
    _cert(pki, "apiserver-kubelet-client", "kube-apiserver-kubelet-client", "system:masters")
    _cert(pki, "kubelet", cluster.node, san=f"DNS:{cluster.node},DNS:localhost,IP:127.0.0.1", usage="serverAuth")
    _cert(pki, "kube-proxy", "system:kube-proxy")  # the built-in system:node-proxier binding names this user


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def write_kubeconfig(cluster: Cluster, path: Path, cert: str) -> None:
    """A self-contained kubeconfig (certificates embedded), so it can be copied elsewhere."""
    pki = cluster.pki
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "fleet-k8s-lab",
                "cluster": {"server": cluster.server, "certificate-authority-data": _b64(pki / "ca.crt")},
            }
        ],
        "users": [
            {
                "name": cert,
                "user": {
                    "client-certificate-data": _b64(pki / f"{cert}.crt"),
                    "client-key-data": _b64(pki / f"{cert}.key"),
                },
            }
        ],
        "contexts": [{"name": "fleet-k8s-lab", "context": {"cluster": "fleet-k8s-lab", "user": cert}}],
        "current-context": "fleet-k8s-lab",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(doc, fh, indent=1)  # JSON is YAML: every kubeconfig reader takes it
    tmp.replace(path)


# --------------------------------------------------------------------------- processes


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return []
    return [] if state in ("Z", "X") else raw.decode(errors="replace").split("\0")


def running(cluster: Cluster, name: str) -> int:
    """The PID of the component `up` started, if it still runs (a PID reused by another program is not it)."""
    try:
        pid_text, binary = cluster.pid_file(name).read_text().split("\n")[:2]
        pid = int(pid_text)
    except (OSError, ValueError):
        return 0
    argv = _cmdline(pid)
    return pid if argv and argv[0] == binary else 0


def start(cluster: Cluster, name: str, argv: list[str]) -> int:
    pid = running(cluster, name)
    if pid:
        return pid
    cluster.log(name).parent.mkdir(parents=True, exist_ok=True)
    cluster.pid_file(name).parent.mkdir(parents=True, exist_ok=True)
    with open(cluster.log(name), "ab") as log:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd="/"
        )
    cluster.pid_file(name).write_text(f"{proc.pid}\n{argv[0]}\n")
    for _attempt in range(50):  # /proc/PID/cmdline is empty until the exec is through
        if proc.poll() is not None or _cmdline(proc.pid)[:1] == argv[:1]:
            break
        time.sleep(0.02)
    progress(f"started {name} (pid {proc.pid}, log {_show(cluster.log(name))})")
    return proc.pid


def stop(cluster: Cluster, name: str, grace: float = 10) -> None:
    pid = running(cluster, name)
    if pid:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and _cmdline(pid):
            time.sleep(0.1)
        if _cmdline(pid):
            os.kill(pid, signal.SIGKILL)
            while _cmdline(pid):
                time.sleep(0.1)
        progress(f"stopped {name} (pid {pid})")
    cluster.pid_file(name).unlink(missing_ok=True)


def _log_tail(cluster: Cluster, name: str, lines: int = 3) -> str:
    try:
        text = cluster.log(name).read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(text[-lines:])


def wait_until(cluster: Cluster, name: str, what: str, probe, timeout: float, interval: float = 0.2) -> None:
    """Poll `probe` until it is true; fail early, with the log's last lines, when the component has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return
        if not running(cluster, name):
            raise LabError(f"{name} exited: {_log_tail(cluster, name)} (log {_show(cluster.log(name))})")
        time.sleep(interval)
    raise LabError(
        f"{what} not ready after {timeout:.0f} s: {_log_tail(cluster, name)} (log {_show(cluster.log(name))})"
    )


def _http_ok(url: str, context: ssl.SSLContext | None = None) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2, context=context) as resp:
            return resp.status == 200
    except (OSError, urllib.error.URLError):
        return False


def _admin_tls(cluster: Cluster) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(cluster.pki / "ca.crt"))
    ctx.load_cert_chain(str(cluster.pki / "admin.crt"), str(cluster.pki / "admin.key"))
    return ctx


def apiserver_ready(cluster: Cluster) -> bool:
    if not (cluster.pki / "admin.crt").exists():
        return False
    return _http_ok(f"{cluster.server}/readyz", _admin_tls(cluster))


def kubectl(cluster: Cluster, *args: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess:
    return run(
        [str(cluster.bin("kubectl")), "--kubeconfig", str(cluster.kubeconfig), *args], timeout=timeout, check=check
    )


def ctr(cluster: Cluster, *args: str, check: bool = True, **kw) -> subprocess.CompletedProcess:
    return run(["ctr", "--address", str(cluster.socket), "-n", "k8s.io", *args], check=check, **kw)


def node_ready(cluster: Cluster) -> bool:
    proc = kubectl(
        cluster,
        "get", "node", cluster.node, "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
        timeout=10, check=False,
    )  # fmt: skip
    return proc.returncode == 0 and proc.stdout.decode().strip() == "True"


# --------------------------------------------------------------------------- components


def start_etcd(cluster: Cluster) -> None:
    client = f"http://127.0.0.1:{cluster.etcd_port}"
    peer = f"http://127.0.0.1:{cluster.etcd_port + 1}"
    start(
        cluster,
        "etcd",
        [
            "/usr/bin/etcd", "--name", "fleet-k8s-lab", "--data-dir", str(cluster.state / "etcd"),
            "--listen-client-urls", client, "--advertise-client-urls", client,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", f"fleet-k8s-lab={peer}", "--initial-cluster-state", "new",
            "--unsafe-no-fsync",  # a throw-away test cluster: no fsync wait on every write
        ],
    )  # fmt: skip
    wait_until(cluster, "etcd", "etcd", lambda: _http_ok(f"{client}/health"), 30)


def start_apiserver(cluster: Cluster) -> None:
    pki = cluster.pki
    start(
        cluster,
        "kube-apiserver",
        [
            str(cluster.bin("kube-apiserver")),
            "--bind-address=127.0.0.1", f"--secure-port={cluster.apiserver_port}",
            f"--advertise-address={advertise_address()}",
            f"--etcd-servers=http://127.0.0.1:{cluster.etcd_port}",
            f"--service-cluster-ip-range={cluster.service_cidr}",
            f"--client-ca-file={pki / 'ca.crt'}",
            f"--tls-cert-file={pki / 'apiserver.crt'}", f"--tls-private-key-file={pki / 'apiserver.key'}",
            f"--kubelet-client-certificate={pki / 'apiserver-kubelet-client.crt'}",
            f"--kubelet-client-key={pki / 'apiserver-kubelet-client.key'}",
            f"--kubelet-certificate-authority={pki / 'ca.crt'}",
            "--kubelet-preferred-address-types=Hostname",
            f"--service-account-key-file={pki / 'sa.pub'}", f"--service-account-signing-key-file={pki / 'sa.key'}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            "--authorization-mode=Node,RBAC", "--enable-admission-plugins=NodeRestriction",
            "--allow-privileged=true", "--profiling=false",
        ],
    )  # fmt: skip
    wait_until(cluster, "kube-apiserver", "kube-apiserver", lambda: apiserver_ready(cluster), 120, 0.5)


def start_controllers(cluster: Cluster) -> None:
    pki = cluster.pki
    cm = cluster.conf / "controller-manager.kubeconfig"
    sched = cluster.conf / "scheduler.kubeconfig"
    start(
        cluster,
        "kube-controller-manager",
        [
            str(cluster.bin("kube-controller-manager")),
            f"--kubeconfig={cm}", f"--authentication-kubeconfig={cm}", f"--authorization-kubeconfig={cm}",
            "--bind-address=127.0.0.1", "--leader-elect=false", "--use-service-account-credentials=true",
            f"--service-account-private-key-file={pki / 'sa.key'}", f"--root-ca-file={pki / 'ca.crt'}",
            f"--cluster-signing-cert-file={pki / 'ca.crt'}", f"--cluster-signing-key-file={pki / 'ca.key'}",
            f"--service-cluster-ip-range={cluster.service_cidr}", "--allocate-node-cidrs=false", "--profiling=false",
            "--horizontal-pod-autoscaler-sync-period=5s",  # a lab: autoscaler decisions in seconds, not 15
        ],
    )  # fmt: skip
    start(
        cluster,
        "kube-scheduler",
        [
            str(cluster.bin("kube-scheduler")),
            f"--kubeconfig={sched}", f"--authentication-kubeconfig={sched}", f"--authorization-kubeconfig={sched}",
            "--bind-address=127.0.0.1", "--leader-elect=false", "--profiling=false",
        ],
    )  # fmt: skip


def containerd_config(cluster: Cluster) -> str:
    run_dir, root = cluster.run_dir, cluster.state / "containerd"
    return f"""\
# Written by tools/lab/k8s.py: the Kubernetes lab's own containerd (Docker's is not touched).
version = 2
root = "{root}"
state = "{run_dir}/state"
[grpc]
  address = "{cluster.socket}"
[ttrpc]
  address = "{cluster.socket}.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "{root}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{PAUSE_IMAGE}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_unprivileged_ports = true
  # root lacks CAP_SYS_RESOURCE here: runc cannot lower oom_score_adj below containerd's own (RECIPE.md)
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "{run_dir}/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{cluster.state / "cni" / "net.d"}"
"""


def cni_config(cluster: Cluster) -> str:
    """Own bridge, host-local IPAM in the lab's state, no masquerade (no iptables rule is added)."""
    return json.dumps(
        {
            "cniVersion": "1.0.0",
            "name": cluster.network,
            "plugins": [
                {
                    "type": "bridge",
                    "bridge": cluster.bridge,
                    "isGateway": True,
                    "ipMasq": False,
                    "hairpinMode": True,
                    "ipam": {
                        "type": "host-local",
                        "dataDir": str(cluster.state / "cni" / "networks"),
                        "ranges": [[{"subnet": cluster.pod_cidr}]],
                        "routes": [{"dst": "0.0.0.0/0"}],
                    },
                },
                {"type": "loopback"},
            ],
        },
        indent=1,
    )


def start_containerd(cluster: Cluster) -> None:
    (cluster.state / "cni" / "net.d").mkdir(parents=True, exist_ok=True)
    (cluster.state / "cni" / "net.d" / "10-fleet-k8s.conflist").write_text(cni_config(cluster))
    cluster.run_dir.mkdir(mode=0o711, parents=True, exist_ok=True)
    (cluster.conf / "containerd.toml").write_text(containerd_config(cluster))
    start(cluster, "containerd", ["/usr/bin/containerd", "--config", str(cluster.conf / "containerd.toml")])

    def answers() -> bool:
        return cluster.socket.exists() and ctr(cluster, "version", check=False, timeout=10).returncode == 0

    wait_until(cluster, "containerd", "containerd", answers, 30)


def kubelet_config(cluster: Cluster) -> str:
    pki = cluster.pki
    doc = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": "127.0.0.1",
        "port": 10250,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": 10248,
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(pki / "ca.crt")},
        },
        "authorization": {"mode": "Webhook"},
        "tlsCertFile": str(pki / "kubelet.crt"),
        "tlsPrivateKeyFile": str(pki / "kubelet.key"),
        "containerRuntimeEndpoint": f"unix://{cluster.socket}",
        "cgroupDriver": "cgroupfs",  # PID 1 is not systemd on these machines
        "failSwapOn": False,
        "makeIPTablesUtilChains": False,  # no KUBE-FIREWALL or canary chains in the machine's iptables
        "failCgroupV1": False,
        "podCIDR": cluster.pod_cidr,
        "podLogsDir": str(cluster.state / "pod-logs"),
        "maxPods": 40,
        "serializeImagePulls": False,
        "resolvConf": "/etc/resolv.conf",
        "evictionHard": {"memory.available": "200Mi", "nodefs.available": "5%", "imagefs.available": "5%"},
        "imageGCHighThresholdPercent": 95,
        "imageGCLowThresholdPercent": 90,
    }
    return json.dumps(doc, indent=1)


def start_kubelet(cluster: Cluster) -> None:
    (cluster.conf / "kubelet.json").write_text(kubelet_config(cluster))
    start(
        cluster,
        "kubelet",
        [
            str(cluster.bin("kubelet")),
            f"--config={cluster.conf / 'kubelet.json'}",
            f"--kubeconfig={cluster.conf / 'kubelet.kubeconfig'}",
            f"--root-dir={cluster.state / 'kubelet'}",
            f"--volume-plugin-dir={cluster.state / 'kubelet' / 'volume-plugins'}",
            f"--hostname-override={cluster.node}",
            "--v=1",
        ],
    )
    # Events, not sleeps: the API server's watch says when the node object appears and when it turns Ready.
    deadline = time.monotonic() + 120
    for condition in ("create", "condition=Ready"):
        left = max(5, int(deadline - time.monotonic()))
        proc = kubectl(cluster, "wait", f"--for={condition}", f"node/{cluster.node}", f"--timeout={left}s",
                       timeout=left + 10, check=False)  # fmt: skip
        if proc.returncode != 0:
            if not running(cluster, "kubelet"):
                raise LabError(f"kubelet exited: {_log_tail(cluster, 'kubelet')}")
            raise LabError(f"node {cluster.node} not Ready after 120 s: {_log_tail(cluster, 'kubelet')}")


def kube_proxy_config(cluster: Cluster) -> str:
    """iptables mode; node ports answer on the machine's own address only (not on loopback: no route_localnet,
    not on Docker's bridges); no conntrack sysctl is changed; metrics and health on 127.0.0.1."""
    doc = {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "mode": "iptables",
        "clientConnection": {"kubeconfig": str(cluster.conf / "kube-proxy.kubeconfig")},
        "hostnameOverride": cluster.node,
        "bindAddress": "127.0.0.1",
        "healthzBindAddress": "127.0.0.1:10256",
        "metricsBindAddress": "127.0.0.1:10249",
        "clusterCIDR": cluster.pod_cidr,
        "nodePortAddresses": [f"{advertise_address()}/32"],
        "conntrack": {"maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
        "iptables": {"masqueradeAll": False, "syncPeriod": "30s", "minSyncPeriod": "1s"},
    }
    return json.dumps(doc, indent=1)


def start_kube_proxy(cluster: Cluster) -> None:
    """NodePort Services (what HAProxy balances a kubernetes service over) need kube-proxy's rules."""
    (cluster.conf / "kube-proxy.json").write_text(kube_proxy_config(cluster))
    start(
        cluster,
        "kube-proxy",
        [str(cluster.bin("kube-proxy")), f"--config={cluster.conf / 'kube-proxy.json'}", "--v=1"],
    )
    wait_until(cluster, "kube-proxy", "kube-proxy", lambda: _http_ok("http://127.0.0.1:10256/healthz"), 60, 0.5)


def cleanup_kube_proxy(cluster: Cluster) -> None:
    """Remove kube-proxy's chains and rules from the machine's iptables and ip6tables: `kube-proxy --cleanup`, then
    what it leaves (its canary chains, KUBE-FIREWALL and KUBE-MARK-MASQ and the jumps to them)."""
    if cluster.bin("kube-proxy").exists():
        proc = run([str(cluster.bin("kube-proxy")), "--cleanup", "--v=0"], check=False, timeout=60)
        if proc.returncode != 0:
            progress(f"kube-proxy --cleanup: {proc.stderr.decode(errors='replace').strip().splitlines()[-1:]}")
    left = 0
    for tool in ("iptables", "ip6tables"):
        if shutil.which(f"{tool}-save") is None:
            continue
        for table in ("filter", "nat", "mangle"):
            dump = run([f"{tool}-save", "-t", table], check=False).stdout.decode(errors="replace").splitlines()
            chains = [line[1:].split()[0] for line in dump if line.startswith(":KUBE-")]
            for line in dump:  # jumps from the built-in and other chains into KUBE-* chains
                rule = shlex.split(line)
                jump = rule[rule.index("-j") + 1] if "-j" in rule[:-1] else ""
                if rule[:1] == ["-A"] and not rule[1].startswith("KUBE-") and jump.startswith("KUBE-"):
                    run([tool, "-t", table, "-D", *rule[1:]], check=False)
            for flag in ("-F", "-X"):
                for chain in chains:
                    run([tool, "-t", table, flag, chain], check=False)
            left += len(chains)
    progress(f"removed kube-proxy's iptables rules ({left} KUBE-* chains left by --cleanup)")


# --------------------------------------------------------------------------- images


def _image_context(tmp: Path, source: Path) -> dict[str, Path]:
    """Build contexts: the pause image (FROM scratch + the static binary) and the HTTP test images."""
    pause = tmp / "pause"
    pause.mkdir()
    shutil.copy2(source / "pause", pause / "pause")
    (pause / "Dockerfile").write_text('FROM scratch\nADD pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n')
    http = tmp / "http"
    (http / "www").mkdir(parents=True)
    (http / "serve.py").write_text(SERVE_PY)
    (http / "www" / "index.html").write_text("fleet k8s test image\n")
    (http / "www" / "healthz").write_text("ok\n")
    (http / "www" / "metrics").write_text("# TYPE fleet_k8s_test_up gauge\nfleet_k8s_test_up 1\n")
    (http / "Dockerfile").write_text(
        "ARG BASE\nFROM ${BASE}\nCOPY serve.py /srv/serve.py\nCOPY www /www\nEXPOSE 80\n"
        'ENTRYPOINT ["python3", "/srv/serve.py"]\nCMD ["80", "/www"]\n'
    )
    unready = tmp / "unready"
    unready.mkdir()
    (unready / "Dockerfile").write_text(f'FROM {TEST_IMAGE}\nCMD ["80", "/nowhere"]\n')
    return {PAUSE_IMAGE: pause, TEST_IMAGE: http, UNREADY_IMAGE: unready}


def _base_image() -> str:
    """The lab's base image (Debian 12 with python3): the one the host image was built on, else made as lab.py does."""
    for ref in ("debian:bookworm", lab.BASE_LOCAL):
        if lab._image_exists(ref):
            return ref
    return lab._registry_base() or lab._debootstrap_base(lab.Lab())


def images_recipe(source: Path) -> str:
    h = hashlib.sha256(IMAGE_RECIPE.encode())
    h.update(SERVE_PY.encode())
    h.update(_stamp(source / "pause").encode())
    return h.hexdigest()[:12]


def build_images(cluster: Cluster) -> dict[str, str]:
    """Build (Docker's layer cache makes a rebuild quick) and return tag -> image ID."""
    lab.ensure_engine()
    base = _base_image()
    with tempfile.TemporaryDirectory(prefix="fleet-k8s-images-") as tmp:
        for tag, context in _image_context(Path(tmp), cluster.source).items():
            proc = run(
                ["docker", "build", "-q", "--build-arg", f"BASE={base}", "--label", f"{lab.LABEL}.k8s=1",
                 "-t", tag, str(context)],
                check=False, timeout=600,
            )  # fmt: skip
            if proc.returncode != 0:
                raise LabError(f"docker build of {tag} failed: {proc.stderr.decode().strip().splitlines()[-1:]}")
    return {
        tag: lab.docker("image", "inspect", "--format", "{{.Id}}", tag)
        for tag in (PAUSE_IMAGE, TEST_IMAGE, UNREADY_IMAGE)
    }


def import_images(cluster: Cluster, ids: dict[str, str]) -> None:
    record = cluster.state / "images.json"
    try:
        imported = json.loads(record.read_text())
    except (OSError, ValueError):
        imported = {}
    listed = set(ctr(cluster, "images", "ls", "-q").stdout.decode().split())
    todo = [
        t
        for t, i in ids.items()
        if imported.get(t) != i or not ({t, f"docker.io/{t}", f"docker.io/library/{t}"} & listed)
    ]
    if not todo:
        return
    progress(f"importing {', '.join(todo)} into the cluster's containerd (docker save | ctr images import)")
    save = subprocess.Popen(["docker", "save", *todo], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    imp = subprocess.run(
        ["ctr", "--address", str(cluster.socket), "-n", "k8s.io", "images", "import", "-"],
        stdin=save.stdout,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    save.stdout.close()
    save_err = save.stderr.read().decode().strip()
    if save.wait() != 0 or imp.returncode != 0:
        raise LabError(f"image import failed: {save_err or imp.stderr.decode().strip()}")
    imported.update({t: ids[t] for t in todo})
    record.write_text(json.dumps(imported, indent=1))


# --------------------------------------------------------------------------- up / down / status


def _recorded_recipe(cluster: Cluster) -> str:
    try:
        return (cluster.state / "images.recipe").read_text().strip()
    except OSError:
        return ""


def is_up(cluster: Cluster) -> bool:
    return all(running(cluster, c) for c in COMPONENTS) and apiserver_ready(cluster) and node_ready(cluster)


def preflight(cluster: Cluster) -> None:
    if os.geteuid() != 0:
        raise LabError(
            "the Kubernetes lab runs containerd and the kubelet, which need root: run it as root, "
            "or set FLEET_KUBECONFIG to a cluster of your own"
        )
    ports = {
        "etcd": (cluster.etcd_port, cluster.etcd_port + 1),
        "kube-apiserver": (cluster.apiserver_port,),
        "kube-controller-manager": (10257,),
        "kube-scheduler": (10259,),
        "kubelet": (10250, 10248),
        "kube-proxy": (10249, 10256),
    }
    for name, numbers in ports.items():
        if running(cluster, name):
            continue
        for port in numbers:
            if _port_taken(port):
                raise LabError(
                    f"port {port} on 127.0.0.1 (for {name}) is taken by another program - another checkout's "
                    "Kubernetes lab? (`make k8s-down` there) - free it first"
                )
    check_cidrs(cluster)


def up(cluster: Cluster) -> None:
    started = time.monotonic()
    recipe = images_recipe(cluster.source) if (cluster.source / "pause").is_file() else ""
    if is_up(cluster) and _recorded_recipe(cluster) == recipe:
        progress(f"the cluster is already up (node {cluster.node} Ready); kubeconfig {_show(cluster.kubeconfig)}")
        return
    preflight(cluster)
    ensure_packages()
    ensure_node_name(cluster)
    cluster.state.mkdir(mode=0o700, parents=True, exist_ok=True)
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        # The images are built with Docker while the binaries unpack and etcd starts, and imported into the
        # cluster's containerd while the control plane and the kubelet come up.
        images = pool.submit(build_images, cluster)
        ensure_binaries(cluster)
        ensure_pki(cluster)
        cluster.conf.mkdir(parents=True, exist_ok=True)
        write_kubeconfig(cluster, cluster.kubeconfig, "admin")
        write_kubeconfig(cluster, cluster.conf / "controller-manager.kubeconfig", "controller-manager")
        write_kubeconfig(cluster, cluster.conf / "scheduler.kubeconfig", "scheduler")
        write_kubeconfig(cluster, cluster.conf / "kubelet.kubeconfig", "kubelet-client")
        write_kubeconfig(cluster, cluster.conf / "kube-proxy.kubeconfig", "kube-proxy")
        start_etcd(cluster)
        start_containerd(cluster)
        imported = pool.submit(lambda: import_images(cluster, images.result()))
        start_apiserver(cluster)
        start_controllers(cluster)
        start_kubelet(cluster)
        start_kube_proxy(cluster)
        imported.result()
    (cluster.state / "images.recipe").write_text(recipe + "\n")
    progress(f"cluster up in {time.monotonic() - started:.0f} s: node {cluster.node} Ready, images imported")
    progress(f"kubeconfig: {_show(cluster.kubeconfig)}  (export FLEET_KUBECONFIG={cluster.kubeconfig})")
    progress(f"kubectl:    {cluster.bin('kubectl')} --kubeconfig {cluster.kubeconfig} get pods -A")


def _mounts_under(paths: list[Path]) -> list[str]:
    """Mount points at or below any of `paths`, deepest first (from /proc/self/mountinfo)."""
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].encode().decode("unicode_escape")
        if any(point == str(p) or point.startswith(f"{p}/") for p in paths):
            found.append(point)
    return sorted(set(found), key=lambda p: p.count("/"), reverse=True)


def _pod_netns(cluster: Cluster, ids: list[str]) -> list[str]:
    """The network namespaces of the cluster's pod sandboxes (containerd's CRI bind-mounts them in /run/netns)."""
    out = []
    for cid in ids:
        proc = ctr(cluster, "containers", "info", cid, check=False, timeout=30)
        try:
            namespaces = json.loads(proc.stdout)["Spec"]["linux"]["namespaces"]
        except (ValueError, KeyError, TypeError):
            continue
        for ns in namespaces:
            path = ns.get("path", "")
            if ns.get("type") == "network" and path.startswith(("/var/run/netns/cni-", "/run/netns/cni-")):
                out.append(os.path.realpath(path))  # /var/run is a link to /run: mountinfo has the real path
    return sorted(set(out))


def _remove_containers(cluster: Cluster) -> tuple[list[str], list[str]]:
    """Kill every task of the cluster's containerd (no shim stays); return the pods' network namespaces and IDs."""
    if not running(cluster, "containerd"):
        if not (cluster.conf / "containerd.toml").exists() or not cluster.socket.parent.exists():
            return [], []
        # Its shims may still run the pods: a containerd started on the same state reconnects to them.
        start(cluster, "containerd", ["/usr/bin/containerd", "--config", str(cluster.conf / "containerd.toml")])
        try:
            wait_until(
                cluster, "containerd", "containerd", lambda: ctr(cluster, "version", check=False).returncode == 0, 20
            )
        except LabError:
            return [], []
    ids = ctr(cluster, "containers", "ls", "-q", check=False, timeout=30).stdout.decode().split()
    netns = _pod_netns(cluster, ids)
    tasks = ctr(cluster, "tasks", "ls", "-q", check=False, timeout=30).stdout.decode().split()
    if tasks:
        progress(f"killing {len(tasks)} pod containers")
    for tid in tasks:
        ctr(cluster, "tasks", "kill", "-s", "SIGKILL", tid, check=False, timeout=30)
    for tid in tasks:
        ctr(cluster, "tasks", "delete", "-f", tid, check=False, timeout=30)
    return netns, ids


def down(cluster: Cluster) -> None:
    if not cluster.state.exists():
        progress("no Kubernetes lab state: nothing to remove")
        return
    if os.geteuid() != 0:
        raise LabError("the Kubernetes lab was started as root; run `down` as root too")
    stop(cluster, "kube-proxy")
    cleanup_kube_proxy(cluster)
    stop(cluster, "kubelet")
    netns, containers = _remove_containers(cluster)
    for name in reversed(COMPONENTS[: COMPONENTS.index("kubelet")]):
        stop(cluster, name)
    for point in _mounts_under([cluster.state, cluster.run_dir, *map(Path, netns)]):
        if run(["umount", point], check=False).returncode != 0:
            run(["umount", "-l", point], check=False)
    for path in netns:
        Path(path).unlink(missing_ok=True)
    if Path(f"/sys/class/net/{cluster.bridge}").exists():
        run(["ip", "link", "delete", cluster.bridge], check=False)
        progress(f"removed bridge {cluster.bridge}")
    # What the kubelet and libcni keep outside the lab's directories: log links and cached CNI results.
    for link in Path("/var/log/containers").glob("*.log") if Path("/var/log/containers").is_dir() else []:
        if link.is_symlink() and os.readlink(link).startswith(f"{cluster.state}/"):
            link.unlink()
    for cid in containers:
        for cached in Path("/var/lib/cni/results").glob(f"*-{cid}-*"):
            cached.unlink(missing_ok=True)
    shutil.rmtree(cluster.state, ignore_errors=True)
    if cluster.run_dir != cluster.state / "run":
        shutil.rmtree(cluster.run_dir, ignore_errors=True)
    if cluster.state.exists():
        raise LabError(f"could not remove {cluster.state} (something is still mounted under it?)")
    _forget_node_name(cluster)
    progress(f"removed the cluster and {_show(cluster.state)} (binaries stay in {_show(cluster.cache)})")


def _forget_node_name(cluster: Cluster) -> None:
    try:
        lines = Path("/etc/hosts").read_text().splitlines(keepends=True)
    except OSError:
        return
    kept = [line for line in lines if not line.rstrip().endswith(f"# {MARK}")]
    if kept != lines:
        Path("/etc/hosts").write_text("".join(kept))


def status(cluster: Cluster) -> int:
    if not cluster.state.exists():
        print("Kubernetes lab: not set up (make k8s-up)")
        return 1
    for name in COMPONENTS:
        pid = running(cluster, name)
        print(f"  {name:<24} {'running (pid ' + str(pid) + ')' if pid else 'stopped'}")
    up_now = is_up(cluster)
    print(f"  node {cluster.node:<19} {'Ready' if up_now else 'not Ready'}")
    print(f"  kubeconfig               {cluster.kubeconfig}")
    if up_now:
        print(f"  export FLEET_KUBECONFIG={cluster.kubeconfig}")
        print(f"  {cluster.bin('kubectl')} --kubeconfig $FLEET_KUBECONFIG get pods -A")
    return 0 if up_now else 1


def main(argv: list[str] | None = None) -> int:
    env = os.environ.get
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=["up", "down", "status", "deps"])
    p.add_argument(
        "--bin", default=env("FLEET_K8S_BIN"), help="server binaries (FLEET_K8S_BIN; default ../shared/k8s/bin)"
    )
    p.add_argument("--state", default=env("FLEET_K8S_STATE", str(ROOT / ".lab" / "k8s")), help="state directory")
    p.add_argument("--pod-cidr", default=env("FLEET_K8S_POD_CIDR", "10.244.0.0/24"))
    args = p.parse_args(argv)
    cluster = Cluster(source=source_dir(args.bin), state=Path(args.state).resolve(), pod_cidr=args.pod_cidr)
    try:
        if args.command == "up":
            up(cluster)
        elif args.command == "down":
            down(cluster)
        elif args.command == "deps":
            if not binaries_available(cluster.source):
                progress(f"no server binaries in {cluster.source} (FLEET_K8S_BIN): the live Kubernetes tests will skip")
                return 0
            ensure_packages()
            progress("packages for the Kubernetes lab are installed")
        else:
            return status(cluster)
    except LabError as exc:
        print(f"k8s: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
