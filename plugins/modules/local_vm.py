# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: local_vm
short_description: Create, start, pause, resume, stop, power off and destroy local machines (VMFest's verbs)
version_added: 0.1.0
author:
  - jvmops.deploy contributors (@jvmops)
description:
  - Manages one machine on the host the task runs on, made from a model image with a hardware profile (memory and
    CPU limits), with the verbs of VMFest - create (O(state=present)), start, pause, resume, stop (clean shutdown),
    power off (hard) and destroy (O(state=absent)) - and returns its address.
  - The V(nspawn) back end boots systemd in a systemd-nspawn container through a copy-on-write layer over the model
    image (the image is never written to). Each machine gets its own hostname, machine id, SSH host key, root's
    authorized key and a static address on a bridge the module makes (the subnet's first address, which is also
    the machine's gateway, so the machine reaches the host's addresses such as an apt proxy). The bridge goes with
    the last machine. Memory and CPU limits, pause and resume (the freezer) and power off (kill) work through a
    cgroup of the machine's own, on a unified (v2) or on a hybrid (v1 controllers) cgroup layout.
  - The V(virtualbox) back end drives C(VBoxManage) behind the same options. It is unit-tested only (VirtualBox
    cannot be installed where this collection is tested); treat it as untested on real VirtualBox.
  - A machine's record (image, group, creation time, address, hardware profile) is kept in O(state_dir); the
    M(jvmops.deploy.local_vm_info) module lists them.
  - Everything is checked before anything changes; a second run with the same options changes nothing.
  - See C(docs/local-vm.md).
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Tells what would change (and the address a new machine would get) and changes nothing.
  diff_mode:
    support: full
    details: The machine's state, memory, CPU limit and group before and after.
  idempotent:
    support: full
    description: A second run with the same options changes nothing.
  platform:
    platforms: posix
    details: Linux; the V(nspawn) back end needs root, systemd-nspawn (Debian package systemd-container) and cgroups.
options:
  name:
    description:
      - The machine's name, also its hostname. 1-31 lower-case letters, digits and C(-), starting with a letter.
    type: str
    required: true
  state:
    description:
      - V(present) creates the machine (layer, configuration, address) without booting it.
      - V(started) creates it when needed and boots it, until its port 22 answers; a paused machine is resumed.
        V(resumed) means the same (VMFest's resume).
      - V(paused) freezes every process of a running machine; the machine must be running.
      - V(stopped) shuts it down cleanly (the machine's systemd powers off) within O(wait_timeout) and fails when it
        does not; V(powered_off) kills it. With an O(image), both create a machine that does not exist, unbooted.
      - V(absent) destroys it - powered off, its layer, record and address gone (and the bridge with the last one).
    type: str
    choices: [present, started, resumed, paused, stopped, powered_off, absent]
    default: started
  image:
    description:
      - The model image. V(nspawn) - the absolute path of a directory holding a root filesystem that boots systemd
        and runs sshd (and python3, for Ansible). V(virtualbox) - the path of an C(.ova) to import, or a registered
        machine to clone, as C(<machine>@<snapshot>) (a linked clone of that snapshot) or C(<machine>) (a full clone).
      - Required when the machine must be created; it must exist. A machine keeps the image it was made from.
    type: str
  memory:
    description:
      - The memory limit, as MiB (V(512)) or a string with a C(K), C(M) or C(G) suffix (V(512M), V(2G)); at least 32 MiB.
      - Unset, the machine has no limit of its own. A change applies to a running machine at once.
    type: raw
  cpus:
    description:
      - The CPU limit, in CPUs (V(1.5) is one and a half CPUs' time), from 0.01 up to the host's CPU count.
      - Unset, no limit. A change applies to a running machine at once.
    type: float
  group:
    description:
      - A label kept with the machine, such as the group it belongs to (C(playbooks/converge.yml) counts a group's
        machines with it). Unset on an existing machine, the label is kept.
    type: str
  ssh_public_key:
    description:
      - An OpenSSH public key line written to root's C(authorized_keys) when the machine is created.
    type: str
  network:
    description:
      - The bridge and subnet the machine sits on, fixed when it is created. The module makes the bridge with the
        subnet's first address and removes it with its last machine. Machines sharing a bridge share its subnet.
      - "Defaults to C({bridge: jvvm0, subnet: 10.213.9.0/24}); keys not given take their default."
    type: dict
    suboptions:
      bridge:
        description: The bridge's name (at most 15 characters).
        type: str
        default: jvvm0
      subnet:
        description: An IPv4 subnet from a /24 to a /29; machines get its addresses from the second one up.
        type: str
        default: 10.213.9.0/24
  backend:
    description:
      - V(nspawn) (systemd-nspawn containers) or V(virtualbox) (C(VBoxManage); unit-tested only).
    type: str
    choices: [nspawn, virtualbox]
    default: nspawn
  state_dir:
    description:
      - Where the machines' records and layers are kept.
    type: path
    default: /var/lib/jvmops/vms
  wait_timeout:
    description:
      - Seconds to wait for a started machine's port 22 to answer, and for a stopped one to shut down.
    type: int
    default: 60
notes:
  - On the V(nspawn) back end a machine that reboots itself stops; start it again with O(state=started).
seealso:
  - module: jvmops.deploy.local_vm_info
"""

EXAMPLES = r"""
- name: Start a machine from the model image with a hardware profile
  jvmops.deploy.local_vm:
    name: web-3
    image: /var/cache/jvmops/images/bookworm/rootfs
    memory: 512M
    cpus: 1.5
    group: web
    ssh_public_key: "{{ lookup('ansible.builtin.file', '~/.ssh/id_ed25519.pub') }}"
  register: vm

- name: Reach it
  ansible.builtin.add_host:
    name: "{{ vm.machine.name }}"
    ansible_host: "{{ vm.machine.ip }}"
    groups: web

- name: Pause it (every process frozen)
  jvmops.deploy.local_vm:
    name: web-3
    state: paused

- name: Resume it
  jvmops.deploy.local_vm:
    name: web-3
    state: resumed

- name: Shut it down cleanly
  jvmops.deploy.local_vm:
    name: web-3
    state: stopped
    wait_timeout: 90

- name: Destroy it
  jvmops.deploy.local_vm:
    name: web-3
    state: absent
"""

RETURN = r"""
machine:
  description: The machine after the call (in check mode, what it would be).
  returned: always
  type: dict
  contains:
    name:
      description: The machine's name.
      type: str
      sample: web-3
    state:
      description: V(running), V(paused), V(stopped) or V(absent).
      type: str
      sample: running
    ip:
      description: Its address (V(virtualbox) - the one the guest reports once it has booted).
      type: str
      sample: 10.213.9.2
    group:
      description: Its label.
      type: str
      sample: web
    image:
      description: The model image it was made from.
      type: str
      sample: /var/cache/jvmops/images/bookworm/rootfs
    created:
      description: When it was made, ISO 8601 UTC with microseconds.
      type: str
      sample: "2026-11-28T04:20:31.512034Z"
    backend:
      description: V(nspawn) or V(virtualbox).
      type: str
      sample: nspawn
    memory:
      description: Its memory limit in MiB, or null for none.
      type: int
      sample: 512
    cpus:
      description: Its CPU limit, or null for none.
      type: float
      sample: 1.5
    host_key:
      description: Its SSH host public key (V(nspawn); null in check mode for a machine not made yet).
      type: str
      sample: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMx... root@web-3
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.jvmops.deploy.plugins.module_utils import _local_vm
from ansible_collections.jvmops.deploy.plugins.module_utils._local_vm_nspawn import NspawnBackend
from ansible_collections.jvmops.deploy.plugins.module_utils._local_vm_virtualbox import VirtualBoxBackend

BACKENDS = {"nspawn": NspawnBackend, "virtualbox": VirtualBoxBackend}


def ensure(module):
    """(changed, result) for the task."""
    run = _local_vm.Runner(module)
    backend = BACKENDS[module.params["backend"]](run)
    spec = _local_vm.validate(module.params, backend)
    problem = backend.host_problem()
    if problem:
        raise _local_vm.LocalVmError(problem)
    manager = _local_vm.Manager(backend, _local_vm.Store(spec["state_dir"]), _local_vm.Bridge(run), module.check_mode)
    changed, machine, diff = manager.ensure(spec)
    result = {"machine": machine}
    if module._diff:  # pylint: disable=protected-access
        result["diff"] = diff
    return changed, result


def main():
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "state": {"type": "str", "choices": _local_vm.STATES, "default": "started"},
            "image": {"type": "str"},
            "memory": {"type": "raw"},
            "cpus": {"type": "float"},
            "group": {"type": "str"},
            "ssh_public_key": {"type": "str"},
            "network": {
                "type": "dict",
                "options": {
                    "bridge": {"type": "str", "default": _local_vm.DEFAULT_NETWORK["bridge"]},
                    "subnet": {"type": "str", "default": _local_vm.DEFAULT_NETWORK["subnet"]},
                },
            },
            "backend": {"type": "str", "choices": _local_vm.BACKENDS, "default": "nspawn"},
            "state_dir": {"type": "path", "default": _local_vm.DEFAULT_STATE_DIR},
            "wait_timeout": {"type": "int", "default": 60},
        },
        supports_check_mode=True,
    )
    try:
        changed, result = ensure(module)
    except _local_vm.LocalVmError as exc:
        module.fail_json(msg=str(exc), **exc.result)
    module.exit_json(changed=changed, **result)


if __name__ == "__main__":
    main()
