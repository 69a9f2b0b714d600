# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""podman from Debian: its API socket active, containers.conf merged and in effect, containers run."""

from __future__ import annotations

import json

import tomllib


def test_engine_installed_and_socket_enabled_and_running(host):
    assert host.package("podman").is_installed
    assert host.service("podman.socket").is_enabled
    assert host.service("podman.socket").is_running


def test_containers_conf_holds_only_valid_merged_keys(host):
    config = tomllib.loads(host.file("/etc/containers/containers.conf").content_string)
    assert config["containers"] == {"log_driver": "k8s-file", "log_size_max": 10485760, "default_sysctls": []}
    assert config["engine"] == {"events_logger": "file"}


def test_config_takes_effect(host):
    info = json.loads(host.check_output("podman info --format json"))
    assert info["host"]["logDriver"] == "k8s-file"
    assert info["host"]["eventLogger"] == "file"
    assert info["store"]["graphRoot"] == "/var/lib/containers/storage"


def test_a_container_runs_from_the_locally_imported_image(host):
    out = host.check_output("podman run --rm local/busybox:latest /busybox echo hello-from-podman")
    assert out == "hello-from-podman"
