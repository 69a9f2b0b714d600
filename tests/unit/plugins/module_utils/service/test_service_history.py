# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import json
import os
import stat

import pytest

from ansible_collections.containerops.fleet.plugins.module_utils.service.history import (
    HistoryError,
    load,
    pick,
    record,
    rollback_spec,
    save,
)
from ansible_collections.containerops.fleet.plugins.module_utils.service.spec import seal


def spec(v: str) -> dict:
    return {"name": "web", "image": f"demo:{v}", "replicas": 3, "env": {"V": v}}


def test_record_appends_numbers_and_trims():
    h: list = []
    for i in range(1, 5):
        h = record(h, spec(str(i)), f"sha256:{i}", f"hash{i}", limit=3, now=0)
    assert [e["revision"] for e in h] == [2, 3, 4]
    assert h[-1]["image_id"] == "sha256:4" and "replicas" not in h[-1]["spec"]
    assert record(h, spec("4"), "sha256:4", "hash4", limit=3) is h  # same spec: no new revision


def test_pick_previous_and_numbered():
    h = []
    for i in range(1, 4):
        h = record(h, spec(str(i)), f"sha256:{i}", f"hash{i}", limit=5)
    assert pick(h, "previous")["revision"] == 2
    assert pick(h, "1")["image_id"] == "sha256:1"
    with pytest.raises(HistoryError, match=r"revision 9 is not in the history \(revisions: 1, 2, 3\)"):
        pick(h, "9")
    with pytest.raises(HistoryError, match="no previous revision"):
        pick(h[:1], "previous")
    with pytest.raises(HistoryError, match="must be 'previous' or a revision number"):
        pick(h, "last")


def test_rollback_spec_pins_the_image_id_and_takes_env_values_from_the_task_not_the_history():
    entry = record([], seal(spec("s3cr3t"), b"k"), "sha256:abc", "h", limit=5)[0]
    assert "s3cr3t" not in json.dumps(entry["spec"]["env"])  # only the digest is recorded
    assert rollback_spec(entry, 4, {"V": "s3cr3t"}, b"k") == {
        "name": "web",
        "image": "sha256:abc",
        "replicas": 4,
        "env": {"V": "s3cr3t"},
    }
    with pytest.raises(HistoryError, match="ran with another value of env V than the task gives"):
        rollback_spec(entry, 4, {"V": "2"}, b"k")
    with pytest.raises(HistoryError, match="env V"):
        rollback_spec(entry, 4, {"V": "s3cr3t"}, b"other key")


def test_save_is_private_and_round_trips(tmp_path):
    path = str(tmp_path / "svc" / "web.json")
    h = record([], spec("1"), "sha256:1", "h1", limit=5)
    save(path, h)
    assert load(path) == h
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load(str(tmp_path / "missing.json")) == []


def test_a_failed_save_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    path = str(tmp_path / "svc" / "web.json")
    save(path, record([], spec("1"), "sha256:1", "h1", limit=5))
    before = (tmp_path / "svc" / "web.json").read_text()

    def full(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(json, "dump", full)
    with pytest.raises(HistoryError, match=r"^history_dir: cannot record the revision .*No space left on device"):
        save(path, record([], spec("2"), "sha256:2", "h2", limit=5))
    assert (tmp_path / "svc" / "web.json").read_text() == before
    assert [p.name for p in (tmp_path / "svc").iterdir()] == ["web.json"]
