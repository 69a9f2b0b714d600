# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

from pathlib import Path

import yaml

from ansible_collections.containerops.fleet.plugins.module_utils.runtime.engine import (
    engine_error,
    facts_containerd,
    facts_docker,
    facts_podman,
    parse_ctr_version,
)

ROLE = Path(__file__).resolve().parents[5] / "roles" / "container_runtime"

CTR_VERSION = """Client:
  Version:  1.6.20~ds1
  Revision: 1.6.20~ds1-1+deb12u3
  Go version: go1.19.8

Server:
  Version:  1.6.20~ds1
  Revision: 1.6.20~ds1-1+deb12u3
  UUID: 1bf5e4e1-bd41-42d3-8d61-076c6cbeec6f
"""

DOCKER_JOURNAL = """Starting docker.service - Docker Application Container Engine...
time="2026-11-23T19:40:29.643860441Z" level=info msg="Starting up"
time="2026-11-23T19:40:29.644041909Z" level=warning msg="Your kernel does not support cgroup blkio weight_device"
time="2026-11-23T19:40:29.7Z" level=info msg="stopping event stream" error="context canceled"
failed to start daemon: Error initializing network controller: invalid CIDR address: 999.1.1.1/99
docker.service: Main process exited, code=exited, status=1/FAILURE
docker.service: Failed with result 'exit-code'.
Failed to start docker.service - Docker Application Container Engine.
failed to start daemon: Error initializing network controller: invalid CIDR address: 999.1.1.1/99
"""


def test_engine_error_keeps_the_engine_own_words_once():
    assert engine_error(DOCKER_JOURNAL) == (
        "failed to start daemon: Error initializing network controller: invalid CIDR address: 999.1.1.1/99"
    )
    assert (
        engine_error('time="x" level=fatal msg="failed to load TOML"\n')
        == 'time="x" level=fatal msg="failed to load TOML"'
    )
    assert engine_error("just\nsome\nlines\nhere\n", lines=2) == "lines\nhere"
    assert engine_error("") == ""


def test_parse_ctr_version():
    assert parse_ctr_version(CTR_VERSION) == "1.6.20~ds1"
    assert parse_ctr_version("Client:\n  Version:  1.6.20\n") is None


def test_facts_docker():
    info = {"Driver": "overlay2", "CgroupDriver": "cgroupfs", "CgroupVersion": "1", "ServerVersion": "20.10.24"}
    assert facts_docker(info, {"Version": "20.10.24+dfsg1"}) == {
        "version": "20.10.24+dfsg1",
        "storage_driver": "overlay2",
        "cgroup_driver": "cgroupfs",
        "cgroup_version": "1",
    }


def test_facts_containerd_both_layouts():
    v2 = {
        "version": 2,
        "plugins": {
            "io.containerd.grpc.v1.cri": {
                "containerd": {"snapshotter": "native", "runtimes": {"runc": {"options": {"SystemdCgroup": True}}}}
            }
        },
    }
    assert facts_containerd(v2, "1.6.20", "1") == {
        "version": "1.6.20",
        "storage_driver": "native",
        "cgroup_driver": "systemd",
        "cgroup_version": "1",
    }
    v3 = {"version": 3, "plugins": {"io.containerd.cri.v1.images": {"snapshotter": "zfs"}}}
    assert facts_containerd(v3, "2.0.0", "2")["storage_driver"] == "zfs"
    assert facts_containerd({}, "1.6", "2")["cgroup_driver"] == "cgroupfs"
    assert facts_containerd({}, "1.6", "2")["storage_driver"] == "overlayfs"


def test_facts_podman():
    info = {
        "host": {"cgroupManager": "systemd", "cgroupVersion": "v1"},
        "store": {"graphDriverName": "overlay"},
        "version": {"Version": "4.3.1"},
    }
    assert facts_podman(info) == {
        "version": "4.3.1",
        "storage_driver": "overlay",
        "cgroup_driver": "systemd",
        "cgroup_version": "1",
    }


def test_role_argument_specs_mirror_defaults():
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    spec = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
    assert set(defaults) == set(spec)
    for key, value in defaults.items():
        assert spec[key]["default"] == value, key
