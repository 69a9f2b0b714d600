# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The autoscaler role: the cron entry fires the wrapper, runs never overlap, logs rotate."""

from __future__ import annotations

import json
import shlex
import time

SCRIPT = "/usr/local/bin/fleet-autoscale"
LOG = "/var/log/fleet-autoscaler/autoscale.log"
LOCK = "/run/lock/fleet-autoscaler.lock"


def test_cron_entry_runs_the_wrapper_every_minute(host):
    crontab = host.check_output("crontab -l -u root")
    assert "#Ansible: containerops.fleet autoscaler" in crontab
    assert f"* * * * * {SCRIPT}" in crontab.splitlines()
    assert host.service("cron").is_running
    assert host.service("cron").is_enabled


def test_cron_has_fired_the_wrapper(host):
    # converge + idempotence take over a minute: cron has started a run already, or does within the next one
    deadline = time.monotonic() + 75
    while "start pid" not in host.file(LOG).content_string if host.file(LOG).exists else True:
        assert time.monotonic() < deadline, "cron did not run the wrapper within a minute"
        time.sleep(3)
    calls = host.file("/root/stub-calls").content_string.splitlines()
    started = [c for c in calls if c.startswith("start ")]
    assert started
    args = shlex.split(started[0].split(" ", 2)[2])
    assert args[:2] == ["-i", "inventories/lab"]
    assert json.loads(args[3]) == {
        "fleet_autoscale_state_file": "/var/lib/fleet-autoscaler/state.json",
        "fleet_autoscale_audit_log": "/var/log/fleet-autoscaler/decisions.log",
    }
    assert args[4] == "containerops.fleet.autoscale"


def test_overlapping_runs_never_act_together(host):
    # Pause cron and let a run it started finish, so the three runs below are the only ones: exactly one holds the
    # lock, the other two skip (a cron-fired run holding the lock would make all three skip).
    host.run_expect([0], "systemctl stop cron")
    try:
        host.run_expect([0], f"flock -w 60 {LOCK} true")
        before = len(host.file(LOG).content_string.splitlines())
        calls_before = len(host.file("/root/stub-calls").content_string.splitlines())
        host.run_expect([0], f"for i in 1 2 3; do {SCRIPT} & sleep 0.3; done; wait")
        new = host.file(LOG).content_string.splitlines()[before:]
        calls = host.file("/root/stub-calls").content_string.splitlines()
    finally:
        host.run_expect([0], "systemctl start cron")
    assert sum(f"skipped: another autoscale run holds {LOCK}" in line for line in new) == 2, new
    assert sum(" start pid " in line for line in new) == 1, new
    assert [c.split(" ")[0] for c in calls[calls_before:]] == ["start", "end"], calls[calls_before:]
    # every run of the stand-in, by cron or by hand, ended before the next one started
    running = None
    for call in calls:
        verb, pid = call.split(" ")[:2]
        if verb == "start":
            assert running is None, f"run {pid} started while {running} was running"
            running = pid
        else:
            assert running == pid
            running = None


def test_wrapper_and_logs_are_private(host):
    assert host.file(SCRIPT).mode == 0o750
    assert host.file("/var/log/fleet-autoscaler").mode == 0o750
    assert host.file("/var/lib/fleet-autoscaler").mode == 0o700
    assert host.file(LOG).mode == 0o640


def test_logrotate_rotates_the_run_log(host):
    # Cron would fire a run that holds the lock (and logs "skipped" for ours) at any minute: pause it, and let a
    # run it already started finish (stopping cron leaves its jobs running).
    host.run_expect([0], "systemctl stop cron")
    try:
        host.run_expect([0], f"flock -w 60 {LOCK} true")
        host.run_expect([0], "logrotate --debug /etc/logrotate.d/fleet-autoscaler")
        host.run_expect([0], "logrotate --force /etc/logrotate.d/fleet-autoscaler")
        assert host.file(LOG + ".1").exists
        host.run_expect([0], SCRIPT)
        assert "start pid" in host.file(LOG).content_string
    finally:
        host.run_expect([0], "systemctl start cron")
