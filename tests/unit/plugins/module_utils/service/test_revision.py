# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""keep_revision: the running revision copied from its spec label (untrusted, checked again), env restored."""

from __future__ import annotations

import pytest

from ansible_collections.containerops.fleet.plugins.module_utils.service.spec import (
    REVISION_KEYS,
    SpecError,
    normalize,
    revision_params,
    revision_spec,
    seal,
)

BASE = {
    "name": "web",
    "image": "reg.example:5000/web:2",
    "replicas": 3,
    "command": "serve --port 8000",
    "env": {"A": "1", "SECRET": "s3cr3t"},
    "ports": [{"container": 8000, "host_range": "21000-21099"}],
    "volumes": ["data:/data:ro"],
    "labels": {"team": "x"},
    "resources": {"cpus": 0.5, "memory": "256m"},
    "restart_policy": "always",
    "networks": ["b", "a"],
    "metrics_path": "/metrics",
}


@pytest.mark.parametrize(
    "hc",
    [
        {"http_path": "/healthz", "interval": "500ms"},
        {"command": "test -f /ok", "retries": 5},
        {"command": ["/bin/probe", "--fast"]},
        None,
    ],
)
def test_revision_params_give_back_the_same_spec(hc):
    spec = normalize({**BASE, "healthcheck": hc})
    label = {k: v for k, v in seal(spec, b"k").items() if k != "replicas"}
    again = normalize({**revision_params(label), "name": "web", "replicas": 3, "env": spec["env"]})
    assert {k: again[k] for k in REVISION_KEYS} == {k: spec[k] for k in REVISION_KEYS}


def test_revision_params_are_checked_again():
    spec = seal(normalize(BASE), b"k")
    bad = {**spec, "networks": ["net; rm -rf /"]}
    with pytest.raises(SpecError, match="networks"):
        normalize({**revision_params(bad), "name": "web", "env": {}})
    with pytest.raises(SpecError, match="revision"):
        revision_params("not a mapping")
    with pytest.raises(SpecError, match=r"healthcheck\.command"):
        revision_params({**spec, "healthcheck": {"command": ["NONE"]}})


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"env": ["A=1"]}, "env"),
        ({"env": {"A": "plain value"}}, r"env \(a value that is not a digest\)"),
        ({"restart_policy": "bogus"}, "restart_policy"),
        ({"ports": [{"container": 8000, "protocol": "tcp/../x", "host_range": [1, 2]}]}, r"ports\[0\]"),
        ({"ports": [{"container": "x", "protocol": "tcp"}]}, r"ports\[0\]"),
        ({"resources": {"cpus": float("nan"), "memory": 0}}, r"resources\.cpus"),
        ({"healthcheck": {"command": ["CMD"]}}, r"healthcheck\.command"),
        ({"healthcheck": "curl"}, "healthcheck"),
    ],
)
def test_a_label_a_task_could_not_give_is_refused_naming_the_field(change, field):
    label = {k: v for k, v in seal(normalize(BASE), b"k").items() if k != "replicas"}
    with pytest.raises(SpecError, match=rf"^revision: {field} in the running replicas' spec label"):
        revision_params({**label, **change})


def test_a_key_an_older_label_lacks_keeps_the_tasks_value_and_bad_values_never_trace_back():
    label = {k: v for k, v in seal(normalize(BASE), b"k").items() if k not in ("replicas", "networks", "metrics_path")}
    params = revision_params(label)
    assert "networks" not in params and "metrics_path" not in params
    task = {**BASE, "networks": ["task-net"], "metrics_path": "/m"}
    spec = revision_spec({**task, **params, "env": BASE["env"]})
    assert spec["networks"] == ["task-net"] and spec["metrics_path"] == "/m"
    with pytest.raises(SpecError, match=r"^revision: .*redeploy"):
        revision_spec({**task, **params, "env": BASE["env"], "volumes": [["not", "a string"]]})
    with pytest.raises(SpecError, match=r"^revision: networks\[0\]"):
        revision_spec({**task, **params, "env": BASE["env"], "networks": ["host"]})


def test_restore_env_takes_each_value_from_the_first_source_with_its_digest():
    from ansible_collections.containerops.fleet.plugins.module_utils.service.history import HistoryError, restore_env

    sealed = seal({"env": {"A": "1", "S": "old"}}, b"k")["env"]
    task, replica = {"A": "1", "S": "new"}, {"A": "9", "S": "old", "PATH": "/bin"}
    assert restore_env(sealed, [task, replica], b"k", str) == {"A": "1", "S": "old"}
    with pytest.raises(HistoryError, match="S is missing"):
        restore_env(sealed, [task], b"k", lambda name: f"{name} is missing")


def test_running_revisions_pick_what_most_replicas_run_and_skip_what_does_not_parse():
    import json

    from ansible_collections.containerops.fleet.plugins.module_utils.service.plan import running_revisions

    def entry(service, digest, spec, state="running"):
        labels = {"io.containerops.fleet.service": service, "io.containerops.fleet.spec-hash": digest}
        labels["io.containerops.fleet.spec"] = spec if isinstance(spec, str) else json.dumps(spec)
        return {"Id": digest, "State": state, "Labels": labels}

    entries = [
        entry("web", "new", {"image": "web:2"}),
        entry("web", "new", {"image": "web:2"}),
        entry("web", "old", {"image": "web:1"}),
        entry("web", "gone", {"image": "web:0"}, state="exited"),
        entry("db", "bad", "{not json"),
        entry("db", "list", "[1]"),
    ]
    assert running_revisions(entries) == {"web": {"spec_hash": "new", "spec": {"image": "web:2"}, "replicas": 2}}
