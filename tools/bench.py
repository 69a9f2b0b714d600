# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make bench`: ours vs the peer, side by side in one run, on one lab host.

10 replicas of a small image: a cold deploy and a no-op re-run, with containerops.fleet.container_service
(one task) and community.docker.docker_container (PyPI's `ansible` package, one task per replica in a
loop), and a playbook with a single ping as the floor.  Several rounds, medians, ratios of the time
above the floor.  Targets: no-op ours/peer <= 0.1, cold ours/peer <= 0.5.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="node3")
    parser.add_argument("--replicas", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
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
