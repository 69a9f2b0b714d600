# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""platform: swarm in check mode on hosts a real run has not prepared yet: it says what it waits for."""

from __future__ import annotations

import pytest

from ansible_collections.containerops.fleet.plugins.module_utils.service.spec import SpecError
from ansible_collections.containerops.fleet.plugins.module_utils.service.swarm import SwarmService


class Engine:
    def __init__(self, swarm: dict | None, image: dict | None):
        self.swarm, self.image = swarm, image

    def swarm_inspect(self):
        return self.swarm

    def inspect_image(self, ref):
        return self.image


SPEC = {"name": "api", "image": "registry.example.net/shop/api:2.0.1", "replicas": 3}


@pytest.mark.parametrize(
    ("swarm", "image", "waits_for"),
    [
        (None, None, "the swarm (the containerops.fleet.swarm role forms it)"),
        (
            {"ID": "s"},
            None,
            "the image registry.example.net/shop/api:2.0.1 on this manager (the service role delivers it)",
        ),
    ],
)
def test_check_mode_reports_a_change_and_what_it_waits_for(swarm, image, waits_for):
    result = SwarmService(engine=Engine(swarm, image), spec=dict(SPEC), check_mode=True).present()
    assert result["changed"] and result["plan"] == {"waits_for": waits_for}
    assert result["diff"] == {"before": {"replicas": 0}, "after": {"replicas": 3}}


def test_a_real_run_without_a_swarm_still_fails_by_name():
    with pytest.raises(SpecError, match="platform: swarm needs a swarm manager's engine"):
        SwarmService(engine=Engine(None, None), spec=dict(SPEC), check_mode=False).present()
