# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The containerops.fleet lab: real Debian hosts (systemd + sshd containers) on one machine.

    lab.py up      ensure a Docker engine, build (or reuse) the host image, start the hosts,
                   write inventories/lab/hosts.yml.  Each host keeps its address for the lab's
                   life, like a server: a stopped lab (machine reboot, dockerd restart) comes
                   back on the same addresses, so swarm, registry and HAProxy state stay valid.
    lab.py down    remove the hosts, their volumes and their network
    lab.py status  show the hosts
    lab.py image   only build (or reuse) the host image and print its tag

Stdlib only: it runs before any virtualenv exists.  Errors are one line on stderr, exit code 2.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import ipaddress
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
LABEL = "io.containerops.lab"
IMAGE_REPO = "containerops-lab/host"
BASE_LOCAL = "containerops-lab/debian:bookworm"
RECIPE_VERSION = "1"
# Every capability but SYS_RESOURCE (absent on these machines) and the three Docker 20.10 rejects.
CAPABILITIES = (
    "AUDIT_CONTROL AUDIT_READ AUDIT_WRITE BLOCK_SUSPEND CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER "
    "FSETID IPC_LOCK IPC_OWNER KILL LEASE LINUX_IMMUTABLE MAC_ADMIN MAC_OVERRIDE MKNOD NET_ADMIN "
    "NET_BIND_SERVICE NET_BROADCAST NET_RAW SETFCAP SETGID SETPCAP SETUID SYSLOG SYS_ADMIN SYS_BOOT "
    "SYS_CHROOT SYS_MODULE SYS_NICE SYS_PACCT SYS_PTRACE SYS_RAWIO SYS_TIME SYS_TTY_CONFIG WAKE_ALARM"
).split()
# State the engines keep must not sit on the container's overlay root (overlay on overlay fails).
ENGINE_VOLUMES = ("/var/lib/docker", "/var/lib/containerd", "/var/lib/containers")


class LabError(Exception):
    """A problem the user can fix; printed as one line."""


@dataclass(frozen=True)
class HostSpec:
    name: str
    group: str
    publish: tuple[tuple[int, int], ...] = ()  # (host port on 127.0.0.1, container port)


@dataclass
class Lab:
    name: str = "fleet-lab"
    hosts: list[HostSpec] = field(default_factory=list)
    state_dir: Path = ROOT / ".lab"
    inventory: Path = ROOT / "inventories" / "lab" / "hosts.yml"
    mirror: str = "http://deb.debian.org/debian"

    @property
    def network(self) -> str:
        return self.name

    def container(self, host: HostSpec) -> str:
        return f"{self.name}-{host.name}"

    @property
    def key(self) -> Path:
        return self.state_dir / "id_ed25519"


def progress(msg: str) -> None:
    print(f"[lab] {msg}", flush=True)


def run(
    cmd: list[str], *, check: bool = True, input_: bytes | None = None, timeout: float | None = None, quiet: bool = True
) -> subprocess.CompletedProcess:
    try:
        proc = subprocess.run(
            cmd,
            input=input_,
            timeout=timeout,
            stdout=subprocess.PIPE if quiet else None,
            stderr=subprocess.PIPE,
            check=False,
        )
    except FileNotFoundError as exc:
        raise LabError(f"command not found: {cmd[0]}") from exc
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"timed out after {timeout:.0f} s: {' '.join(cmd[:4])}") from exc
    if check and proc.returncode != 0:
        err = (proc.stderr or b"").decode(errors="replace").strip().splitlines()
        raise LabError(f"{' '.join(cmd[:3])} failed: {err[-1] if err else 'exit ' + str(proc.returncode)}")
    return proc


def docker(*args: str, **kw) -> str:
    return run(["docker", *args], **kw).stdout.decode().strip()


# --------------------------------------------------------------------------- engine


def _debian_family() -> bool:
    try:
        text = Path("/etc/os-release").read_text()
    except OSError:
        return False
    fields = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    ids = {fields.get("ID", "").strip('"')} | set(fields.get("ID_LIKE", "").strip('"').split())
    return bool(ids & {"debian", "ubuntu"})


def _engine_answers() -> bool:
    if not shutil.which("docker"):
        return False
    return run(["docker", "info", "--format", "{{.ServerVersion}}"], check=False, timeout=20).returncode == 0


def ensure_engine() -> None:
    if _engine_answers():
        return
    if os.geteuid() != 0 or not _debian_family():
        raise LabError(
            "no Docker engine answers: install Docker and start it (https://docs.docker.com/engine/install/), "
            "make sure 'docker info' works for this user, then run again "
            "(as root on Debian/Ubuntu the lab installs docker.io itself)"
        )
    if not shutil.which("dockerd") or not shutil.which("docker"):
        progress("installing docker.io from the distribution (apt-get)...")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
        if subprocess.run(["apt-get", "install", "-y", "-qq", "docker.io"], env=env, check=False).returncode != 0:
            raise LabError("apt-get install docker.io failed; see the output above")
    if Path("/run/systemd/system").is_dir():
        progress("starting docker.service...")
        run(["systemctl", "enable", "--now", "docker.service"], check=False)
    else:
        progress("starting dockerd (no init system manages it here; log: /var/log/dockerd.log)...")
        with open("/var/log/dockerd.log", "ab") as log:
            subprocess.Popen(["dockerd"], stdout=log, stderr=log, start_new_session=True)
    for _attempt in range(60):
        if _engine_answers():
            return
        time.sleep(1)
    raise LabError("dockerd did not answer within 60 s; see /var/log/dockerd.log")


# --------------------------------------------------------------------------- image


def recipe_hash(base: str) -> str:
    h = hashlib.sha256()
    h.update(RECIPE_VERSION.encode())
    h.update(base.encode())
    h.update((HERE / "Dockerfile").read_bytes())
    return h.hexdigest()[:12]


def _image_exists(ref: str) -> bool:
    return run(["docker", "image", "inspect", ref], check=False).returncode == 0


def _registry_base() -> str | None:
    if _image_exists("debian:bookworm"):
        return "debian:bookworm"
    progress("trying to pull debian:bookworm from the registry...")
    try:
        ok = run(["docker", "pull", "-q", "debian:bookworm"], check=False, timeout=45).returncode == 0
    except LabError:
        ok = False
    return "debian:bookworm" if ok else None


def _debootstrap_base(lab: Lab) -> str:
    if _image_exists(BASE_LOCAL):
        return BASE_LOCAL
    if not shutil.which("debootstrap"):
        if os.geteuid() != 0 or not _debian_family():
            raise LabError(
                "no registry answers and debootstrap is missing: install debootstrap "
                "(apt-get install debootstrap) or make debian:bookworm available locally"
            )
        progress("installing debootstrap (apt-get)...")
        run(["apt-get", "install", "-y", "-qq", "debootstrap"], quiet=False)
    progress(f"no registry: debootstrapping Debian 12 from {lab.mirror} (about 40 s)...")
    with tempfile.TemporaryDirectory(prefix="fleet-lab-rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        run(
            [
                "debootstrap",
                "--variant=minbase",
                "--include=python3,iproute2,procps",
                "bookworm",
                str(rootfs),
                lab.mirror,
            ],
            timeout=900,
        )
        progress(f"importing the rootfs as {BASE_LOCAL}...")
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        imp = subprocess.run(
            ["docker", "import", "-", BASE_LOCAL],
            stdin=tar.stdout,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            check=False,
        )
        tar.wait()
        if imp.returncode != 0 or tar.returncode != 0:
            raise LabError(f"docker import failed: {imp.stderr.decode().strip()}")
    return BASE_LOCAL


def find_cached_image() -> str | None:
    """The newest lab image of any base, if one with the current recipe exists."""
    for base in ("debian:bookworm", BASE_LOCAL):
        tag = f"{IMAGE_REPO}:{recipe_hash(base)}"
        if _image_exists(tag):
            return tag
    return None


def ensure_image(lab: Lab) -> str:
    cached = find_cached_image()
    if cached:
        progress(f"host image {cached} is cached (recipe unchanged)")
        docker("tag", cached, f"{IMAGE_REPO}:latest")
        return cached
    base = _registry_base() or _debootstrap_base(lab)
    tag = f"{IMAGE_REPO}:{recipe_hash(base)}"
    progress(f"building host image {tag} on {base} (systemd, sshd, python3; about 1 min)...")
    proc = subprocess.run(
        [
            "docker",
            "build",
            "-q",
            "--build-arg",
            f"BASE={base}",
            "--label",
            f"{LABEL}.recipe={recipe_hash(base)}",
            "-t",
            tag,
            "-t",
            f"{IMAGE_REPO}:latest",
            str(HERE),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    if proc.returncode != 0:
        raise LabError(f"docker build of the host image failed: {proc.stderr.decode().strip().splitlines()[-1:]}")
    return tag


# --------------------------------------------------------------------------- hosts


def _inspect(name: str, kind: str = "container") -> dict | None:
    proc = run(["docker", "inspect", "--type", kind, name], check=False)
    if proc.returncode != 0:
        return None
    return json.loads(proc.stdout)[0]


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def preflight(lab: Lab) -> None:
    names = [h.name for h in lab.hosts]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise LabError(f"host name {dupes[0]!r} is given twice; lab host names must be unique")
    net = _inspect(lab.network, "network")
    if net is not None and LABEL not in (net.get("Labels") or {}):
        raise LabError(
            f"a Docker network named {lab.network!r} exists and was not made by the lab; "
            f"remove it or choose another lab name (--name / FLEET_LAB_NAME)"
        )
    for host in lab.hosts:
        info = _inspect(lab.container(host))
        if info is None:
            for hport, _unused in host.publish:
                if hport and not _port_free(hport):
                    raise LabError(
                        f"port {hport} on 127.0.0.1 (for {host.name}) is already taken; free it or "
                        f"choose another with --{_PORT_FLAGS.get(hport, 'ports')}"
                    )
        elif info["Config"]["Labels"].get(LABEL) != lab.name:
            raise LabError(
                f"a container named {lab.container(host)!r} exists and is not a host of lab "
                f"{lab.name!r}; remove it (docker rm -f) or choose another lab name (--name)"
            )


_PORT_FLAGS: dict[int, str] = {}


FIRST_HOST_OFFSET = 10  # host i of the lab gets <subnet>.(10 + i); Docker hands out the low ones


def plan_addresses(subnet: str, names: list[str]) -> dict[str, str]:
    """Fixed addresses for the hosts, in their order: '172.18.0.0/16', ['a', 'b'] -> a .10, b .11."""
    net = ipaddress.ip_network(subnet)
    if net.num_addresses < FIRST_HOST_OFFSET + len(names) + 2:
        raise LabError(f"the lab network {subnet} is too small for {len(names)} hosts; remove it (make lab-down)")
    return {name: str(net.network_address + FIRST_HOST_OFFSET + i) for i, name in enumerate(names)}


def _ensure_network(lab: Lab) -> str:
    """Create the lab's bridge network with a pinned subnet (Docker picks a free range first); return it."""
    net = _inspect(lab.network, "network")
    if net is not None:
        configs = (net.get("IPAM") or {}).get("Config") or []
        if (net.get("Labels") or {}).get(f"{LABEL}.pinned") == "true" and configs:
            return configs[0]["Subnet"]
        progress(f"network {lab.network} predates fixed host addresses: recreating the lab")
        down(lab)
    progress(f"creating bridge network {lab.network}")
    labels = ["--label", f"{LABEL}={lab.name}"]
    docker("network", "create", "--driver", "bridge", *labels, lab.network)
    probe = (_inspect(lab.network, "network") or {})["IPAM"]["Config"][0]
    docker("network", "rm", lab.network)
    docker(
        "network",
        "create",
        "--driver",
        "bridge",
        *labels,
        "--label",
        f"{LABEL}.pinned=true",
        "--subnet",
        probe["Subnet"],
        "--gateway",
        probe["Gateway"],
        lab.network,
    )
    return probe["Subnet"]


def _create_host(lab: Lab, host: HostSpec, image: str, address: str) -> str:
    cname = lab.container(host)
    info = _inspect(cname)
    if info is not None and info["Config"]["Image"] != image:
        progress(f"{host.name}: host image changed, recreating")
        docker("rm", "-f", "-v", cname)
        info = None
    if info is not None and _fixed_address(lab, info) != address:
        progress(f"{host.name}: not on its fixed address {address}, recreating")
        docker("rm", "-f", "-v", cname)
        info = None
    if info is None:
        args = [
            "run",
            "-d",
            "--name",
            cname,
            "--hostname",
            host.name,
            "--network",
            lab.network,
            "--ip",
            address,
            "--label",
            f"{LABEL}={lab.name}",
            "--label",
            f"{LABEL}.group={host.group}",
            "--security-opt",
            "seccomp=unconfined",
            "--security-opt",
            "apparmor=unconfined",
            "--cgroupns",
            "host",
            "-v",
            "/sys/fs/cgroup:/sys/fs/cgroup:rw",
            "--tmpfs",
            "/run",
            "--tmpfs",
            "/run/lock",
            "--tmpfs",
            "/tmp:exec",
        ]
        for cap in CAPABILITIES:
            args += ["--cap-add", cap]
        for vol in ENGINE_VOLUMES:
            args += ["-v", vol]
        for hport, cport in host.publish:
            if hport:
                args += ["-p", f"127.0.0.1:{hport}:{cport}"]
        docker(*args, image)
        state = "created"
    elif not info["State"]["Running"]:
        docker("start", cname)
        state = "started"
    else:
        state = "reused"
    pub = lab.key.with_suffix(".pub").read_bytes()
    run(
        ["docker", "exec", "-i", cname, "sh", "-c", "umask 077; mkdir -p /root/.ssh; cat > /root/.ssh/authorized_keys"],
        input_=pub,
    )
    return state


def _fixed_address(lab: Lab, info: dict) -> str:
    """The address a container was given with --ip on the lab network ('' when Docker chose it)."""
    endpoint = (info.get("NetworkSettings", {}).get("Networks") or {}).get(lab.network) or {}
    return (endpoint.get("IPAMConfig") or {}).get("IPv4Address", "")


def _wait_ssh(lab: Lab, host: HostSpec, addr: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        proc = subprocess.run(
            [
                "ssh",
                "-i",
                str(lab.key),
                "-o",
                "BatchMode=yes",
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-o",
                "ConnectTimeout=3",
                "-o",
                "LogLevel=ERROR",
                f"root@{addr}",
                "systemctl is-system-running --wait >/dev/null; true",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=60,
            check=False,
        )
        if proc.returncode == 0:
            return
        last = proc.stderr.decode().strip()
        time.sleep(1)
    raise LabError(f"{host.name} ({addr}) does not answer SSH after {timeout:.0f} s: {last}")


def write_inventory(lab: Lab, addresses: dict[str, str]) -> None:
    groups: dict[str, list[HostSpec]] = {}
    for host in lab.hosts:
        groups.setdefault(host.group, []).append(host)
    lines = [
        "---",
        f"# Generated by tools/lab/lab.py for lab {lab.name!r}; `make lab-down` removes these hosts.",
        "all:",
        "  vars:",
        "    ansible_user: root",
        f"    ansible_ssh_private_key_file: {lab.key}",
        "    ansible_ssh_common_args: -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
        "    ansible_python_interpreter: /usr/bin/python3",
        "  children:",
    ]
    for group, hosts in groups.items():
        lines += [f"    {group}:", "      hosts:"]
        for host in hosts:
            lines += [
                f"        {host.name}:",
                f"          ansible_host: {addresses[host.name]}",
                f"          fleet_lab_container: {lab.container(host)}",
            ]
            for hport, cport in host.publish:
                if hport:
                    lines.append(f"          fleet_lab_published_{cport}: {hport}")
    lab.inventory.parent.mkdir(parents=True, exist_ok=True)
    lab.inventory.write_text("\n".join(lines) + "\n")


def ensure_tls(directory: Path, names: list[str]) -> None:
    """The lab's own CA and one certificate it signed for the load balancers (localhost, 127.0.0.1 and their
    names): inventories/lab gives them to HAProxy, so https://127.0.0.1:<https port>/ answers.  Made once with the
    openssl CLI; keys mode 0600 in a 0700 directory, never committed (.lab/)."""
    if (directory / "lab.crt").exists() or not shutil.which("openssl"):
        return
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    progress("making the lab's CA and HTTPS certificate (.lab/tls)")
    ca, key = directory / "ca.crt", directory / "ca.key"
    old = os.umask(0o077)
    try:
        run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650", "-subj",
             "/CN=containerops.fleet lab CA", "-keyout", str(key), "-out", str(ca)])  # fmt: skip
        run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
             "-keyout", str(directory / "lab.key"), "-out", str(directory / "lab.csr")])  # fmt: skip
        sans = ",".join(["DNS:localhost", "IP:127.0.0.1", *(f"DNS:{n}" for n in names)])
        (directory / "lab.ext").write_text(f"subjectAltName={sans}\nextendedKeyUsage=serverAuth\n")
        run(["openssl", "x509", "-req", "-in", str(directory / "lab.csr"), "-CA", str(ca), "-CAkey", str(key),
             "-CAcreateserial", "-days", "825", "-extfile", str(directory / "lab.ext"),
             "-out", str(directory / "lab.crt")])  # fmt: skip
    finally:
        os.umask(old)


def up(lab: Lab) -> None:
    ensure_engine()
    preflight(lab)
    image = ensure_image(lab)
    lab.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not lab.key.exists():
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"{lab.name}", "-f", str(lab.key)])
    ensure_tls(lab.state_dir / "tls", [h.name for h in lab.hosts if h.group == "loadbalancers"])
    planned = plan_addresses(_ensure_network(lab), [h.name for h in lab.hosts])
    progress(f"starting {len(lab.hosts)} hosts: {', '.join(h.name for h in lab.hosts)}")
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(lab.hosts)) as pool:
        states = dict(
            zip(
                [h.name for h in lab.hosts],
                pool.map(lambda h: _create_host(lab, h, image, planned[h.name]), lab.hosts),
            )
        )
    addresses = planned  # every host was started on its planned address (--ip)
    progress("waiting for systemd and sshd on every host...")
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(lab.hosts)) as pool:
        list(pool.map(lambda h: _wait_ssh(lab, h, addresses[h.name]), lab.hosts))
    write_inventory(lab, addresses)
    for host in lab.hosts:
        progress(f"  {host.name:<8} {host.group:<16} {addresses[host.name]:<15} {states[host.name]}")
    shown = lab.inventory.relative_to(ROOT) if lab.inventory.is_relative_to(ROOT) else lab.inventory
    progress(f"inventory written to {shown}")


def down(lab: Lab) -> None:
    if not _engine_answers():
        progress("no Docker engine answers: nothing to remove")
        return
    ids = docker("ps", "-aq", "--filter", f"label={LABEL}={lab.name}").split()
    if ids:
        progress(f"removing {len(ids)} hosts of lab {lab.name}")
        docker("rm", "-f", "-v", *ids)
    if _inspect(lab.network, "network") is not None:
        progress(f"removing network {lab.network}")
        docker("network", "rm", lab.network)
    # Only this lab's inventory: another lab's (or a hand-written one) at the same path stays.
    if lab.inventory.exists() and f"for lab {lab.name!r};" in lab.inventory.read_text():
        lab.inventory.unlink()


def status(lab: Lab) -> None:
    """Each host: group, address, state, and what of it is published on this machine."""
    ids = docker("ps", "-aq", "--filter", f"label={LABEL}={lab.name}").split()
    if not ids:
        print(f"lab {lab.name}: no hosts")
        return
    rows = []
    for info in json.loads(docker("inspect", *ids)):
        labels = info["Config"]["Labels"]
        addr = info["NetworkSettings"]["Networks"].get(lab.network, {}).get("IPAddress", "")
        published = [
            f"http://127.0.0.1:{b[0]['HostPort']} -> :{port.split('/')[0]}"
            for port, b in sorted((info["NetworkSettings"].get("Ports") or {}).items())
            if b
        ]
        rows.append(
            (
                info["Config"]["Hostname"],
                labels.get(f"{LABEL}.group", ""),
                addr,
                info["State"]["Status"],
                ", ".join(published),
            )
        )
    for row in sorted(rows, key=lambda r: (r[1], r[0])):
        print("  {:<8} {:<16} {:<15} {:<8} {}".format(*row))
    print(f"  ssh -i {lab.key} root@<address>   |   ansible -i {lab.inventory.parent} all -m ping")


def default_hosts(
    http_port: int, stats_port: int, prometheus_port: int, grafana_port: int, https_port: int = 8443
) -> list[HostSpec]:
    _PORT_FLAGS.update(
        {
            http_port: "http-port",
            https_port: "https-port",
            stats_port: "stats-port",
            prometheus_port: "prometheus-port",
            grafana_port: "grafana-port",
        }
    )
    return [
        HostSpec("node1", "container_hosts"),
        HostSpec("node2", "container_hosts"),
        HostSpec("node3", "container_hosts"),
        HostSpec("lb1", "loadbalancers", ((http_port, 80), (stats_port, 8404), (https_port, 443))),
        HostSpec("mon1", "monitoring", ((prometheus_port, 9090), (grafana_port, 3000))),
    ]


def parse_hosts(spec: str) -> list[HostSpec]:
    """`name:group,name:group` for custom labs (e.g. one host for a quick test)."""
    hosts = []
    for item in filter(None, (s.strip() for s in spec.split(","))):
        name, _unused, group = item.partition(":")
        if not name.replace("-", "").isalnum():
            raise LabError(f"host name {name!r} must be letters, digits and dashes")
        hosts.append(HostSpec(name, group or "container_hosts"))
    return hosts


def main(argv: list[str] | None = None) -> int:
    env = os.environ.get
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=["up", "down", "status", "image"])
    p.add_argument("--name", default=env("FLEET_LAB_NAME", "fleet-lab"), help="lab name (container prefix)")
    p.add_argument("--hosts", default=env("FLEET_LAB_HOSTS", ""), help="name:group,... instead of the default 5")
    p.add_argument("--inventory", default=env("FLEET_LAB_INVENTORY", str(ROOT / "inventories/lab/hosts.yml")))
    p.add_argument("--http-port", type=int, default=int(env("FLEET_LAB_HTTP_PORT", "8080")))
    p.add_argument("--stats-port", type=int, default=int(env("FLEET_LAB_STATS_PORT", "8404")))
    p.add_argument("--https-port", type=int, default=int(env("FLEET_LAB_HTTPS_PORT", "8443")))
    p.add_argument("--prometheus-port", type=int, default=int(env("FLEET_LAB_PROMETHEUS_PORT", "9090")))
    p.add_argument("--grafana-port", type=int, default=int(env("FLEET_LAB_GRAFANA_PORT", "3000")))
    p.add_argument("--mirror", default=env("FLEET_LAB_MIRROR", "http://deb.debian.org/debian"))
    args = p.parse_args(argv)
    try:
        hosts = (
            parse_hosts(args.hosts)
            if args.hosts
            else default_hosts(
                args.http_port, args.stats_port, args.prometheus_port, args.grafana_port, args.https_port
            )
        )
        lab = Lab(name=args.name, hosts=hosts, inventory=Path(args.inventory).resolve(), mirror=args.mirror)
        if args.command == "up":
            up(lab)
        elif args.command == "down":
            down(lab)
        elif args.command == "status":
            status(lab)
        else:
            ensure_engine()
            print(ensure_image(lab))
    except LabError as exc:
        print(f"lab: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
