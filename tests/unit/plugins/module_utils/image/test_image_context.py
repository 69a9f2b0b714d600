# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import io
import json
import os
import tarfile

import pytest

from ansible_collections.containerops.fleet.plugins.module_utils.image.context import (
    ContextError,
    archive_images,
    build_hash,
    context_files,
    context_hash,
    is_excluded,
    parse_dockerignore,
    parse_manifest,
    pick_archive_image,
    write_context_tar,
)

ID_A = "a" * 64
ID_B = "b" * 64


def make_context(root, files: dict[str, str], ignore: str | None = None):
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if ignore is not None:
        (root / ".dockerignore").write_text(ignore)
    return str(root)


@pytest.mark.parametrize(
    ("patterns", "path", "excluded"),
    [
        ("*.log", "app.log", True),
        ("*.log", "sub/app.log", False),  # * does not cross directories
        ("**/*.log", "sub/deep/app.log", True),
        ("**/*.log", "app.log", True),
        ("build", "build/out/x.o", True),  # a directory pattern covers what is under it
        ("/build/", "build/x", True),
        ("a?c", "abc", True),
        ("a?c", "a/c", False),
        ("[a-c].txt", "b.txt", True),
        ("[^a-c].txt", "b.txt", False),
        ("*.md\n!README.md", "README.md", False),  # an exception re-includes
        ("*.md\n!README.md", "NOTES.md", True),
        ("!README.md\n*.md", "README.md", True),  # last match wins
        ("# comment\n\n  ", "anything", False),
        ("docs/**\n!docs/keep/**", "docs/keep/a.txt", False),
        ("docs/**\n!docs/keep/**", "docs/drop/a.txt", True),
    ],
)
def test_dockerignore_semantics(patterns, path, excluded):
    assert is_excluded(path, parse_dockerignore(patterns)) is excluded


def test_context_files_honours_dockerignore_but_always_sends_the_dockerfile(tmp_path):
    root = make_context(
        tmp_path,
        {"Dockerfile": "FROM scratch\n", "app.py": "x", "cache/big.bin": "x", "docs/keep/a.md": "x", "docs/b.md": "x"},
        ignore="Dockerfile\ncache\ndocs\n!docs/keep\n",
    )
    assert context_files(root) == [".dockerignore", "Dockerfile", "app.py", "docs/keep", "docs/keep/a.md"]


def test_context_files_errors_name_the_field(tmp_path):
    with pytest.raises(ContextError, match=r"build\.path"):
        context_files(str(tmp_path / "missing"))
    with pytest.raises(ContextError, match=r"build\.dockerfile"):
        context_files(make_context(tmp_path, {"app.py": "x"}))


def test_context_hash_follows_content_not_mtime(tmp_path):
    root = make_context(tmp_path, {"Dockerfile": "FROM scratch\n", "a.txt": "a"}, ignore="*.tmp\n")
    first = context_hash(root, context_files(root))
    os.utime(tmp_path / "a.txt", (1, 1))
    assert context_hash(root, context_files(root)) == first
    (tmp_path / "x.tmp").write_text("ignored")
    assert context_hash(root, context_files(root)) == first
    (tmp_path / "b.txt").touch()
    touched = context_hash(root, context_files(root))
    assert touched != first
    (tmp_path / "b.txt").write_text("b")
    assert context_hash(root, context_files(root)) not in (first, touched)
    (tmp_path / "b.txt").chmod(0o755)
    assert context_hash(root, context_files(root)) != touched


def test_build_hash_covers_every_input():
    base = build_hash("sha256:c", "Dockerfile", {"A": "1"}, None, {"l": "v"})
    assert base == build_hash("sha256:c", "./Dockerfile", {"A": 1}, "", {"l": "v"})
    variants = [
        build_hash("sha256:d", "Dockerfile", {"A": "1"}, None, {"l": "v"}),
        build_hash("sha256:c", "Other", {"A": "1"}, None, {"l": "v"}),
        build_hash("sha256:c", "Dockerfile", {"A": "2"}, None, {"l": "v"}),
        build_hash("sha256:c", "Dockerfile", {"A": "1"}, "stage", {"l": "v"}),
        build_hash("sha256:c", "Dockerfile", {"A": "1"}, None, {"l": "w"}),
    ]
    assert len({base, *variants}) == 6


def test_context_tar_is_deterministic_and_complete(tmp_path):
    root = make_context(tmp_path, {"Dockerfile": "FROM scratch\n", "sub/a.txt": "a"})
    files = context_files(root)
    first, second = io.BytesIO(), io.BytesIO()
    write_context_tar(root, files, first)
    os.utime(tmp_path / "sub" / "a.txt", (5, 5))
    write_context_tar(root, files, second)
    assert first.getvalue() == second.getvalue()
    with tarfile.open(fileobj=io.BytesIO(first.getvalue())) as tar:
        assert tar.getnames() == ["Dockerfile", "sub", "sub/a.txt"]
        assert tar.extractfile("sub/a.txt").read() == b"a"


def write_archive(path, manifest) -> str:
    data = json.dumps(manifest).encode()
    with tarfile.open(path, "w") as tar:
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return str(path)


def test_archive_images_reads_docker_and_oci_layouts(tmp_path):
    path = write_archive(
        tmp_path / "a.tar",
        [{"Config": f"{ID_A}.json", "RepoTags": ["app:1"]}, {"Config": f"blobs/sha256/{ID_B}", "RepoTags": None}],
    )
    images = archive_images(path)
    assert images == [{"id": f"sha256:{ID_A}", "repo_tags": ["app:1"]}, {"id": f"sha256:{ID_B}", "repo_tags": []}]
    assert pick_archive_image(images, "app:1") == f"sha256:{ID_A}"
    with pytest.raises(ContextError, match="none tagged 'app:2'"):
        pick_archive_image(images, "app:2")
    assert pick_archive_image(images[:1], "other:tag") == f"sha256:{ID_A}"


def test_archive_errors_name_the_path(tmp_path):
    with pytest.raises(ContextError, match="does not exist"):
        archive_images(str(tmp_path / "none.tar"))
    (tmp_path / "junk.tar").write_text("junk")
    with pytest.raises(ContextError, match="not a `docker save` archive"):
        archive_images(str(tmp_path / "junk.tar"))
    with pytest.raises(ContextError, match="no image config digest"):
        parse_manifest([{"Config": "x.json"}])
    with pytest.raises(ContextError, match="empty or malformed"):
        parse_manifest([])
