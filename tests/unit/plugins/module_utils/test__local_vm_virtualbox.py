# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The VirtualBox back end: the exact VBoxManage command lines and the state mapping (VirtualBox itself cannot be
installed where this collection is tested)."""

from __future__ import annotations

import pytest

from ansible_collections.jvmops.deploy.plugins.module_utils import _local_vm, _local_vm_virtualbox
from ansible_collections.jvmops.deploy.plugins.module_utils._local_vm import LocalVmError
from ansible_collections.jvmops.deploy.plugins.module_utils._local_vm_virtualbox import VirtualBoxBackend


class FakeVBoxManage:
    """Answers VBoxManage commands from a table of (command prefix) -> (rc, stdout); records every command."""

    def __init__(self, answers=None):
        self.commands = []
        self.answers = answers or {}

    def __call__(self, args, check=True):
        self.commands.append(list(args))
        for prefix, (rc, out) in self.answers.items():
            if tuple(args[:len(prefix)]) == prefix:
                break
        else:
            rc, out = 0, ""
        if check and rc != 0:
            raise LocalVmError(f"{' '.join(args)} exited {rc}")
        return rc, out, ""

    @staticmethod
    def which(_name):
        return "/usr/bin/VBoxManage"


def record(**overrides):
    return {"name": "web-1", "image": "/images/base.ova", "memory": 1024, "cpus": 1.5, "group": "web",
            "network": {"bridge": "jvvm0", "subnet": "10.213.9.0/24"}, **overrides}


def test_create_from_an_ova_imports_it_and_sets_the_hardware_profile():
    run = FakeVBoxManage()
    VirtualBoxBackend(run).create(record(), "/state/web-1")
    assert run.commands == [
        ["VBoxManage", "import", "/images/base.ova", "--vsys", "0", "--vmname", "web-1"],
        ["VBoxManage", "modifyvm", "web-1", "--memory", "1024", "--cpus", "2", "--cpuexecutioncap", "75",
         "--nic1", "bridged", "--bridgeadapter1", "jvvm0"],
        ["VBoxManage", "setextradata", "web-1", "jvmops/group", "web"],
    ]


def test_create_from_a_snapshot_is_a_linked_clone_and_from_a_machine_a_full_one():
    run = FakeVBoxManage()
    backend = VirtualBoxBackend(run)
    backend.create(record(image="debian-base@clean", memory=None, cpus=None, group=None), "/state/web-1")
    assert run.commands == [
        ["VBoxManage", "clonevm", "debian-base", "--snapshot", "clean", "--options", "link", "--name", "web-1",
         "--register"],
        ["VBoxManage", "modifyvm", "web-1", "--nic1", "bridged", "--bridgeadapter1", "jvvm0"],
    ]
    run.commands.clear()
    backend.create(record(image="debian-base", memory=512, cpus=2, group=None), "/state/web-1")
    assert run.commands[0] == ["VBoxManage", "clonevm", "debian-base", "--name", "web-1", "--register"]
    assert run.commands[1][3:9] == ["--memory", "512", "--cpus", "2", "--cpuexecutioncap", "100"]


@pytest.mark.parametrize("vm_state, state", [("running", "running"), ("paused", "paused"), ("poweroff", "stopped"),
                                             ("aborted", "stopped"), ("saved", "stopped"), ("starting", "running")])
def test_state_mapping(vm_state, state):
    run = FakeVBoxManage({("VBoxManage", "showvminfo"): (0, f'name="web-1"\nVMState="{vm_state}"\nmemory=1024\n')})
    assert VirtualBoxBackend(run).status(record()) == state
    assert run.commands == [["VBoxManage", "showvminfo", "web-1", "--machinereadable"]]


def test_start_boots_headless_and_waits_for_the_guest_address(monkeypatch):
    run = FakeVBoxManage({("VBoxManage", "guestproperty"): (0, "Value: 10.213.9.57\n")})
    monkeypatch.setattr(_local_vm_virtualbox, "port_open", lambda host, port: (host, port) == ("10.213.9.57", 22))
    backend = VirtualBoxBackend(run)
    assert backend.launch(record()) == {}
    assert backend.wait_started(record(), 5) == {"ip": "10.213.9.57"}
    assert run.commands == [
        ["VBoxManage", "modifyvm", "web-1", "--memory", "1024", "--cpus", "2", "--cpuexecutioncap", "75"],
        ["VBoxManage", "startvm", "web-1", "--type", "headless"],
        ["VBoxManage", "guestproperty", "get", "web-1", "/VirtualBox/GuestInfo/Net/0/V4/IP"],
    ]


def test_a_guest_without_an_address_fails_after_wait_timeout(monkeypatch):
    run = FakeVBoxManage({("VBoxManage", "guestproperty"): (0, "No value set!\n")})
    monkeypatch.setattr(_local_vm_virtualbox, "wait_for", lambda predicate, timeout, interval: predicate())
    with pytest.raises(LocalVmError, match=r"no address reported .* within 7s \(wait_timeout\)"):
        VirtualBoxBackend(run).wait_started(record(), 7)


def test_pause_resume_stop_power_off_and_destroy_command_lines(monkeypatch):
    run = FakeVBoxManage({("VBoxManage", "showvminfo"): (0, 'VMState="running"\n')})
    backend = VirtualBoxBackend(run)
    backend.pause(record())
    backend.resume(record())
    backend.power_off(record())
    backend.destroy(record())
    assert run.commands == [
        ["VBoxManage", "controlvm", "web-1", "pause"],
        ["VBoxManage", "controlvm", "web-1", "resume"],
        ["VBoxManage", "controlvm", "web-1", "poweroff"],
        ["VBoxManage", "showvminfo", "web-1", "--machinereadable"],
        ["VBoxManage", "controlvm", "web-1", "poweroff"],
        ["VBoxManage", "unregistervm", "web-1", "--delete"],
    ]
    run = FakeVBoxManage({("VBoxManage", "showvminfo"): (0, 'VMState="running"\n')})
    monkeypatch.setattr(_local_vm_virtualbox, "wait_for", lambda predicate, timeout, interval: predicate())
    with pytest.raises(LocalVmError, match=r"did not shut down within 30s .*state=powered_off"):
        VirtualBoxBackend(run).stop(record(), 30)
    assert run.commands[0] == ["VBoxManage", "controlvm", "web-1", "acpipowerbutton"]


def test_destroy_of_an_unregistered_machine_does_nothing():
    run = FakeVBoxManage({("VBoxManage", "showvminfo"): (1, "")})
    VirtualBoxBackend(run).destroy(record())
    assert run.commands == [["VBoxManage", "showvminfo", "web-1", "--machinereadable"]]


def test_images_and_missing_vboxmanage():
    assert VirtualBoxBackend.image_problem("/nowhere/base.ova").startswith("/nowhere/base.ova does not exist")
    assert VirtualBoxBackend.image_problem("base@snap") is None
    assert "neither an .ova" in VirtualBoxBackend.image_problem("a@b@c")

    class NoVBox(FakeVBoxManage):
        @staticmethod
        def which(_name):
            return None

    assert VirtualBoxBackend(NoVBox()).host_problem().startswith("backend: VBoxManage is not installed")


def test_the_lifecycle_over_virtualbox_takes_the_address_the_guest_reports(tmp_path, monkeypatch):
    vm_state = {"value": None}

    class World(FakeVBoxManage):
        def __call__(self, args, check=True):
            verb = args[1] if len(args) > 1 else ""
            if verb == "showvminfo":
                self.commands.append(list(args))
                return (0, f'VMState="{vm_state["value"]}"\n', "") if vm_state["value"] else (1, "", "not found")
            if verb in ("import", "clonevm"):
                vm_state["value"] = "poweroff"
            if verb == "startvm":
                vm_state["value"] = "running"
            if verb == "guestproperty":
                self.commands.append(list(args))
                return 0, "Value: 192.168.56.9\n", ""
            return super().__call__(args, check)

    class NoBridge:
        def problem(self, _network):
            return None

        def ensure(self, _network):
            return False

    monkeypatch.setattr(_local_vm_virtualbox, "port_open", lambda host, port: True)
    run = World()
    backend = VirtualBoxBackend(run)
    spec = _local_vm.validate({"name": "web-1", "state": "started", "image": "base@clean", "memory": "1G", "cpus": 1,
                               "group": "web", "ssh_public_key": None, "network": None, "state_dir": str(tmp_path),
                               "wait_timeout": 5}, backend)
    changed, machine, _diff = _local_vm.Manager(backend, _local_vm.Store(str(tmp_path)), NoBridge(), False).ensure(spec)
    assert changed and machine["state"] == "running" and machine["ip"] == "192.168.56.9" and machine["backend"] == "virtualbox"
    assert ["VBoxManage", "startvm", "web-1", "--type", "headless"] in run.commands
