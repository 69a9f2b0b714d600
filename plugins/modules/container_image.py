#!/usr/bin/python
# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: container_image
short_description: Build, ship, pull and push images; rebuild only when the build context changed
version_added: 0.1.0
description:
  - Ensures image O(name) with O(tags) on this host's Docker engine, from one O(source).
  - V(build) builds from a context directory. By default the directory is on the controller; it is hashed there
    (honouring C(.dockerignore)) and shipped to the host only when a build is needed. The image is rebuilt if and
    only if the context content hash or another build input (O(build.dockerfile), O(build.args), O(build.target),
    O(build.labels)) changed; the hashes are stored as the image labels C(io.containerops.fleet.context-hash) and
    C(io.containerops.fleet.build-hash). A re-run with nothing changed does no build and reports C(changed=false).
  - V(archive) loads a C(docker save) archive that lies on the controller, and V(controller) takes the image from
    the controller's own Docker engine. Either is shipped only to hosts where that image ID is missing (the
    air-gapped path, no registry needed).
  - V(pull) pulls from a registry when the image is missing; V(local) expects the image on the host already.
  - O(export_path) saves the image to an archive on the controller, only when the archive there does not hold that
    image ID yet; other hosts then load it with O(source=archive) (host to host through the controller).
  - O(push) pushes the tags to the registry named in O(name), with O(registry_auth) credentials.
  - O(keep) prunes older images of the same repository.
  - Talks to the Docker Engine API over its unix socket with the Python standard library.
author:
  - containerops.fleet contributors (@containerops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - containerops.fleet.engine
  - containerops.fleet.registry
attributes:
  check_mode:
    support: full
    details: Reports what would be built, loaded, pulled, tagged, pushed and pruned without doing it.
  diff_mode:
    support: full
    details: Before and after, the image ID each O(name):O(tags) reference points at.
  action:
    support: full
    details: The action plugin hashes and ships the build context, ships archives and fetches exports.
  async:
    support: none
  bypass_host_loop:
    support: none
  platform:
    platforms: posix
options:
  name:
    description:
      - Repository, optionally prefixed by a registry (V(registry.example.net:5000/shop/web)).
    type: str
    required: true
  tags:
    description: Tags to set on the image; the first one is the reference built, pulled or looked up.
    type: list
    elements: str
    default: [latest]
  state:
    description: V(present) ensures the image and tags; V(absent) removes the tags (the image goes with the last one).
    type: str
    choices: [present, absent]
    default: present
  source:
    description: Where the image comes from when it is missing or out of date; required with O(state=present).
    type: str
    choices: [build, archive, controller, pull, local]
  pull:
    description:
      - With O(source=pull), V(missing) pulls only when the host lacks the reference; V(always) asks the registry on
        every run and reports a change only when it gives another image ID.
    type: str
    choices: [missing, always]
    default: missing
  build:
    description: Build inputs, required with O(source=build).
    type: dict
    suboptions:
      path:
        description:
          - The build context directory. On the controller (relative paths are resolved like C(copy) sources), or
            an absolute path on the host with O(build.context_on_host).
        type: path
        required: true
      context_on_host:
        description: O(build.path) is a directory on the host; it is hashed there and nothing is shipped.
        type: bool
        default: false
      dockerfile:
        description: Dockerfile path relative to O(build.path).
        type: str
        default: Dockerfile
      args:
        description: Build arguments (C(ARG)).
        type: dict
        default: {}
      target:
        description: Build stage to stop at.
        type: str
      labels:
        description: Labels to set on the image.
        type: dict
        default: {}
      timeout:
        description: Seconds a build may take.
        type: int
        default: 1800
  archive_path:
    description: A C(docker save) archive on the controller; required with O(source=archive).
    type: path
  export_path:
    description:
      - Save the image to this archive on the controller, when the archive there does not already hold its image ID.
      - With O(source=archive) on other hosts, this ships an image built on one host to the others.
    type: path
  push:
    description:
      - Push every tag to the registry named in O(name).
      - Skipped when the engine already records a digest of the image for O(name) (it was pushed or pulled before)
        and the image was not built or loaded by this task.
    type: bool
    default: false
  keep:
    description: Keep this many images of repository O(name) (the current one included) and untag older ones.
    type: int
  _controller:
    description:
      - Internal, set by the action plugin (context hash, shipped payload paths, archive image IDs). Do not set.
    type: dict
notes:
  - The image ID an archive holds is read from its C(manifest.json), so checking a host costs one inspect call.
  - A rebuilt image keeps its layers cached on the host; old images are only removed through O(keep).
seealso:
  - name: Docker Engine API
    description: The engine endpoints this module calls (build, images, load, save, push, pull).
    link: https://docs.docker.com/engine/api/v1.41/
"""

EXAMPLES = r"""
- name: Build the web image on one host
  containerops.fleet.container_image:
    name: registry.example.net/shop/web
    tags: ["1", latest]
    source: build
    build:
      path: "{{ inventory_dir }}/../shop"
      args:
        BASE: debian:bookworm-slim
    keep: 3
    export_path: /var/tmp/shop-web.tar
  when: inventory_hostname == 'node1'

- name: Ship it to the other hosts where that image ID is missing
  containerops.fleet.container_image:
    name: registry.example.net/shop/web
    tags: ["1", latest]
    source: archive
    archive_path: /var/tmp/shop-web.tar

- name: Ship the controller's base image to every host that lacks it
  containerops.fleet.container_image:
    name: debian
    tags: [bookworm-slim]
    source: controller

- name: Push to a registry
  containerops.fleet.container_image:
    name: registry.example.net:5000/shop/web
    tags: ["1"]
    source: local
    push: true
    registry_auth:
      username: fleet
      password: "{{ vault_registry_password }}"
"""

RETURN = r"""
image_id:
  description: ID of the image the tags point at (null in check mode when it would be built).
  returned: state is present
  type: str
  sample: sha256:5b4c0b0d3f5d7f3f0c2a8d1e9b7a6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b
tags:
  description: The C(name:tag) references that point at RV(image_id).
  returned: always
  type: list
  elements: str
  sample: [registry.example.net/shop/web:1, registry.example.net/shop/web:latest]
context_hash:
  description: Content hash of the build context (null unless O(source=build)).
  returned: always
  type: str
  sample: sha256:0f3c...
build_hash:
  description: Hash of the context and every build input, the value of the C(io.containerops.fleet.build-hash) label.
  returned: always
  type: str
  sample: sha256:9a1e...
rebuilt:
  description: The image was built (in check mode, would be built).
  returned: always
  type: bool
loaded:
  description: The image was loaded from a shipped archive (in check mode, would be).
  returned: always
  type: bool
shipped_to:
  description: Inventory hosts the image (or its build context) was shipped to by this task.
  returned: always
  type: list
  elements: str
  sample: [node2]
pulled:
  description: The image was pulled.
  returned: always
  type: bool
pushed:
  description: The tags were pushed.
  returned: always
  type: bool
exported:
  description: O(export_path) was (re)written.
  returned: always
  type: bool
pruned:
  description: IDs of older images of O(name) that O(keep) removed.
  returned: always
  type: list
  elements: str
actions:
  description: What was done (or would be, in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: ["build registry.example.net/shop/web:1", "tag registry.example.net/shop/web:latest"]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.containerops.fleet.plugins.module_utils.engine.options import engine_options
from ansible_collections.containerops.fleet.plugins.module_utils.image.options import registry_auth_option
from ansible_collections.containerops.fleet.plugins.module_utils.image.runner import run


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            tags=dict(type="list", elements="str", default=["latest"]),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            source=dict(type="str", choices=["build", "archive", "controller", "pull", "local"]),
            build=dict(
                type="dict",
                options=dict(
                    path=dict(type="path", required=True),
                    context_on_host=dict(type="bool", default=False),
                    dockerfile=dict(type="str", default="Dockerfile"),
                    args=dict(type="dict", default={}),
                    target=dict(type="str"),
                    labels=dict(type="dict", default={}),
                    timeout=dict(type="int", default=1800),
                ),
            ),
            archive_path=dict(type="path"),
            export_path=dict(type="path"),
            push=dict(type="bool", default=False),
            registry_auth=registry_auth_option(),
            keep=dict(type="int"),
            **engine_options(),
            pull=dict(type="str", default="missing", choices=["missing", "always"]),
            _controller=dict(type="dict"),
        ),
        required_if=[
            ("state", "present", ("source",)),
            ("source", "build", ("build",)),
            ("source", "archive", ("archive_path",)),
        ],
        supports_check_mode=True,
    )
    run(module)


if __name__ == "__main__":
    main()
