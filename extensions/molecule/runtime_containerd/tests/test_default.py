# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""containerd from Debian: running, configured through structural TOML edits, running containers."""

from __future__ import annotations

import tomllib


def test_engine_installed_enabled_and_running(host):
    assert host.package("containerd").is_installed
    assert host.service("containerd").is_enabled
    assert host.service("containerd").is_running
    assert not host.package("docker.io").is_installed


def test_config_toml_merged_structurally(host):
    config = tomllib.loads(host.file("/etc/containerd/config.toml").content_string)
    assert config["version"] == 2
    assert config["metrics"]["address"] == "127.0.0.1:1338"
    cri = config["plugins"]["io.containerd.grpc.v1.cri"]
    assert cri["containerd"]["snapshotter"] == "overlayfs"
    assert cri["cni"]["bin_dir"] == "/usr/lib/cni"  # the package's own keys are kept
    assert "io.containerd.cri.v1.images" not in config["plugins"]


def test_config_takes_effect_metrics_answer(host):
    out = host.check_output(
        "python3 -c \"import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:1338/v1/metrics').read().decode())\""
    )
    assert "containerd_build_info" in out or "process_cpu_seconds_total" in out


def test_a_container_runs_from_the_locally_imported_image(host):
    out = host.check_output("ctr run --rm docker.io/local/busybox:latest fleet-verify /busybox echo hello-from-ctr")
    assert out == "hello-from-ctr"
