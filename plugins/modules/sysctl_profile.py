# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: sysctl_profile
short_description: Apply a set of kernel parameters live and persist them, skipping what this kernel refuses
version_added: 0.1.0
author:
  - jvmops.deploy contributors (@jvmops)
description:
  - Sets each kernel parameter live through C(/proc/sys) and writes the set to one file in C(/etc/sysctl.d/)
    so it is applied again at boot.
  - A parameter that this kernel or this network namespace does not have (C(net.ipv4.tcp_tw_recycle) is gone
    since Linux 4.12; C(net.ipv4.tcp_mem) and C(net.core.netdev_max_backlog) are not per network namespace),
    or whose value the kernel refuses (a container cannot raise C(net.core.rmem_max) above the host's value),
    is skipped with a warning that names it; with O(strict=true) the module fails instead.
  - Skipped parameters are written to the file as comments with the reason, so the file shows what was asked.
  - A name that is not a parameter here, a group of parameters (C(net.core), a directory under C(/proc/sys)) or a
    write-only trigger (C(vm.compact_memory)), fails the task before anything is changed. A parameter this host does
    not let the module read is skipped with the reason (with O(strict=true), the task fails before any change).
  - Unlike M(ansible.posix.sysctl), one task handles a whole profile and tells applicable from
    inapplicable parameters.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: >-
      Refusals by the kernel are only known when writing; check mode predicts them from access rights and from
      the skips the persisted file records.
  diff_mode:
    support: full
  platform:
    platforms: posix
options:
  parameters:
    description:
      - Kernel parameters in dotted form and their values. Values with several fields (C(4096 87380 16777216))
        are compared field by field, whatever the white space.
      - Port lists (C(net.ipv4.ip_local_reserved_ports), C(net.ipv4.ip_local_unbindable_ports)) are ports and
        ranges separated by commas, compared as sets of ports (the kernel reads them back sorted, with runs merged).
    type: dict
    required: true
  floors:
    description:
      - Parameters of O(parameters) whose values are minimums, such as the guide's "somaxconn 1024 or more". Each
        field is set to the larger of the host's live value and the floor, so a host with more keeps it (a kernel
        whose default C(somaxconn) is 4096 keeps 4096); that value is also what the file persists, with a comment
        line saying so, and RV(kept) lists those parameters.
      - Each floor must be whole numbers separated by spaces.
    type: list
    elements: str
    default: []
  file:
    description:
      - The file in C(/etc/sysctl.d/) (or elsewhere) that persists the profile. The module owns it and
        writes its whole content.
      - It must be a regular file of UTF-8 text, or not exist yet; anything else (a directory, a device, a file
        in another encoding) fails the task before anything is changed.
    type: path
    default: /etc/sysctl.d/60-jvmops.conf
  strict:
    description:
      - Fail, before changing anything, when a parameter does not exist, and fail when the kernel refuses a value.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Tune the kernel for many connections
  jvmops.deploy.sysctl_profile:
    parameters:
      net.core.somaxconn: 1024
      net.ipv4.tcp_rmem: 4096 87380 16777216
      net.ipv4.tcp_fin_timeout: 10
    file: /etc/sysctl.d/60-app.conf

- name: Raise the backlogs to at least the guide's values, never lower them, and reserve the app's ports
  jvmops.deploy.sysctl_profile:
    parameters:
      net.core.somaxconn: 1024
      net.ipv4.tcp_max_syn_backlog: 2048
      net.ipv4.ip_local_port_range: 1024 65535
      net.ipv4.ip_local_reserved_ports: 8000,4430
    floors:
      - net.core.somaxconn
      - net.ipv4.tcp_max_syn_backlog

- name: Refuse to run on a kernel that cannot take the whole profile
  jvmops.deploy.sysctl_profile:
    parameters:
      net.ipv4.tcp_mem: 50576 64768 98152
    strict: true
"""

RETURN = r"""
applied:
  description: Parameters whose live value was changed (or would be, in check mode), with the new value.
  type: dict
  returned: always
  sample: {"net.core.somaxconn": "1024"}
unchanged:
  description: Parameters that already had the wanted value.
  type: list
  elements: str
  returned: always
  sample: ["net.ipv4.tcp_syncookies"]
skipped_parameters:
  description: Parameters that were not set, with the reason.
  type: dict
  returned: always
  sample: {"net.ipv4.tcp_tw_recycle": "not on this kernel or in this network namespace"}
live_values:
  description: The live value of every parameter that exists here, read back from the kernel after the run (in check mode, the value it would have).
  type: dict
  returned: always
  sample: {"net.core.somaxconn": "1024", "net.ipv4.tcp_rmem": "4096 87380 16777216"}
kept:
  description: Parameters of O(floors) whose live value was above the floor in some field, with the value kept.
  type: dict
  returned: always
  sample: {"net.core.somaxconn": "4096"}
file:
  description: The file that persists the profile.
  type: str
  returned: always
  sample: /etc/sysctl.d/60-jvmops.conf
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.jvmops.deploy.plugins.module_utils._sysctl_profile import OPTIONS, SysctlProfileError, apply


def main():
    module = AnsibleModule(
        argument_spec=OPTIONS,
        supports_check_mode=True,
    )
    try:
        changed, result = apply(module)
    except SysctlProfileError as exc:
        module.fail_json(msg=str(exc), **exc.result)
    module.exit_json(changed=changed, **result)


if __name__ == "__main__":
    main()
