# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: process_check
short_description: Count the processes whose command line matches a pattern, and alert when too few or too many run
version_added: 0.1.0
author:
  - jvmops.deploy contributors (@jvmops)
description:
  - Reads the command line of every process from C(/proc/<pid>/cmdline) (its arguments joined with spaces) and counts
    those that O(pattern) matches (Python C(re.search)), optionally only those of O(user). It runs no C(ps) and
    needs no C(pgrep), and its own command line is never counted, unlike C(ps aux | grep).
  - Not counted - the module's own process, its parent, and the further ancestors whose command line runs an Ansible
    module (C(AnsiballZ_)), such as the C(sudo) or C(su) of become; when the module runs on the controller's host
    (a C(local) connection), also its ancestors up to the C(ansible) or C(ansible-playbook) command, whose command line
    may hold the pattern; processes without a command line (kernel threads). Other ancestors (C(sshd), C(init)) count.
  - Alerts (of level O(level)) when fewer than O(min) or more than O(max) processes match. An alert already sent for
    the same host, subject and level is not sent again until O(mute_for) has passed; when the count is back in range,
    one C(recovery) alert is sent. What was sent is kept in O(state_file) on the monitored host.
  - Bad options (a pattern that is not a regular expression, an unknown user, O(max) below O(min), a negative
    O(mute_for)) fail the task before any process is read.
  - The task reports RV(alerts) and does not fail because of them; use C(failed_when) to make it fail.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - jvmops.deploy.alerts
attributes:
  check_mode:
    support: full
    details: Counts and returns the alerts that would be sent; the state file is not written.
  platform:
    platforms: posix
    details: Linux, or any system with a Linux-style C(/proc).
options:
  pattern:
    description:
      - Python regular expression searched in each process's command line, such as
        C(org\.artifactory\.standalone\.main\.Main) or C(^/usr/sbin/nginx).
    type: str
    required: true
  name:
    description:
      - The subject of the alerts and of the state file, as people call the process (C(Artifactory)).
        O(pattern) when not given.
    type: str
  user:
    description:
      - Count only the processes running as this user (name or numeric id), by their effective user.
    type: str
  min:
    description:
      - Alert when fewer processes than this match. C(0) for no lower limit.
    type: int
    default: 1
  max:
    description:
      - Alert when more processes than this match. No upper limit when not given.
    type: int
  level:
    description:
      - The level of the alerts of this check.
    type: str
    choices: [warning, critical]
    default: critical
"""

EXAMPLES = r"""
- name: Is Artifactory running? Alert at most every 31 minutes
  jvmops.deploy.process_check:
    name: Artifactory
    pattern: org\.artifactory\.standalone\.main\.Main
    mute_for: 31m
  register: artifactory

- name: Between 2 and 8 nginx workers of www-data
  jvmops.deploy.process_check:
    name: nginx workers
    pattern: "^nginx: worker process"
    user: www-data
    min: 2
    max: 8
    level: warning

- name: Fail when the application is not running
  jvmops.deploy.process_check:
    pattern: java .*-jar /srv/app/app\.jar
  register: app
  failed_when: app.count == 0
"""

RETURN = r"""
count:
  description: How many processes match.
  type: int
  returned: always
  sample: 1
processes:
  description: The matching processes, their command line cut at 200 characters.
  type: list
  elements: dict
  returned: always
  sample: [{"pid": 1234, "user": "artifactory", "cmdline": "java -cp ... org.artifactory.standalone.main.Main"}]
alerts:
  description:
    - The alerts to send now, after the mute window and with the recoveries; each with host, check (C(process)),
      subject (O(name) or O(pattern)), level, value (the count), threshold and message.
  type: list
  elements: dict
  returned: always
  sample: [{"host": "web1", "check": "process", "subject": "Artifactory", "level": "critical", "value": 0,
            "threshold": ">= 1", "message": "Artifactory is not running"}]
all_alerts:
  description: The alert found this run, before the mute window (no recoveries).
  type: list
  elements: dict
  returned: always
  sample: []
"""

import os
import pwd
import socket

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.jvmops.deploy.plugins.module_utils._alerts import (
    AlertOptionError,
    AlertState,
    alert,
    alert_state_spec,
    parse_duration,
)
from ansible_collections.jvmops.deploy.plugins.module_utils._checks import CheckOptionError, validate_process

# Where the processes are read (tests point it at a directory of their own).
_PROC = "/proc"
CMDLINE_SHOWN = 200
WRAPPER = "AnsiballZ_"


class ProcessCheckError(CheckOptionError):
    """A user mistake in the options found on the host (a user it does not have); the message starts with the
    option's name."""


def validate(params):
    pattern = validate_process(params)
    uid = None
    if params["user"] is not None:
        uid = user_id(params["user"])
    return pattern, uid, parse_duration(params["mute_for"], "mute_for")


def user_id(user):
    try:
        return pwd.getpwnam(user).pw_uid
    except KeyError:
        if user.isdigit():
            return int(user)
        raise ProcessCheckError(f"user: there is no user {user!r} on this host") from None


def user_name(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def arguments(pid):
    """The arguments of pid; [] for a kernel thread or a process gone."""
    try:
        with open(os.path.join(_PROC, str(pid), "cmdline"), "rb") as handle:
            raw = handle.read()
    except OSError:
        return []
    if not raw.strip(b"\0"):
        return []
    return [arg.decode("utf-8", "replace") for arg in raw.rstrip(b"\0").split(b"\0")]


def cmdline(pid):
    """The command line of pid, arguments joined with spaces; "" for a kernel thread or a process gone."""
    return " ".join(arguments(pid))


def is_controller(pid):
    """Whether pid is an Ansible command (ansible, ansible-playbook ...), run directly or by a Python interpreter."""
    return any(os.path.basename(arg).startswith("ansible") for arg in arguments(pid)[:2])


def status(pid):
    """(parent pid, effective uid) from /proc/<pid>/status; None for what is not there."""
    parent = uid = None
    try:
        with open(os.path.join(_PROC, str(pid), "status"), "r", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                key, _sep, value = line.partition(":")
                if key == "PPid":
                    parent = int(value.split()[0])
                elif key == "Uid":
                    uid = int(value.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return parent, uid


def own_processes():
    """This process, its parent, the ancestors above that run an Ansible module (the become wrappers), and, when
    the module runs on the controller's host, every ancestor up to the Ansible command that started it."""
    mine = {os.getpid(), os.getppid()}
    chain = []
    pid = status(os.getppid())[0]
    while pid and pid not in mine and pid not in chain and len(chain) < 64:
        chain.append(pid)
        pid = status(pid)[0]
    for pid in chain:
        if WRAPPER not in cmdline(pid):
            break
        mine.add(pid)
    controllers = [index for index, pid in enumerate(chain) if is_controller(pid)]
    if controllers:
        mine.update(chain[:controllers[-1] + 1])
    return mine


def find(pattern, uid):
    """The processes whose command line matches, by pid."""
    mine = own_processes()
    found = []
    for entry in sorted((e for e in os.listdir(_PROC) if e.isdigit()), key=int):
        pid = int(entry)
        if pid in mine:
            continue
        line = cmdline(pid)
        if not line or not pattern.search(line):
            continue
        owner = status(pid)[1]
        if owner is None:
            try:
                owner = os.stat(os.path.join(_PROC, entry)).st_uid
            except OSError:
                continue  # gone meanwhile
        if uid is not None and owner != uid:
            continue
        found.append({"pid": pid, "user": user_name(owner), "cmdline": line[:CMDLINE_SHOWN]})
    return found


def count_alert(params, host, subject, count):
    low, high = params["min"], params["max"]
    if count < low:
        message = f"{subject} is not running" if count == 0 else f"{subject}: {count} running, fewer than {low}"
        return alert(host, "process", subject, params["level"], count, f">= {low}", message)
    if high is not None and count > high:
        return alert(host, "process", subject, params["level"], count, f"<= {high}",
                     f"{subject}: {count} running, more than {high}")
    return None


def run(module):
    """(changed, result) of counting the processes and settling the alert."""
    params = module.params
    pattern, uid, mute = validate(params)
    host = params["host_label"] or socket.gethostname()
    subject = params["name"] or params["pattern"]
    state = AlertState(params["state_file"]).load()
    processes = find(pattern, uid)
    found = count_alert(params, host, subject, len(processes))
    all_alerts = [found] if found else []
    alerts = state.settle("process", host, all_alerts, {subject: len(processes)}, mute)
    for sent in alerts:
        if sent["level"] == "recovery":
            sent["message"] = f"{subject} recovered: {len(processes)} running"
    changed = state.save(module)
    result = {"count": len(processes), "processes": processes, "alerts": alerts, "all_alerts": all_alerts}
    if module._diff:
        result["diff"] = state.diff()
    return changed, result


def main():
    module = AnsibleModule(
        argument_spec={
            "pattern": {"type": "str", "required": True},
            "name": {"type": "str"},
            "user": {"type": "str"},
            "min": {"type": "int", "default": 1},
            "max": {"type": "int"},
            "level": {"type": "str", "choices": ["warning", "critical"], "default": "critical"},
            **alert_state_spec(),
        },
        supports_check_mode=True,
    )
    try:
        changed, result = run(module)
    except (CheckOptionError, AlertOptionError) as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=changed, **result)


if __name__ == "__main__":
    main()
