# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.containerops.fleet.plugins.module_utils.image.delivery import (
    DeliveryError,
    image_args,
    split_reference,
)

WHERE = {"build_host": "node1", "state_dir": "/home/op/.cache/containerops.fleet", "base_dir": "/srv/inv"}


@pytest.mark.parametrize(
    ("ref", "parts"),
    [
        ("web", ("web", "latest")),
        ("web:1.4", ("web", "1.4")),
        ("registry.example.net/team/web:1.4", ("registry.example.net/team/web", "1.4")),
        ("registry.example.net:5000/team/web", ("registry.example.net:5000/team/web", "latest")),
        ("registry.example.net:5000/team/web:2", ("registry.example.net:5000/team/web", "2")),
    ],
)
def test_references_split_into_name_and_tag(ref, parts):
    assert split_reference(ref) == parts


def test_a_digest_reference_is_refused_by_name():
    with pytest.raises(DeliveryError, match=r"^image: .* is pinned by digest"):
        split_reference("web@sha256:" + "a" * 64)


def test_build_on_the_build_host_then_load_the_saved_archive_elsewhere():
    definition = {"image": "fleet-demo:1", "build": {"context": "../../demo/app", "args": {"BASE": "b:1"}}}
    built = image_args(definition, host="node1", **WHERE)
    assert built == {
        "name": "fleet-demo",
        "tags": ["1"],
        "source": "build",
        "build": {"path": "/demo/app", "args": {"BASE": "b:1"}},
        "export_path": "/home/op/.cache/containerops.fleet/images/fleet-demo-1.tar",
        "push": False,
    }
    loaded = image_args(definition, host="node2", **WHERE)
    assert loaded == {
        "name": "fleet-demo",
        "tags": ["1"],
        "source": "archive",
        "archive_path": built["export_path"],
    }


def test_an_archive_is_loaded_relative_to_the_inventory():
    args = image_args({"image": "web:3", "archive": "images/web-3.tar"}, host="node2", **WHERE)
    assert args == {"name": "web", "tags": ["3"], "source": "archive", "archive_path": "/srv/inv/images/web-3.tar"}


@pytest.mark.parametrize(
    ("pull", "source"), [(None, "pull"), ("missing", "pull"), ("always", "pull"), ("never", "local")]
)
def test_pull_policies(pull, source):
    auth = {"username": "ci", "password": "s3cret"}
    args = image_args({"image": "registry.example.net/web:1.4", "pull": pull, "registry_auth": auth}, host="n", **WHERE)
    assert args["source"] == source and args["name"] == "registry.example.net/web" and args["tags"] == ["1.4"]
    assert args["registry_auth"] == auth
    if source == "pull":
        assert args["pull"] == (pull or "missing")


def test_deploy_yml_image_overrides_the_definition():
    args = image_args({"image": "web:1"}, host="n", image="web:2", **WHERE)
    assert args["tags"] == ["2"]
