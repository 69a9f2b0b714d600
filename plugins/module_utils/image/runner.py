# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""container_image on the host: read the engine's state, decide, mutate at one guarded point.

The action plugin runs this twice at most: first without payload (it answers `needs: context` or
`needs: archive` when a build or load must happen), then with the payload it shipped.  Errors are
domain exceptions here and become `fail_json` in `run` only.
"""

from __future__ import annotations

from typing import Any, Callable

from ansible_collections.containerops.fleet.plugins.module_utils.engine.client import DockerEngine, EngineError
from ansible_collections.containerops.fleet.plugins.module_utils.engine.options import engine_from_params
from ansible_collections.containerops.fleet.plugins.module_utils.image.build import build_image, context_on_host
from ansible_collections.containerops.fleet.plugins.module_utils.image.context import (
    ContextError,
    build_hash,
    context_files,
    context_hash,
)
from ansible_collections.containerops.fleet.plugins.module_utils.image.distribute import (
    load_archive,
    pull,
    push,
    remove_refs,
    save_archive,
)
from ansible_collections.containerops.fleet.plugins.module_utils.image.plan import (
    ImageError,
    already_pushed,
    needs_build,
    prune_candidates,
    registry_auth,
    tags_to_set,
)


class ImageTask:
    def __init__(self, engine: DockerEngine, params: dict[str, Any], check_mode: bool):
        self.engine = engine
        self.p = params
        self.ctrl = params.get("_controller") or {}
        self.check_mode = check_mode
        self.name = params["name"]
        self.tags = params["tags"]
        self.ref = f"{self.name}:{self.tags[0]}"
        self.actions: list[str] = []
        self.result: dict[str, Any] = {
            "rebuilt": False,
            "loaded": False,
            "pulled": False,
            "pushed": False,
            "exported": False,
            "pruned": [],
            "context_hash": None,
            "build_hash": None,
        }

    # The single mutation point: record the action, run it unless in check mode.
    def mutate(self, action: str, fn: Callable[[], Any]) -> Any:
        self.actions.append(action)
        if self.check_mode:
            return None
        return fn()

    def _refs(self) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for tag in self.tags:
            image = self.engine.inspect_image(f"{self.name}:{tag}")
            out[f"{self.name}:{tag}"] = image["Id"] if image else None
        return out

    def run(self) -> dict[str, Any]:
        before = self._refs()
        if self.p["state"] == "absent":
            for ref, ident in before.items():
                if ident:
                    self.mutate(f"untag {ref}", lambda r=ref: remove_refs(self.engine, [r]))
            return self._finish(before, None)
        image_id = self._resolve(before)
        if image_id is _NEEDS:
            return {"needs": self._needs, "changed": True, "actions": self.actions}
        fresh = not self.check_mode and any(self.result[k] for k in ("rebuilt", "loaded", "pulled"))
        for ref in tags_to_set(self.name, self.tags, image_id, self._refs() if fresh else before):
            if ref == self.ref and self.result["rebuilt"]:
                continue  # the build tags it
            self.mutate(f"tag {ref}", lambda r=ref: self._tag(image_id, r))
        if self.p["push"]:
            self._push(image_id)
        if self.p["keep"]:
            self._prune(image_id)
        if self.ctrl.get("export_tmp") and image_id != self.ctrl.get("export_have"):
            self.mutate("export", lambda: save_archive(self.engine, [self.ref], self.ctrl["export_tmp"]))
            self.result["exported"] = True
        return self._finish(before, image_id)

    # ------------------------------------------------------------ where the image comes from

    _needs = ""

    def _resolve(self, before: dict[str, str | None]) -> Any:
        source = self.p["source"]
        current = self.engine.inspect_image(self.ref)
        if source == "build":
            return self._build(current)
        if source in ("archive", "controller"):
            want = self.ctrl.get("archive_id")
            if not want:
                raise ImageError(f"source={source} runs through the action plugin, which reads the image ID")
            if self.engine.inspect_image(want):
                return want
            if not self.ctrl.get("archive") and not self.check_mode:
                self._needs = "archive"
                return _NEEDS
            self.mutate(f"load {want}", lambda: load_archive(self.engine, self.ctrl["archive"], want))
            self.result["loaded"] = True
            return want
        if source == "pull":
            if current and self.p.get("pull", "missing") == "missing":
                return current["Id"]
            auth = registry_auth(self.name, self.p.get("registry_auth"))
            self.mutate(f"pull {self.ref}", lambda: pull(self.engine, self.ref, auth))
            image = None if self.check_mode else self.engine.inspect_image(self.ref)
            # pull=always reports a change only when the registry gave another image ID
            self.result["pulled"] = not current or (image is not None and image["Id"] != current["Id"])
            return image["Id"] if image else (current or {}).get("Id")
        if not current:  # local
            raise ImageError(f"name: {self.ref} is not on this host; build, load or pull it first (source)")
        return current["Id"]

    def _build(self, current: dict | None) -> Any:
        build = self.p["build"]
        files = None
        if build.get("context_on_host"):
            path = context_on_host(build)
            files = context_files(path, build.get("dockerfile") or "Dockerfile")
            ctx = context_hash(path, files)
        else:
            ctx = self.ctrl.get("context_hash")
            if not ctx:
                raise ImageError("build from a controller context runs through the action plugin (context_hash)")
        want = build_hash(
            ctx, build.get("dockerfile") or "Dockerfile", build.get("args"), build.get("target"), build.get("labels")
        )
        self.result.update(context_hash=ctx, build_hash=want)
        if not needs_build(current, want):
            return current["Id"]
        if not build.get("context_on_host") and not self.ctrl.get("context_tar") and not self.check_mode:
            self._needs = "context"
            return _NEEDS
        image_id = self.mutate(
            f"build {self.ref}",
            lambda: build_image(self.engine, self.ref, build, ctx, want, self.ctrl.get("context_tar"), files),
        )
        self.result["rebuilt"] = True
        return image_id

    # ------------------------------------------------------------ after the image is there

    def _tag(self, image_id: str, ref: str) -> None:
        repo, tag = ref.rpartition(":")[::2]
        self.engine.tag(image_id, repo, tag)

    def _push(self, image_id: str | None) -> None:
        image = self.engine.inspect_image(image_id) if image_id else None
        if already_pushed(image, self.name) and not self.result["rebuilt"] and not self.result["loaded"]:
            return
        auth = registry_auth(self.name, self.p.get("registry_auth"))
        for tag in self.tags:
            self.mutate(f"push {self.name}:{tag}", lambda t=tag: push(self.engine, f"{self.name}:{t}", auth))
        self.result["pushed"] = True

    def _prune(self, image_id: str | None) -> None:
        images = self.engine.images(filters={"reference": self.name})
        for old in prune_candidates(images, self.name, self.p["keep"], image_id):
            removed = self.mutate(f"prune {old['id']}", lambda o=old: remove_refs(self.engine, o["refs"]))
            if removed is not False:
                self.result["pruned"].append(old["id"])

    def _finish(self, before: dict[str, str | None], image_id: str | None) -> dict[str, Any]:
        after = {ref: image_id for ref in before} if image_id or self.p["state"] == "absent" else dict(before)
        if self.p["state"] != "absent" and image_id is None:
            after = {ref: "(would be built)" for ref in before}
        changed = bool(self.actions)
        self.result.update(
            changed=changed,
            actions=self.actions,
            image_id=image_id,
            tags=[ref for ref, ident in after.items() if ident] if self.p["state"] != "absent" else [],
            diff={"before": {"images": before}, "after": {"images": after}},
        )
        return self.result


_NEEDS = object()


def run(module: Any) -> None:
    """The one place errors become fail_json."""
    try:
        engine = engine_from_params(module.params)
        result = ImageTask(engine, module.params, module.check_mode).run()
    except (EngineError, ImageError, ContextError) as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)
