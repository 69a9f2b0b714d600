# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Steady HTTP load for the length of a `with` block: every request counted, every failure kept.

Keep-alive connections from a few threads, like a browser fleet; a failure is any exception or any
status other than 200.  The demo app answers "<replica> <version>", so who served is counted too.
"""

from __future__ import annotations

import collections
import http.client
import threading
import time


class Load:
    def __init__(self, host: str, port: int = 80, path: str = "/", threads: int = 4):
        self.host, self.port, self.path, self.threads = host, port, path, threads
        self.ok = 0
        self.failures: list[str] = []
        self.failed_started: list[float] = []  # when each failed request was sent (time.monotonic())
        self.served: collections.Counter = collections.Counter()
        self.timeline: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._workers: list[threading.Thread] = []

    def _run(self) -> None:
        conn = None
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
                conn.request("GET", self.path)
                resp = conn.getresponse()
                body = resp.read().decode(errors="replace").strip()
                with self._lock:
                    if resp.status == 200:
                        self.ok += 1
                        self.served[body] += 1
                        self.timeline.append((time.monotonic(), body))
                    else:
                        self.failures.append(f"HTTP {resp.status}: {body[:80]}")
                        self.failed_started.append(started)
                if resp.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as exc:
                with self._lock:
                    self.failures.append(f"{type(exc).__name__}: {exc}")
                    self.failed_started.append(started)
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.05)

    def __enter__(self) -> Load:
        for _unused in range(self.threads):
            t = threading.Thread(target=self._run, daemon=True)
            t.start()
            self._workers.append(t)
        time.sleep(1)
        return self

    def __exit__(self, *exc) -> None:
        time.sleep(1)
        self._stop.set()
        for t in self._workers:
            t.join(timeout=15)

    @property
    def total(self) -> int:
        return self.ok + len(self.failures)

    def versions(self) -> collections.Counter:
        """Version -> responses (the demo answers '<replica> <version>')."""
        return collections.Counter(body.rsplit(" ", 1)[-1] for body in self.served.elements())

    def last_versions(self, n: int = 50) -> set[str]:
        return {body.rsplit(" ", 1)[-1] for _unused, body in self.timeline[-n:]}

    def last_replicas(self, n: int = 100) -> set[str]:
        return {body.rsplit(" ", 1)[0] for _unused, body in self.timeline[-n:]}
