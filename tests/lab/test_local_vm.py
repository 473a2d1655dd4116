# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""jvmops.deploy.local_vm on this host: real machines booted by systemd-nspawn from the lab's base image.

Needs root and the lab's cached image (`lab.py image`), not the lab hosts. The modules run through `ansible
localhost -m`, as a user runs them. The machines sit on a bridge and subnet of their own (jvt0, 10.213.19.0/24)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import lab  # noqa: E402  pylint: disable=wrong-import-position

ANSIBLE = Path(sys.executable).parent / "ansible"
NAME = "jvt-web"
MACHINE = f"vm-{NAME}"  # systemd-nspawn's machine name for it (_local_vm_nspawn.machine_name)
BRIDGE = "jvt0"
NETWORK = {"bridge": BRIDGE, "subnet": "10.213.19.0/24"}
CGROUP = Path("/sys/fs/cgroup")


class Vm:
    """Runs jvmops.deploy.local_vm and local_vm_info on localhost; each call returns the module's result."""

    def __init__(self, state_dir, image, key):
        self.state_dir = state_dir
        self.image = image
        self.key = key

    def call(self, module, args, check=False, diff=False):
        cmd = [str(ANSIBLE), "localhost", "-m", f"jvmops.deploy.{module}", "-a", json.dumps(args)]
        cmd += ["--check"] if check else []
        cmd += ["--diff"] if diff else []
        env = {**os.environ, "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1", "ANSIBLE_STDOUT_CALLBACK": "json",
               "ANSIBLE_LOCALHOST_WARNING": "0", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
               "PATH": f"{ANSIBLE.parent}:{os.environ.get('PATH', '')}"}
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=240, check=False)
        try:
            return json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
        except (ValueError, KeyError, IndexError):
            pytest.fail(f"ansible exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
        return None

    def vm(self, check=False, diff=False, **args):
        args = {"name": NAME, "state_dir": str(self.state_dir), "network": NETWORK, **args}
        return self.call("local_vm", args, check=check, diff=diff)

    def ok(self, **args):
        result = self.vm(**args)
        assert not result.get("failed"), result
        return result

    def info(self, **args):
        return self.call("local_vm_info", {"state_dir": str(self.state_dir), **args})


def machine_processes():
    return [f"{pid}: {' '.join(args)}" for pid, args in lab.all_processes().items()
            if f"--machine={MACHINE}" in args]


def links():
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True).stdout
    return [line.split(":")[1].strip().split("@")[0] for line in out.splitlines()]


def ssh(vm, ip, command, known_hosts, check=True):
    proc = subprocess.run(
        ["ssh", "-i", str(vm.key), "-o", f"UserKnownHostsFile={known_hosts}", "-o", "StrictHostKeyChecking=yes",
         "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", f"root@{ip}", command],
        capture_output=True, text=True, timeout=60, check=False)
    if check:
        assert proc.returncode == 0, f"ssh {command}: {proc.returncode} {proc.stderr}"
    return proc


def http_answers(ip, timeout=2):
    try:
        with urllib.request.urlopen(f"http://{ip}:8080/", timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False


def frozen(name):
    events = CGROUP / "unified" / "jvmops-vm" / name / "cgroup.events"
    if not events.exists():
        events = CGROUP / "jvmops-vm" / name / "cgroup.events"
    return "frozen 1" in events.read_text().splitlines()


def memory_limit(name):
    v1 = CGROUP / "memory" / "jvmops-vm" / name / "memory.limit_in_bytes"
    return int((v1 if v1.exists() else CGROUP / "jvmops-vm" / name / "memory.max").read_text())


@pytest.fixture(name="vm")
def vm_fixture(tmp_path, model_image):
    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "local-vm-test", "-f", str(key)], check=True)
    vm = Vm(tmp_path / "vms", model_image, key)
    yield vm
    vm.vm(state="absent")  # whatever a failed test left


def assert_nothing_left(vm):
    assert not machine_processes(), machine_processes()
    assert not [line for line in Path("/proc/self/mountinfo").read_text().splitlines() if str(vm.state_dir) in line]
    assert f"vb-{MACHINE}" not in links() and BRIDGE not in links()
    assert not (vm.state_dir / NAME).exists()
    assert not (CGROUP / "unified" / "jvmops-vm" / NAME).exists() and not (CGROUP / "memory" / "jvmops-vm" / NAME).exists()


def test_lifecycle(vm, tmp_path):
    spec = {"image": vm.image, "memory": "256M", "cpus": 0.5, "group": "web",
            "ssh_public_key": vm.key.with_suffix(".pub").read_text().strip()}

    # Check mode: what would happen, and nothing made.
    planned = vm.vm(check=True, diff=True, **spec)
    assert planned["changed"] and planned["machine"]["state"] == "running" and planned["machine"]["ip"] == "10.213.19.2"
    assert planned["diff"] == {"before": {"state": "absent"},
                               "after": {"state": "running", "memory": 256, "cpus": 0.5, "group": "web"}}
    assert not (vm.state_dir / NAME).exists() and BRIDGE not in links()

    started = vm.ok(**spec)
    machine = started["machine"]
    assert started["changed"] and machine["state"] == "running" and machine["ip"] == "10.213.19.2"
    assert machine["memory"] == 256 and machine["cpus"] == 0.5 and machine["group"] == "web"
    assert machine["created"].endswith("Z") and machine["host_key"].startswith("ssh-ed25519 ")
    ip = machine["ip"]
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"{ip} {machine['host_key']}\n")
    assert ssh(vm, ip, "hostname", known_hosts).stdout.strip() == NAME
    assert memory_limit(NAME) == 256 * 1024 * 1024

    again = vm.ok(**spec)
    assert not again["changed"] and again["machine"] == machine
    checked = vm.vm(check=True, state="stopped")
    assert checked["changed"] and checked["machine"]["state"] == "stopped"
    assert vm.info(group="web")["machines"] == [machine], "--check stopped it"

    ssh(vm, ip, "systemd-run --unit=web --working-directory=/tmp python3 -m http.server 8080", known_hosts)
    lab.wait_for(lambda: http_answers(ip), 30, "the HTTP server in the machine")

    paused = vm.ok(state="paused")
    assert paused["changed"] and paused["machine"]["state"] == "paused" and frozen(NAME)
    assert not http_answers(ip, timeout=3), "a paused machine answered"
    assert not vm.ok(state="paused")["changed"]

    resumed = vm.ok(state="resumed")
    assert resumed["changed"] and resumed["machine"]["state"] == "running" and not frozen(NAME)
    lab.wait_for(lambda: http_answers(ip), 10, "the HTTP server to answer again")

    stopped = vm.ok(state="stopped", wait_timeout=60)
    assert stopped["changed"] and stopped["machine"]["state"] == "stopped"
    assert not machine_processes() and f"vb-{MACHINE}" not in links()
    assert not vm.ok(state="stopped")["changed"]

    restarted = vm.ok(state="started")
    assert restarted["changed"] and restarted["machine"]["ip"] == ip
    assert restarted["machine"]["host_key"] == machine["host_key"]
    assert ssh(vm, ip, "hostname", known_hosts).stdout.strip() == NAME  # strict known_hosts: the same host key

    off = vm.ok(state="powered_off")
    assert off["changed"] and off["machine"]["state"] == "stopped" and not machine_processes()
    listed = vm.info(group="web")["machines"]
    assert [(m["name"], m["state"]) for m in listed] == [(NAME, "stopped")]
    assert vm.info(group="db")["machines"] == []

    gone = vm.ok(state="absent", diff=True)
    assert gone["changed"] and gone["machine"]["state"] == "absent"
    assert gone["diff"]["after"] == {"state": "absent"} and gone["diff"]["before"]["state"] == "stopped"
    assert_nothing_left(vm)
    assert not vm.ok(state="absent")["changed"]


def test_absent_destroys_a_running_machine_and_bad_input_changes_nothing(vm):
    missing = vm.vm(image="/nonexistent/rootfs")
    assert missing["failed"] and missing["msg"].startswith("image:") and "does not exist" in missing["msg"]
    negative = vm.vm(image=vm.image, memory=-5)
    assert negative["failed"] and negative["msg"].startswith("memory:")
    name = vm.vm(name="Bad_Name", image=vm.image)
    assert name["failed"] and name["msg"].startswith("name:")
    subnet = vm.vm(image=vm.image, network={"bridge": BRIDGE, "subnet": "10.213.19.0/30"})
    assert subnet["failed"] and subnet["msg"].startswith("network.subnet:")
    assert not vm.state_dir.exists() and BRIDGE not in links()

    running = vm.ok(image=vm.image)["machine"]
    assert running["state"] == "running" and machine_processes()
    assert vm.ok(state="absent")["changed"]
    assert_nothing_left(vm)
