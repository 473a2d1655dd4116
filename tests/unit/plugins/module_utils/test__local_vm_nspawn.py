# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The nspawn back end's pure parts: machine names, the layer it writes, its command line, and the cgroup files it
writes on the two layouts (a directory stands in for /sys/fs/cgroup). tests/lab/test_local_vm.py boots real ones."""

from __future__ import annotations

import os

import pytest

from ansible_collections.jvmops.deploy.plugins.module_utils import _local_vm_nspawn
from ansible_collections.jvmops.deploy.plugins.module_utils._local_vm import LocalVmError
from ansible_collections.jvmops.deploy.plugins.module_utils._local_vm_nspawn import Cgroup, NspawnBackend


def test_machine_names_keep_the_host_link_within_15_characters():
    assert _local_vm_nspawn.machine_name("web-3") == "vm-web-3"
    long_one = _local_vm_nspawn.machine_name("a-very-long-machine-name")
    assert len(f"vb-{long_one}") == 15 and long_one.startswith("vm-a-")
    assert long_one != _local_vm_nspawn.machine_name("a-very-long-machine-nam")


def test_images_must_be_root_filesystems_that_boot_systemd(tmp_path):
    assert "absolute path" in NspawnBackend.image_problem("rootfs")
    assert "does not exist" in NspawnBackend.image_problem(str(tmp_path / "none"))
    assert "no root filesystem that boots systemd" in NspawnBackend.image_problem(str(tmp_path))
    (tmp_path / "sbin").mkdir()
    os.symlink("/lib/systemd/systemd", tmp_path / "sbin" / "init")  # dangling on the host, fine in the image
    assert NspawnBackend.image_problem(str(tmp_path)) is None


class KeyGen:
    def __init__(self):
        self.commands = []

    def __call__(self, args, check=True):
        self.commands.append(args)
        if args[0] == "ssh-keygen":
            key = args[args.index("-f") + 1]
            with open(key, "w", encoding="utf-8") as handle:
                handle.write("PRIVATE\n")
            with open(key + ".pub", "w", encoding="utf-8") as handle:
                handle.write("ssh-ed25519 AAAAkey root@web-3\n")
        return 0, "", ""


def test_create_writes_the_machines_layer(tmp_path):
    run = KeyGen()
    rec = {"name": "web-3", "ip": "10.213.9.5", "network": {"bridge": "jvvm0", "subnet": "10.213.9.0/24"},
           "ssh_public_key": "ssh-ed25519 AAAAop op@ctl", "image": "/images/rootfs"}
    made = NspawnBackend(run).create(rec, str(tmp_path))
    assert made == {"directory": str(tmp_path), "machine": "vm-web-3", "host_key": "ssh-ed25519 AAAAkey root@web-3"}
    upper = tmp_path / "upper"
    assert (upper / "etc/hostname").read_text() == "web-3\n"
    network = (upper / "etc/systemd/network/10-host0.network").read_text()
    assert "Address=10.213.9.5/24\n" in network and "Gateway=10.213.9.1\n" in network and "Name=host0" in network
    assert (upper / "root/.ssh/authorized_keys").read_text() == "ssh-ed25519 AAAAop op@ctl\n"
    assert oct((upper / "root/.ssh/authorized_keys").stat().st_mode & 0o777) == "0o600"
    assert oct((upper / "etc/ssh/ssh_host_ed25519_key").stat().st_mode & 0o777) == "0o600"
    assert len((upper / "etc/machine-id").read_text().strip()) == 32
    command = NspawnBackend(run).command({**rec, **made})
    assert "--overlay=/images/rootfs:" + str(upper) + ":/" in command and "--network-bridge=jvvm0" in command
    assert {"--register=no", "--keep-unit", "--boot", "--machine=vm-web-3", "--hostname=web-3"} <= set(command)


def hybrid(root):
    """The layout of this project's test machines: v1 controllers, the unified hierarchy beside them."""
    for controller in ("memory", "cpu", "freezer"):
        (root / controller).mkdir(parents=True)
        (root / controller / "cgroup.procs").write_text("")
    (root / "unified").mkdir()
    (root / "unified" / "cgroup.controllers").write_text("")
    return root


def test_hybrid_layout_limits_with_v1_files_and_freezes_with_the_unified_one(tmp_path):
    cgroup = Cgroup("web-3", str(hybrid(tmp_path)))
    assert cgroup.unified == str(tmp_path / "unified" / "jvmops-vm" / "web-3") and not cgroup.pure_v2
    cgroup.create()
    cgroup.set_limits(512, 1.5)
    assert (tmp_path / "memory/jvmops-vm/web-3/memory.limit_in_bytes").read_text() == str(512 * 1024 * 1024)
    assert (tmp_path / "cpu/jvmops-vm/web-3/cpu.cfs_quota_us").read_text() == "150000"
    assert (tmp_path / "cpu/jvmops-vm/web-3/cpu.cfs_period_us").read_text() == "100000"
    cgroup.set_limits(None, None)
    assert (tmp_path / "memory/jvmops-vm/web-3/memory.limit_in_bytes").read_text() == "-1"
    unified = tmp_path / "unified/jvmops-vm/web-3"
    (unified / "cgroup.events").write_text("populated 1\nfrozen 1\n")  # what the kernel reports once frozen
    cgroup.freeze(True)
    assert (unified / "cgroup.freeze").read_text() == "1" and cgroup.frozen()


def test_unified_layout_delegates_the_controllers_and_writes_v2_limits(tmp_path):
    (tmp_path / "cgroup.controllers").write_text("cpu memory pids\n")
    (tmp_path / "cgroup.subtree_control").write_text("memory\n")
    cgroup = Cgroup("web-3", str(tmp_path))
    assert cgroup.pure_v2
    cgroup.create()
    assert (tmp_path / "cgroup.subtree_control").read_text() == "+cpu"
    assert (tmp_path / "jvmops-vm" / "cgroup.subtree_control").read_text() == "+memory +cpu"
    cgroup.set_limits(1024, 0.5)
    assert (tmp_path / "jvmops-vm/web-3/memory.max").read_text() == str(1024 ** 3)
    assert (tmp_path / "jvmops-vm/web-3/cpu.max").read_text() == "50000 100000"
    cgroup.set_limits(None, None)
    assert (tmp_path / "jvmops-vm/web-3/cpu.max").read_text() == "max 100000"


def test_a_freeze_the_kernel_does_not_confirm_fails(tmp_path, monkeypatch):
    cgroup = Cgroup("web-3", str(hybrid(tmp_path)))
    cgroup.create()
    (tmp_path / "unified/jvmops-vm/web-3/cgroup.events").write_text("populated 1\nfrozen 0\n")
    monkeypatch.setattr(_local_vm_nspawn, "wait_for", lambda predicate, timeout, interval=0.2: predicate())
    with pytest.raises(LocalVmError, match="did not freeze within 10s"):
        cgroup.freeze(True)


def test_no_freezer_no_pause(tmp_path):
    (tmp_path / "memory").mkdir()
    (tmp_path / "memory" / "cgroup.procs").write_text("")
    with pytest.raises(LocalVmError, match="^state: pausing needs the cgroup freezer"):
        Cgroup("web-3", str(tmp_path)).freeze(True)


def test_a_stopped_record_is_stopped_and_the_pid_of_another_process_does_not_count():
    backend = NspawnBackend(KeyGen())
    rec = {"name": "web-3", "machine": "vm-web-3", "directory": "/state/web-3", "pid": os.getpid()}
    assert backend.status(rec) == "stopped"
    assert backend.status({"name": "web-3"}) == "stopped"
