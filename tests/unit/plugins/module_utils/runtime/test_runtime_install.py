# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import base64
from pathlib import Path

import pytest

from ansible_collections.containerops.fleet.plugins.module_utils.runtime.install import (
    DOCKER_KEY_FINGERPRINT,
    ENGINES,
    InstallError,
    check_signing_key,
    check_supported,
    expected_fingerprint,
    install_args,
    key_fingerprints,
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
HERE = Path(__file__).resolve().parent
# https://download.docker.com/linux/debian/gpg (sha256 1500c1f5...b3a570); gpg --show-keys: 9DC8 5822 ... 0EBF CD88
DOCKER_KEY = (HERE / "docker-release-key.asc").read_bytes()
# A throwaway ed25519 key made with gpg for these tests; gpg --show-keys: 9AD7946CF8CA0C977826C2798BE3C4F845461701
MIRROR_KEY = (HERE / "mirror-test-key.asc").read_bytes()
MIRROR_FPR = "9AD7946CF8CA0C977826C2798BE3C4F845461701"


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


def test_upstream_repo_for_a_mirror():
    key_url, _keyring, line = upstream_repo("debian", "bookworm", "amd64", "https://mirror.example.net/docker/linux/")
    assert key_url == "https://mirror.example.net/docker/linux/debian/gpg"
    assert " https://mirror.example.net/docker/linux/debian bookworm stable\n" in line
    with pytest.raises(InstallError, match=r"upstream_url: 'https://x.example.net/a b' is not allowed"):
        upstream_repo("debian", "bookworm", "amd64", "https://x.example.net/a b")


def test_key_fingerprints_match_gpg():
    assert DOCKER_KEY_FINGERPRINT == "9DC858229FC7DD38854AE2D88D81803C0EBFCD88"
    assert key_fingerprints(DOCKER_KEY) == [DOCKER_KEY_FINGERPRINT]  # RSA 4096, with its signing subkey
    assert key_fingerprints(MIRROR_KEY) == [MIRROR_FPR]  # ed25519
    armored = DOCKER_KEY.decode().splitlines()
    body = "".join(line for line in armored[2:] if line and not line.startswith(("=", "-----")))
    assert key_fingerprints(base64.b64decode(body)) == [DOCKER_KEY_FINGERPRINT]  # binary (dearmored) keyring
    commented = DOCKER_KEY.replace(b"BLOCK-----\n", b"BLOCK-----\r\nComment: Docker\r\n", 1)
    assert key_fingerprints(commented) == [DOCKER_KEY_FINGERPRINT]  # armor headers, CRLF


def test_signing_key_with_the_pinned_fingerprint_is_accepted():
    assert check_signing_key(DOCKER_KEY, DOCKER_KEY_FINGERPRINT, "https://download.docker.com/linux/debian/gpg") == (
        DOCKER_KEY.decode()
    )
    assert check_signing_key(MIRROR_KEY, MIRROR_FPR, "https://mirror.example.net/gpg") == MIRROR_KEY.decode()


def test_signing_key_with_another_fingerprint_is_refused_showing_expected_and_got():
    with pytest.raises(InstallError) as err:
        check_signing_key(MIRROR_KEY, DOCKER_KEY_FINGERPRINT, "https://download.docker.com/linux/debian/gpg")
    message = str(err.value)
    assert message.startswith("signing key from https://download.docker.com/linux/debian/gpg: ")
    assert f"expected fingerprint {DOCKER_KEY_FINGERPRINT}, got {MIRROR_FPR}" in message
    assert "upstream_key_fingerprint" in message


def test_a_keyring_with_an_extra_key_or_no_key_is_refused():
    both = DOCKER_KEY + b"\n" + MIRROR_KEY
    with pytest.raises(
        InstallError,
        match=rf"expected fingerprint {DOCKER_KEY_FINGERPRINT}, got "
        rf"{DOCKER_KEY_FINGERPRINT}, {MIRROR_FPR}",
    ):
        check_signing_key(both, DOCKER_KEY_FINGERPRINT, "u")
    with pytest.raises(InstallError, match=r"signing key from u: not an OpenPGP public key"):
        check_signing_key(b"<html>404 Not Found</html>", DOCKER_KEY_FINGERPRINT, "u")
    with pytest.raises(InstallError, match=r"signing key from u: not an OpenPGP public key"):
        check_signing_key(DOCKER_KEY + b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBF\n", DOCKER_KEY_FINGERPRINT, "u")
    with pytest.raises(InstallError, match=r"signing key from u: not an OpenPGP public key"):
        check_signing_key(
            b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n!!!\n-----END PGP PUBLIC KEY BLOCK-----\n",
            DOCKER_KEY_FINGERPRINT,
            "u",
        )


def test_expected_fingerprint_default_and_override():
    assert expected_fingerprint(None) == DOCKER_KEY_FINGERPRINT
    assert expected_fingerprint("") == DOCKER_KEY_FINGERPRINT
    assert expected_fingerprint("9ad7 946c f8ca 0c97 7826  c279 8be3 c4f8 4546 1701") == MIRROR_FPR
    short = r"upstream_key_fingerprint: '0EBFCD88' is not allowed; use the key's full fingerprint: 40"
    with pytest.raises(InstallError, match=short):
        expected_fingerprint("0EBFCD88")  # a short key ID is not a fingerprint
