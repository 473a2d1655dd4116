# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared part of local_vm: option checks, records, addresses, and the lifecycle over a fake back end."""

from __future__ import annotations

import ipaddress

import pytest

from ansible_collections.jvmops.deploy.plugins.module_utils import _local_vm
from ansible_collections.jvmops.deploy.plugins.module_utils._local_vm import LocalVmError, Manager, Store


class FakeBackend:
    """A back end that keeps machine states in a dict and lists the calls made to it."""

    name = "nspawn"
    uses_bridge = True
    static_addresses = True

    def __init__(self):
        self.states = {}
        self.calls = []

    @staticmethod
    def host_problem():
        return None

    @staticmethod
    def image_problem(image):
        return None if image.startswith("/images/") else f"{image} does not exist"

    def status(self, record):
        return self.states.get(record["name"], "stopped")

    def _call(self, verb, record, state=None):
        self.calls.append((verb, record["name"]))
        if state:
            self.states[record["name"]] = state

    def create(self, record, directory):
        self._call("create", record, "stopped")
        return {"directory": directory, "host_key": f"ssh-ed25519 KEY root@{record['name']}"}

    def set_hardware(self, record):
        self._call("set_hardware", record)

    def launch(self, record):
        self._call("launch", record, "running")
        return {"pid": 4242}

    def wait_started(self, record, _timeout):
        self._call("wait_started", record)
        return {}

    def pause(self, record):
        self._call("pause", record, "paused")

    def resume(self, record):
        self._call("resume", record, "running")

    def stop(self, record, _timeout):
        self._call("stop", record, "stopped")

    def power_off(self, record):
        self._call("power_off", record, "stopped")

    def destroy(self, record):
        self._call("destroy", record)
        self.states.pop(record["name"], None)


class FakeBridge:
    def __init__(self, problem=None):
        self.calls = []
        self._problem = problem

    def problem(self, _network):
        return self._problem

    def ensure(self, network):
        self.calls.append(("ensure", network["bridge"]))
        return True

    def remove(self, name):
        self.calls.append(("remove", name))


def params(**overrides):
    base = {"name": "web-1", "state": "started", "image": "/images/bookworm", "memory": None, "cpus": None,
            "group": "web", "ssh_public_key": None, "network": None, "state_dir": "/unused", "wait_timeout": 60}
    return {**base, **overrides}


@pytest.fixture(name="world")
def world_fixture(tmp_path):
    backend, bridge = FakeBackend(), FakeBridge()

    def ensure(check=False, **overrides):
        spec = _local_vm.validate(params(state_dir=str(tmp_path / "vms"), **overrides), backend)
        return Manager(backend, Store(spec["state_dir"]), bridge, check).ensure(spec)

    return backend, bridge, ensure, tmp_path / "vms"


@pytest.mark.parametrize("value, mib", [(512, 512), ("512", 512), ("512M", 512), ("2G", 2048), ("65536K", 64),
                                        ("1GiB", 1024), (None, None)])
def test_memory_sizes(value, mib):
    assert _local_vm.parse_memory(value) == mib


@pytest.mark.parametrize("value", [-5, 0, "-1G", "lots", "12T", True, 16])
def test_bad_memory_is_refused_naming_the_option(value):
    with pytest.raises(LocalVmError, match=r"^memory: "):
        _local_vm.parse_memory(value)


@pytest.mark.parametrize("value", [0, -1, 0.001, 100000])
def test_bad_cpus_are_refused_naming_the_option(value):
    with pytest.raises(LocalVmError, match=r"^cpus: "):
        _local_vm.parse_cpus(value)


@pytest.mark.parametrize("name", ["Web", "1web", "web_1", "-web", "a" * 32, ""])
def test_bad_names_are_refused(name):
    with pytest.raises(LocalVmError, match=r"^name: "):
        _local_vm.check_name(name)


def test_network_defaults_and_rules():
    net = _local_vm.parse_network(None)
    assert net == {"bridge": "jvvm0", "subnet": ipaddress.IPv4Network("10.213.9.0/24")}
    assert _local_vm.parse_network({"subnet": "10.9.9.8/29", "bridge": None})["bridge"] == "jvvm0"
    for subnet in ("10.213.9.0/23", "10.213.9.0/30", "10.213.9.1/24", "fd00::/64", "nonsense"):
        with pytest.raises(LocalVmError, match=r"^network\.subnet: "):
            _local_vm.parse_network({"subnet": subnet})
    with pytest.raises(LocalVmError, match=r"^network\.bridge: "):
        _local_vm.parse_network({"bridge": "a-bridge-name-too-long"})


def test_validate_names_the_option_of_each_mistake():
    backend = FakeBackend()
    cases = {"image": {"image": "/nowhere"}, "wait_timeout": {"wait_timeout": 0},
             "ssh_public_key": {"ssh_public_key": "not a key"}, "memory": {"memory": -5}}
    for option, bad in cases.items():
        with pytest.raises(LocalVmError, match=rf"^{option}: "):
            _local_vm.validate(params(**bad), backend)


def test_addresses_start_after_the_gateway_and_reuse_freed_ones():
    net = _local_vm.parse_network({"subnet": "10.1.2.0/29"})
    records = [{"ip": "10.1.2.2", "network": {"bridge": "jvvm0"}}, {"ip": "10.1.2.4", "network": {"bridge": "jvvm0"}},
               {"ip": "10.1.2.3", "network": {"bridge": "other0"}}]
    assert _local_vm.gateway(net["subnet"]) == "10.1.2.1"
    assert _local_vm.free_address(records, net) == "10.1.2.3"
    full = [{"ip": f"10.1.2.{n}", "network": {"bridge": "jvvm0"}} for n in range(2, 7)]
    with pytest.raises(LocalVmError, match=r"^network\.subnet: no free address"):
        _local_vm.free_address(full, net)


def test_start_creates_boots_and_a_second_run_changes_nothing(world):
    backend, bridge, ensure, state_dir = world
    changed, machine, diff = ensure(memory="512M", cpus=1.5)
    assert changed and machine["state"] == "running" and machine["ip"] == "10.213.9.2"
    assert machine["memory"] == 512 and machine["cpus"] == 1.5 and machine["group"] == "web"
    assert machine["host_key"] == "ssh-ed25519 KEY root@web-1" and machine["created"].endswith("Z")
    assert backend.calls == [("create", "web-1"), ("launch", "web-1"), ("wait_started", "web-1")]
    assert bridge.calls == [("ensure", "jvvm0")] and (state_dir / "bridges" / "jvvm0").exists()
    assert diff == {"before": {"state": "absent"}, "after": {"state": "running", "memory": 512, "cpus": 1.5, "group": "web"}}
    backend.calls.clear()
    changed, again, _diff = ensure(memory="512M", cpus=1.5)
    assert not changed and again == machine and backend.calls == []
    assert Store(str(state_dir)).read("web-1")["pid"] == 4242


def test_check_mode_predicts_and_changes_nothing(world):
    backend, bridge, ensure, state_dir = world
    changed, machine, _diff = ensure(check=True)
    assert changed and machine["state"] == "running" and machine["ip"] == "10.213.9.2"
    assert backend.calls == [] and bridge.calls == [] and not state_dir.exists()
    ensure()
    backend.calls.clear()
    for state, predicted in (("paused", "paused"), ("stopped", "stopped"), ("powered_off", "stopped"), ("absent", "absent")):
        changed, machine, _diff = ensure(check=True, state=state)
        assert changed and machine["state"] == predicted
    assert backend.calls == [] and backend.states["web-1"] == "running"


@pytest.mark.parametrize("start, state, calls, after", [
    ("running", "paused", ["pause"], "paused"),
    ("paused", "resumed", ["resume"], "running"),
    ("paused", "started", ["resume"], "running"),
    ("stopped", "resumed", ["launch", "wait_started"], "running"),
    ("running", "stopped", ["stop"], "stopped"),
    ("running", "powered_off", ["power_off"], "stopped"),
    ("paused", "powered_off", ["power_off"], "stopped"),
    ("stopped", "present", [], "stopped"),
    ("running", "present", [], "running"),
])
def test_transitions(world, start, state, calls, after):
    backend, _bridge, ensure, _state_dir = world
    ensure(state="present")
    backend.states["web-1"] = start
    backend.calls.clear()
    changed, machine, diff = ensure(state=state)
    assert [c[0] for c in backend.calls] == calls and machine["state"] == after
    assert changed == bool(calls) and diff["before"]["state"] == start and diff["after"]["state"] == after
    backend.calls.clear()
    assert not ensure(state=state)[0] and backend.calls == []


def test_present_and_stopped_create_without_booting(world):
    backend, _bridge, ensure, _state_dir = world
    changed, machine, _diff = ensure(state="stopped")
    assert changed and machine["state"] == "stopped" and [c[0] for c in backend.calls] == ["create"]


def test_refusals_come_before_any_change(world):
    backend, _bridge, ensure, state_dir = world
    with pytest.raises(LocalVmError, match=r"^image: required"):
        ensure(image=None)
    with pytest.raises(LocalVmError, match=r"^state: machine 'web-1' does not exist"):
        ensure(state="paused")
    assert backend.calls == [] and not (state_dir / "web-1").exists()
    ensure(state="present")
    backend.calls.clear()
    with pytest.raises(LocalVmError, match=r"^state: machine 'web-1' is stopped"):
        ensure(state="paused")
    with pytest.raises(LocalVmError, match=r"^image: machine 'web-1' was created from /images/bookworm"):
        ensure(image="/images/trixie")
    with pytest.raises(LocalVmError, match=r"^network: machine 'web-1' sits on"):
        ensure(network={"subnet": "10.9.9.0/24"})
    with pytest.raises(LocalVmError, match=r"^network: bridge jvvm0 carries 10.213.9.0/24"):
        ensure(name="web-2", network={"subnet": "10.9.9.0/24"})
    assert backend.calls == []


def test_a_gateway_address_in_use_elsewhere_is_refused(tmp_path):
    backend, bridge = FakeBackend(), FakeBridge(problem="network: 10.213.9.1 (the gateway of 10.213.9.0/24) is already on eth1")
    spec = _local_vm.validate(params(state_dir=str(tmp_path)), backend)
    with pytest.raises(LocalVmError, match="already on eth1"):
        Manager(backend, Store(str(tmp_path)), bridge, False).ensure(spec)
    assert backend.calls == [] and bridge.calls == []


def test_hardware_changes_apply_to_a_running_machine(world):
    backend, _bridge, ensure, _state_dir = world
    ensure(memory=512)
    backend.calls.clear()
    changed, machine, diff = ensure(memory="1G", cpus=2)
    assert changed and machine["memory"] == 1024 and machine["cpus"] == 2.0 and backend.calls == [("set_hardware", "web-1")]
    assert diff["before"]["memory"] == 512 and diff["after"]["memory"] == 1024
    backend.calls.clear()
    changed, machine, _diff = ensure(group="db")  # memory not given: kept
    assert changed and machine["group"] == "db" and machine["memory"] == 1024 and backend.calls == []


def test_absent_destroys_and_the_last_machine_takes_the_bridge(world):
    backend, bridge, ensure, state_dir = world
    ensure(name="web-1")
    ensure(name="web-2")
    assert ensure(name="web-1", state="absent")[0]
    assert bridge.calls == [("ensure", "jvvm0"), ("ensure", "jvvm0")]
    assert ensure(name="web-2", state="absent")[1]["state"] == "absent"
    assert bridge.calls[-1] == ("remove", "jvvm0") and not (state_dir / "bridges" / "jvvm0").exists()
    assert [c for c in backend.calls if c[0] == "destroy"] == [("destroy", "web-1"), ("destroy", "web-2")]
    assert not ensure(name="web-2", state="absent")[0]


def test_an_address_freed_by_destroy_is_given_again(world):
    _backend, _bridge, ensure, _state_dir = world
    assert [ensure(name=n)[1]["ip"] for n in ("a", "b", "c")] == ["10.213.9.2", "10.213.9.3", "10.213.9.4"]
    ensure(name="b", state="absent")
    assert ensure(name="d")[1]["ip"] == "10.213.9.3"


def test_info_lists_oldest_first_by_group_and_backend(world):
    backend, _bridge, ensure, state_dir = world
    for name, group in (("b-1", "web"), ("a-1", "db"), ("c-1", "web")):
        ensure(name=name, group=group)
    backend.states["c-1"] = "paused"
    store = Store(str(state_dir))
    assert [m["name"] for m in _local_vm.info(backend, store)] == ["b-1", "a-1", "c-1"]
    web = _local_vm.info(backend, store, "web")
    assert [(m["name"], m["state"]) for m in web] == [("b-1", "running"), ("c-1", "paused")]
    assert set(web[0]) == set(_local_vm.MACHINE_KEYS)
    other = FakeBackend()
    other.name = "virtualbox"
    assert _local_vm.info(other, store) == []


def test_a_machine_of_another_backend_is_refused(world):
    backend, _bridge, ensure, _state_dir = world
    ensure()
    backend.name = "virtualbox"
    with pytest.raises(LocalVmError, match=r"^backend: machine 'web-1' was made with the nspawn back end"):
        ensure()


def test_a_record_that_cannot_be_read_is_named(tmp_path):
    (tmp_path / "web-1").mkdir()
    (tmp_path / "web-1" / "machine.json").write_text("{broken")
    with pytest.raises(LocalVmError, match=r"Failed to read machine 'web-1'"):
        Store(str(tmp_path)).read("web-1")


class IpCommand:
    """`ip` as the Bridge sees it: the addresses on the host and whether the bridge exists."""

    def __init__(self, addresses, bridge_exists=False):
        self.addresses = addresses
        self.bridge_exists = bridge_exists
        self.commands = []

    def __call__(self, args, check=True):
        self.commands.append(args)
        if args[:3] == ["ip", "link", "show"]:
            return (0 if self.bridge_exists else 1), "", ""
        if args[:4] == ["ip", "-o", "-4", "addr"]:
            return 0, self.addresses, ""
        return 0, "", ""


def test_the_bridge_is_made_addressed_and_refused_when_its_gateway_is_elsewhere():
    network = _local_vm.parse_network({"bridge": "jvvm0", "subnet": "10.213.9.0/24"})
    ip = IpCommand("2: eth0    inet 10.0.2.15/24 brd 10.0.2.255 scope global eth0\n")
    bridge = _local_vm.Bridge(ip)
    assert bridge.problem(network) is None
    assert bridge.ensure(network) is True
    assert ip.commands[2:] == [["ip", "link", "add", "jvvm0", "type", "bridge"],
                               ["ip", "-o", "-4", "addr", "show", "dev", "jvvm0"],
                               ["ip", "addr", "add", "10.213.9.1/24", "dev", "jvvm0"],
                               ["ip", "link", "set", "jvvm0", "up"]]
    taken = IpCommand("3: jvlab0    inet 10.213.9.1/24 brd 10.213.9.255 scope global jvlab0\n")
    assert _local_vm.Bridge(taken).problem(network).startswith("network: 10.213.9.1 (the gateway of 10.213.9.0/24) "
                                                               "is already on jvlab0")
    ours = IpCommand("5: jvvm0    inet 10.213.9.1/24 brd 10.213.9.255 scope global jvvm0\n", bridge_exists=True)
    assert _local_vm.Bridge(ours).problem(network) is None
    assert _local_vm.Bridge(ours).ensure(network) is False
    assert ["ip", "addr", "add", "10.213.9.1/24", "dev", "jvvm0"] not in ours.commands


def test_a_bridge_the_module_did_not_make_is_left_in_place(world):
    _backend, bridge, ensure, state_dir = world
    ensure()
    (state_dir / "bridges" / "jvvm0").unlink()  # as if it had been there before
    ensure(state="absent")
    assert ("remove", "jvvm0") not in bridge.calls
