# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""container_runtime's plan and execute against a fake host: the vendor key is pinned, the API stays off the network."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ansible_collections.containerops.fleet.plugins.module_utils.runtime import config as rc
from ansible_collections.containerops.fleet.plugins.module_utils.runtime import install as ri
from ansible_collections.containerops.fleet.plugins.module_utils.runtime import runner
from ansible_collections.containerops.fleet.plugins.modules import container_runtime as module

HERE = Path(__file__).resolve().parent
ROLE = HERE.parents[4] / "roles" / "container_runtime"
DOCKER_KEY = (HERE / "docker-release-key.asc").read_text()
MIRROR_KEY = (HERE / "mirror-test-key.asc").read_text()
MIRROR_FPR = "9AD7946CF8CA0C977826C2798BE3C4F845461701"
BOOKWORM = "ID=debian\nVERSION_CODENAME=bookworm\n"
LIST = (
    "deb [arch=amd64 signed-by=/etc/apt/keyrings/docker.asc] https://download.docker.com/linux/debian bookworm stable\n"
)


class FakeHost:
    """Files in a dict; every package is installed; downloads answer `served`."""

    def __init__(self, files: dict[str, str], served: str = DOCKER_KEY):
        self.files = {"/etc/os-release": BOOKWORM, **files}
        self.served = served
        self.fetched: list[str] = []
        self.written: dict[str, tuple[str, int]] = {}
        self.commands: list[list[str]] = []

    def read(self, path):
        return self.files.get(path)

    def write(self, path, text, mode=0o644):
        self.files[path] = text
        self.written[path] = (text, mode)

    def remove(self, path):
        self.files.pop(path, None)

    def fetch(self, url):
        self.fetched.append(url)
        return self.served.encode()

    def which(self, _name):
        return None

    def run(self, args, env=None, check=True, data=None):
        self.commands.append(list(args))
        if args[0] == "dpkg-query":
            return 0, "installed 5:24.0.7-1~debian.12~bookworm", ""
        if args[:2] == ["dpkg", "--print-architecture"]:
            return 0, "amd64\n", ""
        return 0, "", ""


class FakeEngine:
    def __init__(self, host):
        self.host = host
        self.spec = ri.ENGINES["docker"]

    def is_active(self):
        return True

    def is_enabled(self):
        return True

    def exec_start(self):
        return "/usr/bin/dockerd --containerd=/run/containerd/containerd.sock"

    def validate(self, _text):
        return None


def params(**overrides):
    values = {
        "engine": "docker",
        "state": "present",
        "source": "upstream",
        "version": None,
        "config": {},
        "users": [],
        "timeout": 60,
        "allow_insecure_tcp": False,
        "upstream_url": None,
        "upstream_key_fingerprint": None,
    }
    values.update(overrides)
    return values


def test_the_docker_key_is_written_only_when_its_fingerprint_is_the_pinned_one():
    host = FakeHost({})
    p = runner.plan(host, FakeEngine(host), params())
    assert p.repo
    runner.execute(host, FakeEngine(host), params(), p)
    assert host.fetched == ["https://download.docker.com/linux/debian/gpg"]
    assert host.written["/etc/apt/keyrings/docker.asc"] == (DOCKER_KEY, 0o644)
    assert host.written["/etc/apt/sources.list.d/docker.list"] == (LIST, 0o644)


def test_a_substituted_key_is_refused_before_anything_is_written():
    host = FakeHost({}, served=MIRROR_KEY)
    p = runner.plan(host, FakeEngine(host), params())
    with pytest.raises(ri.InstallError, match=rf"expected fingerprint {ri.DOCKER_KEY_FINGERPRINT}, got {MIRROR_FPR}"):
        runner.execute(host, FakeEngine(host), params(), p)
    assert host.written == {}
    assert not [c for c in host.commands if c[0] == "apt-get"]


def test_a_mirror_with_its_own_key_by_option():
    host = FakeHost({}, served=MIRROR_KEY)
    mirror = params(upstream_url="https://mirror.example.net/docker", upstream_key_fingerprint=MIRROR_FPR.lower())
    p = runner.plan(host, FakeEngine(host), mirror)
    runner.execute(host, FakeEngine(host), mirror, p)
    assert host.fetched == ["https://mirror.example.net/docker/debian/gpg"]
    assert host.written["/etc/apt/keyrings/docker.asc"][0] == MIRROR_KEY
    assert "https://mirror.example.net/docker/debian bookworm stable" in host.written[ri.DOCKER_LIST][0]


def test_a_keyring_already_on_the_host_with_another_fingerprint_is_replaced():
    host = FakeHost({"/etc/apt/keyrings/docker.asc": MIRROR_KEY, ri.DOCKER_LIST: LIST})
    assert runner.plan(host, FakeEngine(host), params()).repo
    good = FakeHost({"/etc/apt/keyrings/docker.asc": DOCKER_KEY, ri.DOCKER_LIST: LIST})
    assert runner.plan(good, FakeEngine(good), params()).repo is None


def test_an_insecure_tcp_api_is_refused_unless_allowed():
    host = FakeHost({"/etc/docker/daemon.json": "{}"})
    wanted = {"hosts": ["tcp://0.0.0.0:2375"]}
    with pytest.raises(rc.ConfigError, match=r"config.hosts: .*allow_insecure_tcp"):
        runner.plan(host, FakeEngine(host), params(source="distro", config=wanted))
    p = runner.plan(host, FakeEngine(host), params(source="distro", config=wanted, allow_insecure_tcp=True))
    assert p.config_keys == ["hosts"]


def _documented_options() -> dict:
    return yaml.safe_load(module.DOCUMENTATION)["options"]


def test_module_documents_every_option_with_its_default():
    documented = _documented_options()
    assert set(documented) == set(module.ARGUMENT_SPEC)
    for name, spec in module.ARGUMENT_SPEC.items():
        assert documented[name].get("default") == spec.get("default"), name
        assert documented[name]["type"] == spec["type"], name
    assert module.ARGUMENT_SPEC["allow_insecure_tcp"] == {"type": "bool", "default": False}
    assert "9DC858229FC7DD38854AE2D88D81803C0EBFCD88" in str(documented["upstream_key_fingerprint"]["description"])


def test_role_passes_every_module_option():
    tasks = yaml.safe_load((ROLE / "tasks" / "main.yml").read_text())
    args = tasks[0]["containerops.fleet.container_runtime"]
    assert set(args) == set(module.ARGUMENT_SPEC)
    assert args["allow_insecure_tcp"] == "{{ container_runtime_allow_insecure_tcp }}"
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    assert defaults["container_runtime_allow_insecure_tcp"] is False
