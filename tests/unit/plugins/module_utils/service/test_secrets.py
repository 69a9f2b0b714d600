# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An env value never leaves container_service: not in its result, diff, invocation, labels or history.

The module runs for real (AnsibleModule with the collection's argument spec, the runner, the docker driver);
only the engine's transport is the fake one that replays recorded Docker answers.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args
from fake_engine import IMAGE, FakeEngine

from ansible_collections.containerops.fleet.plugins.module_utils.service import runner
from ansible_collections.containerops.fleet.plugins.module_utils.service.docker import DockerService
from ansible_collections.containerops.fleet.plugins.module_utils.service.spec import L_SPEC
from ansible_collections.containerops.fleet.plugins.modules import container_service

SECRET = "pa55-w0rd-QX7"
OTHER = "pa55-w0rd-ROTATED"


@pytest.fixture
def host(monkeypatch, tmp_path):
    engine = FakeEngine()
    monkeypatch.setattr(runner, "engine_from_params", lambda params: engine)
    monkeypatch.setattr(DockerService, "_bound_ports", lambda self: set())
    monkeypatch.setattr(DockerService, "poll", 0)

    def run(env: dict, check_mode: bool = False, diff: bool = True) -> dict:
        args = {
            "name": "rectest-db",
            "image": IMAGE["RepoTags"][0],
            "replicas": 2,
            "env": env,
            "healthcheck": {"command": "echo ok"},
            "advertise_address": "127.0.0.1",
            "history_dir": str(tmp_path / "services"),
            "_ansible_check_mode": check_mode,
            "_ansible_diff": diff,
        }
        printed: list[dict] = []
        # What the module prints for the controller: after Ansible's own no_log filtering.
        monkeypatch.setattr(basic.AnsibleModule, "_record_module_result", lambda self, o: printed.append(o))
        with patch_module_args(args), pytest.raises(SystemExit):
            container_service.main()
        return printed[-1]

    return engine, run, tmp_path


def everything(engine: FakeEngine, result: dict, tmp_path: Path) -> str:
    """All a person or a log could see: the result (diff, invocation), labels, and every file written."""
    labels = [c.labels for c in engine.containers_by_id.values()]
    files = [p.read_bytes().decode(errors="replace") for p in tmp_path.rglob("*") if p.is_file()]
    return json.dumps(result) + json.dumps(labels) + "".join(files)


def test_a_secret_in_env_appears_nowhere_but_in_the_container(host):
    engine, run, tmp_path = host
    first = run({"DB_PASSWORD": SECRET, "MODE": "1"})
    assert first["changed"]
    # the replicas do get it ...
    assert all(f"DB_PASSWORD={SECRET}" in c.body["Env"] for c in engine.containers_by_id.values())
    # ... and nothing else does
    assert SECRET not in everything(engine, first, tmp_path)
    assert first["invocation"]["module_args"]["env"] == {
        "DB_PASSWORD": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER",
        "MODE": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER",
    }
    # a short value like "1" does not blank every "1" of the result (replica names keep theirs)
    assert [e["replica"] for e in first["endpoints"]] == [1, 2]
    assert all("********" not in e["container"] for e in first["endpoints"])


def test_rotating_the_secret_rolls_the_replicas_and_the_diff_names_only_the_variable(host):
    engine, run, tmp_path = host
    first = run({"DB_PASSWORD": SECRET})
    again = run({"DB_PASSWORD": SECRET})
    assert not again["changed"]
    rotated = run({"DB_PASSWORD": OTHER})
    assert rotated["changed"] and rotated["spec_hash"] != first["spec_hash"]
    assert rotated["changed_fields"] == ["env"]
    before = rotated["diff"]["before"]["spec"]["env"]["DB_PASSWORD"]
    after = rotated["diff"]["after"]["spec"]["env"]["DB_PASSWORD"]
    assert before != after and before.startswith("hmac-sha256:")
    seen = everything(engine, rotated, tmp_path)
    assert SECRET not in seen and OTHER not in seen


def test_the_digest_is_keyed_per_host(host):
    """A label's digest cannot be checked against guesses without the host's key (0600 beside the history)."""
    engine, run, tmp_path = host
    run({"DB_PASSWORD": SECRET})
    key = tmp_path / "seal.key"
    assert key.stat().st_mode & 0o777 == 0o600 and len(key.read_bytes()) == 32
    label = json.loads(next(iter(engine.containers_by_id.values())).labels[L_SPEC])
    from ansible_collections.containerops.fleet.plugins.module_utils.service.spec import sealed_value

    assert label["env"]["DB_PASSWORD"] == sealed_value(SECRET, key.read_bytes())
    assert label["env"]["DB_PASSWORD"] != sealed_value(SECRET)  # the unkeyed digest does not match


def test_check_mode_writes_no_key(host):
    _engine, run, tmp_path = host
    run({"DB_PASSWORD": SECRET}, check_mode=True)
    assert not (tmp_path / "seal.key").exists()
