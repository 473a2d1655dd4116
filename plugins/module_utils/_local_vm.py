# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What jvmops.deploy.local_vm and jvmops.deploy.local_vm_info share: the options and their checks, the machine
records kept in state_dir, the bridge the machines sit on, and the lifecycle (VMFest's verbs) over a back end.

A back end (``_local_vm_nspawn.NspawnBackend``, ``_local_vm_virtualbox.VirtualBoxBackend``) only knows how to do one
thing to one machine: create, start, pause, resume, stop, power off, destroy, read its state. The decisions (what
changes, in which order, check mode, what is returned) are made here, once, for both."""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import ipaddress
import json
import os
import re
import shutil
import socket
import tempfile
import time

NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
BRIDGE = re.compile(r"^[A-Za-z0-9_-]{1,15}$")
MEMORY = re.compile(r"^([0-9]+)\s*([KMG]?)i?B?$", re.I)
STATES = ["present", "started", "resumed", "paused", "stopped", "powered_off", "absent"]
BACKENDS = ["nspawn", "virtualbox"]
DEFAULT_NETWORK = {"bridge": "jvvm0", "subnet": "10.213.9.0/24"}
DEFAULT_STATE_DIR = "/var/lib/jvmops/vms"
MIN_MEMORY_MIB = 32
RECORD = "machine.json"
# What a record keeps and a result returns, in this order.
MACHINE_KEYS = ("name", "state", "ip", "group", "image", "created", "backend", "memory", "cpus", "host_key")

# The options of jvmops.deploy.local_vm_info, which local_vm shares.
COMMON_OPTIONS = {
    "state_dir": {"type": "path", "default": DEFAULT_STATE_DIR},
    "backend": {"type": "str", "choices": BACKENDS, "default": "nspawn"},
}


class LocalVmError(Exception):
    """A user mistake or a machine that does not do what it is told; result holds what to return with it."""

    def __init__(self, msg, **result):
        super().__init__(msg)
        self.result = result


# --------------------------------------------------------------------------- input


def parse_memory(value):
    """MiB from an int (MiB) or a string with a K, M or G suffix (no suffix: MiB); None stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise LocalVmError(f"memory: must be a size such as 512 (MiB), 512M or 2G, got {value!r}")
    if isinstance(value, int):
        mib = value
    else:
        match = MEMORY.match(str(value).strip())
        if not match:
            raise LocalVmError(f"memory: must be a size such as 512 (MiB), 512M or 2G, got {value!r}")
        number, unit = int(match.group(1)), match.group(2).upper()
        mib = {"K": number / 1024, "": number, "M": number, "G": number * 1024}[unit]
    if mib < MIN_MEMORY_MIB:
        raise LocalVmError(f"memory: must be at least {MIN_MEMORY_MIB} MiB (a machine boots systemd), got {value!r}")
    return int(mib)


def parse_cpus(value):
    if value is None:
        return None
    cpus = float(value)
    available = os.cpu_count() or 1
    if not 0.01 <= cpus <= available:
        raise LocalVmError(f"cpus: must be more than 0 (at least 0.01) and at most this host's {available} CPUs, "
                           f"got {value!r}")
    return round(cpus, 2)


def parse_network(value):
    """{bridge, subnet (an ipaddress.IPv4Network)}: the defaults for keys not given."""
    value = {**DEFAULT_NETWORK, **{k: v for k, v in (value or {}).items() if v not in (None, "")}}
    if not BRIDGE.match(str(value["bridge"])):
        raise LocalVmError(f"network.bridge: must be an interface name (letters, digits, _ and -, at most 15), "
                           f"got {value['bridge']!r}")
    try:
        subnet = ipaddress.IPv4Network(str(value["subnet"]), strict=True)
    except ValueError as exc:
        raise LocalVmError(f"network.subnet: must be an IPv4 network such as 10.213.9.0/24 ({exc})") from None
    if not 24 <= subnet.prefixlen <= 29:
        raise LocalVmError(f"network.subnet: must be a /24 to a /29 (the bridge takes the first address, machines "
                           f"the others), got {subnet}")
    return {"bridge": value["bridge"], "subnet": subnet}


def check_name(name):
    if not NAME.match(name or ""):
        raise LocalVmError(f"name: must be 1-31 lower-case letters, digits and '-', starting with a letter (it is "
                           f"also the machine's hostname), got {name!r}")


def validate(params, backend):
    """The options of local_vm, checked and normalised; LocalVmError names the first bad one. Nothing is changed."""
    check_name(params["name"])
    spec = {
        "name": params["name"],
        "state": params["state"],
        "image": params.get("image"),
        "memory": parse_memory(params.get("memory")),
        "cpus": parse_cpus(params.get("cpus")),
        "group": params.get("group"),
        "ssh_public_key": (params.get("ssh_public_key") or "").strip() or None,
        "network": parse_network(params.get("network")),
        "network_given": bool(params.get("network")),
        "state_dir": params["state_dir"],
        "wait_timeout": params["wait_timeout"],
    }
    if spec["wait_timeout"] is None or spec["wait_timeout"] < 1:
        raise LocalVmError(f"wait_timeout: must be at least 1 (seconds), got {spec['wait_timeout']!r}")
    if spec["ssh_public_key"] and (len(spec["ssh_public_key"].splitlines()) != 1
                                   or not re.match(r"^(ssh-|ecdsa-|sk-)\S+ \S+", spec["ssh_public_key"])):
        raise LocalVmError("ssh_public_key: must be one OpenSSH public key line such as 'ssh-ed25519 AAAA... who'")
    if spec["image"] is not None:
        problem = backend.image_problem(spec["image"])
        if problem:
            raise LocalVmError(f"image: {problem}")
    return spec


# --------------------------------------------------------------------------- records


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Store:
    """state_dir: one directory per machine holding machine.json (and whatever the back end keeps there), bridges/
    for the bridges this module made, and .lock, held for the whole of a run that may change something."""

    def __init__(self, path):
        self.path = path

    def machine_dir(self, name):
        return os.path.join(self.path, name)

    @contextlib.contextmanager
    def locked(self, create):
        """The state lock; without create (check mode) a state_dir that does not exist is not made."""
        if not create and not os.path.isdir(self.path):
            yield
            return
        os.makedirs(self.path, mode=0o700, exist_ok=True)
        with open(os.path.join(self.path, ".lock"), "w", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def read(self, name):
        path = os.path.join(self.machine_dir(name), RECORD)
        try:
            with open(path, encoding="utf-8") as handle:
                record = json.load(handle)
        except FileNotFoundError:
            return None
        except ValueError as exc:
            raise LocalVmError(f"Failed to read machine '{name}': {path} is not a machine record ({exc}); "
                               "remove its directory to forget it") from None
        return record if isinstance(record, dict) and record.get("name") == name else None

    def records(self):
        if not os.path.isdir(self.path):
            return []
        found = [self.read(entry) for entry in sorted(os.listdir(self.path)) if NAME.match(entry)]
        return sorted((r for r in found if r), key=lambda r: r.get("created", ""))

    def write(self, record):
        directory = self.machine_dir(record["name"])
        os.makedirs(directory, mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".machine-", dir=directory)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(record, handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.replace(tmp, os.path.join(directory, RECORD))

    def remove(self, name):
        shutil.rmtree(self.machine_dir(name), ignore_errors=True)
        if os.path.exists(self.machine_dir(name)):
            raise LocalVmError(f"Failed to destroy machine '{name}': {self.machine_dir(name)} could not be removed")

    def bridge_marker(self, bridge):
        return os.path.join(self.path, "bridges", bridge)

    def own_bridge(self, bridge, subnet):
        os.makedirs(os.path.dirname(self.bridge_marker(bridge)), mode=0o700, exist_ok=True)
        with open(self.bridge_marker(bridge), "w", encoding="utf-8") as handle:
            handle.write(f"{subnet}\n")

    def owns_bridge(self, bridge):
        return os.path.exists(self.bridge_marker(bridge))

    def disown_bridge(self, bridge):
        with contextlib.suppress(FileNotFoundError):
            os.remove(self.bridge_marker(bridge))


def free_address(records, network):
    """The lowest address of the subnet no machine on the same bridge has; the first one is the bridge's."""
    subnet = network["subnet"]
    used = {r.get("ip") for r in records if r.get("network", {}).get("bridge") == network["bridge"]}
    hosts = list(subnet.hosts())
    for address in hosts[1:]:
        if str(address) not in used:
            return str(address)
    raise LocalVmError(f"network.subnet: no free address left in {subnet} for another machine")


def gateway(subnet):
    return str(next(ipaddress.IPv4Network(str(subnet)).hosts()))


# --------------------------------------------------------------------------- host helpers


def port_open(host, port, timeout=1.0):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for(predicate, timeout, interval=0.2):
    """Whether predicate() became true within timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


class Runner:
    """Commands through AnsibleModule.run_command; a failure is a LocalVmError with the command's own message."""

    def __init__(self, module):
        self.module = module

    def __call__(self, args, check=True):
        rc, out, err = self.module.run_command([str(a) for a in args])
        if check and rc != 0:
            raise LocalVmError(f"{' '.join(map(str, args))} exited {rc}: {(err or out).strip()}")
        return rc, out, err

    def which(self, name):
        return self.module.get_bin_path(name)


class Bridge:
    """The Linux bridge the machines sit on; the module makes it (gateway = the subnet's first address) and removes
    it with the last machine when it made it."""

    def __init__(self, run):
        self.run = run

    def exists(self, name):
        return self.run(["ip", "link", "show", "dev", name], check=False)[0] == 0

    def problem(self, network):
        """Why the bridge cannot be used (its gateway address is on another interface), or None."""
        address = gateway(network["subnet"])
        rc, out, _err = self.run(["ip", "-o", "-4", "addr", "show"], check=False)
        for line in (out if rc == 0 else "").splitlines():
            fields = line.split()
            if len(fields) > 3 and fields[3].split("/")[0] == address and fields[1] != network["bridge"]:
                return (f"network: {address} (the gateway of {network['subnet']}) is already on {fields[1]}; "
                        "give the machines a subnet and bridge of their own")
        return None

    def ensure(self, network):
        """Create and address the bridge when needed; whether this call created it."""
        name, subnet = network["bridge"], network["subnet"]
        created = False
        if not self.exists(name):
            self.run(["ip", "link", "add", name, "type", "bridge"])
            created = True
        address = f"{gateway(subnet)}/{subnet.prefixlen}"
        _rc, out, _err = self.run(["ip", "-o", "-4", "addr", "show", "dev", name])
        if f" {address} " not in f" {out} ":
            self.run(["ip", "addr", "add", address, "dev", name])
        self.run(["ip", "link", "set", name, "up"])
        return created

    def remove(self, name):
        if self.exists(name):
            self.run(["ip", "link", "delete", name])


# --------------------------------------------------------------------------- the lifecycle


def machine_result(record, state):
    """The machine as returned: the record's public keys and its state (running, paused, stopped, absent)."""
    result = {key: record.get(key) for key in MACHINE_KEYS}
    result["state"] = state
    return result


def absent_result(name, backend):
    return {**{key: None for key in MACHINE_KEYS}, "name": name, "state": "absent", "backend": backend}


class Manager:
    """Bring one machine to a state; every change goes through a back end."""

    def __init__(self, backend, store, bridge, check_mode, warn=None):
        self.backend = backend
        self.store = store
        self.bridge = bridge
        self.check_mode = check_mode
        self.warn = warn or (lambda text: None)

    def ensure(self, spec):
        """(changed, machine, diff) for spec (from validate)."""
        with self.store.locked(create=not self.check_mode):
            record = self.store.read(spec["name"])
            if record is not None and record.get("backend") != self.backend.name:
                raise LocalVmError(f"backend: machine '{spec['name']}' was made with the {record.get('backend')} back "
                                   f"end, not {self.backend.name}; give backend={record.get('backend')}")
            before = self.backend.status(record) if record else "absent"
            before_view = dict(record) if record else None
            self.plan_check(spec, record, before)
            if spec["state"] == "absent":
                changed, record, after = self.destroy(spec, record, before)
            else:
                changed, record, after = self.converge(spec, record, before)
        machine = machine_result(record, after) if record else absent_result(spec["name"], self.backend.name)
        diff = {"before": self.diff_view(before, before_view), "after": self.diff_view(after, machine)}
        return changed, machine, diff

    @staticmethod
    def diff_view(state, machine):
        if state == "absent" or machine is None:
            return {"state": "absent"}
        return {"state": state, "memory": machine.get("memory"), "cpus": machine.get("cpus"),
                "group": machine.get("group")}

    def plan_check(self, spec, record, before):
        """Everything that would stop the run, found before anything changes."""
        name, state = spec["name"], spec["state"]
        if record is None and state not in ("absent",):
            if state == "paused":
                raise LocalVmError(f"state: machine '{name}' does not exist; only a running machine can be paused "
                                   "(start it first)")
            if not spec["image"]:
                raise LocalVmError(f"image: required to create machine '{name}' (state={state}), which does not exist")
            if self.backend.uses_bridge:
                problem = self.bridge.problem(spec["network"])
                if problem:
                    raise LocalVmError(problem)
                for other in self.store.records():
                    net = other.get("network", {})
                    if net.get("bridge") == spec["network"]["bridge"] and net.get("subnet") != str(spec["network"]["subnet"]):
                        raise LocalVmError(f"network: bridge {net['bridge']} carries {net['subnet']} (machine "
                                           f"'{other['name']}'), not {spec['network']['subnet']}")
        if record is not None and state != "absent":
            if spec["image"] and spec["image"] != record.get("image"):
                raise LocalVmError(f"image: machine '{name}' was created from {record.get('image')}; destroy it "
                                   f"(state=absent) to make it again from {spec['image']}")
            wanted = {"bridge": spec["network"]["bridge"], "subnet": str(spec["network"]["subnet"])}
            if spec["network_given"] and self.backend.uses_bridge and wanted != record.get("network"):
                raise LocalVmError(f"network: machine '{name}' sits on {record.get('network')}; destroy it "
                                   "(state=absent) to move it")
            if state == "paused" and before == "stopped":
                raise LocalVmError(f"state: machine '{name}' is stopped; only a running machine can be paused")

    def destroy(self, spec, record, before):
        if record is None:
            return False, None, "absent"
        if not self.check_mode:
            self.backend.destroy(record)
            self.store.remove(spec["name"])
            self.release_bridge(record)
        return True, None, "absent"

    def release_bridge(self, record):
        bridge = (record.get("network") or {}).get("bridge")
        if not self.backend.uses_bridge or not bridge or not self.store.owns_bridge(bridge):
            return
        if any((r.get("network") or {}).get("bridge") == bridge for r in self.store.records()):
            return
        self.bridge.remove(bridge)
        self.store.disown_bridge(bridge)

    def create(self, spec):
        network = spec["network"]
        record = {
            "name": spec["name"], "backend": self.backend.name, "image": spec["image"], "group": spec["group"],
            "created": utc_now(), "memory": spec["memory"], "cpus": spec["cpus"], "ip": None, "host_key": None,
            "network": {"bridge": network["bridge"], "subnet": str(network["subnet"])} if self.backend.uses_bridge else None,
            "ssh_public_key": spec["ssh_public_key"],
        }
        if self.backend.static_addresses:
            record["ip"] = free_address(self.store.records(), network)
        if self.check_mode:
            return record
        if self.backend.uses_bridge and self.bridge.ensure(network):
            self.store.own_bridge(network["bridge"], network["subnet"])
        os.makedirs(self.store.machine_dir(spec["name"]), mode=0o700, exist_ok=True)
        self.store.write(record)  # first, so that a failed create can be destroyed
        try:
            record.update(self.backend.create(record, self.store.machine_dir(spec["name"])))
        except LocalVmError as exc:
            raise LocalVmError(f"Failed to create machine '{spec['name']}': {exc} (state=absent removes what was "
                               "made)") from None
        self.store.write(record)
        return record

    def converge(self, spec, record, before):
        changed = False
        state = before
        if record is None:
            record = self.create(spec)
            changed, state = True, "stopped"
        else:
            updates = {k: spec[k] for k in ("memory", "cpus", "group")
                       if spec[k] is not None and spec[k] != record.get(k)}
            if updates:
                record.update(updates)
                changed = True
                if not self.check_mode:
                    if state in ("running", "paused") and ({"memory", "cpus"} & set(updates)):
                        self.backend.set_hardware(record)
                    self.store.write(record)
        goal = {"present": None, "started": "running", "resumed": "running", "paused": "paused",
                "stopped": "stopped", "powered_off": "stopped"}[spec["state"]]
        if goal is None or goal == state:
            return changed, record, state
        timeout = spec["wait_timeout"]
        if not self.check_mode:
            if goal == "running":
                if state == "paused":
                    self.backend.resume(record)
                else:
                    record.update(self.backend.launch(record))
                    self.store.write(record)  # the pid first: a machine that fails to come up can still be stopped
                    record.update(self.backend.wait_started(record, timeout))
                    self.store.write(record)
            elif goal == "paused":
                self.backend.pause(record)
            elif spec["state"] == "stopped":
                self.backend.stop(record, timeout)
            else:
                self.backend.power_off(record)
            state = self.backend.status(record)
        else:
            state = goal
        return True, record, state


def info(backend, store, group=None):
    """Every machine of the back end in store (of group, when given), oldest first."""
    machines = []
    for record in store.records():
        if record.get("backend") != backend.name or (group is not None and record.get("group") != group):
            continue
        machines.append(machine_result(record, backend.status(record)))
    return machines
