# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import os
import socket
import tempfile
import threading

import pytest

from ansible_collections.containerops.fleet.plugins.module_utils.haproxy.runtime import (
    HaproxyRuntimeError,
    RuntimeSocket,
    admin_state,
    check_answer,
    parse_servers_state,
    parse_stat,
)

STATE = """1
# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port
4 web 1 node1-web-1 172.18.0.2 2 0 1 1 20 15 3 3 6 0 0 0 - 8001 - 0 0 - - 0
4 web 2 node2-web-1 172.18.0.6 2 8 3 1 20 15 3 3 6 0 0 0 - 8001 - 0 0 - - 0
4 web 3 node3-web-1 172.18.0.5 0 1 1 1 20 15 3 3 6 0 0 0 - 8002 - 0 0 - - 0
"""  # noqa: E501

STAT = """# pxname,svname,qcur,qmax,scur,smax,status,check_status,
web,node1-web-1,0,0,2,5,UP,L7OK,
web,BACKEND,0,0,2,5,UP,,
"""


def test_parse_servers_state_maps_admin_and_operational_state():
    servers = parse_servers_state(STATE)
    assert servers[("web", "node1-web-1")].as_dict() == {
        "backend": "web",
        "name": "node1-web-1",
        "address": "172.18.0.2",
        "port": 8001,
        "admin": "ready",
        "operational": "UP",
        "weight": 1,
        "initial_weight": 1,
    }
    assert servers[("web", "node2-web-1")].admin == "drain"
    assert servers[("web", "node2-web-1")].weight == 3
    assert servers[("web", "node3-web-1")].admin == "maint"
    assert servers[("web", "node3-web-1")].operational == "DOWN"
    assert parse_servers_state("1\n# be_id be_name srv_id srv_name\n") == {}


def test_admin_bits():
    assert [admin_state(b) for b in (0, 1, 2, 4, 8, 0x10, 0x20, 9)] == [
        "ready",
        "maint",
        "maint",
        "maint",
        "drain",
        "drain",
        "maint",
        "maint",
    ]


def test_parse_stat_keys_by_proxy_and_server():
    rows = parse_stat(STAT)
    assert rows[("web", "node1-web-1")]["scur"] == "2"
    assert rows[("web", "node1-web-1")]["check_status"] == "L7OK"


@pytest.mark.parametrize("answer", ["", "\n", "New server registered.\n", "Server deleted.\n", "IP changed from a"])
def test_success_answers(answer):
    assert check_answer("x", answer) == answer.strip()


def test_error_answers_raise_with_haproxys_message():
    with pytest.raises(HaproxyRuntimeError, match=r"HAProxy refused `set server web/x state ready`: No such server."):
        check_answer("set server web/x state ready", "No such server.\n")


def test_socket_client_sends_one_command_and_reads_to_eof():
    directory = tempfile.mkdtemp()
    path = os.path.join(directory, "admin.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    seen = []

    def serve():
        conn, _peer = server.accept()
        seen.append(conn.recv(1024))
        conn.sendall(STATE.encode())
        conn.close()

    thread = threading.Thread(target=serve)
    thread.start()
    servers = RuntimeSocket(path).servers_state("web")
    thread.join()
    server.close()
    assert seen == [b"show servers state web\n"]
    assert len(servers) == 3


def test_missing_socket_says_so():
    with pytest.raises(HaproxyRuntimeError, match=r"no HAProxy admin socket at /nonexistent\.sock"):
        RuntimeSocket("/nonexistent.sock").raw("show info")
