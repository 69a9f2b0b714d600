# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build context and image archive logic: pure functions, no engine, no Ansible.

- `.dockerignore` patterns with Docker's semantics (`*`, `?`, `**`, `!` exceptions, last match wins,
  a pattern excluding a directory excludes everything under it).
- `context_files` / `context_hash`: the files a build would send and one sha256 over their paths,
  types, exec bits and contents (not mtimes: a touch that changes nothing does not rebuild).
- `build_hash`: the context hash plus every other build input (Dockerfile name, args, target,
  labels); an image whose label holds it needs no rebuild.
- `write_context_tar`: the same files as a deterministic tar stream.
- `archive_images`: which image IDs and tags a `docker save` archive holds (its manifest.json).

Used on the controller (action plugin) and on hosts (context already on the host) alike.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import tarfile
from dataclasses import dataclass
from typing import IO, Any

CONTEXT_LABEL = "io.containerops.fleet.context-hash"
BUILD_LABEL = "io.containerops.fleet.build-hash"
_CHUNK = 1 << 20


class ContextError(ValueError):
    """The build context or an image archive is unusable; the message names the path and the fix."""


@dataclass(frozen=True)
class Rule:
    regex: re.Pattern
    negate: bool
    pattern: str


def _translate(pattern: str) -> str:
    """One cleaned .dockerignore pattern -> regex body (Go filepath.Match plus `**`)."""
    out, i, n = [], 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            if pattern.startswith("**", i):
                i += 2
                if pattern.startswith("/", i):
                    i += 1
                    out.append("(?:.*/)?")
                else:
                    out.append(".*")
                continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pattern[i]))
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(c))
            else:
                out.append("[" + pattern[i + 1 : end] + "]")  # Go and Python share [a-z] and [^a-z]
                i = end
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def _clean(pattern: str) -> str:
    parts: list[str] = []
    for part in pattern.replace(os.sep, "/").split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/".join(parts)


def parse_dockerignore(text: str) -> list[Rule]:
    """The rules of a .dockerignore file, in order (comments and blank lines dropped)."""
    rules = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        if negate:
            line = line[1:].strip()
        cleaned = _clean(line)
        if not cleaned:
            continue
        rules.append(Rule(re.compile("^" + _translate(cleaned) + "(?:/.*)?$"), negate, raw.strip()))
    return rules


def is_excluded(relpath: str, rules: list[Rule]) -> bool:
    """Docker's rule: the last pattern matching the path (or a parent directory of it) decides."""
    excluded = False
    for rule in rules:
        if rule.regex.match(relpath):
            excluded = not rule.negate
    return excluded


def context_files(root: str, dockerfile: str = "Dockerfile") -> list[str]:
    """Relative paths (POSIX, sorted) of everything a build of `root` sends: files, links, directories."""
    if not os.path.isdir(root):
        raise ContextError(f"build.path: {root!r} is not a directory; give the directory holding the Dockerfile")
    ignore_file = os.path.join(root, ".dockerignore")
    rules: list[Rule] = []
    if os.path.isfile(ignore_file):
        with open(ignore_file, encoding="utf-8") as fh:
            rules = parse_dockerignore(fh.read())
    has_exceptions = any(r.negate for r in rules)
    keep_always = {_clean(dockerfile), ".dockerignore"}
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root).replace(os.sep, "/")
        rel_dir = "" if rel_dir == "." else rel_dir + "/"
        kept_dirs = []
        for name in sorted(dirnames):
            rel = rel_dir + name
            full = os.path.join(dirpath, name)
            if os.path.islink(full):
                if not is_excluded(rel, rules):
                    found.append(rel)
                continue
            if is_excluded(rel, rules):
                if has_exceptions:
                    kept_dirs.append(name)  # an exception may re-include something below
                continue
            found.append(rel)
            kept_dirs.append(name)
        dirnames[:] = kept_dirs
        for name in filenames:
            rel = rel_dir + name
            if rel in keep_always or not is_excluded(rel, rules):
                found.append(rel)
    if _clean(dockerfile) not in found:
        raise ContextError(
            f"build.dockerfile: {dockerfile!r} not found in {root!r}; name the Dockerfile relative to build.path"
        )
    return sorted(found)


def _file_digest(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def context_hash(root: str, files: list[str]) -> str:
    """sha256 over each entry's path, type, exec bit and content (or link target)."""
    digest = hashlib.sha256()
    for rel in files:
        full = os.path.join(root, rel)
        st = os.lstat(full)
        if stat.S_ISLNK(st.st_mode):
            entry = f"l {rel} {os.readlink(full)}"
        elif stat.S_ISDIR(st.st_mode):
            entry = f"d {rel}"
        else:
            entry = f"f {rel} {'x' if st.st_mode & 0o111 else '-'} {_file_digest(full)}"
        digest.update(entry.encode("utf-8", "surrogateescape") + b"\0")
    return "sha256:" + digest.hexdigest()


def build_hash(ctx_hash: str, dockerfile: str, args: dict[str, Any], target: str | None, labels: dict[str, Any]) -> str:
    """The context hash plus every other build input, order-independent."""
    inputs = {
        "context": ctx_hash,
        "dockerfile": _clean(dockerfile),
        "args": {str(k): str(v) for k, v in (args or {}).items()},
        "target": target or "",
        "labels": {str(k): str(v) for k, v in (labels or {}).items()},
    }
    return "sha256:" + hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def write_context_tar(root: str, files: list[str], fileobj: IO[bytes]) -> None:
    """The context as an uncompressed tar, deterministic (owner 0, mtime 0, sorted)."""
    with tarfile.open(fileobj=fileobj, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for rel in files:
            info = tar.gettarinfo(os.path.join(root, rel), arcname=rel)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = 0
            if info.isreg():
                with open(os.path.join(root, rel), "rb") as fh:
                    tar.addfile(info, fh)
            else:
                tar.addfile(info)


def archive_images(path: str) -> list[dict[str, Any]]:
    """[{'id': 'sha256:...', 'repo_tags': [...]}] from a `docker save` archive's manifest.json."""
    try:
        with tarfile.open(path, "r:*") as tar:
            member = tar.getmember("manifest.json")
            fh = tar.extractfile(member)
            manifest = json.loads(fh.read()) if fh else None
    except FileNotFoundError as exc:
        raise ContextError(f"archive_path: {path!r} does not exist; create it with `docker save -o`") from exc
    except (KeyError, tarfile.TarError, ValueError) as exc:
        raise ContextError(f"archive_path: {path!r} is not a `docker save` archive ({exc})") from exc
    return parse_manifest(manifest, path)


def parse_manifest(manifest: Any, path: str = "archive") -> list[dict[str, Any]]:
    if not isinstance(manifest, list) or not manifest:
        raise ContextError(f"archive_path: {path!r} has an empty or malformed manifest.json")
    images = []
    for entry in manifest:
        config = str(entry.get("Config", ""))
        hexid = os.path.basename(config)
        if hexid.endswith(".json"):
            hexid = hexid[: -len(".json")]
        if not re.fullmatch(r"[0-9a-f]{64}", hexid):
            raise ContextError(f"archive_path: {path!r}: manifest entry has no image config digest ({config!r})")
        images.append({"id": "sha256:" + hexid, "repo_tags": list(entry.get("RepoTags") or [])})
    return images


def pick_archive_image(images: list[dict[str, Any]], ref: str, path: str = "archive") -> str:
    """The image ID in the archive tagged `ref`, or the only image when it holds just one."""
    for image in images:
        if ref in image["repo_tags"]:
            return image["id"]
    if len(images) == 1:
        return images[0]["id"]
    tags = sorted(t for i in images for t in i["repo_tags"])
    raise ContextError(f"archive_path: {path!r} holds several images and none tagged {ref!r}; it has {tags}")
