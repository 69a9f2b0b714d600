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
import yaml

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
    return env.get_template(template).render(ansible_managed="managed", **values)


def test_argument_specs_mirror_defaults():
    defaults = _yaml(ROLE / "defaults" / "main.yml")
    options = _yaml(ROLE / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]
    assert sorted(defaults) == sorted(options)
    assert all(k.startswith("autoscaler_") for k in defaults)


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
