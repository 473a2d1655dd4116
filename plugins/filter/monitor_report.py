# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: monitor_report
short_description: Turn the results of the fleet checks into outcomes, a summary table and the alerts to send
version_added: 0.1.0
author:
  - jvmops.deploy contributors (@jvmops)
description:
  - The reporting half of the P(jvmops.deploy.monitor#playbook) playbook and the R(jvmops.deploy.monitor,monitor)
    role.
  - With O(what=outcomes), the input is the list of registered loop results of the check tasks of one host
    (M(jvmops.deploy.disk_alert), M(jvmops.deploy.process_check), M(jvmops.deploy.service_check),
    M(jvmops.deploy.top_processes)), each loop item a check of the plan made by
    P(jvmops.deploy.monitor_plan#filter); the result is one outcome per check that ran.
  - With O(what=summary), the input maps each monitored host to its entry - C(outcomes) (as above),
    C(unreachable) (the message when the host did not answer) and C(error) (the message when its checks could not
    run); the result has the summary table (C(lines)), the alerts to send (C(alerts)) and counts.
  - With O(what=listing), the input is a plan (host to checks) and the result is the listing of the checks per host
    with their descriptions, as lines.
options:
  _input:
    description: The registered results (V(outcomes)), the hosts' entries (V(summary)) or the plan (V(listing)).
    type: raw
    required: true
  what:
    description: What to make of the input.
    type: str
    choices: [outcomes, summary, listing]
    required: true
  host:
    description:
      - The host the results are from (V(outcomes) only); the C(host) of its outcomes.
    type: str
  hostvars:
    description:
      - With V(summary), the play's C(hostvars), when the input is a list of host names; each host's entry is then its
        C(__monitor_entry) variable, which the playbook sets. A host without it left the play (its entry is an
        C(error)).
    type: raw
"""

EXAMPLES = r"""
- name: This host's outcomes
  ansible.builtin.set_fact:
    monitor_outcomes: "{{ [disk_results, process_results] | jvmops.deploy.monitor_report('outcomes', host=inventory_hostname) }}"

- name: The summary of all hosts
  ansible.builtin.debug:
    msg: "{{ (entries | jvmops.deploy.monitor_report('summary')).lines }}"
  vars:
    entries:
      app1: {outcomes: "{{ hostvars['app1'].monitor_outcomes }}"}
      lb1: {unreachable: "Failed to connect to the host via ssh"}
"""

RETURN = r"""
_value:
  description:
    - V(outcomes) - a list; each outcome has C(host), C(name), C(type), C(status) (C(ok), C(warning), C(critical),
      C(recovery), C(muted), C(error) or C(skipped)), C(detail) (a short text), C(alerts) (to send), C(all_alerts)
      (found, before the mute window) and, for V(top), C(report).
    - V(summary) - a dict with C(lines) (the table), C(alerts) (every host's alerts to send, plus one C(critical) alert
      of check C(ssh) per unreachable host, one of check C(monitor) per host whose checks could not run and one per
      check that could not run),
      C(errors) (host, or host/check, to message), C(unreachable) (host names), C(counts) (per status) and
      C(reports) (the lines of the V(top) reports, under a header per host).
    - V(listing) - a list of lines.
  type: raw
"""

from ansible.errors import AnsibleFilterError

STATUS_ORDER = ("critical", "warning", "recovery", "muted", "error", "unreachable", "ok", "skipped")
LEVEL_RANK = {"critical": 3, "warning": 2, "recovery": 1}
DETAIL_WIDTH = 100


def _mapping(value):
    return hasattr(value, "keys") and hasattr(value, "get")


def _alert_text(found):
    return found.get("message") or f"{found.get('subject')}: {found.get('value')}"


def _ok_detail(check_type, result):
    """What a passing check saw, in a few words."""
    if check_type == "disk":
        measured = result.get("measurements") or []
        if not measured:
            return "no file system checked"
        top = max(measured, key=lambda m: m.get("use_percent") or 0)
        return f"{len(measured)} file system{'s' if len(measured) != 1 else ''}, highest Use% {top.get('use_percent')}% " \
               f"({top.get('mount')})"
    if check_type == "process":
        return f"{result.get('count')} running"
    if check_type == "top":
        report = str(result.get("report") or "")
        return report.splitlines()[0] if report else ""
    return str(result.get("detail") or "ok")


def _outcome(host, check, result):
    check_type = check.get("type")
    base = {"host": host, "name": check.get("name"), "type": check_type, "alerts": [], "all_alerts": []}
    if result.get("skipped"):
        return {**base, "status": "skipped", "detail": str(result.get("skip_reason") or "skipped")}
    if result.get("failed"):
        return {**base, "status": "error", "detail": str(result.get("msg") or "the check failed")}
    alerts = list(result.get("alerts") or [])
    found = list(result.get("all_alerts") or [])
    outcome = {**base, "alerts": alerts, "all_alerts": found}
    if check_type == "top":
        outcome["report"] = str(result.get("report") or "")
    if alerts:
        worst = max(alerts, key=lambda a: LEVEL_RANK.get(a.get("level"), 0))
        outcome.update(status=worst.get("level"), detail="; ".join(_alert_text(a) for a in alerts))
    elif found:
        worst = max(found, key=lambda a: LEVEL_RANK.get(a.get("level"), 0))
        outcome.update(status="muted", detail=f"{worst.get('level')}, muted: " + "; ".join(_alert_text(a) for a in found))
    else:
        outcome.update(status="ok", detail=_ok_detail(check_type, result))
    return outcome


def outcomes(registered, host=None):
    if not isinstance(registered, (list, tuple)):
        raise AnsibleFilterError("monitor_report('outcomes'): the input must be a list of registered loop results")
    found = []
    for task_result in registered:
        if not _mapping(task_result):
            continue
        for result in task_result.get("results") or []:
            if not _mapping(result) or not _mapping(result.get("item")):
                continue
            found.append(_outcome(host, result["item"], result))
    return found


def _cell(text, width):
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[:width - 3] + "..."


def _host_alert(host, check, value, threshold, message):
    return {"host": host, "check": check, "subject": host, "level": "critical", "value": value,
            "threshold": threshold, "message": message}


def entries_of(hosts, hostvars):
    """{host: its __monitor_entry} from the play's hostvars (read by key, so a missing variable is no error)."""
    if not isinstance(hosts, (list, tuple)):
        raise AnsibleFilterError("monitor_report('summary'): with hostvars, the input must be a list of host names")
    found = {}
    for host in hosts:
        variables = hostvars[host]
        found[host] = variables["__monitor_entry"] if "__monitor_entry" in variables else {"error": "the host left the play"}
    return found


def summary(entries):
    if not _mapping(entries):
        raise AnsibleFilterError("monitor_report('summary'): the input must map each host to its entry")
    rows, alerts, errors, unreachable, reports = [], [], {}, [], []
    counts = {status: 0 for status in STATUS_ORDER}
    for host in entries:
        entry = entries[host] if _mapping(entries[host]) else {}
        if entry.get("unreachable"):
            why = " ".join(str(entry["unreachable"]).split())
            unreachable.append(host)
            counts["unreachable"] += 1
            alerts.append(_host_alert(host, "ssh", why, "answers", f"{host} does not answer SSH: {why}"))
            rows.append((host, "-", "unreachable", why))
            continue
        if entry.get("error"):
            why = " ".join(str(entry["error"]).split())
            errors[host] = why
            counts["error"] += 1
            alerts.append(_host_alert(host, "monitor", why, "checks run", f"the checks could not run on {host}: {why}"))
            rows.append((host, "-", "error", why))
            continue
        for outcome in entry.get("outcomes") or []:
            status = outcome.get("status", "ok")
            if outcome.get("report"):
                reports.append(f"== {host}: {outcome.get('name')} ==")
                reports.extend("  " + line for line in str(outcome["report"]).splitlines())
            counts[status] = counts.get(status, 0) + 1
            alerts.extend(outcome.get("alerts") or [])
            if status == "error":
                errors[f"{host}/{outcome.get('name')}"] = outcome.get("detail")
                alerts.append({"host": host, "check": outcome.get("type"), "subject": outcome.get("name"),
                               "level": "critical", "value": outcome.get("detail"), "threshold": "runs",
                               "message": f"the check {outcome.get('name')} could not run on {host}: "
                                          f"{' '.join(str(outcome.get('detail')).split())}"})
            rows.append((host, outcome.get("name"), status, outcome.get("detail") or ""))
    widths = [max([len("HOST")] + [len(str(r[0])) for r in rows]), max([len("CHECK")] + [len(str(r[1])) for r in rows]),
              max([len("STATUS")] + [len(str(r[2])) for r in rows])]
    lines = [f"{'HOST':<{widths[0]}}  {'CHECK':<{widths[1]}}  {'STATUS':<{widths[2]}}  DETAIL"]
    for host, name, status, detail in rows:
        lines.append(f"{host:<{widths[0]}}  {name:<{widths[1]}}  {status.upper():<{widths[2]}}  "
                     f"{_cell(detail, DETAIL_WIDTH)}".rstrip())
    shown = ", ".join(f"{counts[s]} {s}" for s in STATUS_ORDER if counts.get(s))
    hosts = len(entries)
    lines.append(f"== {hosts} host{'s' if hosts != 1 else ''}, {len(rows)} result{'s' if len(rows) != 1 else ''}: "
                 f"{shown or 'nothing checked'}; {len(alerts)} alert{'s' if len(alerts) != 1 else ''} to send ==")
    return {"lines": lines, "alerts": alerts, "errors": errors, "unreachable": unreachable, "counts": counts,
            "reports": reports}


def listing(plan):
    if not _mapping(plan):
        raise AnsibleFilterError("monitor_report('listing'): the input must map each host to its checks")
    lines = []
    for host in plan:
        checks = plan[host] or []
        lines.append(f"== {host}: {len(checks)} check{'s' if len(checks) != 1 else ''} ==")
        width = max([len(str(c.get("name"))) for c in checks] + [1])
        kinds = max([len(str(c.get("type"))) + 2 for c in checks] + [1])
        for check in checks:
            kind = f"[{check.get('type')}]"
            lines.append(f"  {check.get('name'):<{width}}  {kind:<{kinds}}  {check.get('description') or ''}".rstrip())
    return lines


def monitor_report(value, what, host=None, hostvars=None):
    if what == "outcomes":
        return outcomes(value, host)
    if what == "summary":
        return summary(entries_of(value, hostvars) if hostvars is not None else value)
    if what == "listing":
        return listing(value)
    raise AnsibleFilterError(f"monitor_report: what must be one of outcomes, summary, listing, not {what!r}")


class FilterModule:
    def filters(self):
        return {"monitor_report": monitor_report}
