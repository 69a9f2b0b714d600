# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure decisions for container_image: what an image's current state means for the requested one.

Engine data (inspect / list results) in, decisions out; no I/O.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.containerops.fleet.plugins.module_utils.image.context import BUILD_LABEL


class ImageError(Exception):
    """The requested image state cannot be reached; the message names the field and the fix."""


def registry_of(name: str) -> str | None:
    """'reg.example:5000/app' -> 'reg.example:5000'; 'app' or 'library/app' -> None (Docker Hub)."""
    first, sep = name.partition("/")[:2]
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first
    return None


def needs_build(current: dict | None, want_hash: str) -> bool:
    """Rebuild iff the image is missing or its build-hash label differs from the inputs' hash."""
    if not current:
        return True
    labels = (current.get("Config") or {}).get("Labels") or {}
    return labels.get(BUILD_LABEL) != want_hash


def tags_to_set(name: str, tags: list[str], image_id: str | None, current_ids: dict[str, str | None]) -> list[str]:
    """The `name:tag` refs that do not point at image_id yet (current_ids: ref -> ID or None)."""
    refs = [f"{name}:{t}" for t in tags]
    return [ref for ref in refs if image_id is None or current_ids.get(ref) != image_id]


def already_pushed(image: dict | None, name: str) -> bool:
    """The engine records a RepoDigest for `name` once the image was pushed to (or pulled from) it."""
    if not image:
        return False
    return any(d.split("@", 1)[0] == name for d in image.get("RepoDigests") or [])


def prune_candidates(images: list[dict[str, Any]], name: str, keep: int, current_id: str | None) -> list[dict]:
    """Images of repository `name` beyond the `keep` newest (the current image always counts as kept).

    Each candidate: {'id': ..., 'refs': [name:tag, ...]} — removing every ref of ours removes the
    image unless another repository still tags it.
    """
    if keep < 1:
        raise ImageError(f"keep: {keep} must be at least 1 (the current image is always kept)")
    ours = []
    for image in images:
        refs = [r for r in image.get("RepoTags") or [] if r.rsplit(":", 1)[0] == name]
        if refs:
            ours.append({"id": image["Id"], "refs": sorted(refs), "created": image.get("Created", 0)})
    ours.sort(key=lambda i: (i["id"] != current_id, -i["created"]))
    return [{"id": i["id"], "refs": i["refs"]} for i in ours[keep:]]


def registry_auth(name: str, auth: dict | None) -> dict | None:
    """X-Registry-Auth payload for the repository's registry (None when no credentials are given)."""
    if not auth or not auth.get("username"):
        return None
    server = auth.get("serveraddress") or registry_of(name)
    if not server:
        raise ImageError(
            f"registry_auth: {name!r} names no registry; "
            f"prefix it (host:port/{name}) or set registry_auth.serveraddress"
        )
    return {"username": auth["username"], "password": auth.get("password") or "", "serveraddress": server}


def built_id(messages: list[dict]) -> str | None:
    """The image ID a build's JSON stream announces (aux.ID), None when it does not."""
    found = None
    for msg in messages:
        aux = msg.get("aux")
        if isinstance(aux, dict) and aux.get("ID"):
            found = aux["ID"]
    return found


def loaded_ids(messages: list[dict]) -> list[str]:
    """IDs or refs an /images/load stream reports ('Loaded image ID: sha256:...', 'Loaded image: repo:tag')."""
    out = []
    for msg in messages:
        text = str(msg.get("stream", "")).strip()
        for prefix in ("Loaded image ID: ", "Loaded image: "):
            if text.startswith(prefix):
                out.append(text[len(prefix) :])
    return out
