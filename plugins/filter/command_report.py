# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: command_report
short_description: Group the results of one command run on many hosts into a readable report
version_added: 0.1.0
author:
  - jvmops.deploy contributors (@jvmops)
description:
  - Takes the registered result of a command task from each host of a play and returns one report
    with each host's output under its name and the hosts that failed, were unreachable or were skipped.
  - Used by the P(jvmops.deploy.run_command#playbook) and P(jvmops.deploy.cluster_task#playbook) playbooks;
    useful after any fan-out command.
options:
  _input:
    description:
      - Mapping of host name to that host's registered result. A host without a result (for example
        one that was never reached) is reported as C(missing).
    type: dict
    required: true
  hosts:
    description:
      - Host names in the order to report them. Defaults to the sorted keys of the input.
    type: list
    elements: str
  users:
    description:
      - Mapping of host name to the user Ansible logs in as on that host (its C(ansible_user)).
      - When given, each host's header names it as C(user@host), and each entry of RV(_value.hosts) has a
        C(user). A host missing from the mapping, or mapped to an empty value, keeps the plain C(host) header.
      - Without it, headers name the host only and entries have no C(user).
    type: dict
    version_added: 0.1.0
"""

EXAMPLES = r"""
- name: Report every host's output
  ansible.builtin.debug:
    msg: "{{ report.lines }}"
  vars:
    report: >-
      {{ dict(ansible_play_hosts_all | zip(ansible_play_hosts_all | map('extract', hostvars, 'uptime_result')))
         | jvmops.deploy.command_report(hosts=ansible_play_hosts_all) }}
  run_once: true

- name: Report every host's output under user@host, as clojure-control does
  ansible.builtin.debug:
    msg: "{{ report.lines }}"
  vars:
    report_hosts: "{{ ansible_play_hosts_all }}"
    # ansible_user as the inventory sets it; hosts without one keep the plain header
    report: >-
      {{ dict(report_hosts | zip(report_hosts | map('extract', hostvars, 'uptime_result')))
         | jvmops.deploy.command_report(hosts=report_hosts, users=dict(report_hosts
             | zip(report_hosts | map('extract', hostvars) | map(attribute='ansible_user', default='')))) }}
  run_once: true
"""

RETURN = r"""
_value:
  description: The report.
  type: dict
  contains:
    hosts:
      description:
        - One entry per host, in report order, with C(host), C(status), C(rc), C(stdout_lines),
          C(stderr_lines) and C(msg); with O(users) also C(user) (the login user, or null when not known).
      type: list
      elements: dict
    ok:
      description: Hosts whose command exited 0.
      type: list
      elements: str
    failed:
      description: Hosts whose command failed (non-zero exit, timeout, module error).
      type: list
      elements: str
    unreachable:
      description: Hosts that could not be reached.
      type: list
      elements: str
    skipped:
      description: Hosts where the command did not run (check mode, a condition).
      type: list
      elements: str
    missing:
      description: Hosts with no result at all.
      type: list
      elements: str
    lines:
      description:
        - The report as lines of text, each host's output indented under a header naming the host
          (C(user@host) with O(users)) and its status, then a summary line and the lists of failed and
          unreachable hosts (host names only).
      type: list
      elements: str
      sample:
        - "== root@app1: ok, rc=0 =="
        - "  app1"
        - "== root@app2: failed, rc=1 =="
        - "  stderr: no such file"
        - "== 2 hosts: 1 ok, 1 failed =="
        - "failed: app2"
"""

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

STATUSES = ("ok", "failed", "unreachable", "skipped", "missing")


def _kind(value):
    """A user-facing name for a value's type (not the templar's internal class names)."""
    if isinstance(value, (str, bytes)):
        return "a string"
    if value is None:
        return "null"
    if hasattr(value, "__iter__"):
        return "a list"
    name = type(value).__name__
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def _is_mapping(value):
    return hasattr(value, "keys") and hasattr(value, "get")


def _lines(result, key):
    lines = result.get(f"{key}_lines")
    if lines is None:
        text = result.get(key)
        lines = to_text(text).splitlines() if text else []
    return [to_text(line) for line in lines]


def _status(result):
    if not _is_mapping(result):
        return "missing"
    if result.get("unreachable"):
        return "unreachable"
    if result.get("skipped"):
        return "skipped"
    if result.get("failed"):
        return "failed"
    return "ok"


def host_entry(host, result):
    """Normalise one host's registered result."""
    status = _status(result)
    result = result if _is_mapping(result) else {}
    return {
        "host": host,
        "status": status,
        "rc": result.get("rc"),
        "stdout_lines": _lines(result, "stdout"),
        "stderr_lines": _lines(result, "stderr"),
        "msg": to_text(result.get("msg", "")) if status != "ok" else "",
    }


def _header(entry):
    detail = entry["status"]
    if entry["rc"] is not None and entry["status"] in ("ok", "failed"):
        detail += f", rc={entry['rc']}"
    name = f"{entry['user']}@{entry['host']}" if entry.get("user") else entry["host"]
    return f"== {name}: {detail} =="


def render_lines(entries):
    lines = []
    for entry in entries:
        lines.append(_header(entry))
        lines.extend(f"  {line}" for line in entry["stdout_lines"])
        lines.extend(f"  stderr: {line}" for line in entry["stderr_lines"])
        if entry["msg"] and not entry["stderr_lines"]:
            lines.extend(f"  {line}" for line in entry["msg"].splitlines())
    counts = {status: [e["host"] for e in entries if e["status"] == status] for status in STATUSES}
    summary = ", ".join(f"{len(counts[s])} {s}" for s in STATUSES if counts[s] or s == "ok")
    lines.append(f"== {len(entries)} hosts: {summary} ==")
    for status in ("failed", "unreachable", "missing"):
        if counts[status]:
            lines.append(f"{status}: {', '.join(counts[status])}")
    return lines


def _users(users):
    """Check the users mapping: host name to login user (a string; empty or null for not known)."""
    if not _is_mapping(users):
        raise AnsibleFilterError(f"command_report: users must be a mapping of host name to user, got {_kind(users)}")
    checked = {}
    for host in users:
        user = users.get(host)
        if user is not None and not isinstance(user, (str, bytes)):
            raise AnsibleFilterError(
                f"command_report: users must map host names to user names; {to_text(host)} has {_kind(user)}"
            )
        checked[to_text(host)] = to_text(user) if user else None
    return checked


def command_report(results, hosts=None, users=None):
    if not _is_mapping(results):
        raise AnsibleFilterError(
            f"command_report: the input must be a mapping of host name to registered result, got {_kind(results)}"
        )
    if hosts is None:
        hosts = sorted(results)
    elif isinstance(hosts, (str, bytes)) or not hasattr(hosts, "__iter__"):
        raise AnsibleFilterError(f"command_report: hosts must be a list of host names, got {_kind(hosts)}")
    entries = [host_entry(to_text(host), results.get(host)) for host in hosts]
    if users is not None:
        users = _users(users)
        for entry in entries:
            entry["user"] = users.get(entry["host"])
    report = {"hosts": entries, "lines": render_lines(entries)}
    for status in STATUSES:
        report[status] = [e["host"] for e in entries if e["status"] == status]
    return report


class FilterModule:
    """jvmops.deploy filters."""

    def filters(self):
        return {"command_report": command_report}
