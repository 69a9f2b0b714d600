# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The demo service containerops.fleet deploys: it names its replica, reports health and metrics.

GET /          -> "<replica> <version>\\n" (plain text, so a load test can count replicas)
GET /healthz   -> 200 "ok" (503 when FLEET_DEMO_HEALTHY=false, to test health-gated rollback)
GET /metrics   -> Prometheus text: requests by path and status, request latency histogram
GET /work?ms=N -> busy for N ms (drives CPU/latency for the autoscaler)
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time

from flask import Flask, Response, request

REPLICA = os.environ.get("FLEET_REPLICA") or socket.gethostname()
VERSION = os.environ.get("FLEET_DEMO_VERSION", "1")
HEALTHY = os.environ.get("FLEET_DEMO_HEALTHY", "true").lower() not in ("0", "false", "no")
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

app = Flask(__name__)
_lock = threading.Lock()
_requests: dict[tuple[str, str, int], int] = {}
_hist = [0] * (len(BUCKETS) + 1)
_sum = 0.0
_count = 0
_inflight = 0


@app.before_request
def _start() -> None:
    global _inflight
    request.environ["fleet.start"] = time.perf_counter()
    with _lock:
        _inflight += 1


@app.after_request
def _record(resp: Response) -> Response:
    global _sum, _count, _inflight
    elapsed = time.perf_counter() - request.environ.get("fleet.start", time.perf_counter())
    path = request.path if request.path in ("/", "/healthz", "/metrics", "/work") else "other"
    with _lock:
        _inflight -= 1
        key = (request.method, path, resp.status_code)
        _requests[key] = _requests.get(key, 0) + 1
        if path not in ("/metrics", "/healthz"):
            _sum += elapsed
            _count += 1
            for i, bound in enumerate(BUCKETS):
                if elapsed <= bound:
                    _hist[i] += 1
                    break
            else:
                _hist[-1] += 1
    resp.headers["X-Replica"] = REPLICA
    return resp


@app.get("/")
def index() -> Response:
    return Response(f"{REPLICA} {VERSION}\n", mimetype="text/plain")


@app.get("/healthz")
def healthz() -> Response:
    return Response("ok\n" if HEALTHY else "unhealthy\n", status=200 if HEALTHY else 503, mimetype="text/plain")


@app.get("/work")
def work() -> Response:
    ms = min(int(request.args.get("ms", "50")), 5000)
    end = time.perf_counter() + ms / 1000
    while time.perf_counter() < end:
        pass
    return Response(f"{REPLICA} worked {ms} ms\n", mimetype="text/plain")


@app.get("/metrics")
def metrics() -> Response:
    labels = f'replica="{REPLICA}",version="{VERSION}"'
    lines = [
        "# HELP fleet_demo_requests_total Requests served, by method, path and status.",
        "# TYPE fleet_demo_requests_total counter",
    ]
    with _lock:
        for (method, path, status), n in sorted(_requests.items()):
            lines.append(f'fleet_demo_requests_total{{{labels},method="{method}",path="{path}",code="{status}"}} {n}')
        lines += [
            "# HELP fleet_demo_request_duration_seconds Request latency.",
            "# TYPE fleet_demo_request_duration_seconds histogram",
        ]
        cumulative = 0
        for bound, n in zip(BUCKETS, _hist):
            cumulative += n
            lines.append(f'fleet_demo_request_duration_seconds_bucket{{{labels},le="{bound}"}} {cumulative}')
        lines.append(f'fleet_demo_request_duration_seconds_bucket{{{labels},le="+Inf"}} {_count}')
        lines.append(f"fleet_demo_request_duration_seconds_sum{{{labels}}} {_sum:.6f}")
        lines.append(f"fleet_demo_request_duration_seconds_count{{{labels}}} {_count}")
        lines += [
            "# HELP fleet_demo_inflight_requests Requests being served now.",
            "# TYPE fleet_demo_inflight_requests gauge",
            f"fleet_demo_inflight_requests{{{labels}}} {_inflight}",
            "# HELP fleet_demo_up Always 1 while the replica runs.",
            "# TYPE fleet_demo_up gauge",
            f"fleet_demo_up{{{labels}}} 1",
        ]
    return Response("\n".join(lines) + "\n", mimetype="text/plain; version=0.0.4")


def serve() -> None:
    """Serve until SIGTERM, then finish the requests in flight before exiting (a stopped replica drops none)."""
    from werkzeug.serving import make_server

    server = make_server(
        os.environ.get("FLEET_DEMO_HOST", "0.0.0.0"), int(os.environ.get("PORT", "8000")), app, threaded=True
    )
    server.daemon_threads = False  # exit waits for the request threads
    signal.signal(signal.SIGTERM, lambda *_args: threading.Thread(target=server.shutdown).start())
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    serve()
