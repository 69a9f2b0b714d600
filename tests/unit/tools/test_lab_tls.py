# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's own CA and HTTPS certificate (tools/lab/lab.py ensure_tls): made once, keys private, chain valid."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

_LAB_PY = Path(__file__).resolve().parents[3] / "tools" / "lab" / "lab.py"
_SPEC = importlib.util.spec_from_file_location("fleet_lab_tls", _LAB_PY)
lab = importlib.util.module_from_spec(_SPEC)
sys.modules["fleet_lab_tls"] = lab
_SPEC.loader.exec_module(lab)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed here")
def test_ca_and_certificate_for_localhost_and_the_load_balancers(tmp_path):
    directory = tmp_path / "tls"
    lab.ensure_tls(directory, ["lb1"])
    assert directory.stat().st_mode & 0o777 == 0o700
    for name in ("ca.key", "lab.key"):
        assert (directory / name).stat().st_mode & 0o777 == 0o600
    verify = subprocess.run(
        ["openssl", "verify", "-CAfile", str(directory / "ca.crt"), str(directory / "lab.crt")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    san = subprocess.run(
        ["openssl", "x509", "-in", str(directory / "lab.crt"), "-noout", "-ext", "subjectAltName"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "DNS:localhost" in san and "IP Address:127.0.0.1" in san and "DNS:lb1" in san
    before = (directory / "lab.crt").read_text()
    lab.ensure_tls(directory, ["lb1"])  # made once: a second lab-up keeps it
    assert (directory / "lab.crt").read_text() == before


def test_lb1_publishes_https_on_8443_by_default():
    lb1 = next(h for h in lab.default_hosts(8080, 8404, 9090, 3000) if h.name == "lb1")
    assert (8443, 443) in lb1.publish
