# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of container_image: hash the context here, ship payloads only when the host needs them.

1. Work out on the controller what identifies the payload: the build context's content hash, or the image
   ID a `docker save` archive (or the controller's engine) holds.
2. Run the module without payload. It answers with the final result, or `needs: context|archive`.
3. Only then tar/save the payload, transfer it, and run the module again with its remote path.
4. With export_path, fetch the archive the module saved when the controller's copy holds another image ID.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.containerops.fleet.plugins.module_utils.engine.client import DockerEngine, EngineError
from ansible_collections.containerops.fleet.plugins.module_utils.image.context import (
    ContextError,
    archive_images,
    context_files,
    context_hash,
    pick_archive_image,
    write_context_tar,
)
from ansible_collections.containerops.fleet.plugins.module_utils.image.distribute import save_archive

MODULE = "containerops.fleet.container_image"
DEFAULT_STATE_DIR = os.path.join("~", ".cache", "containerops.fleet")  # fleet_state_dir, as the roles default it


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = True

    def run(self, tmp: Any = None, task_vars: dict | None = None) -> dict:
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        args = dict(self._task.args)
        ref = f"{args.get('name')}:{(args.get('tags') or ['latest'])[0]}"
        try:
            try:
                return self._run(args, ref, task_vars, result)
            except (ContextError, EngineError) as exc:
                raise AnsibleActionFail(str(exc)) from exc
        finally:
            if self._connection._shell.tmpdir:
                self._remove_tmp_path(self._connection._shell.tmpdir)

    def _run(self, args: dict, ref: str, task_vars: dict, result: dict) -> dict:
        source = args.get("source")
        state = args.get("state", "present")
        ctrl: dict[str, Any] = {}
        build = dict(args.get("build") or {})
        local_ctx = None
        if state == "present" and source == "build" and build.get("path") and not build.get("context_on_host"):
            local_ctx = self._local_path(build["path"])
            build["path"] = local_ctx
            args["build"] = build
            files = context_files(local_ctx, build.get("dockerfile") or "Dockerfile")
            ctrl["context_hash"] = context_hash(local_ctx, files)
        archive = None
        if state == "present" and source == "archive" and args.get("archive_path"):
            archive = self._local_path(args["archive_path"])
            if self._task.check_mode and not os.path.isfile(archive):
                # the build that writes it did not run in check mode either
                return {"changed": True, "msg": f"check mode: {archive} is made by the build a real run does first"}
            ctrl["archive_id"] = pick_archive_image(archive_images(archive), ref, archive)
        if state == "present" and source == "controller":
            image = DockerEngine().inspect_image(ref)
            if not image:
                raise AnsibleActionFail(f"name: {ref} is not on the controller's Docker engine; build or load it there")
            ctrl["archive_id"] = image["Id"]
        export = args.get("export_path")
        if export and state == "present":
            export = os.path.abspath(os.path.expanduser(export))
            have = pick_archive_image(archive_images(export), ref, export) if os.path.isfile(export) else ""
            ctrl["export_have"] = have
            ctrl["export_tmp"] = self._remote("export.tar") if not self._task.check_mode else "/nonexistent"

        args["_controller"] = ctrl
        out = self._module(args, task_vars)
        needs = out.get("needs")
        if needs == "context" and local_ctx:
            with tempfile.NamedTemporaryFile(suffix=".tar") as tmp:
                write_context_tar(local_ctx, context_files(local_ctx, build.get("dockerfile") or "Dockerfile"), tmp)
                tmp.flush()
                ctrl["context_tar"] = self._ship(tmp.name, "context.tar")
            out = self._module(args, task_vars)
        elif needs == "archive":
            state_dir = self._templar.template((task_vars or {}).get("fleet_state_dir") or DEFAULT_STATE_DIR)
            path = archive if source == "archive" else self._controller_archive(ref, ctrl["archive_id"], state_dir)
            ctrl["archive"] = self._ship(path, "image.tar")
            out = self._module(args, task_vars)
        elif needs:
            raise AnsibleActionFail(f"unexpected request from the module: {needs}")
        if out.get("failed"):
            return {**result, **out}
        if out.get("exported") and not self._task.check_mode:
            os.makedirs(os.path.dirname(export) or ".", exist_ok=True)
            self._connection.fetch_file(ctrl["export_tmp"], export + ".part")
            os.replace(export + ".part", export)
        out["shipped_to"] = [task_vars.get("inventory_hostname")] if out.get("loaded") else []
        return {**result, **out}

    # ------------------------------------------------------------------ helpers

    def _module(self, args: dict, task_vars: dict) -> dict:
        return self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars)

    def _local_path(self, path: str) -> str:
        path = os.path.expanduser(path)
        if not os.path.isabs(path):
            path = self._find_needle("files", path)
        return path

    def _remote(self, name: str) -> str:
        if not self._connection._shell.tmpdir:
            self._make_tmp_path()
        return self._connection._shell.join_path(self._connection._shell.tmpdir, name)

    def _ship(self, local: str, name: str) -> str:
        remote = self._remote(name)
        self._transfer_file(local, remote)
        self._fixup_perms2((self._connection._shell.tmpdir, remote))
        return remote

    def _controller_archive(self, ref: str, image_id: str, state_dir: str) -> str:
        """`docker save` of the controller's image, cached by image ID in fleet_state_dir (saved once, shipped to
        many hosts)."""
        cache = os.path.join(os.path.expanduser(str(state_dir)), "images")
        os.makedirs(cache, mode=0o700, exist_ok=True)
        path = os.path.join(cache, image_id.split(":", 1)[-1] + ".tar")
        if not os.path.isfile(path):
            save_archive(DockerEngine(), [ref], path)
        return path
