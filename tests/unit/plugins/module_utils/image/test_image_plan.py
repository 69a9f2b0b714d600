# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.containerops.fleet.plugins.module_utils.image.context import BUILD_LABEL
from ansible_collections.containerops.fleet.plugins.module_utils.image.plan import (
    ImageError,
    already_pushed,
    built_id,
    loaded_ids,
    needs_build,
    prune_candidates,
    registry_auth,
    registry_of,
    tags_to_set,
)


@pytest.mark.parametrize(
    ("name", "registry"),
    [
        ("app", None),
        ("library/app", None),
        ("172.18.0.4:5000/app", "172.18.0.4:5000"),
        ("reg.example/team/app", "reg.example"),
        ("localhost/app", "localhost"),
    ],
)
def test_registry_of(name, registry):
    assert registry_of(name) == registry


def test_needs_build_only_when_missing_or_label_differs():
    assert needs_build(None, "sha256:x")
    assert needs_build({"Config": {"Labels": None}}, "sha256:x")
    assert needs_build({"Config": {"Labels": {BUILD_LABEL: "sha256:y"}}}, "sha256:x")
    assert not needs_build({"Config": {"Labels": {BUILD_LABEL: "sha256:x"}}}, "sha256:x")


def test_tags_to_set():
    current = {"app:1": "sha256:a", "app:latest": "sha256:old"}
    assert tags_to_set("app", ["1", "latest"], "sha256:a", current) == ["app:latest"]
    assert tags_to_set("app", ["1"], "sha256:a", current) == []
    assert tags_to_set("app", ["1", "2"], None, current) == ["app:1", "app:2"]


def test_already_pushed_reads_repo_digests():
    image = {"RepoDigests": ["reg:5000/app@sha256:d", "other@sha256:e"]}
    assert already_pushed(image, "reg:5000/app")
    assert not already_pushed(image, "reg:5000/other")
    assert not already_pushed(None, "reg:5000/app")


def test_prune_keeps_the_current_and_newest():
    images = [
        {"Id": "old", "RepoTags": ["app:1"], "Created": 1},
        {"Id": "mid", "RepoTags": ["app:2", "other:x"], "Created": 2},
        {"Id": "new", "RepoTags": ["app:3"], "Created": 3},
        {"Id": "cur", "RepoTags": ["app:4", "app:latest"], "Created": 0},
        {"Id": "foreign", "RepoTags": ["application:1"], "Created": 9},
    ]
    assert prune_candidates(images, "app", 2, "cur") == [
        {"id": "mid", "refs": ["app:2"]},
        {"id": "old", "refs": ["app:1"]},
    ]
    assert prune_candidates(images, "app", 10, "cur") == []
    with pytest.raises(ImageError, match="keep: 0"):
        prune_candidates(images, "app", 0, "cur")


def test_registry_auth():
    assert registry_auth("reg:5000/app", None) is None
    assert registry_auth("reg:5000/app", {"username": "u", "password": "p"}) == {
        "username": "u",
        "password": "p",
        "serveraddress": "reg:5000",
    }
    assert registry_auth("app", {"username": "u", "password": "p", "serveraddress": "r"})["serveraddress"] == "r"
    with pytest.raises(ImageError, match="registry_auth"):
        registry_auth("app", {"username": "u", "password": "p"})


def test_stream_messages():
    assert built_id([{"stream": "Step 1/2"}, {"aux": {"ID": "sha256:x"}}]) == "sha256:x"
    assert built_id([{"stream": "done"}]) is None
    assert loaded_ids([{"stream": "Loaded image: app:1\n"}, {"stream": "Loaded image ID: sha256:y\n"}]) == [
        "app:1",
        "sha256:y",
    ]
