# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The local lab: real Debian hosts booting systemd in systemd-nspawn containers.

Every host boots one cached base image through its own copy-on-write layer, sits on a private
bridge with a static address, is reached over real SSH with a strict known_hosts file, and gets
Debian packages through a caching apt proxy on the bridge address (no route out of the lab).

    lab.py up [--hosts lb1,app1,...]   bring hosts up (adds hosts to a running lab)
    lab.py down                        remove everything the lab created
    lab.py status                      hosts, addresses, state
    lab.py stop|start|restart|reset HOST...
    lab.py ssh HOST [COMMAND...]
    lab.py image                       build the base image (cached)

Settings come from the environment: JVMOPS_LAB_DIR (runtime state, default /var/lib/jvmops-lab),
JVMOPS_LAB_CACHE (base images and the apt cache, default /var/cache/jvmops-lab),
JVMOPS_LAB_SUITE (bookworm, or trixie for Debian 13), JVMOPS_LAB_MIRROR, JVMOPS_LAB_BRIDGE (jvlab0),
JVMOPS_LAB_NET (10.213.7, a /24), JVMOPS_LAB_PROXY_PORT (3142) and JVMOPS_LAB_PREFIX (jv: the hosts'
machine names are <prefix>-<host>, their host-side interfaces vb-<prefix>-<host>).

The state directory is the lab: `lab up` records the other settings in it, later commands take them
from there (an environment value that differs is refused), and `lab down` removes and checks only what
this lab made. Two labs run side by side with a state directory, bridge, network and prefix each.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
IMAGE_DIR = HERE / "image"
DEFAULT_HOSTS = ("lb1", "app1", "app2", "build1")
HOST_NAME = re.compile(r"^[a-z][a-z0-9]*$")
PREFIX = re.compile(r"^[a-z][a-z0-9]{0,4}$")
IFNAMSIZ = 15  # longest network interface name Linux takes (the host side of each container's veth)
NSPAWN_REBOOT = 133  # systemd-nspawn's exit status when the container asked for a reboot
REQUIRED_TOOLS = {
    "systemd-nspawn": "systemd-container",
    "debootstrap": "debootstrap",
    "apt-cacher-ng": "apt-cacher-ng",
    "ip": "iproute2",
    "ssh": "openssh-client",
    "ssh-keygen": "openssh-client",
}


class LabError(Exception):
    """A failure the user can act on; printed without a traceback."""


# The settings a lab is made with: recorded in its state at `lab up`, taken from there afterwards.
SETTINGS = {
    "prefix": ("JVMOPS_LAB_PREFIX", "jv"),
    "suite": ("JVMOPS_LAB_SUITE", "bookworm"),
    "mirror": ("JVMOPS_LAB_MIRROR", "http://deb.debian.org/debian"),
    "bridge": ("JVMOPS_LAB_BRIDGE", "jvlab0"),
    "net": ("JVMOPS_LAB_NET", "10.213.7"),
    "proxy_port": ("JVMOPS_LAB_PROXY_PORT", "3142"),
}


def lab_settings(env, saved=None):
    """The settings from the environment, or those a lab recorded; an environment value that differs
    from the recorded one is an error (it would make hosts or links another lab may have)."""
    saved = saved or {}
    settings, clashes = {}, []
    for key, (var, default) in SETTINGS.items():
        value = env.get(var)
        if key in saved and value not in (None, "", str(saved[key])):
            clashes.append(f"{var}={value} (it was brought up with {saved[key]})")
        settings[key] = str(saved[key]) if key in saved else (value or default)
    if clashes:
        raise LabError("this lab's settings differ from the environment: " + ", ".join(clashes)
                       + "; unset them, or `lab down` first")
    if not PREFIX.match(settings["prefix"]):
        raise LabError(f"JVMOPS_LAB_PREFIX must be 1-5 lower-case letters and digits, starting with a letter, "
                       f"got {settings['prefix']!r}")
    if not re.match(r"^\d{1,3}\.\d{1,3}\.\d{1,3}$", settings["net"]):
        raise LabError(f"JVMOPS_LAB_NET must be the first three octets of a /24, got {settings['net']!r}")
    if not re.match(r"^[A-Za-z0-9_-]{1,15}$", settings["bridge"]):
        raise LabError(f"JVMOPS_LAB_BRIDGE must be an interface name (letters, digits, _ -, at most 15), "
                       f"got {settings['bridge']!r}")
    if not re.match(r"^[0-9]{1,5}$", settings["proxy_port"]) or not 0 < int(settings["proxy_port"]) < 65536:
        raise LabError(f"JVMOPS_LAB_PROXY_PORT must be a port, got {settings['proxy_port']!r}")
    if not re.match(r"^[a-z][a-z0-9-]*$", settings["suite"]):
        raise LabError(f"JVMOPS_LAB_SUITE must be a Debian suite name such as bookworm or trixie, got {settings['suite']!r}")
    return settings


class Config:
    """Where the lab keeps things and how its network looks."""

    def __init__(self, env=None, saved=None):
        env = os.environ if env is None else env
        self.state = Path(env.get("JVMOPS_LAB_DIR", "/var/lib/jvmops-lab"))
        self.cache = Path(env.get("JVMOPS_LAB_CACHE", "/var/cache/jvmops-lab"))
        settings = lab_settings(env, saved)
        self.prefix = settings["prefix"]
        self.suite = settings["suite"]
        self.mirror = settings["mirror"]
        self.bridge = settings["bridge"]
        self.net = settings["net"]
        self.proxy_port = int(settings["proxy_port"])

    @classmethod
    def load(cls, env=None):
        """The settings of the lab in JVMOPS_LAB_DIR when it has recorded them, else from the environment."""
        env = os.environ if env is None else env
        state = Path(env.get("JVMOPS_LAB_DIR", "/var/lib/jvmops-lab")) / "lab.json"
        saved = json.loads(state.read_text()).get("settings") if state.exists() else None
        return cls(env, saved)

    def settings(self):
        return {"prefix": self.prefix, "suite": self.suite, "mirror": self.mirror, "bridge": self.bridge,
                "net": self.net, "proxy_port": str(self.proxy_port)}

    @property
    def gateway(self):
        return f"{self.net}.1"

    @property
    def proxy_url(self):
        return f"http://{self.gateway}:{self.proxy_port}/"

    @property
    def ssh_key(self):
        return self.state / "ssh" / "id_ed25519"

    @property
    def known_hosts(self):
        return self.state / "ssh" / "known_hosts"

    @property
    def inventory(self):
        return self.state / "inventory.yml"

    def host_dir(self, name):
        return self.state / "hosts" / name

    def pidfile(self, name):
        return self.state / "run" / f"{name}.pid"

    def machine(self, name):
        return f"{self.prefix}-{name}"

    def veth(self, name):
        """The host side of the container's network link (systemd-nspawn names it vb-<machine>)."""
        return f"vb-{self.machine(name)}"


# --------------------------------------------------------------------------- pure helpers


def group_of(name):
    """Inventory group of a host: its name without the trailing number (app2 -> app)."""
    return re.sub(r"\d+$", "", name)


def validate_names(names, prefix="jv"):
    longest = IFNAMSIZ - len(f"vb-{prefix}-")
    for name in names:
        if not HOST_NAME.match(name) or len(name) > longest:
            raise LabError(
                f"host name {name!r}: use 1-{longest} lower-case letters and digits, starting with a letter "
                f"(the container's interface vb-{prefix}-<name> is limited to {IFNAMSIZ} characters)"
            )
    return list(dict.fromkeys(names))


def is_supervisor(args, cfg, name=None):
    """Whether a command line is this lab's supervisor (of host `name`, or of any host).

    Supervisors started before labs recorded their state directory in it have none; one of those counts
    only where its pid comes from this lab's own pid file (name given)."""
    if not any(arg.startswith("--supervise=") for arg in args):
        return False
    if name is not None and f"--supervise={name}" not in args:
        return False
    if f"--lab-dir={cfg.state}" in args:
        return True
    return name is not None and not any(arg.startswith("--lab-dir=") for arg in args)


def own_leftovers(cfg, names, links, processes, mount_points):
    """What of this lab is still there, out of the machine's network links, processes ({pid: argv}) and
    mount points; other labs' links, containers and supervisors are not counted."""
    found = []
    ours = {cfg.bridge} | {cfg.veth(name) for name in names}
    found += [f"network link {link}" for link in links if link in ours]
    machines = {f"--machine={cfg.machine(name)}" for name in names}
    layers = f":{cfg.state}/hosts/"
    proxy_conf = str(cfg.state / "acng")
    for pid, args in sorted(processes.items()):
        if (machines.intersection(args) or any(a.startswith("--overlay=") and layers in a for a in args)
                or is_supervisor(args, cfg) or (proxy_conf in args and any("apt-cacher-ng" in a for a in args))):
            found.append(f"process {pid}: {' '.join(args)}")
    found += [f"mount {point}" for point in mount_points
              if point == str(cfg.state) or point.startswith(f"{cfg.state}/")]
    return found


def assign_addresses(existing, names, net):
    """Keep the addresses hosts already have; give new hosts the lowest free ones from .10 up."""
    hosts = dict(existing)
    used = {int(ip.rsplit(".", 1)[1]) for ip in hosts.values()}
    for name in names:
        if name in hosts:
            continue
        octet = next((n for n in range(10, 255) if n not in used), None)
        if octet is None:
            raise LabError(f"no free address left in {net}.0/24")
        used.add(octet)
        hosts[name] = f"{net}.{octet}"
    return hosts


def render_inventory(hosts, cfg):
    """YAML inventory: one group per name prefix, plus `lab` holding every host."""
    groups = {}
    for name in hosts:
        groups.setdefault(group_of(name), []).append(name)
    ssh_args = (
        f"-o UserKnownHostsFile={cfg.known_hosts} -o StrictHostKeyChecking=yes "
        "-o ControlMaster=auto -o ControlPersist=60s -o ConnectTimeout=5"
    )
    lines = [
        "# Written by tests/lab/lab.py; rewritten on every `lab up`.",
        "all:",
        "  vars:",
        "    ansible_user: root",
        f"    ansible_ssh_private_key_file: {cfg.ssh_key}",
        f"    ansible_ssh_common_args: \"{ssh_args}\"",
        "    ansible_python_interpreter: /usr/bin/python3",
        "    ansible_pipelining: true",
        f"    lab_apt_proxy: {cfg.proxy_url}",
        *nofile_vars(),
        "  children:",
        "    lab:",
        "      hosts:",
    ]
    for name, ip in hosts.items():
        lines += [f"        {name}:", f"          ansible_host: {ip}"]
    for group in sorted(groups):
        if group == "lab":
            continue
        lines += [f"    {group}:", "      hosts:"]
        lines += [f"        {name}:" for name in groups[group]]
    return "\n".join(lines) + "\n"


def nofile_vars(hard_limit=None):
    """Inventory vars for the open files limit the lab hosts can really have.

    The hosts inherit this machine's hard RLIMIT_NOFILE, and cannot raise it without CAP_SYS_RESOURCE,
    which sandboxes often withhold. A pam_limits entry above it would refuse SSH logins, and a
    service would silently get less than asked, so the lab states its ceiling.
    """
    if hard_limit is None:
        hard_limit = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard_limit == resource.RLIM_INFINITY or hard_limit >= 1024000:
        return []
    return ["    # this machine's hard open files limit; a real server takes the default 1024000",
            f"    kernel_tuning_nofile: {hard_limit}"]


def render_etc_hosts(hosts, name):
    lines = ["127.0.0.1\tlocalhost", f"127.0.1.1\t{name}", "::1\tlocalhost ip6-localhost ip6-loopback", ""]
    lines += [f"{ip}\t{other}" for other, ip in hosts.items()]
    return "\n".join(lines) + "\n"


def render_network(ip):
    # 10-*: /usr/lib/systemd/network/80-container-host0.network would win over a later name.
    return (
        "[Match]\nName=host0\n\n[Network]\n"
        f"Address={ip}/24\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n"
    )


def image_recipe_hash(cfg):
    digest = hashlib.sha256()
    digest.update(f"{cfg.suite}\n{cfg.mirror}\n".encode())
    for part in ("packages.txt", "customize.sh"):
        digest.update((IMAGE_DIR / part).read_bytes())
    return digest.hexdigest()[:12]


def image_packages():
    text = (IMAGE_DIR / "packages.txt").read_text()
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


# --------------------------------------------------------------------------- system helpers


def run(cmd, check=True, capture=False, **kwargs):
    result = subprocess.run(cmd, check=False, text=True, capture_output=capture, **kwargs)
    if check and result.returncode != 0:
        detail = (result.stderr or "").strip() if capture else ""
        raise LabError(f"command failed ({result.returncode}): {' '.join(map(str, cmd))}\n{detail}".rstrip())
    return result


def say(msg):
    print(f"lab: {msg}", flush=True)


def write(path, text, mode=0o644):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chmod(path, mode)


def check_prerequisites():
    if sys.platform != "linux":
        raise LabError("the lab needs Linux (systemd-nspawn containers)")
    if os.geteuid() != 0:
        raise LabError("the lab needs root: it creates a bridge and boots containers (run as root)")
    missing = sorted({pkg for tool, pkg in REQUIRED_TOOLS.items()
                      if not shutil.which(tool) and not Path("/usr/sbin", tool).exists()})
    if missing:
        raise LabError(f"missing Debian packages: {' '.join(missing)} (make lab-up installs them)")
    if run(["systemd-nspawn", "--version"], check=False, capture=True).returncode != 0:
        raise LabError("systemd-nspawn cannot run on this machine")
    if not Path("/sys/fs/cgroup").is_dir():
        raise LabError("systemd-nspawn needs /sys/fs/cgroup, which this machine does not have")


@contextlib.contextmanager
def locked(cfg):
    cfg.state.mkdir(parents=True, exist_ok=True)
    with open(cfg.state / ".lock", "w", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def load_state(cfg):
    path = cfg.state / "lab.json"
    if path.exists():
        return json.loads(path.read_text())
    return {"hosts": {}}


def save_state(cfg, state):
    write(cfg.state / "lab.json", json.dumps(state, indent=2) + "\n")


def proc_args(pid):
    """A process's argv, or None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [arg.decode(errors="replace") for arg in raw.split(b"\0")[:-1]] if raw else None


def pid_alive(pid, marker):
    return marker in (proc_args(pid) or [])


def all_processes():
    found = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            args = proc_args(proc.name)
            if args:
                found[int(proc.name)] = args
    return found


def supervisor_pid(cfg, name):
    try:
        pid = int(cfg.pidfile(name).read_text())
    except (OSError, ValueError):
        return None
    return pid if is_supervisor(proc_args(pid) or [], cfg, name) else None


# --------------------------------------------------------------------------- network and proxy


def link_exists(name):
    return run(["ip", "link", "show", "dev", name], check=False, capture=True).returncode == 0


def ensure_bridge(cfg):
    for line in run(["ip", "-o", "-4", "addr", "show"], capture=True).stdout.splitlines():
        dev = line.split()[1]
        if f" {cfg.gateway}/" in line and dev != cfg.bridge:
            raise LabError(f"{cfg.gateway} is already on {dev}: another lab (or network) uses JVMOPS_LAB_NET={cfg.net}; "
                           "give this lab a network and bridge of its own")
    if not link_exists(cfg.bridge):
        say(f"creating bridge {cfg.bridge} ({cfg.gateway}/24)")
        run(["ip", "link", "add", cfg.bridge, "type", "bridge"], capture=True)
    addrs = run(["ip", "-o", "-4", "addr", "show", "dev", cfg.bridge], capture=True).stdout
    if f" {cfg.gateway}/24 " not in addrs:
        run(["ip", "addr", "add", f"{cfg.gateway}/24", "dev", cfg.bridge], capture=True)
    run(["ip", "link", "set", cfg.bridge, "up"], capture=True)


def proxy_pid(cfg):
    try:
        pid = int((cfg.state / "acng" / "acng.pid").read_text())
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid, "apt-cacher-ng") or pid_alive(pid, "/usr/sbin/apt-cacher-ng") else None


def ensure_proxy(cfg):
    """apt-cacher-ng bound to the bridge address only; its cache outlives the lab."""
    if proxy_pid(cfg):
        return
    conf = cfg.state / "acng"
    cache = cfg.cache / "apt"
    for path in (conf / "log", cache):
        path.mkdir(parents=True, exist_ok=True)
    write(conf / "backends_debian", cfg.mirror.rstrip("/") + "/\n")
    write(conf / "acng.conf", "\n".join([
        f"CacheDir: {cache}",
        f"LogDir: {conf / 'log'}",
        "SupportDir: /usr/lib/apt-cacher-ng",
        f"Port: {cfg.proxy_port}",
        f"BindAddress: {cfg.gateway}",
        f"PidFile: {conf / 'acng.pid'}",
        "Remap-debrep: file:deb_mirror*.gz /debian ; file:backends_debian",
        "Remap-secdeb: security.debian.org deb.debian.org/debian-security ; deb.debian.org/debian-security",
        "ExThreshold: 4",
        "ForeGround: 0",
    ]) + "\n")
    say(f"starting apt proxy on {cfg.proxy_url}")
    run(["/usr/sbin/apt-cacher-ng", "-c", str(conf)], capture=True)
    wait_for(lambda: port_open(cfg.gateway, cfg.proxy_port), 15, "the apt proxy to listen")


def stop_proxy(cfg):
    pid = proxy_pid(cfg)
    if pid:
        os.kill(pid, signal.SIGTERM)
        wait_for(lambda: not pid_alive(pid, "apt-cacher-ng"), 10, "the apt proxy to stop")


def port_open(host, port):
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def wait_for(predicate, timeout, what, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise LabError(f"timed out after {timeout}s waiting for {what}")


# --------------------------------------------------------------------------- image


def image_path(cfg):
    return cfg.cache / "images" / f"{cfg.suite}-{image_recipe_hash(cfg)}"


@contextlib.contextmanager
def images_locked(cfg):
    """Labs share the image cache: one builds or prunes at a time."""
    (cfg.cache / "images").mkdir(parents=True, exist_ok=True)
    with open(cfg.cache / "images" / ".lock", "w", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def image_in_use(path, processes):
    """Whether a container (of any lab) runs on the image at path."""
    marker = str(path / "rootfs")
    return any(marker in arg for args in processes.values() for arg in args)


def ensure_image(cfg):
    with images_locked(cfg):
        return _ensure_image(cfg)


def _ensure_image(cfg):
    final = image_path(cfg)
    if (final / ".complete").exists():
        return final / "rootfs"
    say(f"building base image {final.name} (debootstrap {cfg.suite}, about a minute)")
    build = final.with_name(final.name + ".build")
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir(parents=True)
    rootfs = build / "rootfs"
    env = dict(os.environ)
    if proxy_pid(cfg):
        env["http_proxy"] = cfg.proxy_url
    run(["debootstrap", "--variant=minbase", f"--include={','.join(image_packages())}",
         cfg.suite, str(rootfs), cfg.mirror], env=env, capture=True)
    shutil.copy(IMAGE_DIR / "customize.sh", rootfs / "customize.sh")
    run(["chroot", str(rootfs), "/bin/sh", "/customize.sh"], capture=True,
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LAB_SUITE": cfg.suite})
    (rootfs / "customize.sh").unlink()
    (build / ".complete").write_text(time.strftime("%Y-%m-%dT%H:%M:%SZ\n", time.gmtime()))
    build.rename(final)
    processes = all_processes()
    for old in (cfg.cache / "images").iterdir():
        if old != final and old.name.startswith(f"{cfg.suite}-") and old.is_dir():
            if image_in_use(old, processes):
                say(f"keeping outdated image {old.name}: a lab's hosts run on it")
                continue
            say(f"removing outdated image {old.name}")
            shutil.rmtree(old, ignore_errors=True)
    return final / "rootfs"


# --------------------------------------------------------------------------- hosts


def ensure_ssh_key(cfg):
    if not cfg.ssh_key.exists():
        cfg.ssh_key.parent.mkdir(parents=True, exist_ok=True)
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "jvmops-lab", "-f", str(cfg.ssh_key)],
            capture=True)


def host_key(cfg, name):
    """Each host's own SSH host key, kept across resets so known_hosts stays valid."""
    key = cfg.host_dir(name) / "hostkey" / "ssh_host_ed25519_key"
    if not key.exists():
        key.parent.mkdir(parents=True, exist_ok=True)
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"root@{name}", "-f", str(key)], capture=True)
    return key


def provision_layer(cfg, name, hosts):
    """Write the host's own files into its copy-on-write layer (host stopped)."""
    upper = cfg.host_dir(name) / "upper"
    upper.mkdir(parents=True, exist_ok=True)
    write(upper / "etc/hostname", f"{name}\n")
    write(upper / "etc/hosts", render_etc_hosts(hosts, name))
    write(upper / "etc/systemd/network/10-host0.network", render_network(hosts[name]))
    write(upper / "etc/apt/apt.conf.d/01lab-proxy", f'Acquire::http::Proxy "{cfg.proxy_url}";\n')
    machine_id = upper / "etc/machine-id"
    if not machine_id.exists() or not machine_id.read_text().strip():
        write(machine_id, uuid.uuid4().hex + "\n", 0o444)
    key = host_key(cfg, name)
    write(upper / "etc/ssh/ssh_host_ed25519_key", key.read_text(), 0o600)
    write(upper / "etc/ssh/ssh_host_ed25519_key.pub", key.with_suffix(".pub").read_text())
    (upper / "root/.ssh").mkdir(parents=True, exist_ok=True)
    os.chmod(upper / "root/.ssh", 0o700)
    write(upper / "root/.ssh/authorized_keys", cfg.ssh_key.with_suffix(".pub").read_text(), 0o600)


def nspawn_command(cfg, name, rootfs):
    upper = cfg.host_dir(name) / "upper"
    return [
        "systemd-nspawn", "--quiet", "--register=no", "--keep-unit", "--boot",
        f"--machine={cfg.machine(name)}", f"--hostname={name}",
        "--resolv-conf=off", "--timezone=off", "--link-journal=no", "--console=read-only",
        f"--network-bridge={cfg.bridge}",
        f"--directory={rootfs}", f"--overlay={rootfs}:{upper}:/",
    ]


def supervise(cfg, name):
    """Run the container in the foreground; boot it again when it asks for a reboot."""
    state = load_state(cfg)
    rootfs = state["image"]
    child = None
    stopping = False

    def on_term(_signum, _frame):
        nonlocal stopping
        stopping = True
        if child is not None and child.poll() is None:
            child.send_signal(signal.SIGTERM)  # nspawn turns it into an orderly poweroff

    signal.signal(signal.SIGTERM, on_term)
    cfg.pidfile(name).write_text(f"{os.getpid()}\n")
    try:
        while True:
            child = subprocess.Popen(nspawn_command(cfg, name, rootfs))  # pylint: disable=consider-using-with
            code = child.wait()
            print(f"lab: {name}: systemd-nspawn exited with {code}", flush=True)
            if code != NSPAWN_REBOOT or stopping:
                return code
    finally:
        with contextlib.suppress(OSError):
            if cfg.pidfile(name).read_text().strip() == str(os.getpid()):
                cfg.pidfile(name).unlink()


def start_host(cfg, name):
    if supervisor_pid(cfg, name):
        return False
    try:  # the link of a host that just powered off goes with its network namespace, a moment later
        wait_for(lambda: not link_exists(cfg.veth(name)), 10, f"network link {cfg.veth(name)} to go", interval=0.2)
    except LabError:
        raise LabError(f"network link {cfg.veth(name)} exists: another lab runs a host {cfg.machine(name)}; "
                       "give this lab a JVMOPS_LAB_PREFIX of its own") from None
    cfg.pidfile(name).parent.mkdir(parents=True, exist_ok=True)
    log = open(cfg.state / "run" / f"{name}.log", "ab")  # pylint: disable=consider-using-with
    proc = subprocess.Popen(  # pylint: disable=consider-using-with
        [sys.executable, str(Path(__file__).resolve()), f"--supervise={name}", f"--lab-dir={cfg.state}"],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    log.close()
    wait_for(lambda: supervisor_pid(cfg, name) == proc.pid or proc.poll() is not None, 10,
             f"{name}'s supervisor to start")
    if proc.poll() is not None:
        raise LabError(f"{name} failed to start; see {cfg.state / 'run' / (name + '.log')}")
    return True


def stop_host(cfg, name, timeout=30):
    pid = supervisor_pid(cfg, name)
    if not pid:
        return False
    os.kill(pid, signal.SIGTERM)
    try:
        wait_for(lambda: not is_supervisor(proc_args(pid) or [], cfg, name), timeout, f"{name} to power off")
    except LabError:
        say(f"{name} did not power off in {timeout}s; killing it")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        wait_for(lambda: not is_supervisor(proc_args(pid) or [], cfg, name), 10, f"{name} to die")
    with contextlib.suppress(FileNotFoundError):
        cfg.pidfile(name).unlink()
    return True


def ssh_command(cfg, ip, *command):
    return [
        "ssh", "-i", str(cfg.ssh_key), "-o", f"UserKnownHostsFile={cfg.known_hosts}",
        "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=3",
        f"root@{ip}", *command,
    ]


def wait_for_ssh(cfg, name, ip, timeout=90):
    wait_for(lambda: port_open(ip, 22), timeout, f"{name} ({ip}) to accept SSH connections")

    def booted():
        result = run(ssh_command(cfg, ip, "systemctl", "is-system-running", "--wait"), check=False, capture=True)
        return result.stdout.strip() in ("running", "degraded")

    wait_for(booted, timeout, f"{name} to finish booting", interval=0.5)


def write_known_hosts(cfg, hosts):
    lines = []
    for name, ip in hosts.items():
        pub = host_key(cfg, name).with_suffix(".pub").read_text().split()
        lines.append(f"{name},{ip} {pub[0]} {pub[1]}")
    write(cfg.known_hosts, "\n".join(lines) + "\n")


def push_etc_hosts(cfg, name, hosts):
    """Running hosts learn about hosts added later."""
    text = render_etc_hosts(hosts, name)
    run(ssh_command(cfg, hosts[name], "cat > /etc/hosts.lab && mv /etc/hosts.lab /etc/hosts"),
        input=text, capture=True)


# --------------------------------------------------------------------------- commands


def cmd_image(cfg, _args):
    check_prerequisites()
    say(f"image: {ensure_image(cfg)}")


def cmd_up(cfg, args):
    check_prerequisites()
    started_at = time.monotonic()
    names = validate_names(args.hosts.split(",") if args.hosts else os.environ.get(
        "JVMOPS_LAB_HOSTS", ",".join(DEFAULT_HOSTS)).split(","), cfg.prefix)
    with locked(cfg):
        state = load_state(cfg)
        state["settings"] = cfg.settings()
        ensure_bridge(cfg)
        ensure_proxy(cfg)
        rootfs = str(ensure_image(cfg))
        running = [name for name in state["hosts"] if supervisor_pid(cfg, name)]
        if state.get("image") not in (None, rootfs) and running:
            raise LabError("the base image changed while hosts are running: run `lab down` first")
        state["image"] = rootfs
        state["hosts"] = assign_addresses(state["hosts"], names, cfg.net)
        save_state(cfg, state)
        hosts = state["hosts"]
        ensure_ssh_key(cfg)
        write_known_hosts(cfg, hosts)
        started = []
        for name in hosts:
            if name in running:
                continue
            provision_layer(cfg, name, hosts)
            start_host(cfg, name)
            started.append(name)
        with ThreadPoolExecutor(max_workers=max(1, len(hosts))) as pool:
            list(pool.map(lambda n: wait_for_ssh(cfg, n, hosts[n]), hosts))
            if started:
                list(pool.map(lambda n: push_etc_hosts(cfg, n, hosts), running))
        write(cfg.inventory, render_inventory(hosts, cfg))
    say(f"{len(hosts)} hosts up ({', '.join(hosts)}) in {time.monotonic() - started_at:.1f}s")
    say(f"inventory: {cfg.inventory}")


def cmd_down(cfg, _args):
    if os.geteuid() != 0:
        raise LabError("the lab needs root to remove its bridge and containers")
    with locked(cfg):
        state = load_state(cfg)
        names = list(state["hosts"])
        run_dir = cfg.state / "run"
        if run_dir.is_dir():
            names += [p.stem for p in run_dir.glob("*.pid") if p.stem not in names]
        with ThreadPoolExecutor(max_workers=max(1, len(names))) as pool:
            list(pool.map(lambda n: stop_host(cfg, n), names))
        stop_proxy(cfg)
        if link_exists(cfg.bridge):
            run(["ip", "link", "delete", cfg.bridge], capture=True)
        for name in names:
            shutil.rmtree(Path("/run/systemd/nspawn/propagate") / cfg.machine(name), ignore_errors=True)
            with contextlib.suppress(FileNotFoundError):
                Path("/run/systemd/nspawn/unix-export", cfg.machine(name)).rmdir()
    shutil.rmtree(cfg.state, ignore_errors=True)
    leftovers = find_leftovers(cfg, names)
    if leftovers:
        raise LabError("lab down left things behind:\n  " + "\n  ".join(leftovers))
    say(f"lab removed ({len(state['hosts'])} hosts); base image and apt cache kept in {cfg.cache}")


def find_leftovers(cfg, names):
    """What of this lab (hosts `names`) still exists: links, processes, mounts, state."""
    links = [line.split(":")[1].strip().split("@")[0]
             for line in run(["ip", "-o", "link", "show"], capture=True).stdout.splitlines()]
    mount_points = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
    found = own_leftovers(cfg, names, links, all_processes(), mount_points)
    if cfg.state.exists():
        found.append(f"directory {cfg.state}")
    return found


def cmd_status(cfg, _args):
    state = load_state(cfg)
    if not state["hosts"]:
        say("no lab (run `make lab-up`)")
        return 3
    print(f"bridge {cfg.bridge}: {'up' if link_exists(cfg.bridge) else 'missing'}; "
          f"apt proxy {cfg.proxy_url}: {'running' if proxy_pid(cfg) else 'stopped'}")
    print(f"image: {state.get('image')} (machines {cfg.machine('<host>')})")
    print(f"inventory: {cfg.inventory}")
    print(f"{'HOST':<10} {'GROUP':<8} {'ADDRESS':<15} {'STATE':<8} SSH")
    for name, ip in state["hosts"].items():
        up = supervisor_pid(cfg, name) is not None
        ssh = "ok" if up and port_open(ip, 22) else "-"
        print(f"{name:<10} {group_of(name):<8} {ip:<15} {'running' if up else 'stopped':<8} {ssh}")
    return 0


def _known(state, names):
    unknown = [n for n in names if n not in state["hosts"]]
    if unknown:
        raise LabError(f"unknown lab host(s): {', '.join(unknown)}; hosts are {', '.join(state['hosts'])}")


def cmd_hosts(cfg, args):
    """stop, start, restart and reset named hosts."""
    check_prerequisites()
    with locked(cfg):
        state = load_state(cfg)
        _known(state, args.names)
        hosts = state["hosts"]
        for name in args.names:
            if args.action in ("stop", "restart", "reset"):
                stop_host(cfg, name)
            if args.action == "reset":
                shutil.rmtree(cfg.host_dir(name) / "upper", ignore_errors=True)
            if args.action in ("start", "restart", "reset"):
                provision_layer(cfg, name, hosts)
                start_host(cfg, name)
        if args.action != "stop":
            for name in args.names:
                wait_for_ssh(cfg, name, hosts[name])
    say(f"{args.action}: {', '.join(args.names)} done")


def cmd_ssh(cfg, args):
    state = load_state(cfg)
    _known(state, [args.name])
    return subprocess.call(ssh_command(cfg, state["hosts"][args.name], *args.command))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0].startswith("--supervise="):
        env = dict(os.environ)
        env.update({"JVMOPS_LAB_DIR": arg.split("=", 1)[1] for arg in argv[1:] if arg.startswith("--lab-dir=")})
        return supervise(Config.load(env), argv[0].split("=", 1)[1])
    parser = argparse.ArgumentParser(description="Local lab of Debian hosts in systemd-nspawn containers.")
    sub = parser.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="bring hosts up")
    up.add_argument("--hosts", help="comma-separated host names (default: lb1,app1,app2,build1)")
    up.set_defaults(func=cmd_up)
    sub.add_parser("down", help="remove everything the lab created").set_defaults(func=cmd_down)
    sub.add_parser("status", help="show hosts").set_defaults(func=cmd_status)
    sub.add_parser("image", help="build the base image").set_defaults(func=cmd_image)
    for action in ("stop", "start", "restart", "reset"):
        act = sub.add_parser(action, help=f"{action} hosts")
        act.add_argument("names", nargs="+")
        act.set_defaults(func=cmd_hosts, action=action)
    ssh = sub.add_parser("ssh", help="run a command on a host over SSH")
    ssh.add_argument("name")
    ssh.add_argument("command", nargs=argparse.REMAINDER)
    ssh.set_defaults(func=cmd_ssh)
    args = parser.parse_args(argv)
    try:
        # Building an image needs no lab: the settings come from the environment alone.
        cfg = Config() if args.cmd == "image" else Config.load()
        return args.func(cfg, args) or 0
    except LabError as exc:
        print(f"lab: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
