# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small Docker Engine API client over the unix socket (stdlib only: nothing to install on hosts).

Only the calls the collection's modules make.  Errors are raised as EngineError carrying the
engine's own message; modules turn them into fail_json in one place.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import urllib.parse
from collections.abc import Iterable, Iterator
from typing import Any

DEFAULT_SOCKET = "/var/run/docker.sock"
API_VERSION = "1.41"  # Docker 20.10; newer engines still serve it


class EngineError(Exception):
    """The engine refused a call or cannot be reached."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


def _filters(filters: dict[str, Any] | None) -> dict[str, str]:
    if not filters:
        return {}
    norm = {k: v if isinstance(v, list) else [v] for k, v in filters.items()}
    return {"filters": json.dumps(norm)}


class DockerEngine:
    """Docker Engine API at `socket_path` (unix socket)."""

    def __init__(self, socket_path: str = DEFAULT_SOCKET, timeout: float = 60.0):
        self.socket_path = socket_path
        self.timeout = timeout

    # ------------------------------------------------------------------ transport

    def _open(
        self,
        method: str,
        path: str,
        query: dict | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> http.client.HTTPResponse:
        url = f"/v{API_VERSION}{path}"
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        hdrs = dict(headers or {})
        chunked = False
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        elif body is not None and not isinstance(body, (bytes, str)):
            chunked = True
            hdrs.setdefault("Content-Type", "application/x-tar")
        conn = _UnixConnection(self.socket_path, timeout or self.timeout)
        try:
            conn.request(method, url, body=body, headers=hdrs, encode_chunked=chunked)
            resp = conn.getresponse()
        except FileNotFoundError as exc:
            raise EngineError(f"no Docker engine socket at {self.socket_path}") from exc
        except OSError as exc:
            raise EngineError(f"cannot reach the Docker engine at {self.socket_path}: {exc}") from exc
        if resp.status >= 400:
            raw = resp.read()
            conn.close()
            try:
                message = json.loads(raw).get("message", "")
            except ValueError:
                message = raw.decode(errors="replace").strip()
            raise EngineError(message or f"HTTP {resp.status} for {method} {path}", resp.status)
        return resp

    def call(
        self,
        method: str,
        path: str,
        query: dict | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> Any:
        resp = self._open(method, path, query, body, headers, timeout)
        raw = resp.read()
        if not raw:
            return None
        if resp.getheader("Content-Type", "").startswith("application/json"):
            return json.loads(raw)
        return raw.decode(errors="replace")

    def stream_json(
        self,
        method: str,
        path: str,
        query: dict | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> list[dict]:
        """For build/pull/push/load: the engine streams JSON messages; an `error` among them raises."""
        resp = self._open(method, path, query, body, headers, timeout)
        messages: list[dict] = []
        decoder = json.JSONDecoder()
        buf = ""
        for chunk in iter(lambda: resp.read1(65536), b""):
            buf += chunk.decode(errors="replace")
            while buf.strip():
                buf = buf.lstrip()
                try:
                    msg, end = decoder.raw_decode(buf)
                except ValueError:
                    break
                buf = buf[end:]
                messages.append(msg)
                if msg.get("error"):
                    raise EngineError(str(msg.get("error")).strip())
        return messages

    # ------------------------------------------------------------------ system

    def ping(self) -> bool:
        try:
            return self.call("GET", "/_ping", timeout=5) == "OK"
        except EngineError:
            return False

    def info(self) -> dict:
        return self.call("GET", "/info")

    def version(self) -> dict:
        return self.call("GET", "/version")

    # ------------------------------------------------------------------ containers

    def containers(self, filters: dict[str, Any] | None = None, all_: bool = True) -> list[dict]:
        return self.call("GET", "/containers/json", {"all": "1" if all_ else "0", **_filters(filters)})

    def inspect_container(self, ident: str) -> dict:
        return self.call("GET", f"/containers/{ident}/json")

    def create_container(self, name: str, config: dict) -> str:
        return self.call("POST", "/containers/create", {"name": name}, body=config)["Id"]

    def start_container(self, ident: str) -> None:
        self.call("POST", f"/containers/{ident}/start")

    def stop_container(self, ident: str, timeout: int = 10) -> None:
        try:
            self.call("POST", f"/containers/{ident}/stop", {"t": str(timeout)}, timeout=timeout + 30)
        except EngineError as exc:
            if exc.status != 304:  # already stopped
                raise

    def restart_container(self, ident: str, timeout: int = 10) -> None:
        self.call("POST", f"/containers/{ident}/restart", {"t": str(timeout)}, timeout=timeout + 30)

    def remove_container(self, ident: str, force: bool = True) -> None:
        try:
            self.call("DELETE", f"/containers/{ident}", {"force": "1" if force else "0", "v": "1"})
        except EngineError as exc:
            if exc.status != 404:
                raise

    def logs(self, ident: str, tail: int = 20) -> str:
        resp = self._open("GET", f"/containers/{ident}/logs", {"stdout": "1", "stderr": "1", "tail": str(tail)})
        return _demux(resp.read())

    # ------------------------------------------------------------------ images

    def images(self, filters: dict[str, Any] | None = None) -> list[dict]:
        return self.call("GET", "/images/json", _filters(filters))

    def _get_or_none(self, path: str) -> Any:
        """GET that answers None for a 404 (the object does not exist)."""
        try:
            return self.call("GET", path)
        except EngineError as exc:
            if exc.status == 404:
                return None
            raise

    def inspect_image(self, ref: str) -> dict | None:
        return self._get_or_none(f"/images/{urllib.parse.quote(ref, safe='')}/json")

    def build(self, context_tar: Iterable[bytes] | bytes, query: dict[str, str], timeout: float = 1800) -> list[dict]:
        return self.stream_json("POST", "/build", query, body=context_tar, timeout=timeout)

    def tag(self, ref: str, repo: str, tag: str) -> None:
        self.call("POST", f"/images/{urllib.parse.quote(ref, safe='')}/tag", {"repo": repo, "tag": tag})

    def remove_image(self, ref: str, force: bool = False) -> list[dict]:
        return self.call("DELETE", f"/images/{urllib.parse.quote(ref, safe='')}", {"force": "1" if force else "0"})

    def save(self, refs: list[str]) -> Iterator[bytes]:
        """`docker save` as a byte stream (a tar holding every ref)."""
        query = "&".join("names=" + urllib.parse.quote(r, safe="") for r in refs)
        resp = self._open("GET", "/images/get?" + query, timeout=600)
        yield from iter(lambda: resp.read1(1 << 20), b"")

    def load(self, tar_stream: Iterable[bytes] | bytes) -> list[dict]:
        return self.stream_json("POST", "/images/load", {"quiet": "1"}, body=tar_stream, timeout=1800)

    def pull(self, repo: str, tag: str, auth: dict | None = None) -> list[dict]:
        return self.stream_json(
            "POST", "/images/create", {"fromImage": repo, "tag": tag}, headers=_auth_header(auth), timeout=1800
        )

    def push(self, repo: str, tag: str, auth: dict | None = None) -> list[dict]:
        return self.stream_json(
            "POST",
            f"/images/{urllib.parse.quote(repo, safe='')}/push",
            {"tag": tag},
            headers=_auth_header(auth) or {"X-Registry-Auth": "e30="},
            timeout=1800,
        )

    # ------------------------------------------------------------------ networks

    def inspect_network(self, name: str) -> dict | None:
        return self._get_or_none(f"/networks/{urllib.parse.quote(name, safe='')}")

    def create_network(self, name: str, driver: str, labels: dict[str, str]) -> str:
        body = {"Name": name, "Driver": driver, "CheckDuplicate": True, "Labels": labels}
        return self.call("POST", "/networks/create", body=body)["Id"]

    def connect_network(self, network: str, container: str, aliases: list[str]) -> None:
        """Join a created (not yet started) container to one more network, reachable there by `aliases`."""
        body = {"Container": container, "EndpointConfig": {"Aliases": aliases}}
        self.call("POST", f"/networks/{urllib.parse.quote(network, safe='')}/connect", body=body)

    # ------------------------------------------------------------------ swarm

    def swarm_inspect(self) -> dict | None:
        """The swarm this engine manages, or None when it is no manager (not in a swarm, or a worker)."""
        try:
            return self.call("GET", "/swarm")
        except EngineError as exc:
            if exc.status in (406, 503):
                return None
            raise

    def nodes(self, filters: dict[str, Any] | None = None) -> list[dict]:
        return self.call("GET", "/nodes", _filters(filters))

    def services(self, filters: dict[str, Any] | None = None) -> list[dict]:
        return self.call("GET", "/services", _filters(filters))

    def inspect_service(self, ident: str) -> dict | None:
        return self._get_or_none(f"/services/{ident}")

    def create_service(self, spec: dict) -> dict:
        return self.call("POST", "/services/create", body=spec)

    def update_service(self, ident: str, version: int, spec: dict, rollback: bool = False) -> dict:
        query = {"version": str(version)}
        if rollback:
            query["rollback"] = "previous"
        return self.call("POST", f"/services/{ident}/update", query, body=spec)

    def remove_service(self, ident: str) -> None:
        try:
            self.call("DELETE", f"/services/{ident}")
        except EngineError as exc:
            if exc.status != 404:
                raise

    def tasks(self, filters: dict[str, Any] | None = None) -> list[dict]:
        return self.call("GET", "/tasks", _filters(filters))


def _auth_header(auth: dict | None) -> dict[str, str]:
    if not auth:
        return {}
    return {"X-Registry-Auth": base64.urlsafe_b64encode(json.dumps(auth).encode()).decode()}


def _demux(raw: bytes) -> str:
    """Container logs without a TTY come as frames: 8-byte header (stream, 0, 0, 0, size32) + payload."""
    out, i = [], 0
    while i + 8 <= len(raw) and raw[i] in (0, 1, 2) and raw[i + 1 : i + 4] == b"\0\0\0":
        size = int.from_bytes(raw[i + 4 : i + 8], "big")
        out.append(raw[i + 8 : i + 8 + size])
        i += 8 + size
    if i < len(raw):
        out.append(raw[i:])
    return b"".join(out).decode(errors="replace")
