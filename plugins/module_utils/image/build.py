# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build an image on the host's engine from a context tar (shipped by the controller or made here)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from typing import Any

from ansible_collections.containerops.fleet.plugins.module_utils.engine.client import DockerEngine
from ansible_collections.containerops.fleet.plugins.module_utils.image.context import (
    BUILD_LABEL,
    CONTEXT_LABEL,
    write_context_tar,
)
from ansible_collections.containerops.fleet.plugins.module_utils.image.plan import ImageError, built_id


def file_chunks(path: str, size: int = 1 << 20) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        yield from iter(lambda: fh.read(size), b"")


def build_query(ref: str, build: dict[str, Any], ctx_hash: str, bld_hash: str) -> dict[str, str]:
    labels = {str(k): str(v) for k, v in (build.get("labels") or {}).items()}
    labels.update({CONTEXT_LABEL: ctx_hash, BUILD_LABEL: bld_hash})
    query = {
        "t": ref,
        "dockerfile": build.get("dockerfile") or "Dockerfile",
        "rm": "1",
        "forcerm": "1",
        "labels": json.dumps(labels, sort_keys=True),
        "buildargs": json.dumps({str(k): str(v) for k, v in (build.get("args") or {}).items()}, sort_keys=True),
    }
    if build.get("target"):
        query["target"] = build["target"]
    return query


def build_image(
    engine: DockerEngine,
    ref: str,
    build: dict[str, Any],
    ctx_hash: str,
    bld_hash: str,
    context_tar: str | None,
    files: list[str] | None,
) -> str:
    """Build `ref`; the context comes from `context_tar` (a file) or is tarred from build.path + files."""
    query = build_query(ref, build, ctx_hash, bld_hash)
    if context_tar:
        messages = engine.build(file_chunks(context_tar), query, timeout=build.get("timeout") or 1800)
    else:
        with tempfile.TemporaryFile() as tmp:
            write_context_tar(build["path"], files or [], tmp)
            tmp.seek(0)
            messages = engine.build(iter(lambda: tmp.read(1 << 20), b""), query, timeout=build.get("timeout") or 1800)
    image_id = built_id(messages)
    if not image_id:
        image = engine.inspect_image(ref)
        image_id = image["Id"] if image else None
    if not image_id:
        tail = " ".join(str(m.get("stream", "")).strip() for m in messages[-5:])
        raise ImageError(f"build of {ref} reported no image ID: {tail}")
    return image_id


def context_on_host(build: dict[str, Any]) -> str:
    path = build["path"]
    if not os.path.isabs(path):
        raise ImageError(f"build.path: {path!r} must be absolute when build.context_on_host is true")
    return path
