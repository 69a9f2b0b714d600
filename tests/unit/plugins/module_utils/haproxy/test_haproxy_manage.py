# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.containerops.fleet.plugins.module_utils.haproxy.runner import (
    HaproxyManageError,
    Manager,
    Wanted,
    config_after,
    manage,
    plan,
)
from ansible_collections.containerops.fleet.plugins.module_utils.haproxy.runtime import (
    HaproxyRuntimeError,
    RuntimeSocket,
    ServerState,
)

REF = "web/node1-web-1"


def srv(admin="ready", weight=1, address="10.0.0.1", port=8001):
    return ServerState("web", "node1-web-1", address, port, admin, "UP", weight, 1)


def want(state, **kw):
    return Wanted("web", "node1-web-1", state, **kw)


@pytest.mark.parametrize(
    ("current", "state", "expected"),
    [
        (srv(), "drain", [f"set server {REF} state drain"]),
        (srv("drain"), "drain", []),
        (srv("drain"), "enabled", [f"set server {REF} state ready"]),
        (srv(), "disabled", [f"set server {REF} state maint"]),
        (srv("maint"), "disabled", []),
        (srv("drain"), "present", []),
        (srv(), "absent", [f"set server {REF} state maint", f"del server {REF}"]),
        (srv("maint"), "absent", [f"del server {REF}"]),
        (None, "absent", []),
    ],
)
def test_plan_sends_only_what_differs(current, state, expected):
    assert plan(current, want(state)) == expected


def test_plan_weight_and_address():
    assert plan(srv(weight=3), want("enabled", weight=3)) == []
    assert plan(srv(), want("enabled", weight=3)) == [f"set server {REF} weight 3"]
    assert plan(srv(), want("present", address="10.0.0.9", port=80)) == [f"set server {REF} addr 10.0.0.9 port 80"]
    with pytest.raises(HaproxyManageError, match="weight: 300 is out of range"):
        plan(srv(), want("enabled", weight=300))


def test_plan_adds_missing_server_with_default_server_options_joining_when_healthy():
    commands = plan(None, want("present", address="10.0.0.1", port=8001, weight=2), ["check", "inter", "1s"])
    assert commands == [
        f"add server {REF} 10.0.0.1:8001 check inter 1s weight 2",
        f"enable health {REF}",
        f"set server {REF} health down",
        f"set server {REF} state ready",
    ]
    bare = plan(None, want("present", address="a", port=1))
    assert bare == [f"add server {REF} a:1", f"set server {REF} state ready"]


def test_plan_refuses_to_enable_a_missing_server():
    with pytest.raises(HaproxyManageError, match="does not exist; use state=present with address and port"):
        plan(None, want("enabled"))


CONFIG = "backend web\n    default-server check\n    server node1-web-1 10.0.0.1:8001 weight 2\n"


def test_config_after_follows_added_moved_and_removed_servers():
    assert config_after(CONFIG, "server node1-web-1 10.0.0.1:8001 weight 2", want("drain")) is None
    line = "server node1-web-1 10.0.0.1:8001 weight 2"
    assert config_after(CONFIG, line, want("present", address="10.0.0.1", port=8001)) is None
    moved = config_after(CONFIG, line, want("present", address="10.0.0.9", port=80))
    assert "    server node1-web-1 10.0.0.9:80 weight 2\n" in moved
    assert "node1-web-1" not in config_after(CONFIG, line, want("absent"))
    added = config_after("backend web\n", None, want("present", address="a", port=1))
    assert added == "backend web\n    server node1-web-1 a:1\n"


class FakeApi:
    def __init__(self, servers):
        self.servers = {(s.backend, s.name): s for s in servers}
        self.sent = []

    def servers_state(self, backend=None):
        return dict(self.servers)

    def stat(self):
        return {key: {"scur": "0", "qcur": "0", "status": "UP"} for key in self.servers}

    def command(self, command):
        self.sent.append(command)
        words = command.split()
        backend, name = words[2].split("/")
        if words[:2] == ["set", "server"] and words[3] == "state":
            old = self.servers[(backend, name)]
            self.servers[(backend, name)] = ServerState(
                backend, name, old.address, old.port, words[4], "UP", old.weight, 1
            )
        return ""

    def raw(self, command):
        return "1\n# state\n"


def make(tmp_path, servers):
    config = tmp_path / "haproxy.cfg"
    config.write_text(CONFIG)
    validated = []
    manager = Manager(
        FakeApi(servers), str(config), str(tmp_path / "state"), validated.append, wait_timeout=1, sleep=lambda s: None
    )
    return manager, validated


def test_manage_changes_once_then_reports_unchanged_and_persists_state(tmp_path):
    manager, _validated = make(tmp_path, [srv()])
    first = manage(manager, want("drain"), wait=True, check_mode=False)
    assert first["changed"] and first["commands"] == [f"set server {REF} state drain"]
    assert first["diff"] == {
        "before": {"exists": True, "address": "10.0.0.1", "port": 8001, "state": "ready", "weight": 1},
        "after": {"exists": True, "address": "10.0.0.1", "port": 8001, "state": "drain", "weight": 1},
    }
    assert (tmp_path / "state").read_text() == "1\n# state\n"
    second = manage(manager, want("drain"), wait=True, check_mode=False)
    assert not second["changed"] and second["commands"] == []


def test_manage_check_mode_predicts_and_touches_nothing(tmp_path):
    manager, validated = make(tmp_path, [srv()])
    result = manage(manager, want("absent"), wait=False, check_mode=True)
    assert result["changed"] and result["config_changed"]
    assert result["server"] == {"exists": False}
    assert manager.api.sent == [] and validated == []
    assert (tmp_path / "haproxy.cfg").read_text() == CONFIG
    assert not (tmp_path / "state").exists()


def test_manage_absent_removes_the_server_line_after_validating(tmp_path):
    manager, validated = make(tmp_path, [srv()])
    manage(manager, want("absent"), wait=False, check_mode=False)
    assert manager.api.sent == [f"set server {REF} state maint", f"del server {REF}"]
    assert len(validated) == 1
    assert "node1-web-1" not in (tmp_path / "haproxy.cfg").read_text()


def test_manage_rejected_config_leaves_the_file(tmp_path):
    config = tmp_path / "haproxy.cfg"
    config.write_text(CONFIG)

    def reject(path):
        raise HaproxyManageError("haproxy -c rejected the updated configuration: boom")

    manager = Manager(FakeApi([srv()]), str(config), None, reject, wait_timeout=1, sleep=lambda s: None)
    with pytest.raises(HaproxyManageError, match="boom"):
        manage(manager, want("present", address="10.0.0.9", port=80), wait=False, check_mode=False)
    assert config.read_text() == CONFIG
    assert list(tmp_path.iterdir()) == [config]


def test_wait_drained_times_out_with_a_clear_message(tmp_path):
    manager, _validated = make(tmp_path, [srv()])
    manager.api.stat = lambda: {("web", "node1-web-1"): {"scur": "3", "qcur": "0"}}
    with pytest.raises(HaproxyManageError, match=r"timed out after 0\.01s waiting for web/node1-web-1 to have no"):
        manager.wait_timeout = 0.01
        manager.wait_drained(want("drain"))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("address", "10.0.0.1;disable frontend web"),
        ("address", "10.0.0.1\nshutdown sessions server web/x"),
        ("port", 0),
    ],
)
def test_hostile_values_never_reach_the_admin_socket(tmp_path, field, value):
    manager, _validated = make(tmp_path, [])
    with pytest.raises(HaproxyManageError, match=f"^{field}: .* is not allowed"):
        good = {"address": "10.0.0.1", "port": 8001}
        manage(manager, want("present", **{**good, field: value}), wait=False, check_mode=False)
    assert manager.api.sent == []


@pytest.mark.parametrize("name", ["web-1;disable frontend web", "web 1", "web-1\n", ""])
def test_hostile_backend_or_server_names_are_refused(tmp_path, name):
    manager, _validated = make(tmp_path, [])
    with pytest.raises(HaproxyManageError, match=r"^name: "):
        manage(manager, Wanted("web", name, "absent"), wait=False, check_mode=False)


def test_the_socket_client_itself_refuses_chained_commands():
    with pytest.raises(HaproxyRuntimeError, match="refusing to send"):
        RuntimeSocket("/nonexistent").raw("show stat; disable frontend web")
    with pytest.raises(HaproxyRuntimeError, match="refusing to send"):
        RuntimeSocket("/nonexistent").raw("show stat\nshutdown frontend web")
