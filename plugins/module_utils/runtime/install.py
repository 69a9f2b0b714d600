# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which packages, repository and service each engine needs, and the apt layer that installs them.

The planning functions are pure; `Apt` is the only code here that runs commands (through a
`runtime_host.Host`), with DEBIAN_FRONTEND=noninteractive.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import hashlib
import re
import shlex
from dataclasses import dataclass

from ansible_collections.containerops.fleet.plugins.module_utils import allow
from ansible_collections.containerops.fleet.plugins.module_utils.runtime.host import Host, HostError

SUPPORTED_FAMILIES = {"Debian": ("debian", "ubuntu")}
DOCKER_REPO_BASE = "https://download.docker.com/linux"
DOCKER_REPO_URL = DOCKER_REPO_BASE + "/{distro}"
DOCKER_KEYRING = "/etc/apt/keyrings/docker.asc"
DOCKER_LIST = "/etc/apt/sources.list.d/docker.list"
# Docker's release key for download.docker.com (docker-ce, containerd.io), as Docker's install guide publishes it:
# 9DC8 5822 9FC7 DD38 854A E2D8 8D81 803C 0EBF CD88, "Docker Release (CE deb) <docker@docker.com>".
DOCKER_KEY_FINGERPRINT = "9DC858229FC7DD38854AE2D88D81803C0EBFCD88"


class InstallError(RuntimeError):
    """A package or repository step failed, or the host is not supported."""


@dataclass(frozen=True)
class EngineSpec:
    name: str
    distro_packages: tuple[str, ...]
    upstream_packages: tuple[str, ...] | None
    service: str
    config_path: str
    config_format: str
    group: str | None


ENGINES = {
    "docker": EngineSpec(
        "docker",
        ("docker.io",),
        ("docker-ce", "docker-ce-cli", "containerd.io"),
        "docker",
        "/etc/docker/daemon.json",
        "json",
        "docker",
    ),
    "containerd": EngineSpec(
        "containerd",
        ("containerd",),
        ("containerd.io",),
        "containerd",
        "/etc/containerd/config.toml",
        "toml",
        None,
    ),
    # podman is daemonless: the service is its API socket.
    "podman": EngineSpec("podman", ("podman",), None, "podman.socket", "/etc/containers/containers.conf", "toml", None),
}


@dataclass(frozen=True)
class OsRelease:
    id: str
    codename: str
    id_like: tuple[str, ...] = ()


def parse_os_release(text: str) -> OsRelease:
    values = {}
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, _sep, value = line.partition("=")
            parts = shlex.split(value) if value.strip() else [""]
            values[key.strip()] = parts[0] if parts else ""
    return OsRelease(
        values.get("ID", "").lower(),
        values.get("VERSION_CODENAME", "") or values.get("UBUNTU_CODENAME", ""),
        tuple(values.get("ID_LIKE", "").lower().split()),
    )


def check_supported(osr: OsRelease) -> str:
    """-> the apt distro name (debian/ubuntu); raises naming the supported families."""
    for distros in SUPPORTED_FAMILIES.values():
        if osr.id in distros:
            return osr.id
        for like in osr.id_like:
            if like in distros:
                return like
    supported = "; ".join(f"{fam} ({', '.join(d.capitalize() for d in ds)})" for fam, ds in SUPPORTED_FAMILIES.items())
    raise InstallError(
        f"unsupported OS {osr.id or 'unknown'!r}: container_runtime supports the OS families {supported}"
    )


def packages_for(engine: str, source: str) -> tuple[str, ...]:
    spec = ENGINES[engine]
    if source == "distro":
        return spec.distro_packages
    if spec.upstream_packages is None:
        raise InstallError(
            f"source=upstream: {engine} has no vendor apt repository for Debian/Ubuntu; use source=distro"
        )
    return spec.upstream_packages


def upstream_repo(distro: str, codename: str, arch: str, base_url: str | None = None) -> tuple[str, str, str]:
    """-> (signing key URL, keyring path, sources.list line) for the vendor repository (Docker's, or a mirror of it
    with the same layout under `base_url`: <base_url>/<distro>/gpg and dists/<codename>/stable)."""
    root = DOCKER_REPO_BASE
    if base_url:
        try:
            root = allow.check("apt_url", base_url, "upstream_url").rstrip("/")
        except allow.NotAllowed as exc:
            raise InstallError(str(exc)) from None
    base = f"{root}/{distro}"
    line = f"deb [arch={arch} signed-by={DOCKER_KEYRING}] {base} {codename} stable\n"
    return f"{base}/gpg", DOCKER_KEYRING, line


# ----------------------------------------------------------------------------- the signing key's fingerprint

_ARMOR = re.compile(rb"-----BEGIN PGP PUBLIC KEY BLOCK-----\r?\n(.*?)-----END PGP PUBLIC KEY BLOCK-----", re.DOTALL)
_PUBLIC_KEY = 6  # OpenPGP packet tag of a primary public key (subkeys are 14, bound to it by its signature)


def _dearmor(data: bytes) -> list[bytes]:
    """The binary packets of every armored block in `data`, or `data` itself when it is not armored."""
    if b"-----BEGIN PGP" not in data:
        return [data]
    blocks = []
    for body in _ARMOR.findall(data):
        lines = [line.strip() for line in body.split(b"\n")]
        # Armor headers ("Comment: ...") hold ':', base64 never does; "=XXXX" is the checksum line.
        payload = b"".join(line for line in lines if line and b":" not in line and not line.startswith(b"="))
        try:
            blocks.append(base64.b64decode(payload, validate=True))
        except (binascii.Error, ValueError):
            raise ValueError("broken ASCII armor") from None
    if not blocks or len(blocks) != data.count(b"-----BEGIN PGP"):
        raise ValueError("no PGP PUBLIC KEY BLOCK, or a block that cannot be read")
    return blocks


def _packets(data: bytes):
    """(tag, body) of each OpenPGP packet (RFC 4880 4.2: old and new header formats)."""
    pos = 0
    while pos < len(data):
        head = data[pos]
        if not head & 0x80:
            raise ValueError(f"no packet header at byte {pos}")
        if head & 0x40:  # new format
            tag, pos = head & 0x3F, pos + 1
            first = data[pos]
            if first < 192:
                length, pos = first, pos + 1
            elif first < 224:
                length, pos = ((first - 192) << 8) + data[pos + 1] + 192, pos + 2
            elif first == 255:
                length, pos = int.from_bytes(data[pos + 1 : pos + 5], "big"), pos + 5
            else:
                raise ValueError("partial body length in a key packet")
        else:  # old format
            tag, kind, pos = (head >> 2) & 0x0F, head & 0x03, pos + 1
            if kind == 3:
                length = len(data) - pos
            else:
                size = (1, 2, 4)[kind]
                length, pos = int.from_bytes(data[pos : pos + size], "big"), pos + size
        if pos + length > len(data):
            raise ValueError("truncated packet")
        yield tag, data[pos : pos + length]
        pos += length


def _fingerprint(body: bytes) -> str:
    version = body[0] if body else 0
    if version == 4:  # RFC 4880 12.2
        return hashlib.sha1(b"\x99" + len(body).to_bytes(2, "big") + body).hexdigest().upper()
    if version in (5, 6):  # RFC 9580 5.5.4
        prefix = b"\x9a" if version == 5 else b"\x9b"
        return hashlib.sha256(prefix + len(body).to_bytes(4, "big") + body).hexdigest().upper()
    raise ValueError(f"unsupported key version {version}")


def key_fingerprints(data: bytes) -> list[str]:
    """Fingerprints of the primary keys in an OpenPGP keyring, armored (.asc) or binary (.gpg)."""
    try:
        fingerprints = [
            _fingerprint(body) for block in _dearmor(data) for tag, body in _packets(block) if tag == _PUBLIC_KEY
        ]
    except (ValueError, IndexError) as exc:
        raise InstallError(f"not an OpenPGP public key ({exc})") from None
    if not fingerprints:
        raise InstallError("not an OpenPGP public key (no public key packet)")
    return fingerprints


def expected_fingerprint(value: str | None) -> str:
    """The fingerprint to pin: Docker's, or `value` (upstream_key_fingerprint, spaces and case ignored)."""
    if not value:
        return DOCKER_KEY_FINGERPRINT
    try:
        return allow.check("pgp_fingerprint", "".join(str(value).split()).upper(), "upstream_key_fingerprint")
    except allow.NotAllowed as exc:
        raise InstallError(str(exc)) from None


def check_signing_key(data: bytes, expected: str, source: str) -> str:
    """The key file as text when it holds exactly the key `expected` (an ASCII-armored key, as apt reads from
    a .asc keyring), else InstallError showing expected vs got.  apt trusts every key in a signed-by file."""
    try:
        got = key_fingerprints(data)
        if b"-----BEGIN PGP PUBLIC KEY BLOCK-----" not in data:
            raise InstallError("not an ASCII-armored OpenPGP public key (apt reads .asc keyrings armored)")
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise InstallError(f"signing key from {source}: not an ASCII-armored OpenPGP public key") from None
    except InstallError as exc:
        raise InstallError(f"signing key from {source}: {exc}") from None
    if got != [expected]:
        raise InstallError(
            f"signing key from {source}: expected fingerprint {expected}, got {', '.join(got)}; refusing to trust "
            "it. For a mirror signed with its own key, set upstream_key_fingerprint (role: "
            "container_runtime_upstream_key_fingerprint) to that key's full fingerprint"
        )
    return text


def version_matches(installed: str | None, pin: str | None) -> bool:
    """An installed version satisfies a pin given exactly, as a prefix glob (20.10.*) or an upstream part."""
    if installed is None:
        return False
    if not pin:
        return True
    upstream = installed.split(":", 1)[-1]
    return any(fnmatch.fnmatchcase(v, pin) for v in (installed, upstream)) or upstream.startswith(pin + "+")


def install_args(packages: tuple[str, ...], pin: str | None) -> list[str]:
    """apt-get install arguments: the pin applies to the engine package (the first)."""
    if not pin:
        return list(packages)
    return [f"{packages[0]}={pin}", *packages[1:]]


def missing(installed: dict[str, str | None], packages: tuple[str, ...], pin: str | None) -> list[str]:
    """Packages to (re)install: absent ones, and the engine package when it does not match the pin."""
    out = [p for p in packages if installed.get(p) is None]
    if packages[0] not in out and not version_matches(installed.get(packages[0]), pin):
        out.insert(0, packages[0])
    return out


class Apt:
    """apt-get and dpkg-query on the host: the only package-manager calls."""

    ENV = {"DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C"}

    def __init__(self, host: Host):
        self.host = host

    def installed(self, packages: tuple[str, ...]) -> dict[str, str | None]:
        versions: dict[str, str | None] = {}
        for pkg in packages:
            rc, out, _err = self.host.run(["dpkg-query", "-W", "-f=${db:Status-Status} ${Version}", pkg], check=False)
            status, _sep, version = out.strip().partition(" ")
            versions[pkg] = version if rc == 0 and status == "installed" else None
        return versions

    def _apt(self, *args: str) -> None:
        cmd = ["apt-get", "-q", "-y", "-o", "Dpkg::Options::=--force-confold", *args]
        try:
            self.host.run(cmd, env=self.ENV)
        except HostError as exc:
            raise InstallError(str(exc)) from exc

    def update(self) -> None:
        self._apt("update")

    def install(self, args: list[str]) -> None:
        try:
            self._apt("install", "--no-install-recommends", "--allow-downgrades", *args)
        except InstallError:
            # A stale package index is the usual cause on fresh hosts: refresh once and retry.
            self.update()
            self._apt("install", "--no-install-recommends", "--allow-downgrades", *args)

    def remove(self, packages: list[str]) -> None:
        self._apt("remove", *packages)

    def architecture(self) -> str:
        return self.host.run(["dpkg", "--print-architecture"])[1].strip()
