# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docker from Debian: running, answering, configured as asked (after the side effect's change)."""

from __future__ import annotations

import json


def test_engine_installed_enabled_and_running(host):
    assert host.package("docker.io").is_installed
    assert host.service("docker").is_enabled
    assert host.service("docker").is_running
    assert not host.package("python3-docker").is_installed


def test_a_container_runs_from_the_locally_imported_image(host):
    out = host.check_output("docker run --rm local/busybox:latest /busybox echo hello-from-busybox")
    assert out == "hello-from-busybox"


def test_daemon_json_holds_the_merged_config_and_survived_the_rejected_ones(host):
    config = json.loads(host.file("/etc/docker/daemon.json").content_string)
    assert config["log-opts"] == {"max-size": "20m", "max-file": "3"}
    assert "storage-driver" not in config
    assert "bip" not in config


def test_new_log_options_apply_to_new_containers(host):
    cid = host.check_output("docker run -d local/busybox:latest /busybox true")
    try:
        log_config = json.loads(host.check_output(f"docker inspect -f '{{{{json .HostConfig.LogConfig}}}}' {cid}"))
    finally:
        host.run(f"docker rm -f {cid}")
    assert log_config == {"Type": "json-file", "Config": {"max-file": "3", "max-size": "20m"}}


def test_metrics_answer_on_the_host_address_only(host):
    addr = host.check_output("ip -4 -o route get 1.1.1.1 | sed -n 's/.* src \\([0-9.]*\\).*/\\1/p'")
    metrics = host.check_output(
        f"python3 -c \"import urllib.request; print(urllib.request.urlopen('http://{addr}:9323/metrics').read().decode())\""
    )
    assert "engine_daemon_engine_info" in metrics
    assert (
        host.run("python3 -c \"import urllib.request; urllib.request.urlopen('http://127.0.0.1:9323/metrics')\"").rc
        != 0
    )


def test_users_are_in_the_docker_group(host):
    assert "docker" in host.user("root").groups
