# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: top_processes
short_description: Report the processes that use the most CPU or memory, like C(top)
version_added: 0.1.0
author:
  - jvmops.deploy contributors (@jvmops)
description:
  - Lists the O(count) processes of the host that use the most CPU (or memory, O(sort)), with the load average and the
    memory in use, as data (RV(processes)) and as a readable fixed-width table (RV(report)), like the first screen of
    C(top). It reads C(/proc) only; it runs no C(top) or C(ps).
  - The CPU share is measured like C(top) does it, over O(interval) seconds. The module reads each process's CPU time
    (C(utime) + C(stime) of C(/proc/<pid>/stat)) and the host's total CPU time (C(/proc/stat)), waits O(interval)
    seconds, reads both again, and computes
    C(cpu_percent = process time used / host time passed * 100 * number of CPUs). This is C(top)'s default Irix mode,
    where C(100%) is one full core; a process with several busy threads can show more than C(100%), up to
    C(100%) times the number of CPUs.
  - A process that ends between the two readings is left out. A process started between them is counted with all
    the CPU time it used since it started.
  - The memory share is the resident memory (C(VmRSS), else C(/proc/<pid>/statm)) of the process as a percentage of
    C(MemTotal), like C(top)'s C(%MEM); the memory in use is C(MemTotal - MemAvailable) from C(/proc/meminfo).
  - The user is the process's effective user, by name, or by number when the host has no name for it.
    The command is the process's command line, or its name in brackets (C([kthreadd])) for a kernel thread.
    It is shown on one line; tabs and line breaks in it (a C(bash -c) script) become spaces, other control
    characters C(?), as C(ps) shows them.
  - The module's own process may appear in the list, as C(top) shows itself.
  - Only reads; never reports a change.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: It only reads; check mode measures and reports the same.
  diff_mode:
    support: none
  idempotent:
    support: full
    description: It only reads. The numbers differ from run to run as the processes do.
  platform:
    platforms: posix
    details: Linux, or any system with a Linux-style C(/proc).
options:
  count:
    description:
      - How many processes to list, from 1 to 100.
    type: int
    default: 10
  sort:
    description:
      - List the processes that use the most CPU (V(cpu)), or the most resident memory (V(memory)).
    type: str
    choices: [cpu, memory]
    default: cpu
  user:
    description:
      - List only the processes running as this user (name or numeric id), by their effective user.
    type: str
  interval:
    description:
      - How many seconds apart the two readings of CPU time are taken, from 0.1 to 10, like C(top -d).
        The task takes at least this long.
    type: float
    default: 1.0
  width:
    description:
      - The command lines are cut to this many characters, in RV(processes) and in RV(report). At least 10.
    type: int
    default: 80
notes:
  - To read RV(report) in a play's output, print its lines (see EXAMPLES), or use a callback that shows strings with
    several lines as they are (C(ANSIBLE_CALLBACK_RESULT_FORMAT=yaml)).
  - Some processes of other users (their command line or memory) are readable only by root; without C(become) their
    command line or memory may show empty or as C(0).
seealso:
  - module: jvmops.deploy.process_check
"""

EXAMPLES = r"""
- name: What is busy on the host
  jvmops.deploy.top_processes:
  register: top

- name: Show it
  ansible.builtin.debug:
    msg: "{{ top.report.splitlines() }}"

- name: The five biggest processes of the application user, by memory
  jvmops.deploy.top_processes:
    count: 5
    sort: memory
    user: root
    width: 120
  register: biggest

- name: The busiest process over 5 seconds
  jvmops.deploy.top_processes:
    count: 1
    interval: 5
  register: busiest

- name: Say so when it keeps more than two cores busy
  ansible.builtin.debug:
    msg: "{{ busiest.processes[0].command }} uses {{ busiest.processes[0].cpu_percent }}% CPU"
  when: busiest.processes[0].cpu_percent > 200
"""

RETURN = r"""
processes:
  description:
    - The O(count) processes that use the most CPU (or memory, O(sort)), the most first.
    - C(cpu_percent) is C(top)'s Irix mode (C(100.0) is one full core) and C(memory_percent) the share of C(MemTotal),
      both with one decimal; C(rss_bytes) is the resident memory; C(command) is cut to O(width) characters.
  type: list
  elements: dict
  returned: always
  sample: [{"pid": 1234, "user": "artifactory", "cpu_percent": 12.3, "memory_percent": 25.8, "rss_bytes": 1052672000,
            "command": "java -Xmx2g -cp /opt/artifactory/lib/* org.artifactory.standalone.main.Main"},
           {"pid": 15, "user": "root", "cpu_percent": 0.0, "memory_percent": 0.0, "rss_bytes": 0,
            "command": "[ksoftirqd/0]"}]
load_average:
  description: The load average over 1, 5 and 15 minutes, from C(/proc/loadavg).
  type: list
  elements: float
  returned: always
  sample: [0.15, 0.1, 0.05]
memory:
  description: The host's memory in bytes - C(total) (C(MemTotal)) and C(available) (C(MemAvailable)).
  type: dict
  returned: always
  sample: {"total": 4083691520, "available": 2795409408}
cpus:
  description: The number of CPUs counted in C(/proc/stat); C(100 * cpus) is the most a process can reach.
  type: int
  returned: always
  sample: 2
report:
  description:
    - RV(processes) as a fixed-width text table, under a header line with the load average and the memory in use.
      The columns are PID, USER (cut to 8 characters, a C(+) at the end when cut), %CPU, %MEM, RSS (in C(K), C(M),
      C(G) of 1024) and COMMAND.
  type: str
  returned: always
  sample: |-
    load average: 0.15, 0.10, 0.05  memory: 1.2G of 3.8G used  cpus: 2
        PID USER      %CPU  %MEM    RSS COMMAND
       1234 artifac+  12.3  25.8  1004M java -Xmx2g -cp /opt/artifactory/lib/* org.artifactory.standalone.main.Main
         15 root       0.0   0.0      0 [ksoftirqd/0]
"""

import os
import pwd
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.jvmops.deploy.plugins.module_utils._checks import CheckOptionError, validate_top

# Where the processes are read (tests point it at a directory of their own).
_PROC = "/proc"
# How the module waits between the two readings (tests swap in a function that changes their /proc).
_sleep = time.sleep

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
USER_SHOWN = 8


class TopProcessesError(CheckOptionError):
    """A user mistake in the options found on the host (a user it does not have); the message starts with the
    option's name."""


def validate(params):
    """The user id to keep (None for all), once the options are checked."""
    validate_top(params)
    if params["user"] is None:
        return None
    try:
        return pwd.getpwnam(params["user"]).pw_uid
    except KeyError:
        if params["user"].isdigit():
            return int(params["user"])
        raise TopProcessesError(f"user: there is no user {params['user']!r} on this host") from None


def read(*path):
    """The text of a file under _PROC; None when it cannot be read (a process gone, no permission)."""
    try:
        with open(os.path.join(_PROC, *(str(part) for part in path)), "r", encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return None


def host_ticks():
    """(total CPU time of the host in jiffies, number of CPUs) from /proc/stat."""
    total, cpus = 0, 0
    for line in (read("stat") or "").splitlines():
        fields = line.split()
        if not fields:
            continue
        if fields[0] == "cpu":
            # user nice system idle iowait irq softirq steal; guest time is already in user and nice.
            total = sum(int(value) for value in fields[1:9])
        elif fields[0].startswith("cpu") and fields[0][3:].isdigit():
            cpus += 1
    return total, max(cpus, 1)


def process_stat(pid):
    """(name, start time, CPU time in jiffies) of pid from /proc/<pid>/stat; None when it is gone."""
    text = read(pid, "stat")
    if not text or ")" not in text:
        return None
    name = text[text.find("(") + 1:text.rfind(")")]
    rest = text[text.rfind(")") + 2:].split()  # rest[0] is field 3 (state)
    try:
        return name, int(rest[19]), int(rest[11]) + int(rest[12])
    except (IndexError, ValueError):
        return None


def sample():
    """{pid: (name, start time, CPU time)} of every process, and the host's total CPU time."""
    total, cpus = host_ticks()
    processes = {}
    try:
        entries = os.listdir(_PROC)
    except OSError:
        entries = []
    for entry in entries:
        if entry.isdigit():
            stat = process_stat(entry)
            if stat is not None:
                processes[int(entry)] = stat
    return processes, total, cpus


def meminfo():
    """{"total": bytes, "available": bytes} from /proc/meminfo."""
    values = {}
    for line in (read("meminfo") or "").splitlines():
        key, _sep, value = line.partition(":")
        if key in ("MemTotal", "MemAvailable", "MemFree") and value.split():
            values[key] = int(value.split()[0]) * 1024
    total = values.get("MemTotal", 0)
    return {"total": total, "available": values.get("MemAvailable", values.get("MemFree", 0))}


def load_average():
    try:
        return [float(value) for value in (read("loadavg") or "").split()[:3]]
    except ValueError:
        return []


def owner_and_rss(pid):
    """(effective uid, resident bytes) of pid from /proc/<pid>/status (statm for the size when status has none);
    None when the process is gone."""
    text = read(pid, "status")
    if text is None:
        return None
    uid = rss = None
    for line in text.splitlines():
        key, _sep, value = line.partition(":")
        try:
            if key == "Uid":
                uid = int(value.split()[1])
            elif key == "VmRSS":
                rss = int(value.split()[0]) * 1024
        except (IndexError, ValueError):
            pass
    if uid is None:
        try:
            uid = os.stat(os.path.join(_PROC, str(pid))).st_uid
        except OSError:
            return None
    if rss is None:
        try:
            rss = int((read(pid, "statm") or "").split()[1]) * PAGE_SIZE
        except (IndexError, ValueError):
            rss = 0
    return uid, rss


def printable(text):
    """text on one line: tabs and line breaks as spaces, other control characters as ?, like ps."""
    return "".join(" " if char in "\t\n\r\v\f" else "?" if not char.isprintable() and char != " " else char
                   for char in text)


def command(pid, name, width):
    """The command line of pid, or [name] for a kernel thread, on one line and cut to width."""
    raw = read(pid, "cmdline") or ""
    line = " ".join(raw.rstrip("\0").split("\0")) if raw.strip("\0") else f"[{name}]"
    return printable(line)[:width]


def user_name(uid, names):
    if uid not in names:
        try:
            names[uid] = pwd.getpwuid(uid).pw_name
        except KeyError:
            names[uid] = str(uid)
    return names[uid]


def measure(params, uid):
    """The processes with their CPU share over the interval, the host's memory and number of CPUs."""
    before, total_before, _cpus = sample()
    _sleep(params["interval"])
    after, total_after, cpus = sample()
    memory = meminfo()
    passed = total_after - total_before
    names = {}
    found = []
    for pid, (name, start, ticks) in after.items():
        details = owner_and_rss(pid)
        if details is None or (uid is not None and details[0] != uid):
            continue  # gone meanwhile, or another user's
        earlier = before.get(pid)
        used = ticks - earlier[2] if earlier and earlier[1] == start else ticks  # a new process: all its time
        cpu = used / passed * 100 * cpus if passed > 0 else 0.0
        rss = details[1]
        found.append({
            "pid": pid,
            "user": user_name(details[0], names),
            "cpu_percent": round(max(cpu, 0.0), 1),
            "memory_percent": round(rss / memory["total"] * 100, 1) if memory["total"] else 0.0,
            "rss_bytes": rss,
            "command": name,  # the command line is read below, for the processes listed only
        })
    if params["sort"] == "memory":
        found.sort(key=lambda p: (-p["rss_bytes"], -p["cpu_percent"], p["pid"]))
    else:
        found.sort(key=lambda p: (-p["cpu_percent"], -p["rss_bytes"], p["pid"]))
    found = found[:params["count"]]
    for process in found:
        process["command"] = command(process["pid"], process["command"], params["width"])
    return found, memory, cpus


def human(size):
    """Bytes as top shows them: 0, 512K, 1004M, 1.2G (units of 1024)."""
    if size < 1024:
        return str(size)
    value = float(size)
    for unit in "KMGTP":
        value /= 1024
        if value < 1024 or unit == "P":
            break
    return f"{value:.1f}{unit}" if value < 10 else f"{value:.0f}{unit}"


def report(processes, loads, memory, cpus):
    used = memory["total"] - memory["available"]
    header = (f"load average: {', '.join(f'{load:.2f}' for load in loads)}  "
              f"memory: {human(used)} of {human(memory['total'])} used  cpus: {cpus}")
    lines = [header, f"{'PID':>7} {'USER':<8} {'%CPU':>5} {'%MEM':>5} {'RSS':>6} COMMAND"]
    for process in processes:
        user = process["user"]
        if len(user) > USER_SHOWN:
            user = user[:USER_SHOWN - 1] + "+"
        lines.append(f"{process['pid']:>7} {user:<8} {process['cpu_percent']:>5.1f} {process['memory_percent']:>5.1f} "
                     f"{human(process['rss_bytes']):>6} {process['command']}")
    return "\n".join(lines)


def run(params):
    """(changed, result): always unchanged."""
    uid = validate(params)
    processes, memory, cpus = measure(params, uid)
    loads = load_average()
    return False, {"processes": processes, "load_average": loads, "memory": memory, "cpus": cpus,
                   "report": report(processes, loads, memory, cpus)}


def main():
    module = AnsibleModule(
        argument_spec={
            "count": {"type": "int", "default": 10},
            "sort": {"type": "str", "choices": ["cpu", "memory"], "default": "cpu"},
            "user": {"type": "str"},
            "interval": {"type": "float", "default": 1.0},
            "width": {"type": "int", "default": 80},
        },
        supports_check_mode=True,
    )
    try:
        changed, result = run(module.params)
    except CheckOptionError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=changed, **result)


if __name__ == "__main__":
    main()
