# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Move images in and out of the host's engine: load/save archives, pull/push, prune old ones."""

from __future__ import annotations

import os

from ansible_collections.containerops.fleet.plugins.module_utils.engine.client import DockerEngine, EngineError
from ansible_collections.containerops.fleet.plugins.module_utils.image.build import file_chunks
from ansible_collections.containerops.fleet.plugins.module_utils.image.plan import ImageError, loaded_ids, registry_of


def load_archive(engine: DockerEngine, path: str, want_id: str) -> list[str]:
    """Load a `docker save` archive; the image `want_id` must be there afterwards."""
    loaded = loaded_ids(engine.load(file_chunks(path)))
    if not engine.inspect_image(want_id):
        raise ImageError(f"archive loaded ({', '.join(loaded) or 'nothing reported'}) but image {want_id} is not there")
    return loaded


def save_archive(engine: DockerEngine, refs: list[str], path: str) -> None:
    """`docker save refs` into `path` (written next to it, then renamed)."""
    tmp = f"{path}.{os.getpid()}.part"  # forks may save the same image at once
    with open(tmp, "wb") as fh:
        for chunk in engine.save(refs):
            fh.write(chunk)
    os.replace(tmp, path)


def split_ref(ref: str) -> tuple[str, str]:
    repo, tag = ref.rpartition(":")[::2]
    if not repo or "/" in tag:
        return ref, "latest"
    return repo, tag


def pull(engine: DockerEngine, ref: str, auth: dict | None) -> None:
    """Pull `ref`; a refusal names the image, the registry and the registry's (or engine's) own words."""
    repo, tag = split_ref(ref)
    try:
        engine.pull(repo, tag, auth)
    except EngineError as exc:
        registry = (auth or {}).get("serveraddress") or registry_of(ref) or "docker.io"
        raise ImageError(f"cannot pull {ref} from {registry}: {exc}") from exc


def push(engine: DockerEngine, ref: str, auth: dict | None) -> None:
    repo, tag = split_ref(ref)
    engine.push(repo, tag, auth)


def remove_refs(engine: DockerEngine, refs: list[str]) -> bool:
    """Untag every ref (the image goes with its last tag); False when a container still uses it."""
    try:
        for ref in refs:
            engine.remove_image(ref)
    except EngineError as exc:
        if exc.status == 409:
            return False
        raise
    return True
