# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The VirtualBox back end of jvmops.deploy.local_vm, through VBoxManage.

Unit-tested only (tests/unit/plugins/module_utils/test__local_vm_virtualbox.py asserts the command lines and the
state mapping): VirtualBox cannot be installed where this collection is tested."""

from __future__ import annotations

import math
import os
import re

from ansible_collections.jvmops.deploy.plugins.module_utils._local_vm import LocalVmError, port_open, wait_for

IP_PROPERTY = "/VirtualBox/GuestInfo/Net/0/V4/IP"
# showvminfo's VMState -> the module's state.
STATES = {
    "running": "running", "paused": "paused", "poweroff": "stopped", "aborted": "stopped", "saved": "stopped",
    "starting": "running", "stopping": "running", "restoring": "running", "teleported": "stopped",
}
CLONE = re.compile(r"^(?P<vm>[^@/]+)(@(?P<snapshot>[^@]+))?$")


class VirtualBoxBackend:
    """One machine at a time, through VBoxManage; every method takes the machine record."""

    name = "virtualbox"
    uses_bridge = True  # the first adapter is bridged to the module's bridge
    static_addresses = False  # the guest takes its address; the IP is what the guest additions report

    def __init__(self, run):
        self.run = run

    def vbox(self, *args, check=True):
        return self.run(["VBoxManage", *args], check=check)

    @staticmethod
    def image_problem(image):
        if image.endswith(".ova"):
            if not os.path.isfile(image):
                return f"{image} does not exist (give an .ova file, or a registered machine as <machine>@<snapshot>)"
            return None
        if not CLONE.match(image):
            return (f"{image!r} is neither an .ova file nor a registered machine given as <machine> or "
                    "<machine>@<snapshot>")
        return None

    def host_problem(self):
        if not self.run.which("VBoxManage"):
            return "backend: VBoxManage is not installed (the virtualbox back end needs VirtualBox)"
        return None

    def vm_state(self, name):
        """showvminfo's VMState, or None when no such machine is registered."""
        rc, out, _err = self.vbox("showvminfo", name, "--machinereadable", check=False)
        if rc != 0:
            return None
        for line in out.splitlines():
            if line.startswith("VMState="):
                return line.split("=", 1)[1].strip().strip('"')
        return None

    def status(self, record):
        return STATES.get(self.vm_state(record["name"]) or "poweroff", "stopped")

    def hardware_args(self, record):
        args = []
        if record.get("memory"):
            args += ["--memory", str(record["memory"])]
        if record.get("cpus"):
            cpus = float(record["cpus"])
            whole = max(1, math.ceil(cpus))
            args += ["--cpus", str(whole), "--cpuexecutioncap", str(max(1, min(100, int(round(cpus / whole * 100)))))]
        return args

    def create(self, record, _directory):
        name, image = record["name"], record["image"]
        if image.endswith(".ova"):
            self.vbox("import", image, "--vsys", "0", "--vmname", name)
        else:
            match = CLONE.match(image)
            if match["snapshot"]:
                self.vbox("clonevm", match["vm"], "--snapshot", match["snapshot"], "--options", "link",
                          "--name", name, "--register")
            else:
                self.vbox("clonevm", match["vm"], "--name", name, "--register")
        self.vbox("modifyvm", name, *self.hardware_args(record), "--nic1", "bridged",
                  "--bridgeadapter1", record["network"]["bridge"])
        if record.get("group"):
            self.vbox("setextradata", name, "jvmops/group", record["group"])
        return {}

    def set_hardware(self, record):
        # VirtualBox changes memory and CPUs of a powered-off machine only; the cap applies at once.
        if record.get("cpus"):
            self.vbox("controlvm", record["name"], "cpuexecutioncap", self.hardware_args(record)[-1])

    def launch(self, record):
        if self.hardware_args(record):
            self.vbox("modifyvm", record["name"], *self.hardware_args(record))
        self.vbox("startvm", record["name"], "--type", "headless")
        return {}

    def guest_ip(self, name):
        _rc, out, _err = self.vbox("guestproperty", "get", name, IP_PROPERTY, check=False)
        out = out.strip()
        return out.split(":", 1)[1].strip() if out.startswith("Value:") else None

    def wait_started(self, record, timeout):
        name = record["name"]
        found = {}

        def answering():
            found["ip"] = self.guest_ip(name)
            return bool(found["ip"]) and port_open(found["ip"], 22)

        if not wait_for(answering, timeout, interval=1):
            raise LocalVmError(f"Failed to start machine '{name}': no address reported ({IP_PROPERTY}) or port 22 "
                               f"not answering within {timeout}s (wait_timeout); the guest needs the guest additions")
        return {"ip": found["ip"]}

    def pause(self, record):
        self.vbox("controlvm", record["name"], "pause")

    def resume(self, record):
        self.vbox("controlvm", record["name"], "resume")

    def stop(self, record, timeout):
        self.vbox("controlvm", record["name"], "acpipowerbutton")
        if not wait_for(lambda: self.status(record) == "stopped", timeout, interval=1):
            raise LocalVmError(f"Failed to stop machine '{record['name']}': it did not shut down within {timeout}s "
                               "(wait_timeout); state=powered_off stops it hard")

    def power_off(self, record):
        self.vbox("controlvm", record["name"], "poweroff")

    def destroy(self, record):
        state = self.vm_state(record["name"])
        if state is None:
            return
        if STATES.get(state) in ("running", "paused"):
            self.power_off(record)
        self.vbox("unregistervm", record["name"], "--delete")
