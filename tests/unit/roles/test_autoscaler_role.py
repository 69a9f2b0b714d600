# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The autoscaler role without a host: the spec mirrors the defaults and the wrapper renders to valid bash that
quotes what it is given.  Cron, flock and logrotate on a real host: extensions/molecule/autoscaler."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path

import jinja2
import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.filter.core import FilterModule
from ansible.plugins.test.core import TestModule as AnsibleTests
from ansible.template import Templar, is_trusted_as_template, trust_as_template

ROLE = Path(__file__).resolve().parents[3] / "roles" / "autoscaler"


def _yaml(path: Path):
    return yaml.safe_load(path.read_text())


def _render(template: str, **over) -> str:
    values = {**_yaml(ROLE / "defaults" / "main.yml"), **over}
    values["_autoscaler_extra_vars"] = {
        "fleet_autoscale_state_file": values["autoscaler_state_file"],
        "fleet_autoscale_audit_log": values["autoscaler_audit_log"],
        **values["autoscaler_extra_vars"],
    }
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(ROLE / "templates"), trim_blocks=True, undefined=jinja2.StrictUndefined
    )
    env.filters.update(to_json=json.dumps, quote=lambda s: shlex.quote(str(s)), dirname=os.path.dirname)
    env.filters["regex_replace"] = FilterModule().filters()["regex_replace"]
    values.setdefault("_autoscaler_credentials", {})
    return env.get_template(template).render(ansible_managed="managed", **values)


def test_argument_specs_mirror_defaults():
    defaults = _yaml(ROLE / "defaults" / "main.yml")
    options = _yaml(ROLE / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]
    assert sorted(defaults) == sorted(options)
    assert all(k.startswith("autoscaler_") for k in defaults)
    assert options["autoscaler_prometheus_password"]["no_log"] is True
    assert options["autoscaler_prometheus_bearer_token"]["no_log"] is True


def test_wrapper_is_valid_bash_and_quotes_its_inputs(tmp_path):
    script = _render(
        "fleet-autoscale.sh.j2",
        autoscaler_project_dir="/srv/my fleet",
        autoscaler_environment={"ANSIBLE_CONFIG": "/srv/my fleet/ansible.cfg; rm -rf /"},
        autoscaler_extra_vars={"note": "it's"},
    )
    path = tmp_path / "fleet-autoscale"
    path.write_text(script)
    subprocess.run(["bash", "-n", str(path)], check=True)
    assert "cd '/srv/my fleet' ||" in script
    assert "export ANSIBLE_CONFIG='/srv/my fleet/ansible.cfg; rm -rf /'" in script
    assert "flock --nonblock 9" in script
    assert "containerops.fleet.autoscale 9>&-" in script
    extra_line = next(line for line in script.splitlines() if line.strip().startswith("-e "))
    extra = shlex.split(extra_line.rstrip("\\ "))[1]
    assert json.loads(extra) == {
        "fleet_autoscale_state_file": "/var/lib/fleet-autoscaler/state.json",
        "fleet_autoscale_audit_log": "/var/log/fleet-autoscaler/decisions.log",
        "note": "it's",
    }


def test_logrotate_covers_both_logs():
    config = _render("logrotate.j2")
    assert config.splitlines()[1] == (
        "/var/log/fleet-autoscaler/autoscale.log /var/log/fleet-autoscaler/decisions.log {"
    )
    assert "    rotate 14" in config.splitlines()


# --------------------------------------------------------------------------- hostile values (run the role's own checks)


def _trusted(value):
    """What Ansible does to the role's own YAML: its strings may be templates."""
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {k: _trusted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_trusted(v) for v in value]
    return value


def _templar(variables: dict) -> Templar:
    return Templar(loader=DataLoader(), variables=variables)


def _variables(**over) -> dict:
    """Defaults, then the inventory's values (data, never templates), then the role's vars/main.yml."""
    variables = {**_yaml(ROLE / "defaults" / "main.yml"), **over}
    variables.update(_trusted(_yaml(ROLE / "vars" / "main.yml")))
    variables["__autoscaler_ansible_playbook"] = {"stat": {"exists": True, "executable": True}}
    return variables


def _preflight_failures(**over) -> list[str]:
    """The rendered fail_msg of every assert in tasks/preflight.yml that fails with these values (loops expanded)."""
    variables = _variables(**over)
    failures = []
    for task in _yaml(ROLE / "tasks" / "preflight.yml"):
        spec = task.get("ansible.builtin.assert")
        if spec is None:
            continue
        items = [None]
        if "loop" in task:
            items = _templar(variables).template(_trusted(task["loop"]))
        for item in items:
            templar = _templar({**variables, "item": item})
            when = task.get("when", [])
            if not all(templar.evaluate_conditional(trust_as_template(c)) for c in [when] if c) and when:
                continue
            that = spec["that"] if isinstance(spec["that"], list) else [spec["that"]]
            if not all(templar.evaluate_conditional(trust_as_template(c)) for c in that):
                failures.append(str(templar.template(trust_as_template(spec["fail_msg"]))))
    return failures


def test_preflight_accepts_the_defaults_and_a_usual_setup():
    assert _preflight_failures() == []
    assert (
        _preflight_failures(
            autoscaler_project_dir="/srv/fleet-ops_2",
            autoscaler_inventory="inventories/prod/hosts.yml",
            autoscaler_playbook="playbooks/autoscale.yml",
            autoscaler_cron_minute="*/2",
            autoscaler_cron_hour="6-22",
            autoscaler_user="fleet-ops",
            autoscaler_environment={"ANSIBLE_CONFIG": "/srv/fleet/ansible.cfg", "STUB_SLEEP": 3},
            autoscaler_prometheus_username="fleet",
            autoscaler_prometheus_password="correct horse battery staple!",
        )
        == []
    )
    assert _preflight_failures(autoscaler_prometheus_bearer_token="eyJhbGciOi.J9-_x~+/==") == []


HOSTILE_PATHS = [
    "/opt/fleet$(touch /tmp/pwned)",
    "/opt/fleet`touch /tmp/pwned`",
    "/opt/fleet'; touch /tmp/pwned; '",
    '/opt/fleet"; touch /tmp/pwned; "',
    "/opt/fleet\ntouch /tmp/pwned",
    "/opt/fleet\n",
    "/opt/my fleet",
    "/opt/fleet;touch /tmp/pwned",
    "/opt/fleet%touch /tmp/pwned",
    "/opt/fleet {\n  postrotate\n    touch /tmp/pwned\n  endscript\n}",
]
PATH_VARIABLES = [
    "autoscaler_project_dir",
    "autoscaler_ansible_playbook",
    "autoscaler_script",
    "autoscaler_lock_file",
    "autoscaler_log_file",
    "autoscaler_audit_log",
    "autoscaler_state_file",
    "autoscaler_credentials_file",
]


@pytest.mark.parametrize("variable", PATH_VARIABLES)
@pytest.mark.parametrize("value", HOSTILE_PATHS)
def test_preflight_refuses_a_path_that_would_run_as_root_naming_it(variable, value):
    over = {variable: value}
    if variable == "autoscaler_log_file":
        over["autoscaler_log_dir"] = "/opt"
    failures = _preflight_failures(**over)
    assert any(f.startswith(f"{variable}: ") for f in failures), failures


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("autoscaler_log_dir", "/var/log/x$(id)"),
        ("autoscaler_log_dir", "/var/log/x\n"),
        ("autoscaler_inventory", "inventory$(id)"),
        ("autoscaler_inventory", "inventory\n"),
        ("autoscaler_inventory", "--ssh-common-args=-oProxyCommand=id"),
        ("autoscaler_inventory", "my inventory"),
        ("autoscaler_playbook", "playbook.yml`id`"),
        ("autoscaler_playbook", "-e@/etc/shadow"),
        ("autoscaler_user", "root\n* * * * * root id"),
        ("autoscaler_user", "root;id"),
        ("autoscaler_user", "root root"),
        ("autoscaler_cron_minute", "*\n"),
        ("autoscaler_cron_minute", "* * * * * root id #"),
        ("autoscaler_cron_hour", "*\n* * * * * root id"),
        ("autoscaler_cron_hour", "*%id"),
        ("autoscaler_log_rotate", "daily\n    postrotate"),
        ("autoscaler_run_timeout", "300; id"),
        ("autoscaler_log_keep", "14\n"),
    ],
)
def test_preflight_refuses_other_values_that_reach_the_wrapper_cron_or_logrotate(variable, value):
    failures = _preflight_failures(**{variable: value})
    assert any(f.startswith(f"{variable}: ") for f in failures), failures


@pytest.mark.parametrize(
    "environment",
    [
        {"A=1; touch /tmp/pwned; B": "x"},
        {"ANSIBLE_CONFIG\n": "x"},
        {"ANSIBLE_CONFIG": "/srv/x$(touch /tmp/pwned)"},
        {"ANSIBLE_CONFIG": "/srv/x\nid"},
        {"ANSIBLE_CONFIG": "/srv/my fleet/ansible.cfg"},
    ],
)
def test_preflight_refuses_hostile_environment_naming_it(environment):
    failures = _preflight_failures(autoscaler_environment=environment)
    assert any(f.startswith("autoscaler_environment: ") for f in failures), failures


@pytest.mark.parametrize(
    ("over", "variable"),
    [
        ({"autoscaler_prometheus_username": "fleet"}, "autoscaler_prometheus_password"),
        ({"autoscaler_prometheus_password": "s3cret"}, "autoscaler_prometheus_username"),
        (
            {"autoscaler_prometheus_username": "fl:eet", "autoscaler_prometheus_password": "s3cret"},
            "autoscaler_prometheus_username",
        ),
        (
            {"autoscaler_prometheus_username": "fleet", "autoscaler_prometheus_password": "s3\ncret"},
            "autoscaler_prometheus_password",
        ),
        ({"autoscaler_prometheus_bearer_token": "s3cret token"}, "autoscaler_prometheus_bearer_token"),
        (
            {
                "autoscaler_prometheus_username": "fleet",
                "autoscaler_prometheus_password": "s3cret",
                "autoscaler_prometheus_bearer_token": "t",
            },
            "autoscaler_prometheus_bearer_token",
        ),
    ],
)
def test_preflight_refuses_bad_credentials_without_showing_them(over, variable):
    failures = _preflight_failures(**over)
    assert any(f.startswith(f"{variable}: ") for f in failures), failures
    assert not any("s3cret" in f or "s3\ncret" in f for f in failures)


def test_preflight_runs_before_any_file_is_written():
    tasks = _yaml(ROLE / "tasks" / "main.yml")
    assert tasks[0]["ansible.builtin.import_tasks"] == "preflight.yml"
    modules = {k for t in _yaml(ROLE / "tasks" / "preflight.yml") for k in t if k.startswith("ansible.")}
    assert modules <= {"ansible.builtin.assert", "ansible.builtin.stat"}


# --------------------------------------------------------------------------- the templates quote, whatever they get


def _role_values(**over) -> dict:
    """Every variable the templates see, the role's vars/main.yml templated the way Ansible does."""
    variables = _variables(**over)
    templar = _templar(variables)
    return {k: templar.template(v) for k, v in variables.items()}


def _render_real(template: str, **over) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(ROLE / "templates"), trim_blocks=True, undefined=jinja2.StrictUndefined
    )
    env.filters.update(FilterModule().filters())
    env.tests.update(AnsibleTests().tests())
    return env.get_template(template).render(ansible_managed="managed", **_role_values(**over))


def _run_wrapper(tmp_path: Path, **over) -> subprocess.CompletedProcess:
    stub = tmp_path / "bin" / "ansible-playbook"
    stub.parent.mkdir()
    stub.write_text('#!/bin/bash\nprintf "%s\\n" "$@" > "$(dirname "$0")/../args"\n')
    stub.chmod(0o755)
    values = {
        "autoscaler_ansible_playbook": str(stub),
        "autoscaler_log_file": str(tmp_path / "run.log"),
        "autoscaler_lock_file": str(tmp_path / "lock"),
        **over,
    }
    script = tmp_path / "fleet-autoscale"
    script.write_text(_render_real("fleet-autoscale.sh.j2", **values))
    return subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=30, check=False)


@pytest.mark.parametrize("trick", ["$(touch {pwned})", "`touch {pwned}`", "'$(touch {pwned})'", '"; touch {pwned}; "'])
def test_wrapper_never_runs_what_the_project_dir_holds(tmp_path, trick):
    pwned = tmp_path / "pwned"
    project = f"{tmp_path}/no such dir {trick.format(pwned=pwned)}"
    proc = _run_wrapper(tmp_path, autoscaler_project_dir=project)
    assert proc.returncode == 1
    assert not pwned.exists()
    assert f"failed: cannot enter {project}" in (tmp_path / "run.log").read_text()


def test_wrapper_never_runs_what_environment_names_hold(tmp_path):
    pwned = tmp_path / "pwned"
    proc = _run_wrapper(
        tmp_path,
        autoscaler_project_dir=str(tmp_path),
        autoscaler_environment={f"A=1; touch {pwned}; B": "x", "OK": f"$(touch {pwned})"},
    )
    assert not pwned.exists(), proc


def test_wrapper_passes_every_value_as_one_argument(tmp_path):
    proc = _run_wrapper(
        tmp_path,
        autoscaler_project_dir=str(tmp_path),
        autoscaler_inventory="inv $(id)",
        autoscaler_playbook="play`id`.yml",
    )
    assert proc.returncode == 0, (tmp_path / "run.log").read_text()
    args = (tmp_path / "args").read_text().splitlines()
    assert args[0:2] == ["-i", "inv $(id)"]
    assert args[-1] == "play`id`.yml"


def test_cron_job_is_the_quoted_script():
    cron = next(t for t in _yaml(ROLE / "tasks" / "main.yml") if "ansible.builtin.cron" in t)["ansible.builtin.cron"]
    assert cron["job"] == "{{ autoscaler_script | quote }}"


def test_logrotate_cannot_be_given_directives():
    hostile = "/var/log/x.log {\n  postrotate\n    touch /tmp/pwned\n  endscript\n}\n/var/log/y.log"
    config = _render_real("logrotate.j2", autoscaler_log_file=hostile, autoscaler_user="root\n  postrotate")
    lines = config.splitlines()
    assert not any(line.strip() in ("postrotate", "endscript") for line in lines), config
    assert sum("{" in line for line in lines) == 1 and sum("}" in line for line in lines) == 1
    assert _render_real("logrotate.j2") == _render("logrotate.j2")  # the defaults render as before


# --------------------------------------------------------------------------- Prometheus credentials


def test_credentials_file_is_private_and_never_logged():
    tasks = _yaml(ROLE / "tasks" / "main.yml")
    [write] = [t for t in tasks if t.get("ansible.builtin.template", {}).get("src") == "credentials.yml.j2"]
    assert write["no_log"] is True
    assert write["ansible.builtin.template"]["mode"] == "0600"
    assert write["ansible.builtin.template"]["owner"] == "{{ autoscaler_user }}"
    assert write["ansible.builtin.template"]["dest"] == "{{ autoscaler_credentials_file }}"
    [directory] = [t for t in tasks if "credentials_file | dirname" in json.dumps(t)]
    assert directory["ansible.builtin.file"]["mode"] == "0700"
    for task in tasks:  # a task handing a credential to a module hides it
        text = json.dumps(task)
        if any(name in text for name in ("autoscaler_prometheus_password", "autoscaler_prometheus_bearer_token")):
            assert task.get("no_log") is True, task["name"]


def test_credentials_file_holds_the_values_as_unsafe_data(tmp_path):
    password = "p\"w' {{ lookup('pipe', 'touch /tmp/pwned') }} \\ ~:#"
    path = tmp_path / "credentials.yml"
    path.write_text(
        _render_real(
            "credentials.yml.j2", autoscaler_prometheus_username="fleet", autoscaler_prometheus_password=password
        )
    )
    loaded = DataLoader().load_from_file(str(path), trusted_as_template=True)  # what `-e @file` does
    assert loaded == {"fleet_autoscale_prometheus_username": "fleet", "fleet_autoscale_prometheus_password": password}
    assert not any(is_trusted_as_template(v) for v in loaded.values())
    path.write_text(_render_real("credentials.yml.j2", autoscaler_prometheus_bearer_token="tok"))
    assert DataLoader().load_from_file(str(path), trusted_as_template=True) == {
        "fleet_autoscale_prometheus_bearer_token": "tok"
    }


def test_wrapper_reads_the_credentials_file_only_when_there_are_credentials():
    plain = _render_real("fleet-autoscale.sh.j2")
    assert "credentials" not in plain
    with_credentials = _render_real(
        "fleet-autoscale.sh.j2", autoscaler_prometheus_username="fleet", autoscaler_prometheus_password="s3cret"
    )
    assert "-e @/etc/fleet-autoscaler/credentials.yml" in with_credentials
    assert "s3cret" not in with_credentials
