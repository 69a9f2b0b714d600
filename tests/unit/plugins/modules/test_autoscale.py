# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""containerops.fleet.autoscale: the runner (state file, audit log, check mode) and the module process itself."""

from __future__ import annotations

import base64
import json
import os
import re
import stat
import subprocess
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ansible_collections.containerops.fleet.plugins.module_utils.autoscale import runner
from ansible_collections.containerops.fleet.plugins.module_utils.autoscale.history import (
    HistoryError,
    load,
    record,
    save,
    within_window,
)
from ansible_collections.containerops.fleet.plugins.module_utils.autoscale.hpa import AutoscaleError
from ansible_collections.containerops.fleet.plugins.module_utils.autoscale.prometheus import BadQuery, MetricUnavailable
from ansible_collections.containerops.fleet.plugins.module_utils.autoscale.runner import check

ROOT = Path(__file__).resolve().parents[4]
MODULE = ROOT / "plugins" / "modules" / "autoscale.py"
T0 = 1795000000.0


def params(**over):
    base = {
        "service": "web",
        "current_replicas": 4,
        "target_value": 100.0,
        "metric_value": None,
        "prometheus_url": None,
        "query": None,
        "prometheus_timeout": 10.0,
        "validate_certs": True,
        "min_replicas": 1,
        "max_replicas": 10,
        "tolerance": 0.1,
        "scale_down_stabilization": 300,
        "scale_up_limit": None,
        "state_file": None,
        "audit_log": None,
    }
    base.update(over)
    return base


# --------------------------------------------------------------------------- state file


def test_history_prunes_to_the_window_and_keeps_other_services():
    history = {"web": [(T0 - 400, 9), (T0 - 100, 5)], "api": [(T0 - 1000, 2)]}
    updated = record(history, "web", 3, T0, 300)
    assert updated == {"web": [(T0 - 100, 5), (T0, 3)], "api": [(T0 - 1000, 2)]}
    assert history["web"] == [(T0 - 400, 9), (T0 - 100, 5)]  # input untouched
    assert within_window([(T0 + 60, 1), (T0 - 300, 2)], T0, 300) == [(T0 - 300, 2)]


def test_state_file_round_trip_is_atomic_and_private(tmp_path):
    path = tmp_path / "sub" / "state.json"
    save(str(path), {"web": [(T0, 3)]})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert json.loads(path.read_text()) == {"version": 1, "services": {"web": [[T0, 3]]}}
    assert load(str(path)) == {"web": [(T0, 3)]}
    save(str(path), {"web": [(T0, 3), (T0 + 60, 2)]})
    assert load(str(path)) == {"web": [(T0, 3), (T0 + 60, 2)]}
    assert os.listdir(path.parent) == ["state.json"]  # no temporary file left behind


def test_missing_state_file_is_empty_and_a_corrupt_one_fails_naming_it(tmp_path):
    assert load(str(tmp_path / "none.json")) == {}
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(HistoryError, match=rf"^state_file: cannot read {re.escape(str(bad))}: .*fix or remove"):
        load(str(bad))
    bad.write_text('{"services": {"web": [[1, "x"]]}}')
    with pytest.raises(HistoryError, match="malformed entry"):
        load(str(bad))


# --------------------------------------------------------------------------- runner


def test_a_dip_inside_the_window_is_held_and_recorded(tmp_path):
    state = str(tmp_path / "state.json")
    first = check(params(current_replicas=4, metric_value=100.0, state_file=state), now=T0)
    assert (first["decision"], first["changed"], first["recommendation"]) == ("hold", False, 4)
    dip = check(params(current_replicas=4, metric_value=25.0, state_file=state), now=T0 + 60)
    assert (dip["decision"], dip["desired_replicas"], dip["recommendation"]) == ("hold", 4, 1)
    assert load(state) == {"web": [(T0, 4), (T0 + 60, 1)]}
    # the 4 from T0 leaves the window at T0 + 300; the 1 from T0 + 60 is still in it
    later = check(params(current_replicas=4, metric_value=50.0, state_file=state), now=T0 + 301)
    assert (later["decision"], later["desired_replicas"], later["changed"]) == ("scale_down", 2, True)
    assert load(state) == {"web": [(T0 + 60, 1), (T0 + 301, 2)]}


def test_check_mode_decides_but_writes_nothing(tmp_path):
    state, audit = tmp_path / "state.json", tmp_path / "audit.log"
    result = check(params(metric_value=300.0, state_file=str(state), audit_log=str(audit)), check_mode=True, now=T0)
    assert (result["decision"], result["desired_replicas"], result["changed"]) == ("scale_up", 8, True)
    assert result["diff"] == {"before": {"replicas": 4}, "after": {"replicas": 8}}
    assert not state.exists()
    assert not audit.exists()


def test_audit_log_gets_one_line_per_decision(tmp_path):
    audit = tmp_path / "audit.log"
    check(params(metric_value=300.0, audit_log=str(audit)), now=T0)
    check(params(metric_value=float("nan"), audit_log=str(audit)), now=T0 + 60)
    lines = [json.loads(x) for x in audit.read_text().splitlines()]
    assert [(x["decision"], x["metric"], x["current"], x["desired"], x["service"]) for x in lines] == [
        ("scale_up", 300.0, 4, 8, "web"),
        ("hold", None, 4, 4, "web"),
    ]
    assert lines[1]["reason"] == "hold at 4: metric value is NaN; not scaling on bad data"
    assert stat.S_IMODE(audit.stat().st_mode) == 0o640


def test_bad_metric_records_nothing(tmp_path):
    state = tmp_path / "state.json"
    result = check(params(metric_value=-1.0, state_file=str(state)), now=T0)
    assert (result["decision"], result["metric_value"], result["recommendation"]) == ("hold", None, None)
    assert not state.exists()


def test_unreachable_prometheus_holds():
    result = check(params(prometheus_url="http://127.0.0.1:1", query="up", prometheus_timeout=2.0), now=T0)
    assert result["decision"] == "hold"
    assert result["reason"].startswith("hold at 4: Prometheus at http://127.0.0.1:1 is unreachable")


def test_bad_parameters_fail_before_any_query():
    with pytest.raises(AutoscaleError, match=r"^max_replicas"):
        check(params(min_replicas=5, max_replicas=2, prometheus_url="http://127.0.0.1:1", query="up"))


# --------------------------------------------------------------------------- the module process


def run_module(args: dict, tmp_path: Path) -> tuple[int, dict]:
    args_file = tmp_path / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    env = dict(os.environ, PYTHONPATH=str(ROOT / ".build" / "collections"))
    proc = subprocess.run(
        [sys.executable, str(MODULE), str(args_file)], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    return proc.returncode, json.loads(proc.stdout)


def test_module_decides_and_reports(tmp_path):
    rc, out = run_module(
        {"current_replicas": 2, "metric_value": 180, "target_value": 100, "max_replicas": 10}, tmp_path
    )
    assert rc == 0
    assert (out["decision"], out["desired_replicas"], out["changed"], out["metric_value"]) == ("scale_up", 4, True, 180)
    assert "set state_file" in json.dumps(out["warnings"])


def test_module_null_metric_holds(tmp_path):
    rc, out = run_module(
        {"current_replicas": 2, "metric_value": None, "target_value": 100, "max_replicas": 10, "state_file": None},
        tmp_path,
    )
    assert (rc, out["decision"], out["changed"]) == (0, "hold", False)
    assert out["reason"] == "hold at 2: no metric value; not scaling on bad data"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"target_value": 100, "max_replicas": 10}, "one of the following is required: metric_value, prometheus_url"),
        (
            {"target_value": 100, "max_replicas": 10, "metric_value": 1, "prometheus_url": "http://x", "query": "up"},
            "parameters are mutually exclusive: metric_value|prometheus_url",
        ),
        ({"target_value": 100, "max_replicas": 10, "prometheus_url": "http://x"}, "prometheus_url, query"),
        ({"target_value": 0, "max_replicas": 10, "metric_value": 1}, "target_value: 0.0 must be a number > 0"),
        ({"target_value": 1, "min_replicas": 3, "max_replicas": 2, "metric_value": 1}, "max_replicas: 2 is below"),
    ],
)
def test_module_rejects_bad_parameters(tmp_path, args, message):
    rc, out = run_module({"current_replicas": 2, **args}, tmp_path)
    assert rc == 1
    assert out["failed"] is True
    assert message in out["msg"]


# --------------------------------------------------------------------------- hostile Prometheus answers

_ONE = '{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,VALUE]}]}}'
_MALFORMED_BODIES = {
    "data-list": (200, '{"status":"success","data":[1]}', "data is a list, not an object"),
    "result-dict": (200, '{"status":"success","data":{"resultType":"vector","result":{}}}', "result is a dict"),
    "no-value": (200, '{"status":"success","data":{"resultType":"vector","result":[{"metric":{}}]}}', "no value"),
    "short-value": (
        200,
        '{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":["x"]}]}}',
        "not a [time, number] pair",
    ),
    "not-json": (200, "this is not json", "not JSON"),
    "html-200": (200, "<html><body>Login</body></html>", "not JSON"),
    "html-400": (400, "<html><body>Bad Request</body></html>", "answered HTTP 400"),
    "html-502": (502, "<html><body>Bad Gateway</body></html>", "answered HTTP 502"),
    "huge-int": (
        200,
        '{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,' + "9" * 400 + "]}]}}",
        "out of range",
    ),
    "huge-float": (
        200,
        '{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"1.7e308"]}]}}',
        "too large",
    ),
    "nan": (200, _ONE.replace("VALUE", '"NaN"'), "NaN"),
    "inf": (200, _ONE.replace("VALUE", '"+Inf"'), "inf"),
    "list": (200, "[1, 2, 3]", "no status"),
    "item-list": (200, '{"status":"success","data":{"resultType":"vector","result":[[1,"2"]]}}', "not an object"),
    "type-missing": (200, '{"status":"success","data":{"result":[]}}', "resultType is missing"),
}


class _Malformed(BaseHTTPRequestHandler):
    authorization: list[str | None] = []

    def do_GET(self):
        type(self).authorization.append(self.headers.get("Authorization"))
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query).get("query", [""])[0]
        status, body, _named = _MALFORMED_BODIES.get(query, (200, _GOOD, ""))
        payload = body.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


_GOOD = '{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"300"]}]}}'


@pytest.fixture(scope="module")
def hostile_prometheus():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Malformed)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("query", sorted(_MALFORMED_BODIES))
def test_malformed_prometheus_answer_holds_naming_what_was_wrong(hostile_prometheus, tmp_path, query):
    state, audit = tmp_path / "state.json", tmp_path / "audit.log"
    result = check(
        params(prometheus_url=hostile_prometheus, query=query, state_file=str(state), audit_log=str(audit)), now=T0
    )
    assert (result["decision"], result["desired_replicas"], result["changed"]) == ("hold", 4, False)
    assert result["metric_value"] is None and result["recommendation"] is None
    assert result["reason"].startswith("hold at 4: ") and result["reason"].endswith("; not scaling on bad data")
    assert _MALFORMED_BODIES[query][2] in result["reason"]
    assert not state.exists()
    [line] = audit.read_text().splitlines()
    assert json.loads(line)["decision"] == "hold"


def test_malformed_answer_holds_in_the_module_process_too(hostile_prometheus, tmp_path):
    rc, out = run_module(
        {
            "current_replicas": 2,
            "prometheus_url": hostile_prometheus,
            "query": "data-list",
            "target_value": 100,
            "max_replicas": 10,
        },
        tmp_path,
    )
    assert (rc, out["decision"], out["changed"]) == (0, "hold", False)
    assert "data is a list, not an object" in out["reason"]


# --------------------------------------------------------------------------- credentials


def test_credentials_in_the_url_fail_naming_the_options_and_are_never_shown(tmp_path):
    audit = tmp_path / "audit.log"
    rc, out = run_module(
        {
            "current_replicas": 2,
            "prometheus_url": "http://fleet:hunter2s3cret@127.0.0.1:1",
            "query": "up",
            "target_value": 100,
            "max_replicas": 10,
            "audit_log": str(audit),
        },
        tmp_path,
    )
    assert rc == 1 and out["failed"] is True
    assert "prometheus_username" in out["msg"] and "prometheus_password" in out["msg"]
    assert "hunter2s3cret" not in json.dumps(out)
    assert not audit.exists()


def test_credentials_in_the_url_fail_in_the_runner():
    with pytest.raises(BadQuery, match="prometheus_username"):
        check(params(prometheus_url="http://fleet:hunter2s3cret@127.0.0.1:1", query="up"), now=T0)


def test_password_goes_in_a_header_and_nowhere_else(hostile_prometheus, tmp_path):
    state, audit = tmp_path / "state.json", tmp_path / "audit.log"
    _Malformed.authorization.clear()
    rc, out = run_module(
        {
            "service": "web",
            "current_replicas": 2,
            "prometheus_url": hostile_prometheus,
            "prometheus_username": "fleet",
            "prometheus_password": "hunter2s3cret",
            "query": "good",
            "target_value": 100,
            "max_replicas": 10,
            "state_file": str(state),
            "audit_log": str(audit),
        },
        tmp_path,
    )
    assert (rc, out["decision"], out["desired_replicas"]) == (0, "scale_up", 6)
    assert _Malformed.authorization == ["Basic " + base64.b64encode(b"fleet:hunter2s3cret").decode()]
    for text in (json.dumps(out), state.read_text(), audit.read_text()):
        assert "hunter2s3cret" not in text


def test_bearer_token_goes_in_a_header_and_nowhere_else(hostile_prometheus, tmp_path):
    _Malformed.authorization.clear()
    rc, out = run_module(
        {
            "current_replicas": 2,
            "prometheus_url": hostile_prometheus,
            "prometheus_bearer_token": "tok3n.s3cret",
            "query": "not-json",
            "target_value": 100,
            "max_replicas": 10,
        },
        tmp_path,
    )
    assert (rc, out["decision"]) == (0, "hold")
    assert _Malformed.authorization == ["Bearer tok3n.s3cret"]
    assert "tok3n.s3cret" not in json.dumps(out)


def test_a_secret_echoed_by_prometheus_is_scrubbed_from_the_reason(monkeypatch):
    def echo(*_args, **kwargs):
        raise MetricUnavailable(f"proxy says: bad password {kwargs['password']} for {kwargs['username']}")

    monkeypatch.setattr(runner, "query_value", echo)
    result = check(
        params(
            prometheus_url="http://mon1:9090", query="up", prometheus_username="fleet", prometheus_password="hunter2"
        ),
        now=T0,
    )
    assert result["decision"] == "hold"
    assert "hunter2" not in result["reason"] and "********" in result["reason"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"prometheus_username": "fleet"}, "prometheus_username, prometheus_password"),
        ({"prometheus_password": "s3cret"}, "prometheus_username, prometheus_password"),
        (
            {"prometheus_username": "fleet", "prometheus_password": "s3cret", "prometheus_bearer_token": "tok3n"},
            "mutually exclusive",
        ),
    ],
)
def test_module_rejects_bad_credential_combinations(tmp_path, args, message):
    base = {"current_replicas": 2, "prometheus_url": "http://127.0.0.1:1", "query": "up", "target_value": 1}
    rc, out = run_module({**base, "max_replicas": 10, **args}, tmp_path)
    assert rc == 1
    assert message in out["msg"]


def test_module_credentials_need_prometheus_url(tmp_path):
    rc, out = run_module(
        {
            "current_replicas": 2,
            "metric_value": 1,
            "target_value": 1,
            "max_replicas": 10,
            "prometheus_bearer_token": "tok3n",
        },
        tmp_path,
    )
    assert rc == 1
    assert "required by 'prometheus_bearer_token': prometheus_url" in out["msg"]
