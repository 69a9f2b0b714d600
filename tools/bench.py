# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make bench`: ours vs the peer, side by side in one run, on one lab host; then HAProxy's own cost.

10 replicas of a small image: a cold deploy and a no-op re-run, with containerops.fleet.container_service
(one task) and community.docker.docker_container (PyPI's `ansible` package, one task per replica in a
loop), and a playbook with a single ping as the floor.  Several rounds, medians, ratios of the time
above the floor.  Targets: no-op ours/peer <= 0.1, cold ours/peer <= 0.5.

HAProxy (`--part haproxy`): one replica of the static test server (tests/e2e/noshell/server.c) deployed behind lb1
with a certificate made here; wrk (Debian), run on lb1 itself (`--wrk-here`: on this machine), against the replica
directly and through HAProxy on lb1's loopback over HTTP and over HTTPS, side by side: requests per second and the
ratios (target: HAProxy in the path costs <= 10 % of direct throughput).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "tools" / "bench"
BIN = Path(sys.executable).parent
INVENTORY = Path(os.environ.get("FLEET_BENCH_INVENTORY", ROOT / "inventories" / "lab"))


def play(name: str, host: str, replicas: int, state: str = "present") -> float:
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".build" / "collections"),
    )
    cmd = [
        str(BIN / "ansible-playbook"),
        "-i",
        str(INVENTORY),
        str(BENCH / f"{name}.yml"),
        "-e",
        f"bench_host={host}",
        "-e",
        f"bench_replicas={replicas}",
        "-e",
        f"bench_state={state}",
    ]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"bench: {name} ({state}) failed:\n{proc.stdout[-3000:]}{proc.stderr[-2000:]}")
    return elapsed


def prepare(host: str) -> None:
    """The test image on the host, and the peer's own requirement (the Docker SDK for Python)."""
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".build" / "collections"),
    )
    for cmd in (
        [
            str(BIN / "ansible-playbook"),
            "-i",
            str(INVENTORY),
            str(ROOT / "tests/e2e/playbooks/test_images.yml"),
            "--limit",
            host,
        ],
        [
            str(BIN / "ansible"),
            "-i",
            str(INVENTORY),
            host,
            "-m",
            "ansible.builtin.apt",
            "-a",
            "name=python3-docker state=present",
        ],
    ):
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            sys.exit(f"bench: preparing {host} failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")


def _ansible_env() -> dict[str, str]:
    return dict(
        os.environ,
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".build" / "collections"),
    )


def _playbook(path: Path, *extra: str) -> None:
    cmd = [str(BIN / "ansible-playbook"), "-i", str(INVENTORY), str(path), *extra]
    proc = subprocess.run(cmd, cwd=ROOT, env=_ansible_env(), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"bench: {path.name} failed:\n{proc.stdout[-3000:]}{proc.stderr[-2000:]}")


def _wrk(url: str, seconds: int, connections: int, close: bool = False, on: str | None = None) -> float:
    """wrk on this machine, or with `on` inside that lab host (its own loopback and the lab network)."""
    header = ["-H", "Connection: close"] if close else []
    where = ["docker", "exec", f"fleet-lab-{on}"] if on else []
    out = subprocess.run(
        [*where, "wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", *header, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: .*", out)
    if errors:
        print(f"  (wrk {url}: {errors.group(0)})")
    return float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))


def _playbook_adhoc(host: str, module: str, args: str) -> None:
    cmd = [str(BIN / "ansible"), "-i", str(INVENTORY), host, "-m", module, "-a", args]
    proc = subprocess.run(cmd, cwd=ROOT, env=_ansible_env(), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"bench: {module} on {host} failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")


def _backend_servers(lb: str, backend: str) -> list[dict[str, str]]:
    with urllib.request.urlopen(f"http://{lb}:8404/stats;csv", timeout=10) as resp:
        rows = resp.read().decode().lstrip("# ").splitlines()
    header = rows[0].split(",")
    recs = [dict(zip(header, row.split(","))) for row in rows[1:]]
    return [r for r in recs if r.get("pxname") == backend and r["svname"] not in ("BACKEND", "FRONTEND")]


def haproxy_bench(seconds: int, connections: int, rounds: int, on_lb: bool = True) -> int:
    """wrk direct to one replica vs through HAProxy (HTTP and HTTPS) to that one replica, side by side."""
    if not shutil.which("wrk") or not shutil.which("openssl") or not shutil.which("gcc"):
        sys.exit("bench: wrk, openssl and gcc are needed (apt-get install -y wrk openssl gcc)")
    hosts = yaml.safe_load((INVENTORY / "hosts.yml").read_text())["all"]["children"]
    lb = hosts["loadbalancers"]["hosts"]["lb1"]["ansible_host"]
    # the lab's own services stay off the HTTPS frontend here: the bench service is its default
    lab_services = [
        {**s, "lb": {**s["lb"], "tls": False}} if s.get("lb") else s
        for s in yaml.safe_load((INVENTORY / "group_vars/all/services.yml").read_text())["fleet_services"]
    ]
    with tempfile.TemporaryDirectory() as tmp:
        ctx = Path(tmp)
        subprocess.run(
            ["gcc", "-static", "-O2", "-o", str(ctx / "server"), str(ROOT / "tests/e2e/noshell/server.c")], check=True
        )
        (ctx / "Dockerfile").write_text('FROM scratch\nCOPY server /server\nENTRYPOINT ["/server"]\n')
        subprocess.run(["docker", "build", "-q", "-t", "fleet-edge-http:1", str(ctx)], check=True, capture_output=True)
        subprocess.run(["docker", "save", "-o", str(ctx / "image.tar"), "fleet-edge-http:1"], check=True)
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
             "-subj", "/CN=bench.example.test", "-keyout", str(ctx / "key.pem"), "-out", str(ctx / "cert.pem")],
            check=True,
            capture_output=True,
        )  # fmt: skip
        bench = {
            "name": "bench-http",
            "image": "fleet-edge-http:1",
            "archive": str(ctx / "image.tar"),
            "replicas": 1,
            "ports": [{"container": 8000, "host_range": "26500-26599"}],
            "healthcheck": {"http_path": "/healthz", "interval": 1, "timeout": 2, "retries": 3},
            "lb": {"port": 8097, "tls": True},
        }
        certificate = {"name": "bench", "cert": (ctx / "cert.pem").read_text(), "key": (ctx / "key.pem").read_text()}
        extra = json.dumps({"fleet_services": [*lab_services, bench], "haproxy_tls_certificates": [certificate]})
        edges = ROOT / "tests/e2e/playbooks/edges.yml"
        try:
            _playbook(ROOT / "playbooks/services.yml", "-e", json.dumps({"fleet_services": [bench]}))
            _playbook(edges, "-e", extra)
            deadline = time.monotonic() + 60
            while not [s for s in _backend_servers(lb, "bench-http") if s["status"] == "UP"]:
                if time.monotonic() > deadline:
                    sys.exit("bench: the bench replica did not come UP in HAProxy within 60 s")
                time.sleep(1)
            config = subprocess.run(
                ["docker", "exec", "fleet-lab-lb1", "cat", "/etc/haproxy/haproxy.cfg"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            replica = re.search(r"backend bench-http\n(?:.*\n)*?\s+server \S+ (\S+)", config).group(1)
            on = "lb1" if on_lb else None
            if on:  # wrk on the load balancer itself: HAProxy on its loopback vs the replica straight from there
                _playbook_adhoc("lb1", "ansible.builtin.apt", "name=wrk state=present")
            front = "127.0.0.1" if on else lb
            urls = {
                "direct": f"http://{replica}/",
                "haproxy_http": f"http://{front}:8097/",
                "haproxy_https": f"https://{front}:443/",
            }
            urls["haproxy_http_close"] = urls["haproxy_http"]
            runs: dict[str, list[float]] = {k: [] for k in urls}
            for rnd in range(1, rounds + 1):
                for what, url in urls.items():
                    runs[what].append(_wrk(url, seconds, connections, what == "haproxy_http_close", on))
                print(f"haproxy round {rnd}: " + ", ".join(f"{k} {v[-1]:.0f} req/s" for k, v in runs.items()))
        finally:
            _playbook(ROOT / "playbooks/teardown.yml", "-e", "service=bench-http", "-e", extra)
            _playbook(edges)
    med = {k: statistics.median(v) for k, v in runs.items()}
    where = "on lb1 (HAProxy on its loopback)" if on_lb else "on this machine"
    print(f"\nwrk -t2 -c{connections} -d{seconds}s {where}, one replica of the static test server, {rounds} rounds:")
    http, https, direct = med["haproxy_http"], med["haproxy_https"], med["direct"]
    print(f"  {'direct to the replica':<34}{direct:>10.0f} req/s")
    print(f"  {'through HAProxy, HTTP':<34}{http:>10.0f} req/s   {http / direct:.2f}x direct")
    print(
        f"  {'through HAProxy, HTTPS':<34}{https:>10.0f} req/s   {https / direct:.2f}x direct, {https / http:.2f}x HTTP"
    )
    close = med["haproxy_http_close"]
    print(f"  {'through HAProxy, HTTP, conn. close':<34}{close:>10.0f} req/s   {close / direct:.2f}x direct")
    print("  (the test server closes every connection; HAProxy keeps the client's open and opens one per request)")
    cost = 1 - http / direct
    print(f"  HAProxy in the path costs {max(cost, 0) * 100:.1f} % of direct throughput (target <= 10 %)")
    return 0 if cost <= 0.10 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=["all", "deploy", "site", "haproxy"], default="all")
    parser.add_argument("--host", default="node3")
    parser.add_argument("--replicas", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10, help="length of each wrk run (haproxy part)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (haproxy part)")
    parser.add_argument("--wrk-here", action="store_true", help="run wrk on this machine, not on lb1 (haproxy part)")
    args = parser.parse_args()
    if args.part == "haproxy":
        return haproxy_bench(args.seconds, args.connections, args.rounds, not args.wrk_here)
    if args.part == "site":
        return site_bench(args.rounds)
    status = deploy_bench(args)
    if args.part == "all":
        status |= site_bench(args.rounds)
        status |= haproxy_bench(args.seconds, args.connections, args.rounds, not args.wrk_here)
    return status


SITE_TARGET = 15.0  # seconds: a no-op site.yml on the 5-host lab


def site_bench(rounds: int) -> int:
    """A no-op site.yml on the whole lab (after one converging run) beside a one-ping playbook on every host."""
    _playbook(ROOT / "playbooks" / "site.yml")
    noop, floor = [], []
    for rnd in range(1, rounds + 1):
        start = time.perf_counter()
        _playbook(ROOT / "playbooks" / "site.yml")
        noop.append(time.perf_counter() - start)
        start = time.perf_counter()
        _playbook(BENCH / "floor.yml", "-e", "bench_host=all")
        floor.append(time.perf_counter() - start)
        print(
            f"site round {rnd}: no-op site.yml {noop[-1]:.2f} s, one ping on every host {floor[-1]:.2f} s", flush=True
        )
    med_noop, med_floor = statistics.median(noop), statistics.median(floor)
    print(f"\nno-op site.yml on every lab host, {rounds} rounds, medians:")
    print(
        f"  site.yml {med_noop:.2f} s, floor (one ping) {med_floor:.2f} s, above the floor {med_noop - med_floor:.2f} s"
    )
    print(f"  target: site.yml <= {SITE_TARGET:.0f} s -> {'met' if med_noop <= SITE_TARGET else 'NOT met'}")
    return 0 if med_noop <= SITE_TARGET else 1


def deploy_bench(args: argparse.Namespace) -> int:
    prepare(args.host)
    times: dict[str, list[float]] = {k: [] for k in ("floor", "ours_cold", "ours_noop", "peer_cold", "peer_noop")}
    for rnd in range(1, args.rounds + 1):
        for side in ("ours", "peer"):
            play(side, args.host, args.replicas, "absent")
            times[f"{side}_cold"].append(play(side, args.host, args.replicas))
            times[f"{side}_noop"].append(play(side, args.host, args.replicas))
        times["floor"].append(play("floor", args.host, args.replicas))
        print(f"round {rnd}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()), flush=True)
    for side in ("ours", "peer"):
        play(side, args.host, args.replicas, "absent")
    med = {k: statistics.median(v) for k, v in times.items()}
    floor = med["floor"]
    print(f"\n{args.replicas} replicas on {args.host}, {args.rounds} rounds, medians:")
    print(f"  {'':<10}{'ours':>10}{'peer':>10}{'ours/peer above floor':>26}")
    verdicts = []
    for what, target in (("cold", 0.5), ("noop", 0.1)):
        ours, peer = med[f"ours_{what}"], med[f"peer_{what}"]
        ratio = max(ours - floor, 0.0) / max(peer - floor, 1e-9)
        verdicts.append(ratio <= target)
        print(f"  {what:<10}{ours:>9.2f}s{peer:>9.2f}s{ratio:>20.3f} (target <= {target})")
    print(f"  floor (one ping): {floor:.2f} s")
    return 0 if all(verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
