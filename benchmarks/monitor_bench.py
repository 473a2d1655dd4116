# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark the fleet checks: monitor.yml across 2, 4 and 8 lab hosts, and disk_alert against df -P.

    [ANSIBLE_COLLECTIONS_PATH=DIR] .venv/bin/python benchmarks/monitor_bench.py \\
        [--runs 5] [--tasks 10] [--task-hosts 2] [--forks 5,8] [--no-pipelining] [--keep]

Runs as root. It brings up a lab of its own (tests/lab/lab.py with JVMOPS_LAB_DIR=/var/lib/jvmops-bench,
bridge jvbench0, network 10.213.9, apt proxy port 3143, hosts mon1..mon8), beside the default lab and
without touching it, and removes it at the end unless --keep is given. Then:

1. `ansible-playbook jvmops.deploy.monitor` with three checks per host (disk, a process check for sshd, a
   tcp check on port 22) given as extra vars, monitor_send=false, on 2, 4 and 8 hosts (--limit), with each
   of --forks: the median wall time of --runs runs, the ratio against the 2-host run with the same forks,
   and a floor (ansible-playbook's own start-up: one play, one local task) measured in the same rounds.
   Every run must report every check OK.
2. One playbook of --tasks rounds of three tasks on --task-hosts hosts: jvmops.deploy.disk_alert,
   ansible.builtin.command `df -P` and ansible.builtin.ping (the floor of any module: transfer and Python
   start-up, no work), in rotating order, run with Ansible's defaults and with ANSIBLE_PIPELINING=1 in
   turn. A callback plugin of this script times each task (from its start to the next task's start) and
   each host's result: the medians over tasks and runs, per task and per host, and the ratios
   disk_alert / command and against ping. Then, on one host, the module payloads Ansible sent (kept with
   ANSIBLE_KEEP_REMOTE_FILES) are run again by hand, to split each task into what runs on the host and
   what the controller and SSH add; with `python3 -c pass`, `df -P` and the measurement itself (statvfs
   of every mount in /proc/self/mounts) for scale.

The collection is jvmops.deploy in ANSIBLE_COLLECTIONS_PATH, else in .build/collections (`make tree`),
copied at the start into the script's work directory, so that a `make tree` elsewhere during the runs
cannot pull it away. The runs of one measurement are interleaved round by round, the order rotated each
round, so that each side sees the same machine load. SSH connections stay open between runs
(ControlPersist, in a control directory of the script's own, closed at the end): every timed run starts
with warm connections. The numbers are measurements, not a test: the exit status is 0 unless a run
failed, the lab did not come up or was not removed.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAB_PY = os.path.join(REPO, "tests", "lab", "lab.py")
PLAYBOOK = "jvmops.deploy.monitor"
HOSTS = [f"mon{i}" for i in range(1, 9)]
COUNTS = (2, 4, 8)
# The default lab's settings: this script removes its lab at the end, so it refuses to use them.
DEFAULT_LAB = {"JVMOPS_LAB_DIR": "/var/lib/jvmops-lab", "JVMOPS_LAB_BRIDGE": "jvlab0",
               "JVMOPS_LAB_NET": "10.213.7", "JVMOPS_LAB_PROXY_PORT": "3142"}

# A small, realistic check set: every check answers OK on a lab host.
CHECKS = [
    {"name": "disk", "type": "disk", "description": "Use% of every file system"},
    {"name": "sshd", "type": "process", "subject": "sshd", "pattern": "^sshd: /usr/sbin/sshd", "min": 1,
     "description": "the SSH daemon runs"},
    {"name": "ssh-port", "type": "tcp", "port": 22, "description": "port 22 answers"},
]
MONITOR_VARS = {"monitor_checks": CHECKS, "monitor_send": False}

FLOOR = """---
- name: Floor
  hosts: all
  gather_facts: false
  tasks:
    - name: One local task
      ansible.builtin.debug:
        msg: floor
      run_once: true
"""

KINDS = {
    "disk_alert": "jvmops.deploy.disk_alert: {}",
    "command": "ansible.builtin.command: df -P\n      changed_when: false",
    "ping": "ansible.builtin.ping: {}",
}
ORDER = list(KINDS)

# Records, per task, its name, its wall time (start to the next task's start) and each host's latency.
CALLBACK = '''
from __future__ import annotations
import json, os, time
from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "monitor_bench_timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.tasks = []
        self.current = None

    def _close(self, now):
        if self.current is not None:
            self.current["wall"] = now - self.current.pop("start")
            self.tasks.append(self.current)
            self.current = None

    def v2_playbook_on_task_start(self, task, is_conditional):
        now = time.perf_counter()
        self._close(now)
        self.current = {"name": task.get_name(), "start": now, "hosts": {}}

    def _result(self, result, **_kwargs):
        if self.current is not None:
            self.current["hosts"][result._host.get_name()] = time.perf_counter() - self.current["start"]

    v2_runner_on_ok = v2_runner_on_failed = v2_runner_on_unreachable = v2_runner_on_skipped = _result

    def v2_playbook_on_stats(self, stats):
        self._close(time.perf_counter())
        with open(os.environ["MONITOR_BENCH_TIMES"], "w", encoding="utf-8") as handle:
            json.dump(self.tasks, handle)
'''

# Run on one lab host: the kept module payloads again, and the pieces for scale.
ON_HOST = r'''
import glob, json, os, statistics, subprocess, time
N = int(os.environ.get("N", "10"))

def timed(cmd):
    times = []
    for _ in range(N):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)

out = {}
for kind in ("disk_alert", "command", "ping"):
    found = sorted(glob.glob(os.path.expanduser("~/.ansible/tmp/ansible-tmp-*/AnsiballZ_%s.py" % kind)),
                   key=os.path.getmtime)
    out[kind] = timed(["/usr/bin/python3", found[-1]]) if found else None
    out[kind + " bytes"] = os.path.getsize(found[-1]) if found else None
out["python3 -c pass"] = timed(["/usr/bin/python3", "-c", "pass"])
out["df -P"] = timed(["df", "-P"])
mounts = [line.split()[1] for line in open("/proc/self/mounts")]
loops = 200
start = time.perf_counter()
for _ in range(loops):
    with open("/proc/self/mounts") as handle:
        handle.read()
    for point in mounts:
        try:
            os.statvfs(point)
        except OSError:
            pass
out["statvfs"] = (time.perf_counter() - start) / loops
out["mounts"] = len(mounts)
print(json.dumps(out))
'''

RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)
SUMMARY = re.compile(r"== \d+ hosts?, \d+ results?: [^=]* ==")


class BenchError(Exception):
    """The benchmark could not measure: printed without a traceback, exit status 1."""


def med(values):
    return statistics.median(values)


def lab_env(args):
    env = dict(os.environ, JVMOPS_LAB_DIR=args.lab_dir, JVMOPS_LAB_BRIDGE=args.bridge, JVMOPS_LAB_NET=args.net,
               JVMOPS_LAB_PROXY_PORT=str(args.proxy_port))
    env.pop("JVMOPS_LAB_HOSTS", None)
    clash = [key for key, value in DEFAULT_LAB.items() if env[key].rstrip("/") == value]
    if clash:
        raise BenchError(f"{', '.join(clash)} would be the default lab's; this benchmark removes its lab at the "
                         "end, so it needs settings of its own (see --help)")
    return env


def lab(env, *command, check=True):
    proc = subprocess.run([sys.executable, LAB_PY, *command], env=env, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise BenchError(f"lab.py {' '.join(command)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return proc


def own_leftovers(args):
    """What of this benchmark's lab is left (lab.py down also lists every other lab's hosts)."""
    found = []
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=False).stdout
    ours = {args.bridge} | {f"vb-jv-{name}" for name in HOSTS}
    found += [f"link {name}" for name in (line.split(":")[1].strip().split("@")[0] for line in links.splitlines())
              if name in ours]
    for cmdline in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            with open(cmdline, "rb") as handle:
                text = handle.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if any(f"--machine=jv-{name} " in text or f"--supervise={name} " in text for name in HOSTS):
            found.append(f"process {cmdline.split('/')[2]}: {text.strip()}")
    if os.path.exists(args.lab_dir):
        found.append(f"directory {args.lab_dir}")
    return found


def lab_down(args, env):
    proc = lab(env, "down", check=False)
    left = own_leftovers(args)
    if left:
        raise BenchError("lab.py down left this benchmark's lab behind:\n  " + "\n  ".join(left)
                         + f"\n{proc.stdout}{proc.stderr}")
    if proc.returncode != 0:
        # lab.py's leftover check counts every lab's jv-* containers, so with the default lab running it
        # fails although this lab is gone.
        print(f"lab.py down exited {proc.returncode} (it lists the other lab's containers as leftovers); "
              "nothing of this benchmark's lab is left", flush=True)
    status = lab(env, "status", check=False)
    print(f"lab removed; lab.py status: {status.stdout.strip()}", flush=True)


class Ansible:
    """ansible-playbook against the benchmark lab, with warm SSH connections of its own."""

    def __init__(self, collections, inventory, work):
        self.inventory = inventory
        self.work = work
        self.floor = os.path.join(work, "floor.yml")
        self.control = os.path.join(work, "cp")
        os.makedirs(self.control)
        self.binary = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
        if not os.path.exists(self.binary):
            self.binary = shutil.which("ansible-playbook")
        self.env = dict(
            os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
            ANSIBLE_SSH_CONTROL_PATH_DIR=self.control,
            ANSIBLE_SSH_ARGS="-C -o ControlMaster=auto -o ControlPersist=900s",
            ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_LOCALHOST_WARNING="0",
        )
        for key in ("ANSIBLE_PIPELINING", "ANSIBLE_KEEP_REMOTE_FILES", "ANSIBLE_STRATEGY", "ANSIBLE_FORKS",
                    "ANSIBLE_CALLBACKS_ENABLED", "ANSIBLE_STDOUT_CALLBACK", "ANSIBLE_CONFIG"):
            self.env.pop(key, None)

    def run(self, playbook, hosts, forks, extra=(), env=None):
        cmd = [self.binary, "-i", self.inventory, playbook, "--limit", ",".join(hosts), "-f", str(forks), *extra]
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(self.env, **(env or {})),
                              cwd=self.work, check=False)
        elapsed = time.perf_counter() - start
        recap = {m[1]: [int(x) for x in m.groups()[1:]] for m in RECAP.finditer(proc.stdout)}
        bad = {host: r for host, r in recap.items() if r[2] or r[3]}
        # The floor's one run_once task leaves the other hosts out of the recap.
        if proc.returncode != 0 or bad or not recap or not set(recap) <= set(hosts) \
                or (playbook != self.floor and set(recap) != set(hosts)):
            raise BenchError(f"{playbook} on {','.join(hosts)} failed (exit {proc.returncode}, recap {recap}):\n"
                             f"{proc.stdout[-4000:]}{proc.stderr[-2000:]}")
        return elapsed, proc.stdout

    def close(self):
        for socket_path in glob.glob(os.path.join(self.control, "*")):
            subprocess.run(["ssh", "-o", f"ControlPath={socket_path}", "-O", "exit", "bench"],
                           capture_output=True, check=False)


def check_monitor_output(output, hosts):
    """Every check of every host answered OK, and nothing is to be sent."""
    count = len(hosts) * len(CHECKS)
    want = f"== {len(hosts)} hosts, {count} results: {count} ok; 0 alerts to send =="
    if want not in output:
        found = SUMMARY.search(output)
        raise BenchError(f"monitor.yml on {len(hosts)} hosts: expected {want!r}, got "
                         f"{found[0] if found else 'no summary line'!r}")


def measure_monitor(args, ansible):
    extra = ["-e", json.dumps(MONITOR_VARS)]
    floor_file = ansible.floor
    with open(floor_file, "w", encoding="utf-8") as handle:
        handle.write(FLOOR)
    print(f"monitor.yml: warm-up on {len(HOSTS)} hosts (not timed) ...", flush=True)
    _elapsed, output = ansible.run(PLAYBOOK, HOSTS, 8, extra)
    check_monitor_output(output, HOSTS)
    configs = [("floor", 2, args.forks[0])] + [("monitor", n, f) for f in args.forks for n in COUNTS]
    times = {config: [] for config in configs}
    for index in range(args.runs):
        shift = index % len(configs)
        line = []
        for config in configs[shift:] + configs[:shift]:
            kind, count, forks = config
            hosts = HOSTS[:count]
            if kind == "floor":
                elapsed, _output = ansible.run(floor_file, hosts, forks)
            else:
                elapsed, output = ansible.run(PLAYBOOK, hosts, forks, extra)
                check_monitor_output(output, hosts)
            times[config].append(elapsed)
            line.append(f"{kind if kind == 'floor' else f'{count}h/f{forks}'} {elapsed:.1f}s")
        print(f"  round {index + 1}: {', '.join(line)}", flush=True)
    return configs, times


def report_monitor(args, configs, times):
    print()
    print(f"1. ansible-playbook {PLAYBOOK}: {len(CHECKS)} checks per host ({', '.join(c['name'] for c in CHECKS)}), "
          f"monitor_send=false; median of {args.runs} interleaved runs")
    print(f"   {'hosts':>5} {'forks':>5} {'median':>8} {'min':>7} {'max':>7} {'vs 2 hosts':>10} {'per host':>9} "
          f"{'above floor':>11} {'batches':>7}")
    floor = med(times[configs[0]])
    print(f"   {'floor':>5} {configs[0][2]:>5} {floor:>7.2f}s {min(times[configs[0]]):>6.2f}s "
          f"{max(times[configs[0]]):>6.2f}s {'':>10} {'':>9} {'':>11} {'':>7}   (start-up, one local task)")
    for forks in args.forks:
        base = med(times[("monitor", COUNTS[0], forks)])
        for count in COUNTS:
            values = times[("monitor", count, forks)]
            value = med(values)
            print(f"   {count:>5} {forks:>5} {value:>7.2f}s {min(values):>6.2f}s {max(values):>6.2f}s "
                  f"{value / base:>10.2f} {value / count:>8.2f}s {value - floor:>10.2f}s {-(-count // forks):>7}")
        top = med(times[("monitor", COUNTS[-1], forks)])
        print(f"   forks {forks}: each host beyond {COUNTS[0]} adds {(top - base) / (COUNTS[-1] - COUNTS[0]):.2f}s; "
              f"8 hosts / 2 hosts = {top / base:.2f} (hosts x4; batches of {forks} forks x{-(-8 // forks)})")


def task_playbook(path, rounds):
    lines = ["---", "- name: Per-task cost", "  hosts: all", "  gather_facts: false", "  tasks:"]
    for index in range(rounds):
        shift = index % len(ORDER)
        for kind in ORDER[shift:] + ORDER[:shift]:
            lines += [f"    - name: {kind} {index + 1}", f"      {KINDS[kind]}"]
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


def measure_tasks(args, ansible):
    plugins = os.path.join(ansible.work, "callback_plugins")
    os.makedirs(plugins)
    with open(os.path.join(plugins, "monitor_bench_timer.py"), "w", encoding="utf-8") as handle:
        handle.write(CALLBACK)
    playbook = os.path.join(ansible.work, "tasks.yml")
    task_playbook(playbook, args.tasks)
    times_file = os.path.join(ansible.work, "times.json")
    env = {"ANSIBLE_CALLBACK_PLUGINS": plugins, "ANSIBLE_CALLBACKS_ENABLED": "monitor_bench_timer",
           "MONITOR_BENCH_TIMES": times_file}
    modes = {"default": {}} if args.no_pipelining else {"default": {}, "pipelining": {"ANSIBLE_PIPELINING": "1"}}
    hosts = HOSTS[:args.task_hosts]
    wall = {(mode, kind): [] for mode in modes for kind in KINDS}
    latency = {(mode, kind): [] for mode in modes for kind in KINDS}
    print(f"\nper-task playbook: {args.tasks} x {len(KINDS)} tasks on {len(hosts)} hosts "
          f"({' and '.join(modes)}), warm-up (not timed) ...", flush=True)
    for mode_env in modes.values():
        ansible.run(playbook, hosts, args.forks[0], env=dict(env, **mode_env))
    names = list(modes)
    for index in range(args.runs):
        shift = index % len(names)
        line = []
        for mode in names[shift:] + names[:shift]:
            elapsed, _output = ansible.run(playbook, hosts, args.forks[0], env=dict(env, **modes[mode]))
            with open(times_file, encoding="utf-8") as handle:
                tasks = json.load(handle)
            run_wall = {kind: [] for kind in KINDS}
            for task in tasks:
                kind = task["name"].split()[0]
                if kind in KINDS:
                    run_wall[kind].append(task["wall"])
                    latency[(mode, kind)].extend(task["hosts"].values())
            for kind in KINDS:
                wall[(mode, kind)].extend(run_wall[kind])
            line.append(f"{mode} {elapsed:.1f}s (" + ", ".join(f"{kind} {med(run_wall[kind]):.2f}s" for kind in KINDS)
                        + ")")
        print(f"  run {index + 1}: {'; '.join(line)}", flush=True)
    return hosts, modes, wall, latency


def measure_on_host(args, ansible, lab_environment):
    """The module payloads as Ansible sent them, run again by hand on the first host."""
    host = HOSTS[0]
    playbook = os.path.join(ansible.work, "keep.yml")
    task_playbook(playbook, 1)
    ansible.run(playbook, [host], 1, env={"ANSIBLE_KEEP_REMOTE_FILES": "1"})
    proc = subprocess.run([sys.executable, LAB_PY, "ssh", host, f"N={args.on_host_runs}", "python3", "-"],
                          input=ON_HOST, env=lab_environment, capture_output=True, text=True, check=False)
    lab(lab_environment, "ssh", host, "rm", "-rf", "/root/.ansible/tmp", check=False)
    if proc.returncode != 0:
        raise BenchError(f"timing on {host} failed:\n{proc.stdout}{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def report_tasks(args, hosts, modes, wall, latency, on_host):
    count = len(hosts)
    print()
    print(f"2. per task: {args.tasks} tasks of each kind per run on {count} hosts (forks {args.forks[0]}), "
          f"{args.runs} runs; medians over {args.tasks * args.runs} tasks ({count * args.tasks * args.runs} "
          "host results)")
    print(f"   {'task':<32} {'wall/task':>9} {'per host':>9} {'host result':>11} {'on host':>8} {'rest':>7}"
          + (f" {'pipelined':>9} {'per host':>9}" if "pipelining" in modes else ""))
    labels = {"disk_alert": "jvmops.deploy.disk_alert", "command": "ansible.builtin.command: df -P",
              "ping": "ansible.builtin.ping (floor)"}
    for kind in KINDS:
        value, lat = med(wall[("default", kind)]), med(latency[("default", kind)])
        here = on_host.get(kind)
        here_text = f"{here:>7.3f}s" if here is not None else f"{'-':>8}"
        rest = f"{lat - here:>6.3f}s" if here is not None else f"{'-':>7}"
        piped = ""
        if "pipelining" in modes:
            other = med(wall[("pipelining", kind)])
            piped = f" {other:>8.3f}s {other / count:>8.3f}s"
        print(f"   {labels[kind]:<32} {value:>8.3f}s {value / count:>8.3f}s {lat:>10.3f}s {here_text} {rest}{piped}")
    for mode in modes:
        disk, command, ping = (med(wall[(mode, k)]) for k in ("disk_alert", "command", "ping"))
        print(f"   {mode + ':':<11} ratio disk_alert / command {disk / command:.2f}, "
              f"disk_alert / ping {disk / ping:.2f}, command / ping {command / ping:.2f}; "
              f"above ping: disk_alert {disk - ping:+.3f}s, "
              f"command {command - ping:+.3f}s per task")
    print(f"   on {hosts[0]} (median of {args.on_host_runs}): python3 -c pass {on_host['python3 -c pass']:.3f}s, "
          f"df -P {on_host['df -P'] * 1000:.1f} ms, reading /proc/self/mounts and statvfs of its {on_host['mounts']} "
          f"mounts {on_host['statvfs'] * 1000:.2f} ms (disk_alert's measurement); payloads "
          + ", ".join(f"{k} {on_host[k + ' bytes'] // 1024} KiB" for k in KINDS if on_host.get(k + " bytes")))
    print("   wall/task: a task's start to the next task's start; per host: that / hosts; host result: from the "
          "task's start\n   to the host's result; on host: the payload Ansible sent (kept with "
          "ANSIBLE_KEEP_REMOTE_FILES) run again by hand\n   on the host (Python start-up, unpacking, imports, the "
          "work); rest: host result - on host (controller, SSH\n   round trips, the payload's transfer); "
          "pipelined: with ANSIBLE_PIPELINING=1 (payload over the SSH session's stdin).")


def collection_source():
    """jvmops.deploy in ANSIBLE_COLLECTIONS_PATH, else in .build/collections (where `make tree` puts it)."""
    path = os.environ.get("ANSIBLE_COLLECTIONS_PATH") or os.path.join(REPO, ".build", "collections")
    for entry in path.split(os.pathsep):
        for candidate in (os.path.join(entry, "ansible_collections", "jvmops", "deploy"),
                          os.path.join(entry, "jvmops", "deploy")):
            if os.path.isfile(os.path.join(candidate, "galaxy.yml")):
                return candidate
    raise BenchError(f"no jvmops.deploy collection in {path}: run `make tree` or set ANSIBLE_COLLECTIONS_PATH to "
                     "the parent of a tree made by hacking/tree.sh (DIR/ansible_collections/jvmops/deploy)")


def snapshot(source, work):
    """A copy of the collection for this run: `make tree` elsewhere replaces the source while the runs go on."""
    root = os.path.join(work, "collections")
    shutil.copytree(source, os.path.join(root, "ansible_collections", "jvmops", "deploy"), symlinks=True,
                    ignore=shutil.ignore_patterns(".git", "output"))
    return root


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement, the median counts (default 5)")
    parser.add_argument("--tasks", type=int, default=10, help="tasks of each kind in the per-task playbook (10)")
    parser.add_argument("--task-hosts", type=int, default=2, choices=range(1, 9), metavar="1-8",
                        help="hosts of the per-task playbook (default 2)")
    parser.add_argument("--forks", default="5,8", help="forks for monitor.yml, comma-separated (default 5,8: "
                        "Ansible's default, and one fork per host); the first is also the per-task playbook's")
    parser.add_argument("--no-pipelining", action="store_true",
                        help="time the per-task playbook only with Ansible's default (no pipelining)")
    parser.add_argument("--on-host-runs", type=int, default=10, help="runs of each command timed on the host (10)")
    parser.add_argument("--keep", action="store_true", help="leave the benchmark lab running at the end")
    parser.add_argument("--lab-dir", default="/var/lib/jvmops-bench", help="JVMOPS_LAB_DIR of the benchmark lab")
    parser.add_argument("--bridge", default="jvbench0", help="its bridge (JVMOPS_LAB_BRIDGE)")
    parser.add_argument("--net", default="10.213.9", help="its /24 (JVMOPS_LAB_NET)")
    parser.add_argument("--proxy-port", type=int, default=3143, help="its apt proxy port (JVMOPS_LAB_PROXY_PORT)")
    args = parser.parse_args()
    args.forks = [int(f) for f in args.forks.split(",") if f.strip()]
    try:
        return bench(args)
    except BenchError as exc:
        print(f"monitor_bench: {exc}", file=sys.stderr)
        return 1


def bench(args):
    source = collection_source()
    env = lab_env(args)
    if os.geteuid() != 0:
        raise BenchError("the lab needs root")
    print(f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; collection copied from {source}")
    print(f"bringing up the benchmark lab ({args.lab_dir}, {args.bridge}, {args.net}.0/24, proxy port "
          f"{args.proxy_port}): {','.join(HOSTS)} ...", flush=True)
    work = tempfile.mkdtemp(prefix="monitor_bench.")
    ansible = None
    down_failed = False
    try:
        collections = snapshot(source, work)
        start = time.perf_counter()
        lab(env, "up", "--hosts", ",".join(HOSTS))
        print(f"lab up in {time.perf_counter() - start:.0f}s", flush=True)
        ansible = Ansible(collections, os.path.join(args.lab_dir, "inventory.yml"), work)
        configs, times = measure_monitor(args, ansible)
        hosts, modes, wall, latency = measure_tasks(args, ansible)
        on_host = measure_on_host(args, ansible, env)
        report_monitor(args, configs, times)
        report_tasks(args, hosts, modes, wall, latency, on_host)
        print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        if ansible is not None:
            ansible.close()
        shutil.rmtree(work, ignore_errors=True)
        if args.keep:
            print(f"lab kept; remove it with: JVMOPS_LAB_DIR={args.lab_dir} JVMOPS_LAB_BRIDGE={args.bridge} "
                  f"JVMOPS_LAB_NET={args.net} JVMOPS_LAB_PROXY_PORT={args.proxy_port} {sys.executable} {LAB_PY} down")
        else:
            try:
                lab_down(args, env)
            except BenchError as exc:  # reported here: an exception raised above must not be lost
                print(f"monitor_bench: {exc}", file=sys.stderr)
                down_failed = True
    return 1 if down_failed else 0


if __name__ == "__main__":
    sys.exit(main())
