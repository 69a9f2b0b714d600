# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""HAProxy as the edge on the lab (issue 17), with real container_service replicas behind lb1:

- two services on one port routed by Host and path prefix, an unknown host answered 404;
- HTTPS termination with two certificates picked by SNI (a CA made here), load over HTTPS through a rolling update
  and through HAProxy reloads without a failed request;
- weights keyed by host (1:2:3) measured after a redeploy and after a scale; roundrobin, static-rr, random and
  leastconn on the same replicas;
- Redis (Debian's package, built FROM the lab base image) balanced in TCP mode, a client loop through a rolling
  update seeing no failed command.
"""

from __future__ import annotations

import base64
import collections
import json
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.request

import pytest
import yaml
from conftest import ROOT, container, haproxy_all_up, haproxy_status, run_playbook, wait_for

pytestmark = pytest.mark.lab

PLAYBOOKS = ROOT / "playbooks"
EDGES = ROOT / "tests" / "e2e" / "playbooks" / "edges.yml"
# The lab's own services, kept off the HTTPS frontend here: what no route matches there answers 404 in these tests.
LAB_SERVICES = [
    {**s, "lb": {**s["lb"], "tls": False}} if s.get("lb") else s
    for s in yaml.safe_load((ROOT / "inventories/lab/group_vars/all/services.yml").read_text())["fleet_services"]
]
PORT = 8096  # edge-a (Host a.example.test) and edge-b (path /b) share it
REDIS_PORT = 6390
HTTPS = 443
WEIGHTS = {"node1": 1, "node2": 2, "node3": 3}
NAMES = ("a.example.test", "b.example.test")


def http_service(name: str, version: str, replicas: int, port_range: str, lb: dict) -> dict:
    return {
        "name": name,
        "image": "fleet-edge-http:1",
        "archive": "",  # set by the fixture
        "replicas": replicas,
        "ports": [{"container": 8000, "host_range": port_range}],
        "env": {"FLEET_NOSHELL_VERSION": version},
        "healthcheck": {"http_path": "/healthz", "interval": 1, "timeout": 2, "retries": 3},
        "update": {"order": "start-first", "monitor": 5},
        "lb": {"port": PORT, **lb},
    }


class Edge:
    """The definitions of the three services; `extra()` gives the -e JSON with the lab's own services too."""

    def __init__(self, archive: str, certificates: list[dict]):
        self.archive = archive
        self.certificates = certificates
        self.a = http_service(
            "edge-a", "1", 3, "26200-26299", {"hosts": ["a.example.test"], "tls": True, "weights": WEIGHTS}
        )
        self.b = http_service("edge-b", "1", 2, "26300-26399", {"paths": ["/b"], "tls": True})
        for svc in (self.a, self.b):
            svc["archive"] = archive
        self.redis = {
            "name": "edge-redis",
            "image": "fleet-edge-redis:1",
            "build": {
                "context": str(ROOT / "tests/e2e/haproxy/redis"),
                "args": {"BASE": "containerops-lab/debian:bookworm"},
            },
            "replicas": 3,
            "ports": [{"container": 6379, "host_range": "26400-26499"}],
            "env": {"EDGE_REVISION": "1"},
            "healthcheck": {"command": ["redis-cli", "ping"], "interval": 1, "timeout": 2, "retries": 3},
            "update": {"order": "start-first", "monitor": 5},
            "lb": {"port": REDIS_PORT, "mode": "tcp"},
        }

    def mine(self) -> list[dict]:
        return [self.a, self.b, self.redis]

    def extra(self, services: list[dict] | None = None, **more) -> str:
        return json.dumps(
            {
                "fleet_services": [*LAB_SERVICES, *(self.mine() if services is None else services)],
                "haproxy_tls_certificates": self.certificates,
                **more,
            }
        )


@pytest.fixture(scope="module")
def lb(inventory) -> str:
    return inventory["all"]["children"]["loadbalancers"]["hosts"]["lb1"]["ansible_host"]


@pytest.fixture(scope="module")
def addresses(inventory) -> dict[str, str]:
    """Bridge address -> inventory host of the container hosts."""
    hosts = inventory["all"]["children"]["container_hosts"]["hosts"]
    return {data["ansible_host"]: name for name, data in hosts.items()}


@pytest.fixture(scope="module")
def tls(tmp_path_factory) -> dict:
    """A CA made here and two certificates it signed, a.example.test (the default) and b.example.test."""
    d = tmp_path_factory.mktemp("tls")

    def ssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    ssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=fleet edge test CA",
        "-keyout",
        str(d / "ca.key"),
        "-out",
        str(d / "ca.crt"),
    )
    certificates = []
    for name in NAMES:
        short = name.split(".", maxsplit=1)[0]
        ssl(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            f"/CN={name}",
            "-keyout",
            str(d / f"{short}.key"),
            "-out",
            str(d / f"{short}.csr"),
        )
        (d / f"{short}.ext").write_text(f"subjectAltName=DNS:{name}\n")
        ssl(
            "x509",
            "-req",
            "-in",
            str(d / f"{short}.csr"),
            "-CA",
            str(d / "ca.crt"),
            "-CAkey",
            str(d / "ca.key"),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            str(d / f"{short}.ext"),
            "-out",
            str(d / f"{short}.crt"),
        )
        certificates.append(
            {"name": short, "cert": (d / f"{short}.crt").read_text(), "key": (d / f"{short}.key").read_text()}
        )
    return {"ca": str(d / "ca.crt"), "certificates": certificates}


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> str:
    """fleet-edge-http:1: the no-shell test server (FROM scratch, one static binary), saved for the definitions."""
    ctx = tmp_path_factory.mktemp("edge-http")
    subprocess.run(
        ["gcc", "-static", "-O2", "-o", str(ctx / "server"), str(ROOT / "tests/e2e/noshell/server.c")], check=True
    )
    (ctx / "Dockerfile").write_text('FROM scratch\nCOPY server /server\nENTRYPOINT ["/server"]\n')
    subprocess.run(["docker", "build", "-q", "-t", "fleet-edge-http:1", str(ctx)], check=True, capture_output=True)
    path = ctx / "fleet-edge-http.tar"
    subprocess.run(["docker", "save", "-o", str(path), "fleet-edge-http:1"], check=True)
    return str(path)


@pytest.fixture(scope="module")
def edge(lb, archive, tls):
    for tool in ("wrk", "openssl", "gcc", "docker"):
        if not shutil.which(tool):
            pytest.fail(f"{tool} is needed on this machine: apt-get install -y {tool}")
    e = Edge(archive, tls["certificates"])
    run_playbook(PLAYBOOKS / "services.yml", "-e", json.dumps({"fleet_services": e.mine()}))
    run_playbook(EDGES, "-e", e.extra())
    haproxy_all_up(lb, "edge-a", 3)
    haproxy_all_up(lb, "edge-b", 2)
    haproxy_all_up(lb, "edge-redis", 3)
    yield e
    for name in ("edge-a", "edge-b", "edge-redis"):
        run_playbook(PLAYBOOKS / "teardown.yml", "-e", f"service={name}", "-e", e.extra())
    run_playbook(EDGES)


# ------------------------------------------------------------------------------------------------------- helpers


def get(lb: str, path: str = "/", host: str | None = None, port: int = PORT) -> tuple[int, str]:
    req = urllib.request.Request(f"http://{lb}:{port}{path}", headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def shares(lb: str, addresses: dict[str, str], n: int, by_server: bool = False) -> collections.Counter:
    """Requests per host (or per replica) out of n, from the answers' FLEET_REPLICA (<service>-<i>@<address>)."""
    seen: collections.Counter = collections.Counter()
    for _request in range(n):
        status, body = get(lb, host="a.example.test")
        assert status == 200, body
        replica, address = body.split()[0].split("@")
        seen[f"{addresses[address]}/{replica}" if by_server else addresses[address]] += 1
    return seen


def assert_weighted(seen: collections.Counter, n: int, tolerance: float) -> dict[str, float]:
    """Each host's share within `tolerance` (relative, 0.05 = ±5 %) of its weight's share."""
    total = sum(WEIGHTS.values())
    measured = {h: seen[h] / n for h in WEIGHTS}
    for host, weight in WEIGHTS.items():
        expected = weight / total
        assert abs(measured[host] - expected) <= tolerance * expected, (host, measured, dict(seen))
    return measured


def wrk(url: str, seconds: int, host: str = "a.example.test") -> dict:
    out = subprocess.run(
        ["wrk", "-t2", "-c16", f"-d{seconds}s", "--timeout", "10s", "-H", f"Host: {host}", url],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, sock.groups())) if sock else 0)
    return {"requests": requests, "errors": errors, "output": out}


def wrk_while(url: str, during, least: int) -> dict:
    """wrk in 5 s rounds while `during()` runs in a thread, and until `least` requests were answered."""
    box: dict = {}

    def target() -> None:
        try:
            box["result"] = during()
        except BaseException as exc:  # raised again below, in the test's own thread
            box["error"] = exc

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    rounds = []
    while worker.is_alive() or sum(r["requests"] for r in rounds) < least:
        rounds.append(wrk(url, 5))
    worker.join()
    if "error" in box:
        raise box["error"]
    return {
        "requests": sum(r["requests"] for r in rounds),
        "errors": sum(r["errors"] for r in rounds),
        "rounds": len(rounds),
        "output": "\n".join(r["output"] for r in rounds if r["errors"]),
        "during": box.get("result"),
    }


def served_certificate(lb: str, name: str, ca: str) -> str:
    proc = subprocess.run(
        [
            "openssl",
            "s_client",
            "-connect",
            f"{lb}:{HTTPS}",
            "-servername",
            name,
            "-CAfile",
            ca,
            "-verify_hostname",
            name,
            "-verify_return_error",
        ],
        input="",
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Verify return code: 0 (ok)" in proc.stdout
    return re.search(r"subject=.*?CN ?= ?([^\s,/]+)", proc.stdout).group(1)


# --------------------------------------------------------------------------------------------------------- tests


def test_two_services_on_one_port_by_host_and_path_and_404_for_an_unknown_host(lb, edge):
    status, body = get(lb, "/", "a.example.test")
    assert status == 200 and body.startswith("edge-a-"), body
    assert get(lb, "/", "A.Example.Test:8096")[1].startswith("edge-a-")  # case and port ignored
    for path in ("/b", "/b/", "/b/x?y=1"):
        status, body = get(lb, path, "anything.example.test")
        assert status == 200 and body.startswith("edge-b-"), (path, body)
    for host, path in (("unknown.example.test", "/"), ("unknown.example.test", "/bx"), (None, "/")):
        status, body = get(lb, path, host)
        assert status == 404 and "no service for this host or path" in body, (host, path, status, body)


def test_https_serves_the_certificate_chosen_by_sni_and_routes_like_http(lb, edge, tls):
    assert served_certificate(lb, "a.example.test", tls["ca"]) == "a.example.test"
    assert served_certificate(lb, "b.example.test", tls["ca"]) == "b.example.test"
    out = subprocess.run(
        [
            "curl",
            "-sS",
            "--cacert",
            tls["ca"],
            "--resolve",
            f"b.example.test:{HTTPS}:{lb}",
            f"https://b.example.test:{HTTPS}/b/x",
            "https://b.example.test/nothing",
            "-w",
            " %{http_code}\n",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert re.search(r"^edge-b-\S+ 1\n 200$", out, re.M) and out.rstrip().endswith("404"), out

    # TLS 1.1 is refused by the server (the client allows it here), TLS 1.2 accepted: the modern defaults
    def handshake(*args: str) -> int:
        return subprocess.run(
            ["openssl", "s_client", "-connect", f"{lb}:{HTTPS}", "-servername", "a.example.test", *args],
            input="",
            capture_output=True,
            check=False,
            timeout=20,
        ).returncode

    assert handshake("-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0") != 0
    assert handshake("-tls1_2") == 0


def test_tls_key_files_are_0600_root(host, edge):
    lb1 = host("lb1")
    for name in ("a", "b"):
        pem = lb1.file(f"/etc/haproxy/certs/{name}.pem")
        assert (pem.user, pem.group, pem.mode) == ("root", "root", 0o600)
    assert lb1.file("/etc/haproxy/certs").mode == 0o700


def test_weights_1_2_3_survive_a_redeploy_and_a_scale(lb, edge, addresses):
    n = 600
    before = assert_weighted(shares(lb, addresses, n), n, 0.05)
    edge.a["env"] = {"FLEET_NOSHELL_VERSION": "2"}
    run_playbook(PLAYBOOKS / "deploy.yml", "-e", "service=edge-a", "-e", edge.extra())
    haproxy_all_up(lb, "edge-a", 3)
    assert get(lb, "/", "a.example.test")[1].split()[1] == "2"
    redeployed = assert_weighted(shares(lb, addresses, n), n, 0.05)
    run_playbook(PLAYBOOKS / "scale.yml", "-e", "service=edge-a", "-e", "replicas=6", "-e", edge.extra())
    edge.a["replicas"] = 6
    haproxy_all_up(lb, "edge-a", 6)
    scaled = assert_weighted(shares(lb, addresses, 1200), 1200, 0.05)
    print(f"\nweights 1:2:3 shares: first {before}, after redeploy {redeployed}, after scale to 6 {scaled}")


@pytest.mark.parametrize("balance", ["static-rr", "random", "leastconn"])
def test_balance_algorithms_on_real_replicas(lb, edge, addresses, balance):
    """static-rr and random follow the weights (random within ±5 points); leastconn, unweighted, spreads evenly."""
    weighted = balance != "leastconn"
    plain = {k: v for k, v in edge.a["lb"].items() if k not in ("balance", "weights")}
    edge.a["lb"] = {**plain, "balance": balance, **({"weights": WEIGHTS} if weighted else {})}
    try:
        run_playbook(EDGES, "-e", edge.extra())
        haproxy_all_up(lb, "edge-a", edge.a["replicas"])
        assert (
            f"balance {balance}"
            in subprocess.run(
                ["docker", "exec", container("lb1"), "grep", "-A2", "^backend edge-a", "/etc/haproxy/haproxy.cfg"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        n = 1200
        seen = shares(lb, addresses, n)
        if balance == "static-rr":
            measured = assert_weighted(seen, n, 0.05)
        elif balance == "random":
            measured = {h: seen[h] / n for h in WEIGHTS}
            total = sum(WEIGHTS.values())
            assert all(abs(measured[h] - w / total) <= 0.05 for h, w in WEIGHTS.items()), measured
        else:
            measured = {h: seen[h] / n for h in WEIGHTS}
            assert all(abs(share - 1 / 3) <= 0.05 for share in measured.values()), measured
        print(f"\n{balance}: {measured}")
    finally:
        edge.a["lb"] = {**plain, "weights": WEIGHTS}


def test_https_load_through_a_rolling_update_and_reloads_fails_no_request(lb, edge, host):
    url = f"https://{lb}:{HTTPS}/"
    edge.a["env"] = {"FLEET_NOSHELL_VERSION": "3"}
    run_playbook(EDGES, "-e", edge.extra())  # the default balance and weights again
    rolling = wrk_while(
        url, lambda: run_playbook(PLAYBOOKS / "deploy.yml", "-e", "service=edge-a", "-e", edge.extra()), 20_000
    )
    assert rolling["requests"] >= 20_000 and rolling["errors"] == 0, rolling["output"]
    assert get(lb, "/", "a.example.test")[1].split()[1] == "3"
    lb1 = host("lb1")

    def reloads():
        for _reload in range(4):
            lb1.run_expect([0], "systemctl reload haproxy")
            time.sleep(2)

    reloaded = wrk_while(url, reloads, 20_000)
    assert reloaded["requests"] >= 20_000 and reloaded["errors"] == 0, reloaded["output"]
    print(
        f"\nHTTPS during a rolling update: {rolling['requests']} requests, {rolling['errors']} failed; "
        f"during 4 reloads: {reloaded['requests']} requests, {reloaded['errors']} failed"
    )


def redis_session(lb: str, i: int, commands: int = 20) -> int:
    """One connection: `commands` round trips of PING, SET, GET (RESP), each answer checked; closed after.

    Sessions are short so a drained replica loses its connections within a second; a few round trips each keeps
    the client below the rate at which its ephemeral ports (TIME_WAIT) run out."""
    done = 0
    with socket.create_connection((lb, REDIS_PORT), timeout=5) as conn:
        for j in range(commands):
            key, value = f"k{i}-{j}", f"v{i}-{j}"
            conn.sendall(
                b"PING\r\n"
                + f"*3\r\n$3\r\nSET\r\n${len(key)}\r\n{key}\r\n${len(value)}\r\n{value}\r\n".encode()
                + f"*2\r\n$3\r\nGET\r\n${len(key)}\r\n{key}\r\n".encode()
            )
            want = f"+PONG\r\n+OK\r\n${len(value)}\r\n{value}\r\n".encode()
            got = b""
            while len(got) < len(want):
                chunk = conn.recv(4096)
                if not chunk:
                    break
                got += chunk
            if got != want:
                raise AssertionError(f"redis answered {got!r} after {done} commands, wanted {want!r}")
            done += 3
    return done


def test_redis_in_tcp_mode_through_a_rolling_update_fails_no_command(lb, edge, host):
    cfg = host("lb1").file("/etc/haproxy/haproxy.cfg").content_string
    assert re.search(r"frontend fe_edge-redis\n\s+bind :6390\n\s+mode tcp", cfg), cfg
    assert "option httpchk" not in cfg.split("backend edge-redis")[1].split("backend ")[0]
    counts = {"ok": 0, "sessions": 0, "failed": []}
    stop = threading.Event()

    def client(n: int):
        i = 0
        while not stop.is_set():
            i += 1
            try:
                counts["ok"] += redis_session(lb, n * 1_000_000 + i)
                counts["sessions"] += 1
            except (OSError, AssertionError) as exc:
                counts["failed"].append(f"{type(exc).__name__}: {exc}")
            time.sleep(0.01)

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(4)]
    for t in threads:
        t.start()
    edge.redis["env"] = {"EDGE_REVISION": "2"}
    try:
        run_playbook(PLAYBOOKS / "deploy.yml", "-e", "service=edge-redis", "-e", edge.extra())
        wait_for("3,000 Redis commands", lambda: counts["ok"] > 3000, timeout=60, interval=1)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=15)
    status = haproxy_status(lb, "edge-redis")
    assert len(status) == 3 and set(status.values()) == {"UP"}, status
    failed = counts["failed"]
    assert failed == [], f"{len(failed)} of {counts['ok'] + len(failed)} failed: {failed[:5]}"
    print(
        f"\nRedis through HAProxy (TCP) during a rolling update: {counts['ok']} commands "
        f"in {counts['sessions']} connections, 0 failed"
    )


def test_stats_page_with_basic_auth_on_the_private_address_password_never_shown(lb, edge, host):
    password = "Edge-stats.pass:1"
    auth = {"haproxy_stats_user": "ops", "haproxy_stats_password": password}
    url = f"http://{lb}:8404/stats;csv"
    try:
        proc = run_playbook(EDGES, "-e", edge.extra(**auth))
        assert password not in proc.stdout + proc.stderr
        with pytest.raises(urllib.error.HTTPError) as denied:
            urllib.request.urlopen(url, timeout=10)
        assert denied.value.code == 401
        request = urllib.request.Request(url)
        request.add_header("Authorization", "Basic " + base64.b64encode(f"ops:{password}".encode()).decode())
        with urllib.request.urlopen(request, timeout=10) as resp:
            assert resp.status == 200 and "edge-a" in resp.read().decode()
        with urllib.request.urlopen(f"http://{lb}:8404/metrics", timeout=10) as resp:
            assert resp.status == 200  # Prometheus scrapes without auth
        cfg = host("lb1").file("/etc/haproxy/haproxy.cfg")
        assert cfg.mode == 0o640 and cfg.group == "haproxy"
        bind = re.search(r"frontend stats\n\s+bind (\S+)", cfg.content_string).group(1)
        assert bind == f"{lb}:8404", bind  # the private address, not every address
    finally:
        run_playbook(EDGES, "-e", edge.extra())
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.status == 200
