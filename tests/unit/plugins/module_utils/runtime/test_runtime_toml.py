# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest
import tomllib

from ansible_collections.containerops.fleet.plugins.module_utils.runtime.toml import TomlError, dumps, loads

DEBIAN_CONTAINERD = """version = 2

[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/usr/lib/cni"
      conf_dir = "/etc/cni/net.d"
  [plugins."io.containerd.internal.v1.opt"]
    path = "/var/lib/containerd/opt"
"""


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"version": 2, "root": "/var/lib/containerd", "oom_score": -999, "ratio": 0.5, "debug": True},
        {"a": {"b": {"c": {"d": 1}}}, "z": 1},
        {
            "plugins": {
                "io.containerd.grpc.v1.cri": {
                    "containerd": {"runtimes": {"runc": {"options": {"SystemdCgroup": True}}}}
                }
            }
        },
        {"list": [1, 2, 3], "strings": ["a", 'quote"d', "back\\slash", "tab\t", "uni\u00e9"], "empty": {}},
        {"key with space": "v", "dotted.key": {"x": 1}},
        {"arr": [{"name": "a", "n": 1}, {"name": "b", "sub": {"k": "v"}}]},
        {"inline": [{"a": 1}, 2]},
        {"nested": {"empty": {}, "after": "x"}},
    ],
)
def test_round_trip(data):
    assert tomllib.loads(dumps(data)) == data


def test_debian_containerd_config_round_trips():
    data = loads(DEBIAN_CONTAINERD)
    assert loads(dumps(data)) == data
    assert dumps(data).startswith("version = 2\n")


def test_bad_toml_names_the_problem():
    with pytest.raises(TomlError, match=r"not valid TOML"):
        loads("[plugins\n")


def test_null_cannot_be_written():
    with pytest.raises(TomlError, match=r"a.b: TOML has no null"):
        dumps({"a": {"b": None}})
