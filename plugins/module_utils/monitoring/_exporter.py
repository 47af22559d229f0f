# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the other domains know of AMD's device metrics exporter: where it answers by default
and the units each way of running it uses (``_exporter_controller.py`` renders them; the
scrape targets and the benchmark read them).

Travels to hosts; constants only.
"""

from __future__ import annotations

# config.json's ServerPort when not set, and the path (docs/configuration/
# configuration-settings.md: ``http://localhost:5000/metrics``).
DEFAULT_PORT = 5000
METRICS_PATH = "/metrics"
# Each method's units, in the order AMD stops them before a driver change (started in the
# reverse order after it): the package's own two, or the role's container unit.
UNITS = {
    "package": ("amd-metrics-exporter.service", "gpuagent.service"),
    "container": ("device-metrics-exporter.service",),
}


def service_of(method: str) -> str:
    """The unit that serves the metrics, for ``gpu_exporter_method``."""
    return UNITS[method][0]
