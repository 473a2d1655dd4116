# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: local_vm_info
short_description: List the local machines jvmops.deploy.local_vm made, oldest first
version_added: 0.1.0
author:
  - jvmops.deploy contributors (@jvmops)
description:
  - Lists the machines of one back end kept in O(state_dir), optionally of one O(group), each with its state as it
    is now, sorted by creation time (oldest first). C(playbooks/converge.yml) counts a group with it and removes the
    oldest first.
  - Changes nothing.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads only.
  diff_mode:
    support: none
  idempotent:
    support: full
    description: It only reads.
  platform:
    platforms: posix
options:
  group:
    description:
      - Only the machines with this label (the O(jvmops.deploy.local_vm#module:group) they were given).
    type: str
  backend:
    description:
      - The back end whose machines to list.
    type: str
    choices: [nspawn, virtualbox]
    default: nspawn
  state_dir:
    description:
      - Where M(jvmops.deploy.local_vm) keeps the machines' records.
    type: path
    default: /var/lib/jvmops/vms
seealso:
  - module: jvmops.deploy.local_vm
"""

EXAMPLES = r"""
- name: The machines of group web
  jvmops.deploy.local_vm_info:
    group: web
  register: vms

- name: Their addresses
  ansible.builtin.debug:
    msg: "{{ vms.machines | map(attribute='ip') | list }}"
"""

RETURN = r"""
machines:
  description: The machines, oldest first, each as M(jvmops.deploy.local_vm) returns it in RV(jvmops.deploy.local_vm#module:machine).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "web-1", "state": "running", "ip": "10.213.9.2", "group": "web",
            "image": "/var/cache/jvmops/images/bookworm/rootfs", "created": "2026-11-28T04:20:31.512034Z",
            "backend": "nspawn", "memory": 512, "cpus": 1.5, "host_key": "ssh-ed25519 AAAAC3... root@web-1"}]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.jvmops.deploy.plugins.module_utils import _local_vm
from ansible_collections.jvmops.deploy.plugins.module_utils._local_vm_nspawn import NspawnBackend
from ansible_collections.jvmops.deploy.plugins.module_utils._local_vm_virtualbox import VirtualBoxBackend

BACKENDS = {"nspawn": NspawnBackend, "virtualbox": VirtualBoxBackend}


def main():
    module = AnsibleModule(
        argument_spec={
            "group": {"type": "str"},
            "backend": {"type": "str", "choices": _local_vm.BACKENDS, "default": "nspawn"},
            "state_dir": {"type": "path", "default": _local_vm.DEFAULT_STATE_DIR},
        },
        supports_check_mode=True,
    )
    backend = BACKENDS[module.params["backend"]](_local_vm.Runner(module))
    try:
        machines = _local_vm.info(backend, _local_vm.Store(module.params["state_dir"]), module.params["group"])
    except _local_vm.LocalVmError as exc:
        module.fail_json(msg=str(exc), **exc.result)
    module.exit_json(changed=False, machines=machines)


if __name__ == "__main__":
    main()
