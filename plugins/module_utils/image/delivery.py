# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How a service definition's image reaches a host: the container_image arguments for that host.

Pure: definition in, module arguments out.  `build` is built once on the build host and saved to the state
directory on the controller, then loaded on the other hosts that lack its image ID; `archive` is loaded where
missing; otherwise the image is pulled (`pull: missing | always`) or must already be there (`pull: never`).
"""

from __future__ import annotations

import os
import re
from typing import Any


class DeliveryError(ValueError):
    """The definition's image cannot be delivered as asked; the message names the field."""


def split_reference(ref: str) -> tuple[str, str]:
    """'registry.example.net:5000/team/web:1.4' -> ('registry.example.net:5000/team/web', '1.4'); no tag: latest."""
    if "@" in ref:
        raise DeliveryError(f"image: {ref!r} is pinned by digest; give a tag (the collection records image IDs itself)")
    m = re.fullmatch(r"(?P<name>.+?)(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?", ref)
    if not m or "/" in (m.group("tag") or ""):
        raise DeliveryError(f"image: {ref!r} is not an image reference like registry.example.net/web:1.4")
    return m.group("name"), m.group("tag") or "latest"


def image_args(
    definition: dict[str, Any],
    *,
    host: str,
    build_host: str,
    state_dir: str,
    base_dir: str,
    image: str | None = None,
) -> dict[str, Any]:
    """The container_image arguments that put this definition's image on `host`."""
    ref = image or definition["image"]
    name, tag = split_reference(ref)
    args: dict[str, Any] = {"name": name, "tags": [tag]}
    if definition.get("registry_auth"):
        args["registry_auth"] = definition["registry_auth"]
    build, archive = definition.get("build"), definition.get("archive")
    if build:
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{name}-{tag}")
        export = os.path.join(state_dir, "images", f"{safe}.tar")
        if host != build_host:
            return {**args, "source": "archive", "archive_path": export}
        context = build["context"]
        spec = {"path": context if os.path.isabs(context) else os.path.normpath(os.path.join(base_dir, context))}
        spec.update({k: build[k] for k in ("dockerfile", "args", "target") if build.get(k) not in (None, {}, "")})
        return {**args, "source": "build", "build": spec, "export_path": export, "push": bool(build.get("push"))}
    if archive:
        path = archive if os.path.isabs(archive) else os.path.normpath(os.path.join(base_dir, archive))
        return {**args, "source": "archive", "archive_path": path}
    pull = definition.get("pull") or "missing"
    if pull == "never":
        return {**args, "source": "local"}
    return {**args, "source": "pull", "pull": pull}
