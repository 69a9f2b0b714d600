# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.containerops.fleet.plugins.filter.file_sd_targets import FilterModule as FileSd
from ansible_collections.containerops.fleet.plugins.filter.file_sd_targets import file_sd_targets
from ansible_collections.containerops.fleet.plugins.filter.scrape_targets import FilterModule as Scrape
from ansible_collections.containerops.fleet.plugins.filter.scrape_targets import scrape_targets


def test_filters_are_registered_under_their_file_names():
    assert set(Scrape().filters()) == {"scrape_targets"}
    assert set(FileSd().filters()) == {"file_sd_targets"}


def test_scrape_targets_wraps_errors_with_its_name():
    assert scrape_targets(["a"], {"a": {"ansible_host": "10.0.0.1"}}, 9100)[0]["targets"] == ["10.0.0.1:9100"]
    with pytest.raises(AnsibleFilterError, match=r"^scrape_targets: port: 0 is not a port number"):
        scrape_targets(["a"], {}, 0)


def test_file_sd_targets_wraps_errors_with_its_name():
    with pytest.raises(AnsibleFilterError, match=r"^file_sd_targets: endpoint 0: host is missing"):
        file_sd_targets([{"service": "web", "address": "10.0.0.1", "port": 1, "metrics_path": "/metrics"}])
