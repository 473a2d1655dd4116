# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: merge_logs
short_description: Merge the log lines of many hosts by time, each line labelled with its host
version_added: 0.1.0
author:
  - jvmops.deploy contributors (@jvmops)
description:
  - Takes the last lines of a log from each host (as the C(logs) entry point of the M(jvmops.deploy.jvm_app) role
    reads them) and returns one list of lines in time order, each prefixed with its host's name.
  - A line starts a record when it begins with a timestamp; a line without one (a stack trace, a wrapped message)
    belongs to the record before it and stays with it. Lines before a host's first timestamp form a record with no
    time, which sorts first.
  - Timestamps understood at the start of a line (optionally inside C([ ])), the first one found counting - ISO 8601
    with C(T) or a space between date and time, seconds optional, a fraction after C(.) or C(,), and C(Z), an offset
    C(+01:00) / C(+0100) or no zone (read as UTC), which covers the sample app (C(2026-11-22T07:00:00Z INFO ...))
    and logback's default C(%d) (C(2026-11-22 07:00:00,123)); and svlogd's C(-tt) prefix
    (C(2026-11-22_07:00:00.12345)) that runit's logger puts before every line, after which a line still needs the
    app's own timestamp to start a record.
  - The sort is stable - records with the same time keep the order of the hosts in the input, then their order in
    the log.
  - Bad options (a search that is not a regular expression, a negative line count, an unreadable C(since)) fail
    with a message naming the option and the rule.
options:
  _input:
    description:
      - Mapping of host name to that host's log, a list of lines or one string. A host whose value is null (it was
        not reached) has no lines.
    type: dict
    required: true
  lines:
    description:
      - Keep the last this many records of each host (after O(search) and O(since)), like C(tail -n) on each host.
      - 0 or null keeps them all.
    type: int
  search:
    description:
      - A Python regular expression; only records with a line that matches it (C(re.search)) are kept.
    type: str
  since:
    description:
      - Only records at or after this time - an ISO 8601 time (no zone means UTC), or an age such as V(90s), V(15m),
        V(2h) or V(1d) back from O(now). Records with no time are dropped.
    type: str
  now:
    description:
      - The time O(since) ages count back from, ISO 8601; the current time when not given.
    type: str
  label:
    description:
      - Put the host's name before each line, padded to the longest name, with C( | ) between.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Merge the hosts' logs
  ansible.builtin.debug:
    msg: "{{ merged.lines }}"
  vars:
    hosts: "{{ groups['app'] }}"
    merged: >-
      {{ dict(hosts | zip(hosts | map('extract', hostvars, 'jvm_app_log_lines')))
         | jvmops.deploy.merge_logs(lines=50, search='ERROR|WARN', since='1h') }}
"""

RETURN = r"""
_value:
  description: The merged log.
  type: dict
  contains:
    lines:
      description: Every kept line in time order, labelled with its host (unless O(label=false)).
      type: list
      elements: str
      sample:
        - "app1 | 2026-11-22T07:00:00Z INFO hello-jvm 1.0.0 listening on 0.0.0.0:8000"
        - "app2 | 2026-11-22T07:00:01Z ERROR request failed"
        - "app2 |   at jvmops.hello.HelloApp.handle(HelloApp.java:42)"
    records:
      description:
        - The kept records in the same order, each with C(host), C(time) (ISO 8601 in UTC, or null) and C(lines)
          (the record's lines, unlabelled).
      type: list
      elements: dict
    hosts:
      description: Number of kept records per host.
      type: dict
"""

import re
from datetime import datetime, timedelta, timezone

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

# svlogd -tt: "2026-11-22_07:00:00.12345 " before every line (runit's logger).
_SVLOGD = re.compile(r"(?P<date>\d{4}-\d\d-\d\d)_(?P<time>\d\d:\d\d:\d\d)(?:\.(?P<frac>\d+))?[ \t]")
_ISO = re.compile(
    r"\[?(?P<date>\d{4}-\d\d-\d\d)[T ](?P<time>\d\d:\d\d(?::\d\d)?)(?:[.,](?P<frac>\d+))?"
    r"[ \t]?(?P<zone>Z|[+-]\d\d:?\d\d)?(?=[\]\s]|$)"
)
_AGE = re.compile(r"(?P<count>\d+)(?P<unit>[smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_MIN = datetime.min.replace(tzinfo=timezone.utc)


def _time(match):
    """An aware datetime from a _SVLOGD or _ISO match; None when the fields are out of range."""
    groups = match.groupdict()
    clock = groups["time"] if groups["time"].count(":") == 2 else groups["time"] + ":00"
    frac = (groups.get("frac") or "")[:6].ljust(6, "0")
    zone = groups.get("zone") or "Z"
    if zone != "Z" and ":" not in zone:
        zone = f"{zone[:3]}:{zone[3:]}"
    try:
        stamp = datetime.fromisoformat(f"{groups['date']}T{clock}.{frac}{'+00:00' if zone == 'Z' else zone}")
    except ValueError:
        return None
    return stamp.astimezone(timezone.utc)


def line_time(line):
    """(starts_record, time) for one log line: a line starts a record when it begins with a timestamp (after
    svlogd's prefix, if any); time is the first timestamp on it (svlogd's when there is one)."""
    match = _SVLOGD.match(line)
    if match:
        own = _ISO.match(line, match.end())
        own_time = _time(own) if own else None
        return own_time is not None, _time(match)
    match = _ISO.match(line)
    stamp = _time(match) if match else None
    return stamp is not None, stamp


def parse_records(host, lines):
    """The records of one host's lines: dicts with host, time and lines, in log order."""
    records = []
    for line in lines:
        starts, stamp = line_time(line)
        if starts or not records:
            records.append({"host": host, "time": stamp if starts else None, "lines": [line]})
        else:
            records[-1]["lines"].append(line)
    return records


def _kind(value):
    if isinstance(value, (str, bytes)):
        return "a string"
    if value is None:
        return "null"
    if hasattr(value, "keys"):
        return "a mapping"
    if hasattr(value, "__iter__"):
        return "a list"
    return f"a {type(value).__name__}"


def _host_lines(host, value):
    if value is None:
        return []
    if isinstance(value, (str, bytes)):
        return to_text(value).splitlines()
    if hasattr(value, "__iter__") and not hasattr(value, "keys"):
        return [to_text(line).rstrip("\r\n") for line in value]
    raise AnsibleFilterError(f"merge_logs: each host's log must be a list of lines or a string; {host} has {_kind(value)}")


def parse_time(value, option):
    """An aware datetime from ISO 8601 text (no zone: UTC)."""
    text = to_text(value).strip()
    match = _ISO.fullmatch(text) or _ISO.fullmatch(text.replace("_", "T", 1))
    stamp = _time(match) if match else None
    if stamp is None:
        raise AnsibleFilterError(
            f"merge_logs: {option} must be an ISO 8601 time such as 2026-11-22T07:00:00Z"
            f"{' or an age such as 15m, 2h or 1d' if option == 'since' else ''}, got {text!r}")
    return stamp


def _since(since, now):
    text = to_text(since).strip()
    match = _AGE.fullmatch(text)
    if match:
        return now - timedelta(**{_UNITS[match["unit"]]: int(match["count"])})
    return parse_time(text, "since")


def _options(lines, search, since, now):
    """Check the options: (lines, compiled search or None, since datetime or None)."""
    if lines is not None and (isinstance(lines, bool) or not str(lines).strip().isdigit()):
        raise AnsibleFilterError(f"merge_logs: lines must be a whole number, 0 or more (0: all), got {lines!r}")
    count = int(str(lines).strip()) if lines is not None else 0
    pattern = None
    if search not in (None, ""):
        if not isinstance(search, (str, bytes)):
            raise AnsibleFilterError(f"merge_logs: search must be a regular expression (a string), got {_kind(search)}")
        try:
            pattern = re.compile(to_text(search))
        except re.error as exc:
            raise AnsibleFilterError(
                f"merge_logs: search must be a Python regular expression; {to_text(search)!r} is not: {exc}") from exc
    moment = parse_time(now, "now") if now not in (None, "") else datetime.now(timezone.utc)
    start = _since(since, moment) if since not in (None, "") else None
    return count, pattern, start


def merge_logs(logs, lines=None, search=None, since=None, now=None, label=True):
    if not hasattr(logs, "keys"):
        raise AnsibleFilterError(f"merge_logs: the input must be a mapping of host name to log lines, got {_kind(logs)}")
    count, pattern, start = _options(lines, search, since, now)
    kept = []
    per_host = {}
    for host in logs:
        records = parse_records(to_text(host), _host_lines(to_text(host), logs[host]))
        if pattern is not None:
            records = [r for r in records if any(pattern.search(line) for line in r["lines"])]
        if start is not None:
            records = [r for r in records if r["time"] is not None and r["time"] >= start]
        if count:
            records = records[-count:]
        per_host[to_text(host)] = len(records)
        kept.extend(records)
    # Stable: equal times keep the hosts' input order, then the log's order.
    kept.sort(key=lambda r: r["time"] or _MIN)
    width = max((len(h) for h in per_host), default=0)
    out = []
    for record in kept:
        prefix = f"{record['host'].ljust(width)} | " if label else ""
        out.extend(prefix + line for line in record["lines"])
    return {
        "lines": out,
        "records": [{"host": r["host"],
                     "time": r["time"].isoformat().replace("+00:00", "Z") if r["time"] else None,
                     "lines": r["lines"]} for r in kept],
        "hosts": per_host,
    }


class FilterModule:
    """jvmops.deploy filters."""

    def filters(self):
        return {"merge_logs": merge_logs}
