# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """The alert options of the monitoring checks (disk_alert, process_check, service_check): module_utils/_alerts.py."""

    DOCUMENTATION = r"""
attributes:
  diff_mode:
    support: full
    details: The diff is the state file (O(state_file)) before and after the alerts recorded this run.
options:
  host_label:
    description:
      - The host's name in the alerts and in the state file. The name the host gives itself (as C(hostname) prints it)
        when not given.
    type: str
  state_file:
    description:
      - The JSON file on the monitored host where the module keeps the alerts it sent, for O(mute_for) and recoveries.
        The module owns it and replaces it whole (mode C(0600), its directory created C(0700)); other checks of
        this collection may share it.
    type: path
    default: /var/lib/jvmops/alerts.json
  mute_for:
    description:
      - How long an alert already sent is not sent again while its level stays the same (the source document's
        C(:mute-for), there in milliseconds), as seconds or as a duration such as C(90s), C(30m), C(1h), C(2d).
      - C(0) sends every alert on every run.
    type: raw
    default: 0
"""
