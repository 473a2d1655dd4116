# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/converge.yml with `provider: local`: a group of real machines (jvmops.deploy.local_vm, systemd-nspawn
from the lab's base image) brought to 2, 2 again, 3, 1 and 0; the new ones bootstrapped with the admin user, every
one configured with the group's packages through the lab's apt proxy.

Needs root, the lab's cached image and its apt proxy (the lab stage has both), not the lab hosts. The machines sit on
local_vm's default bridge and subnet (jvvm0, 10.213.9.0/24) with its default state directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import lab as labpy  # noqa: E402  pylint: disable=wrong-import-position

CONVERGE = "jvmops.deploy.converge"
GROUP = "cv"
ADMIN = "ops"
BRIDGE = "jvvm0"
ANSIBLE = Path(sys.executable).parent / "ansible"
BOOTSTRAP_PLAY = "PLAY [Bootstrap the new nodes with the admin user]"
CONFIGURE_PLAY = "PLAY [Configure every node with its group's packages and roles]"


def local_vm_info(group=GROUP):
    cmd = [str(ANSIBLE), "localhost", "-m", "jvmops.deploy.local_vm_info", "-a", json.dumps({"group": group})]
    env = {**os.environ, "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1", "ANSIBLE_STDOUT_CALLBACK": "json",
           "ANSIBLE_LOCALHOST_WARNING": "0", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120, check=False)
    result = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    assert not result.get("failed"), result
    return result["machines"]


def links():
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True).stdout
    return [line.split(":")[1].strip().split("@")[0] for line in out.splitlines()]


def nspawn_processes():
    return [" ".join(args) for args in labpy.all_processes().values()
            if args and args[0].endswith("systemd-nspawn") and any(a.startswith(f"--machine=vm-{GROUP}-") for a in args)]


class Group:
    """The group spec and the controller's side: an SSH key, a known_hosts file, a localhost inventory."""

    def __init__(self, lab, tmp, image, proxy):
        self.lab = lab
        self.key = tmp / "id_ed25519"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "operator@converge-test", "-f",
                        str(self.key)], check=True)
        self.public_key = self.key.with_suffix(".pub").read_text().strip()
        self.known_hosts = tmp / "known_hosts"
        self.inventory = tmp / "inventory.ini"
        self.inventory.write_text("localhost ansible_connection=local\n")
        self.image = image
        self.proxy = proxy

    def spec(self, count, **over):
        spec = {"name": GROUP, "count": count, "provider": "local", "image": self.image,
                "hardware": {"memory": "512M", "cpus": 1}, "packages": ["tree"],
                "vars": {"ansible_ssh_private_key_file": str(self.key),
                         "ansible_ssh_common_args": f"-o UserKnownHostsFile={self.known_hosts} -o StrictHostKeyChecking=yes",
                         "converge_http_proxy": self.proxy}}
        spec.update(over)
        return spec

    def converge(self, count, check=False, **over):
        extra = {"converge_groups": [self.spec(count, **over)], "admin_user_name": ADMIN,
                 "admin_user_public_keys": [self.public_key], "node_group_ssh_public_key": self.public_key,
                 "converge_known_hosts_file": str(self.known_hosts)}
        return self.lab.playbook(CONVERGE, extra_json=extra, check=check, diff=check, inventory=self.inventory)

    def ssh(self, ip, command, user=ADMIN):
        return subprocess.run(
            ["ssh", "-i", str(self.key), "-o", f"UserKnownHostsFile={self.known_hosts}", "-o", "StrictHostKeyChecking=yes",
             "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", f"{user}@{ip}", command],
            capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture(name="group")
def group_fixture(lab, tmp_path, model_image):
    assert local_vm_info() == [], "machines of the test's group are left from an earlier run"
    group = Group(lab, tmp_path, model_image, labpy.Config().proxy_url)
    yield group
    for machine in local_vm_info():  # whatever a failed test left
        subprocess.run([str(ANSIBLE), "localhost", "-m", "jvmops.deploy.local_vm", "-a",
                        json.dumps({"name": machine["name"], "state": "absent"})], capture_output=True, check=False)


def bootstrapped(run):
    """The hosts the bootstrap play ran on (its task lines name them)."""
    section = run.output.split(BOOTSTRAP_PLAY)[1].split(CONFIGURE_PLAY)[0]
    return {name for name in (f"{GROUP}-{n}" for n in range(1, 10)) if f"[{name}]" in section}


def assert_configured(group, machine):
    ip = machine["ip"]
    proc = group.ssh(ip, "sudo -n id -un && dpkg-query -W -f '${Status}' tree && hostname")
    assert proc.returncode == 0, proc
    assert proc.stdout.split("\n")[0] == "root" and "install ok installed" in proc.stdout, proc.stdout
    assert proc.stdout.strip().endswith(machine["name"]), proc.stdout


@pytest.mark.parametrize("over, words", [
    ({"count": -1}, ["count", "-1"]),
    ({"provider": "xen"}, ["provider", "xen"]),
    ({"image": "/nonexistent/rootfs"}, ["image", "/nonexistent/rootfs"]),
])
def test_bad_group_is_refused_before_any_machine_is_made(group, over, words):
    run = group.converge(over.pop("count", 2), **over)
    assert run.rc != 0, run
    assert all(word in run.output for word in words), run
    assert "Traceback" not in run.output, run
    assert local_vm_info() == [] and not nspawn_processes()


def test_converge_2_2_3_1_0(group):
    # --check on nothing: would make two, makes none.
    planned = group.converge(2, check=True)
    assert planned.rc == 0, planned
    assert local_vm_info() == [] and BRIDGE not in links()

    # 2: both new, both bootstrapped and configured.
    first = group.converge(2)
    assert first.rc == 0, first
    machines = local_vm_info()
    assert [m["name"] for m in machines] == [f"{GROUP}-1", f"{GROUP}-2"], machines
    assert all(m["state"] == "running" for m in machines), machines
    assert bootstrapped(first) == {f"{GROUP}-1", f"{GROUP}-2"}, first
    for machine in machines:
        assert_configured(group, machine)
        # The admin user logs in with the operator's key, and only that key.
        assert group.ssh(machine["ip"], "cat ~/.ssh/authorized_keys").stdout.strip() == group.public_key

    # 2 again: nothing changes anywhere, and nobody is bootstrapped again.
    again = group.converge(2)
    assert again.rc == 0 and again.recap.get("localhost", {}).get("changed") == 0 and not again.changed(), again
    assert bootstrapped(again) == set(), again
    assert local_vm_info() == machines
    checked = group.converge(2, check=True)
    assert checked.rc == 0 and checked.recap.get("localhost", {}).get("changed") == 0 and not checked.changed(), checked

    # 3: one new machine, only it is bootstrapped; all three are configured.
    third = group.converge(3)
    assert third.rc == 0, third
    now = local_vm_info()
    assert [m["name"] for m in now] == [f"{GROUP}-1", f"{GROUP}-2", f"{GROUP}-3"], now
    assert now[:2] == machines
    assert bootstrapped(third) == {f"{GROUP}-3"}, third
    assert_configured(group, now[2])

    # 1: the two oldest go, the newest stays and still answers.
    one = group.converge(1)
    assert one.rc == 0, one
    left = local_vm_info()
    assert left == [now[2]], left
    assert bootstrapped(one) == set(), one
    assert_configured(group, left[0])
    assert not [p for p in nspawn_processes() if f"--machine=vm-{GROUP}-1" in p or f"--machine=vm-{GROUP}-2" in p]

    # 0: all gone: no machine, process, mount or interface left.
    gone = group.converge(0)
    assert gone.rc == 0, gone
    assert local_vm_info() == [] and not nspawn_processes()
    assert BRIDGE not in links() and not [link for link in links() if link.startswith(f"vb-vm-{GROUP}")]
    assert "/var/lib/jvmops/vms" not in Path("/proc/self/mountinfo").read_text()
    zero = group.converge(0)
    assert zero.rc == 0 and zero.recap.get("localhost", {}).get("changed") == 0, zero
