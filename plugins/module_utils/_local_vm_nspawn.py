# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The systemd-nspawn back end of jvmops.deploy.local_vm: a machine boots systemd from a model image through a
copy-on-write layer of its own, sits on the module's bridge with a static address, and runs in a cgroup of its own
(memory and CPU limits, the freezer for pause and resume, kill for power off).

systemd-nspawn runs detached (its own session, output to the machine's console.log) with --register=no and
--keep-unit, so it needs neither systemd as PID 1 nor systemd-machined; its pid is kept in the machine record."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import json
import signal
import sys
import uuid

from ansible_collections.jvmops.deploy.plugins.module_utils._local_vm import (
    LocalVmError,
    gateway,
    port_open,
    wait_for,
)

# Where the cgroup hierarchies are mounted and where systemd-nspawn keeps per-machine runtime files (tests point
# them at directories of their own).
CGROUP_ROOT = "/sys/fs/cgroup"
NSPAWN_RUN = "/run/systemd/nspawn"
CGROUP_PARENT = "jvmops-vm"
CPU_PERIOD_US = 100000
IFNAMSIZ = 15
# Run by the module's Python: joins the machine's cgroups (systemd-nspawn and the machine inherit them) and starts
# systemd-nspawn in a session of its own, its output to the console log, so that it outlives the module and holds
# none of its pipes; prints the pid.
LAUNCHER = """
import json, subprocess, sys
spec = json.loads(sys.argv[1])
for procs in spec["cgroups"]:
    with open(procs, "w") as handle:
        handle.write("0")
with open(spec["log"], "ab") as log:
    proc = subprocess.Popen(spec["command"], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True, close_fds=True)
print(proc.pid)
"""


def machine_name(name):
    """The systemd-nspawn machine name: its host-side link vb-<machine> must fit the 15 characters Linux allows."""
    if len(f"vb-vm-{name}") <= IFNAMSIZ:
        return f"vm-{name}"
    return f"vm-{name[:2]}{hashlib.sha256(name.encode()).hexdigest()[:7]}"


def _write(path, text):
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def _read(path, default=""):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip()
    except OSError:
        return default


def proc_args(pid):
    """A process's argv, or [] when it is gone (or a zombie)."""
    try:
        with open(f"/proc/{int(pid)}/cmdline", "rb") as handle:
            raw = handle.read()
    except (OSError, ValueError, TypeError):
        return []
    return [arg.decode(errors="replace") for arg in raw.split(b"\0")[:-1]]


class Cgroup:
    """A machine's cgroup, on a unified (v2) hierarchy, or on the v1 memory, cpu and freezer hierarchies with the
    unified one beside them (the hybrid layout), whichever the host has."""

    def __init__(self, name, root=None):
        root = root or CGROUP_ROOT
        self.unified = None
        self.v1 = {}
        if os.path.exists(os.path.join(root, "cgroup.controllers")):
            self.unified = os.path.join(root, CGROUP_PARENT, name)
            self.unified_root = root
        else:
            if os.path.exists(os.path.join(root, "unified", "cgroup.controllers")):
                self.unified = os.path.join(root, "unified", CGROUP_PARENT, name)
                self.unified_root = os.path.join(root, "unified")
            for controller in ("memory", "cpu", "freezer"):
                if os.path.exists(os.path.join(root, controller, "cgroup.procs")):
                    self.v1[controller] = os.path.join(root, controller, CGROUP_PARENT, name)

    @property
    def pure_v2(self):
        return self.unified is not None and not self.v1

    def directories(self):
        return [d for d in [self.unified, *self.v1.values()] if d]

    def create(self):
        if self.pure_v2:
            # Controllers reach a cgroup only when every ancestor hands them down.
            for parent in (self.unified_root, os.path.dirname(self.unified)):
                os.makedirs(parent, exist_ok=True)
                enabled = _read(os.path.join(parent, "cgroup.subtree_control")).split()
                missing = [c for c in ("memory", "cpu") if c not in enabled]
                if missing:
                    try:
                        _write(os.path.join(parent, "cgroup.subtree_control"), " ".join(f"+{c}" for c in missing))
                    except OSError as exc:
                        raise LocalVmError(f"cannot delegate the {'/'.join(missing)} controller to {parent}: "
                                           f"{exc.strerror}") from None
        for directory in self.directories():
            os.makedirs(directory, exist_ok=True)

    def set_limits(self, memory_mib, cpus):
        memory = None if memory_mib is None else int(memory_mib) * 1024 * 1024
        quota = None if cpus is None else max(1000, int(round(float(cpus) * CPU_PERIOD_US)))
        try:
            if self.pure_v2:
                _write(os.path.join(self.unified, "memory.max"), "max" if memory is None else str(memory))
                _write(os.path.join(self.unified, "cpu.max"), f"{'max' if quota is None else quota} {CPU_PERIOD_US}")
                return
            if "memory" in self.v1:
                _write(os.path.join(self.v1["memory"], "memory.limit_in_bytes"), "-1" if memory is None else str(memory))
            elif memory is not None:
                raise LocalVmError("memory: this host has no memory cgroup controller to limit memory with")
            if "cpu" in self.v1:
                _write(os.path.join(self.v1["cpu"], "cpu.cfs_period_us"), str(CPU_PERIOD_US))
                _write(os.path.join(self.v1["cpu"], "cpu.cfs_quota_us"), "-1" if quota is None else str(quota))
            elif quota is not None:
                raise LocalVmError("cpus: this host has no cpu cgroup controller to limit CPU time with")
        except OSError as exc:
            raise LocalVmError(f"cannot set the hardware profile (memory {memory_mib} MiB, cpus {cpus}): "
                               f"{exc.strerror} ({exc.filename})") from None

    def pids(self):
        where = self.unified or self.v1.get("memory") or self.v1.get("freezer")
        found = set()
        if not where or not os.path.isdir(where):
            return found
        for directory, _dirs, files in os.walk(where):
            if "cgroup.procs" in files:
                found.update(int(p) for p in _read(os.path.join(directory, "cgroup.procs")).split() if p.isdigit())
        return found

    def frozen(self):
        if self.unified:
            return _read(os.path.join(self.unified, "cgroup.freeze"), "0") == "1"
        if "freezer" in self.v1:
            return _read(os.path.join(self.v1["freezer"], "freezer.state"), "THAWED") in ("FROZEN", "FREEZING")
        return False

    def _settled(self, frozen):
        if self.unified:
            events = dict(line.split(" ", 1) for line in _read(os.path.join(self.unified, "cgroup.events")).splitlines()
                          if " " in line)
            return events.get("frozen") == ("1" if frozen else "0")
        return _read(os.path.join(self.v1["freezer"], "freezer.state")) == ("FROZEN" if frozen else "THAWED")

    def freeze(self, frozen, timeout=10):
        if self.unified:
            path, value = os.path.join(self.unified, "cgroup.freeze"), "1" if frozen else "0"
        elif "freezer" in self.v1:
            path, value = os.path.join(self.v1["freezer"], "freezer.state"), "FROZEN" if frozen else "THAWED"
        else:
            raise LocalVmError("state: pausing needs the cgroup freezer, which this host does not have")
        _write(path, value)
        if not wait_for(lambda: self._settled(frozen), timeout, interval=0.05):
            raise LocalVmError(f"its processes did not {'freeze' if frozen else 'thaw'} within {timeout}s ({path})")

    def kill(self):
        """SIGKILL to every process in the cgroup (thawed first: a frozen v1 task would not die)."""
        if self.frozen():
            self.freeze(False)
        kill_file = os.path.join(self.unified, "cgroup.kill") if self.unified else None
        if kill_file and os.path.exists(kill_file):
            _write(kill_file, "1")
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def remove(self, timeout=10):
        """Remove the cgroup directories, innermost first (a cgroup goes once its last process is reaped)."""
        def gone():
            for top in self.directories():
                if not os.path.isdir(top):
                    continue
                for directory, _dirs, _files in sorted(os.walk(top), key=lambda w: -len(w[0])):
                    try:
                        os.rmdir(directory)
                    except OSError as exc:
                        if exc.errno == errno.ENOENT:
                            continue
                        return False
            return True

        if not wait_for(gone, timeout):
            raise LocalVmError(f"its cgroup could not be removed within {timeout}s: "
                               + ", ".join(d for d in self.directories() if os.path.isdir(d)))
        for directory in self.directories():  # the parent too, when no other machine has a cgroup in it
            with contextlib.suppress(OSError):
                os.rmdir(os.path.dirname(directory))


class NspawnBackend:
    """One machine at a time, through systemd-nspawn; every method takes the machine record."""

    name = "nspawn"
    uses_bridge = True
    static_addresses = True

    def __init__(self, run):
        self.run = run

    # ---------------------------------------------------------------- checks

    @staticmethod
    def image_problem(image):
        if not os.path.isabs(image):
            return f"must be the absolute path of a directory holding a root filesystem, got {image!r}"
        if not os.path.isdir(image):
            return f"{image} does not exist or is not a directory (give a directory holding a root filesystem)"
        if not (os.path.lexists(os.path.join(image, "sbin", "init"))
                or os.path.isdir(os.path.join(image, "usr", "lib", "systemd"))):
            return f"{image} holds no root filesystem that boots systemd (no /sbin/init, no /usr/lib/systemd)"
        return None

    def host_problem(self):
        if os.geteuid() != 0:
            return "backend: the nspawn back end needs root (it makes a bridge, cgroups and containers); use become"
        if not self.run.which("systemd-nspawn"):
            return "backend: systemd-nspawn is not installed (Debian package systemd-container)"
        if not os.path.isdir(CGROUP_ROOT):
            return f"backend: systemd-nspawn needs {CGROUP_ROOT}, which this host does not have"
        return None

    # ---------------------------------------------------------------- reading

    @staticmethod
    def paths(record):
        directory = record.get("directory") or "/nonexistent"
        return {"upper": os.path.join(directory, "upper"), "log": os.path.join(directory, "console.log"),
                "key": os.path.join(directory, "ssh_host_ed25519_key")}

    def alive(self, record):
        pid = record.get("pid")
        args = proc_args(pid) if pid else []
        return f"--machine={record.get('machine')}" in args and any(
            a.startswith("--overlay=") and a.endswith(f":{self.paths(record)['upper']}:/") for a in args)

    def status(self, record):
        if not self.alive(record):
            return "stopped"
        return "paused" if Cgroup(record["name"]).frozen() else "running"

    def link(self, record):
        return f"vb-{record['machine']}"

    def link_exists(self, record):
        return self.run(["ip", "link", "show", "dev", self.link(record)], check=False)[0] == 0

    # ---------------------------------------------------------------- changes

    def create(self, record, directory):
        """The machine's layer over the image: who it is, its address, a host key of its own, root's key."""
        record = {**record, "directory": directory, "machine": machine_name(record["name"])}
        upper = self.paths(record)["upper"]
        name, network = record["name"], record["network"]
        prefix = network["subnet"].split("/")[1]
        key = self.paths(record)["key"]
        if not os.path.exists(key):
            self.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"root@{name}", "-f", key])
        files = {
            "etc/hostname": (f"{name}\n", 0o644),
            "etc/hosts": (f"127.0.0.1\tlocalhost\n127.0.1.1\t{name}\n::1\tlocalhost ip6-localhost ip6-loopback\n", 0o644),
            # 10-*: /usr/lib/systemd/network/80-container-host0.network would win over a later name.
            "etc/systemd/network/10-host0.network": (
                f"[Match]\nName=host0\n\n[Network]\nAddress={record['ip']}/{prefix}\nGateway={gateway(network['subnet'])}\n"
                "LinkLocalAddressing=no\nIPv6AcceptRA=no\n", 0o644),
            "etc/machine-id": (uuid.uuid4().hex + "\n", 0o444),
            "etc/ssh/ssh_host_ed25519_key": (_read(key) + "\n", 0o600),
            "etc/ssh/ssh_host_ed25519_key.pub": (_read(key + ".pub") + "\n", 0o644),
        }
        if record.get("ssh_public_key"):
            files["root/.ssh/authorized_keys"] = (record["ssh_public_key"] + "\n", 0o600)
        for relative, (text, mode) in files.items():
            path = os.path.join(upper, relative)
            os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
            _write(path, text)
            os.chmod(path, mode)
        if record.get("ssh_public_key"):
            os.chmod(os.path.join(upper, "root"), 0o700)
            os.chmod(os.path.join(upper, "root", ".ssh"), 0o700)
        return {"directory": directory, "machine": record["machine"], "host_key": _read(key + ".pub")}

    def command(self, record):
        image, upper = record["image"], self.paths(record)["upper"]
        return [
            "systemd-nspawn", "--quiet", "--register=no", "--keep-unit", "--boot",
            f"--machine={record['machine']}", f"--hostname={record['name']}",
            "--resolv-conf=off", "--timezone=off", "--link-journal=no", "--console=read-only",
            f"--network-bridge={record['network']['bridge']}",
            f"--directory={image}", f"--overlay={image}:{upper}:/",
        ]

    def set_hardware(self, record):
        Cgroup(record["name"]).set_limits(record.get("memory"), record.get("cpus"))

    def launch(self, record):
        """Boot the machine detached; its pid, for the record, before anything waits on it."""
        name = record["name"]
        if not os.path.isdir(record["image"]):
            raise LocalVmError(f"Failed to start machine '{name}': its image {record['image']} is gone")
        # The link of a machine that just stopped goes with its network namespace, a moment later.
        if not wait_for(lambda: not self.link_exists(record), 10):
            raise LocalVmError(f"Failed to start machine '{name}': network link {self.link(record)} exists (another "
                               f"machine named {record['machine']} runs on this host)")
        self.cleanup(record)
        cgroup = Cgroup(name)
        cgroup.create()
        cgroup.set_limits(record.get("memory"), record.get("cpus"))
        spec = {"cgroups": [os.path.join(d, "cgroup.procs") for d in cgroup.directories()],
                "log": self.paths(record)["log"], "command": self.command(record)}
        _rc, out, _err = self.run([sys.executable, "-c", LAUNCHER, json.dumps(spec)])
        return {"pid": int(out.strip())}

    def wait_started(self, record, timeout):
        """Until the machine answers on port 22 (wait_timeout); a machine that exits meanwhile fails."""
        name, log = record["name"], self.paths(record)["log"]
        if not wait_for(lambda: not self.alive(record) or port_open(record["ip"], 22), timeout, interval=0.25):
            raise LocalVmError(f"Failed to start machine '{name}': {record['ip']} did not answer on port 22 within "
                               f"{timeout}s (wait_timeout); its console: {log}")
        if not self.alive(record):
            raise LocalVmError(f"Failed to start machine '{name}': systemd-nspawn exited: {self.console_tail(log)}")
        return {}

    @staticmethod
    def console_tail(log, lines=8):
        return " | ".join(_read(log).splitlines()[-lines:])

    def pause(self, record):
        try:
            Cgroup(record["name"]).freeze(True)
        except LocalVmError as exc:
            raise LocalVmError(f"Failed to pause machine '{record['name']}': {exc}") from None

    def resume(self, record):
        try:
            Cgroup(record["name"]).freeze(False)
        except LocalVmError as exc:
            raise LocalVmError(f"Failed to resume machine '{record['name']}': {exc}") from None

    def gone(self, record, cgroup):
        return not self.alive(record) and not cgroup.pids()

    def stop(self, record, timeout):
        """Orderly poweroff: SIGTERM makes systemd-nspawn ask the machine's systemd to power off."""
        cgroup = Cgroup(record["name"])
        if cgroup.frozen():
            cgroup.freeze(False)
        with contextlib.suppress(ProcessLookupError):
            os.kill(record["pid"], signal.SIGTERM)
        if not wait_for(lambda: self.gone(record, cgroup), timeout):
            raise LocalVmError(f"Failed to stop machine '{record['name']}': it did not shut down within {timeout}s "
                               "(wait_timeout); state=powered_off stops it hard")
        self.cleanup(record)

    def power_off(self, record):
        cgroup = Cgroup(record["name"])
        cgroup.kill()
        if self.alive(record):
            with contextlib.suppress(ProcessLookupError):
                os.kill(record["pid"], signal.SIGKILL)
        if not wait_for(lambda: self.gone(record, cgroup), 15):
            raise LocalVmError(f"Failed to power off machine '{record['name']}': processes left in its cgroup: "
                               f"{sorted(cgroup.pids())}")
        self.cleanup(record)

    def cleanup(self, record):
        """What a machine leaves on the host after its processes are gone: its link, cgroup and nspawn's files."""
        if not wait_for(lambda: not self.link_exists(record), 10):
            raise LocalVmError(f"network link {self.link(record)} of machine '{record['name']}' did not go")
        Cgroup(record["name"]).remove()
        shutil.rmtree(os.path.join(NSPAWN_RUN, "propagate", record["machine"]), ignore_errors=True)
        with contextlib.suppress(OSError):
            os.rmdir(os.path.join(NSPAWN_RUN, "unix-export", record["machine"]))

    def destroy(self, record):
        if "machine" not in record:  # a create that failed before the layer was made
            return
        if self.alive(record) or Cgroup(record["name"]).pids():
            self.power_off(record)
        else:
            self.cleanup(record)
