# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which packages, repository and service each engine needs, and the apt layer that installs them.

The planning functions are pure; `Apt` is the only code here that runs commands (through a
`runtime_host.Host`), with DEBIAN_FRONTEND=noninteractive.
"""

from __future__ import annotations

import fnmatch
import shlex
from dataclasses import dataclass

from ansible_collections.containerops.fleet.plugins.module_utils.runtime.host import Host, HostError

SUPPORTED_FAMILIES = {"Debian": ("debian", "ubuntu")}
DOCKER_REPO_URL = "https://download.docker.com/linux/{distro}"
DOCKER_KEYRING = "/etc/apt/keyrings/docker.asc"
DOCKER_LIST = "/etc/apt/sources.list.d/docker.list"


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


def upstream_repo(distro: str, codename: str, arch: str) -> tuple[str, str, str]:
    """-> (signing key URL, keyring path, sources.list line) for the vendor repository (Docker's)."""
    base = DOCKER_REPO_URL.format(distro=distro)
    line = f"deb [arch={arch} signed-by={DOCKER_KEYRING}] {base} {codename} stable\n"
    return f"{base}/gpg", DOCKER_KEYRING, line


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
