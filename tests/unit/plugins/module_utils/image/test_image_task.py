# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ImageTask against an in-memory engine: the decisions, check mode and the payload handshake."""

from __future__ import annotations

import json

import pytest

from ansible_collections.containerops.fleet.plugins.module_utils.engine.client import EngineError
from ansible_collections.containerops.fleet.plugins.module_utils.image.context import BUILD_LABEL, build_hash
from ansible_collections.containerops.fleet.plugins.module_utils.image.plan import ImageError
from ansible_collections.containerops.fleet.plugins.module_utils.image.runner import ImageTask

BUILD = {"path": "/ctx", "context_on_host": False, "dockerfile": "Dockerfile", "args": {}, "target": None, "labels": {}}


class FakeEngine:
    def __init__(self, images=None):
        self.images_by_ref = dict(images or {})  # ref or id -> inspect dict
        self.calls = []

    def inspect_image(self, ref):
        return self.images_by_ref.get(ref)

    def build(self, body, query, timeout=0):
        self.calls.append(("build", query["t"]))
        b"".join(body)
        image = {"Id": "sha256:new", "Config": {"Labels": json_labels(query)}, "RepoDigests": []}
        self.images_by_ref[query["t"]] = self.images_by_ref["sha256:new"] = image
        return [{"aux": {"ID": "sha256:new"}}]

    def tag(self, ident, repo, tag):
        self.calls.append(("tag", f"{repo}:{tag}"))
        self.images_by_ref[f"{repo}:{tag}"] = self.images_by_ref[ident]

    def push(self, repo, tag, auth=None):
        self.calls.append(("push", f"{repo}:{tag}", auth))

    def images(self, filters=None):
        return []


def json_labels(query):
    return json.loads(query["labels"])


def params(**over):
    p = {
        "name": "app",
        "tags": ["1"],
        "state": "present",
        "source": "build",
        "build": dict(BUILD),
        "push": False,
        "registry_auth": None,
        "keep": None,
        "_controller": {"context_hash": "sha256:ctx"},
    }
    p.update(over)
    return p


def current_image(ctx="sha256:ctx"):
    return {"Id": "sha256:cur", "Config": {"Labels": {BUILD_LABEL: build_hash(ctx, "Dockerfile", {}, None, {})}}}


def test_up_to_date_image_is_not_rebuilt_nor_shipped():
    engine = FakeEngine({"app:1": current_image()})
    result = ImageTask(engine, params(), check_mode=False).run()
    assert not result["changed"] and not result["rebuilt"] and engine.calls == []
    assert result["image_id"] == "sha256:cur"


def test_changed_context_asks_for_the_payload_then_builds(tmp_path):
    engine = FakeEngine({"app:1": current_image("sha256:old")})
    first = ImageTask(engine, params(), check_mode=False).run()
    assert first["needs"] == "context" and engine.calls == []
    tar = tmp_path / "ctx.tar"
    tar.write_bytes(b"tar")
    p = params(tags=["1", "latest"], _controller={"context_hash": "sha256:ctx", "context_tar": str(tar)})
    result = ImageTask(engine, p, check_mode=False).run()
    assert result["rebuilt"] and result["image_id"] == "sha256:new"
    assert engine.calls == [("build", "app:1"), ("tag", "app:latest")]
    assert result["actions"] == ["build app:1", "tag app:latest"]


def test_check_mode_reports_the_build_without_building():
    engine = FakeEngine({"app:1": current_image("sha256:old")})
    result = ImageTask(engine, params(), check_mode=True).run()
    assert result["changed"] and result["rebuilt"] and result["actions"] == ["build app:1"]
    assert engine.calls == [] and "needs" not in result


def test_archive_source_loads_only_where_the_id_is_missing():
    engine = FakeEngine({"sha256:arch": {"Id": "sha256:arch"}})
    p = params(source="archive", build=None, _controller={"archive_id": "sha256:arch"})
    result = ImageTask(engine, p, check_mode=False).run()
    assert not result["loaded"] and result["actions"] == ["tag app:1"]
    missing = ImageTask(FakeEngine(), p, check_mode=False).run()
    assert missing["needs"] == "archive"


def test_push_is_skipped_once_the_engine_holds_a_digest():
    image = {**current_image(), "RepoDigests": ["reg:5000/app@sha256:d"]}
    engine = FakeEngine({"reg:5000/app:1": image, "sha256:cur": image})
    auth = {"username": "u", "password": "secret", "serveraddress": None}
    p = params(name="reg:5000/app", push=True, registry_auth=auth)
    assert not ImageTask(engine, p, check_mode=False).run()["changed"]
    image["RepoDigests"] = []
    result = ImageTask(engine, p, check_mode=False).run()
    assert result["pushed"] and engine.calls[0][:2] == ("push", "reg:5000/app:1")
    assert "secret" not in repr(result)


def test_local_source_needs_the_image():
    with pytest.raises(ImageError, match="not on this host"):
        ImageTask(FakeEngine(), params(source="local"), check_mode=False).run()


class RefusingRegistry(FakeEngine):
    """The engine's answer when the registry refuses the credentials (as the lab registry answered, recorded)."""

    def pull(self, repo, tag, auth=None):
        self.calls.append(("pull", f"{repo}:{tag}"))
        raise EngineError("unauthorized: authentication required")


def test_a_refused_pull_names_the_image_the_registry_and_its_answer_and_never_the_password():
    engine = RefusingRegistry()
    auth = {"username": "team", "password": "s3cret-pw"}
    p = params(name="reg.example.net:5000/team/hello", tags=["2"], source="pull", pull="missing", registry_auth=auth)
    with pytest.raises(ImageError) as err:
        ImageTask(engine, p, check_mode=False).run()
    said = str(err.value)
    assert said == (
        "cannot pull reg.example.net:5000/team/hello:2 from reg.example.net:5000: unauthorized: authentication required"
    )
    assert "s3cret-pw" not in said
    assert engine.calls == [("pull", "reg.example.net:5000/team/hello:2")]
