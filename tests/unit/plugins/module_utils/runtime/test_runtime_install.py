# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.containerops.fleet.plugins.module_utils.runtime.install import (
    ENGINES,
    InstallError,
    check_supported,
    install_args,
    missing,
    packages_for,
    parse_os_release,
    upstream_repo,
    version_matches,
)

BOOKWORM = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_CODENAME=bookworm\n'
JAMMY = "ID=ubuntu\nID_LIKE=debian\nVERSION_CODENAME=jammy\nUBUNTU_CODENAME=jammy\n"
MINT = 'ID=linuxmint\nID_LIKE="ubuntu debian"\nVERSION_CODENAME=virginia\nUBUNTU_CODENAME=jammy\n'
ROCKY = 'ID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.3"\n'


def test_supported_distros():
    assert check_supported(parse_os_release(BOOKWORM)) == "debian"
    assert check_supported(parse_os_release(JAMMY)) == "ubuntu"
    assert check_supported(parse_os_release(MINT)) == "ubuntu"


def test_unsupported_family_lists_the_supported_ones():
    with pytest.raises(
        InstallError, match=r"unsupported OS 'rocky': .* supports the OS families Debian \(Debian, Ubuntu\)"
    ):
        check_supported(parse_os_release(ROCKY))


def test_packages_per_engine_and_source():
    assert packages_for("docker", "distro") == ("docker.io",)
    assert packages_for("docker", "upstream") == ("docker-ce", "docker-ce-cli", "containerd.io")
    assert packages_for("containerd", "upstream") == ("containerd.io",)
    assert packages_for("podman", "distro") == ("podman",)
    with pytest.raises(InstallError, match=r"source=upstream: podman has no vendor apt repository.*use source=distro"):
        packages_for("podman", "upstream")


def test_upstream_repo_line_and_key_path():
    key_url, keyring, line = upstream_repo("debian", "bookworm", "amd64")
    assert key_url == "https://download.docker.com/linux/debian/gpg"
    assert keyring == "/etc/apt/keyrings/docker.asc"
    assert line == (
        "deb [arch=amd64 signed-by=/etc/apt/keyrings/docker.asc] "
        "https://download.docker.com/linux/debian bookworm stable\n"
    )
    assert "linux/ubuntu jammy stable" in upstream_repo("ubuntu", "jammy", "arm64")[2]


@pytest.mark.parametrize(
    ("installed", "pin", "ok"),
    [
        ("20.10.24+dfsg1-1+deb12u1+b6", None, True),
        ("20.10.24+dfsg1-1+deb12u1+b6", "20.10.24+dfsg1-1+deb12u1+b6", True),
        ("20.10.24+dfsg1-1+deb12u1+b6", "20.10.*", True),
        ("20.10.24+dfsg1-1+deb12u1+b6", "20.10.24", True),
        ("20.10.24+dfsg1-1+deb12u1+b6", "20.10.2", False),
        ("5:24.0.7-1~debian.12~bookworm", "24.0.*", True),
        ("5:24.0.7-1~debian.12~bookworm", "5:24.0.7-1~debian.12~bookworm", True),
        ("5:24.0.7-1~debian.12~bookworm", "25.*", False),
        (None, None, False),
    ],
)
def test_version_matches(installed, pin, ok):
    assert version_matches(installed, pin) is ok


def test_missing_and_install_args():
    pkgs = ENGINES["docker"].upstream_packages
    assert missing({"docker-ce": None, "docker-ce-cli": None, "containerd.io": None}, pkgs, None) == list(pkgs)
    everything = {"docker-ce": "5:24.0.7-1", "docker-ce-cli": "5:24.0.7-1", "containerd.io": "1.6.2"}
    assert missing(everything, pkgs, "24.0.*") == []
    assert missing(everything, pkgs, "25.0.*") == ["docker-ce"]
    assert install_args(("docker-ce",), "25.0.*") == ["docker-ce=25.0.*"]
    assert install_args(("docker.io",), None) == ["docker.io"]
