# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""local_vm and local_vm_info as Ansible runs them: options, check and diff mode, errors naming the option. The back
end is the fake of test__local_vm.py; the bridge's `ip` commands go to a stub of AnsibleModule.run_command."""

from __future__ import annotations

import pytest

from ansible.module_utils import basic

from ansible_collections.jvmops.deploy.plugins.modules import local_vm, local_vm_info
from ansible_collections.jvmops.deploy.tests.unit.plugins.module_utils.test__local_vm import FakeBackend


@pytest.fixture(name="env")
def env_fixture(monkeypatch, tmp_path):
    backend = FakeBackend()  # one for every run of the test
    backends = {"nspawn": lambda _run: backend, "virtualbox": lambda _run: backend}
    monkeypatch.setattr(local_vm, "BACKENDS", backends)
    monkeypatch.setattr(local_vm_info, "BACKENDS", backends)
    commands = []

    def run_command(_self, args, **_kw):
        commands.append(args)
        if args[:3] == ["ip", "link", "show"]:
            return 1, "", "Device does not exist"
        return 0, "", ""

    monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
    return {"state_dir": str(tmp_path / "vms"), "image": "/images/bookworm", "commands": commands,
            "backend": backend}


def test_start_returns_the_machine_and_makes_the_bridge(invoke, env):
    result = invoke(local_vm.main, {"name": "web-3", "image": env["image"], "memory": "512M", "cpus": 1.5,
                                    "group": "web", "state_dir": env["state_dir"]})
    assert not result.failed, result.result
    machine = result.result["machine"]
    assert result.result["changed"] and machine["state"] == "running" and machine["ip"] == "10.213.9.2"
    assert machine["memory"] == 512 and machine["cpus"] == 1.5 and "diff" not in result.result
    assert ["ip", "link", "add", "jvvm0", "type", "bridge"] in env["commands"]
    assert ["ip", "addr", "add", "10.213.9.1/24", "dev", "jvvm0"] in env["commands"]
    again = invoke(local_vm.main, {"name": "web-3", "image": env["image"], "memory": 512, "cpus": 1.5,
                                   "state_dir": env["state_dir"]})
    assert not again.result["changed"] and again.result["machine"] == machine


def test_check_and_diff_mode(invoke, env):
    result = invoke(local_vm.main, {"name": "web-3", "image": env["image"], "state_dir": env["state_dir"]},
                    check=True, diff=True)
    assert result.result["changed"] and result.result["diff"]["before"] == {"state": "absent"}
    assert result.result["diff"]["after"]["state"] == "running"
    assert env["commands"] == [["ip", "-o", "-4", "addr", "show"]] and env["backend"].calls == []


@pytest.mark.parametrize("args, option", [
    ({"name": "Web_3"}, "name"),
    ({"image": "/nowhere"}, "image"),
    ({"memory": -5}, "memory"),
    ({"memory": "5T"}, "memory"),
    ({"cpus": -1}, "cpus"),
    ({"network": {"subnet": "10.0.0.0/16"}}, "network.subnet"),
    ({"network": {"bridge": "x" * 16}}, "network.bridge"),
    ({"state": "paused"}, "state"),
    ({"image": None}, "image"),
])
def test_bad_input_names_the_option_and_changes_nothing(invoke, env, args, option):
    base = {"name": "web-3", "image": env["image"], "state_dir": env["state_dir"]}
    result = invoke(local_vm.main, {**base, **args})
    assert result.failed and result.result["msg"].startswith(f"{option}: "), result.result["msg"]
    assert env["backend"].calls == [] and not any(c[:3] == ["ip", "link", "add"] for c in env["commands"])


def test_an_unknown_backend_is_refused_by_its_choices(invoke, env):
    result = invoke(local_vm.main, {"name": "web-3", "backend": "xen", "state_dir": env["state_dir"]})
    assert result.failed and "backend" in result.result["msg"] and "nspawn, virtualbox" in result.result["msg"]


def test_info_lists_a_group_oldest_first(invoke, env):
    for name in ("web-2", "db-1", "web-1"):
        invoke(local_vm.main, {"name": name, "image": env["image"], "group": name.split("-", maxsplit=1)[0],
                               "state_dir": env["state_dir"]})
    result = invoke(local_vm_info.main, {"group": "web", "state_dir": env["state_dir"]})
    assert not result.result["changed"]
    assert [(m["name"], m["ip"]) for m in result.result["machines"]] == [("web-2", "10.213.9.2"), ("web-1", "10.213.9.4")]
    empty = invoke(local_vm_info.main, {"state_dir": env["state_dir"] + "-none"})
    assert empty.result["machines"] == []
