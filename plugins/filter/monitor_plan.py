# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: monitor_plan
short_description: Check and select the monitoring checks of each host, and say which module runs each one
version_added: 0.1.0
author:
  - jvmops.deploy contributors (@jvmops)
description:
  - Takes the monitoring checks of each host, given as data (the C(monitor_checks) variable of the
    P(jvmops.deploy.monitor#playbook) playbook), checks them all on the controller, and returns for each host the
    checks selected by O(only), O(tags) and O(skip_tags), each with the module that runs it and the options to give
    that module.
  - A check is a dict with its own keys C(name) (required, unique on the host, lower case letters, digits, C(_) and
    C(-), at most 40 characters), C(type) (V(disk), V(process), V(tcp), V(http), V(mysql) or V(top); the name when
    not given and the name is one of these), C(description) (optional), and the options of its module, flat - the
    module's O(jvmops.deploy.process_check#module:name) option is given as C(subject).
  - Bad checks (an unknown type or option, an option of the wrong type, a threshold of C(150%), an unknown unit, a
    negative C(mute_for), a pattern that is not a regular expression ...) fail the task with a message naming the
    host, the check, the option and the rule, before anything is measured. Passwords are never shown.
options:
  _input:
    description:
      - Mapping of host name to that host's list of checks. A host whose value is null (or C(omit)) gets the default
        checks, one check named C(disk) of type V(disk).
    type: dict
    required: true
  only:
    description:
      - Names of the checks to run, as a list or a comma-separated string; all checks when empty.
      - Each must be the name or the type of a check of some host.
    type: raw
  tags:
    description:
      - The run's tags (C(ansible_run_tags)). A check runs when they include V(all), its name or its type.
        V(always), V(never), V(tagged), V(untagged) and the tags in O(play_tags) are not matched against the checks;
        V(list) selects no check at all (a listing run), the checks are still validated.
      - Each other tag must be the name or the type of a check of some host.
    type: list
    elements: str
    default: [all]
  skip_tags:
    description:
      - The run's skipped tags (C(ansible_skip_tags)). A check whose name or type is among them does not run.
    type: list
    elements: str
    default: []
  play_tags:
    description:
      - Tags of the playbook's own tasks, which are not checks; they are not matched against the checks.
    type: list
    elements: str
    default: []
  mute_for:
    description:
      - The O(jvmops.deploy.disk_alert#module:mute_for) of every check whose module has it and that does not set its
        own. Not set when null.
    type: raw
  state_file:
    description:
      - The O(jvmops.deploy.disk_alert#module:state_file) of every check whose module has it and that does not set its
        own. Not set when null.
    type: str
"""

EXAMPLES = r"""
- name: Check and select every host's checks, once, on the controller
  ansible.builtin.set_fact:
    monitor_plan: >-
      {{ dict(ansible_play_hosts_all | zip(ansible_play_hosts_all
                                           | map('extract', hostvars, 'monitor_checks') | map('default', none)))
         | jvmops.deploy.monitor_plan(only=monitor_only | default([]), tags=ansible_run_tags,
                                      skip_tags=ansible_skip_tags, mute_for=monitor_mute_for | default(none)) }}
  run_once: true
  delegate_to: localhost

- name: Disk use
  jvmops.deploy.disk_alert:
    warning: "{{ item.options.warning | default(omit) }}"
    critical: "{{ item.options.critical | default(omit) }}"
    mute_for: "{{ item.options.mute_for | default(omit) }}"
  loop: "{{ monitor_plan[inventory_hostname] | selectattr('module', 'eq', 'disk_alert') }}"
  loop_control:
    label: "{{ item.name }}"
"""

RETURN = r"""
_value:
  description:
    - Mapping of host name to the list of its selected checks, in the order given; an empty list for a host none of
      whose checks is selected, and for every host on a listing run (tag V(list)).
  type: dict
  contains:
    name:
      description: The check's name.
      type: str
    type:
      description: The check's type, V(disk), V(process), V(tcp), V(http), V(mysql) or V(top).
      type: str
    module:
      description: The short name of the module that runs the check, C(disk_alert), C(process_check),
        C(service_check) or C(top_processes).
      type: str
    description:
      description: The check's description, or the one of its type when it has none.
      type: str
    options:
      description:
        - The module's options as the check gives them (C(subject) as C(name)), not filled with their defaults, with
          O(mute_for) and O(state_file) where the check does not set them, and C(type) for V(tcp), V(http) and
          V(mysql). Secrets such as C(login_password) are there too.
      type: dict
"""

import re

from ansible.errors import AnsibleFilterError

MODULES = {
    "disk": "disk_alert",
    "process": "process_check",
    "tcp": "service_check",
    "http": "service_check",
    "mysql": "service_check",
    "top": "top_processes",
}
DESCRIPTIONS = {
    "disk": "Use% and inode use of the mounted file systems",
    "process": "Number of processes running",
    "tcp": "TCP port open",
    "http": "HTTP answer and body",
    "mysql": "MySQL/MariaDB login and SELECT 1",
    "top": "Processes using the most CPU or memory",
}
DEFAULT_CHECKS = ({"name": "disk", "type": "disk"},)
SPECIAL_TAGS = frozenset(("all", "always", "never", "tagged", "untagged", "list"))
OWN_KEYS = ("name", "type", "description")
# The modules whose checks keep an alert state (the jvmops.deploy.alerts doc fragment's options).
ALERTING = frozenset(("disk_alert", "process_check", "service_check"))
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
NAME_MAX = 40


def _is_omitted(value):
    """None, or Ansible's omit placeholder (an object since ansible-core 2.19, a string before)."""
    if value is None or type(value).__name__ == "_OmitType":
        return True
    return isinstance(value, str) and value.startswith("__omit_place_holder__")


def _is_mapping(value):
    return hasattr(value, "keys") and hasattr(value, "get") and hasattr(value, "items")


def _is_list(value):
    return isinstance(value, (list, tuple))


def _kind(value):
    """A user-facing name for a value's type."""
    if isinstance(value, (str, bytes)):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if _is_mapping(value):
        return "a mapping"
    if hasattr(value, "__iter__"):
        return "a list"
    name = type(value).__name__
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def _names(value, option):
    """A list of names from a list or a comma-separated string; [] for None."""
    if _is_omitted(value):
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if not _is_list(value):
        raise AnsibleFilterError(f"monitor_plan: {option} must be a list of names or a comma-separated string, "
                                 f"got {_kind(value)}")
    names = []
    for entry in value:
        if not isinstance(entry, str):
            raise AnsibleFilterError(f"monitor_plan: {option} must be a list of names, got {_kind(entry)} in it")
        if entry.strip():
            names.append(entry.strip())
    return names


class _Host:
    """The place of a mistake, for the messages."""

    def __init__(self, host):
        self.host = host

    def fail(self, check, text):
        where = f"monitor_checks of {self.host}"
        if check is not None:
            where += f", check {check!r}"
        raise AnsibleFilterError(f"{where}: {text}")


def _check_type(host, index, check):
    """The check's name and type, checked."""
    if not _is_mapping(check):
        host.fail(None, f"entry {index + 1} must be a mapping with a name, a type and the module's options, "
                        f"got {_kind(check)}")
    name = check.get("name")
    if not isinstance(name, str) or not name:
        host.fail(None, f"entry {index + 1}: name: missing; every check needs a name")
    if len(name) > NAME_MAX or not NAME.match(name):
        host.fail(None, f"entry {index + 1}: name: {name!r} must be lower case letters, digits, _ and -, starting "
                        f"with a letter or digit, at most {NAME_MAX} characters")
    kind = check.get("type")
    if kind is None:
        if name not in MODULES:
            host.fail(name, f"type: missing; give one of {', '.join(MODULES)} (it may be left out only when the "
                            "name is one of them)")
        kind = name
    if not isinstance(kind, str) or kind not in MODULES:
        host.fail(name, f"type: {kind!r} must be one of {', '.join(MODULES)}")
    description = check.get("description")
    if description is not None and not isinstance(description, str):
        host.fail(name, f"description: must be a string, got {_kind(description)}")
    return name, kind


def _plan_check(host, name, kind, check, defaults):
    module = MODULES[kind]
    options = {}
    for key, value in check.items():
        if key in OWN_KEYS:
            continue
        options["name" if key == "subject" else key] = value
    if module in ALERTING:
        for key, value in defaults.items():
            if value is not None and key not in options:
                options[key] = value
    if module == "service_check":
        options["type"] = kind
    return {"name": name, "type": kind, "module": module,
            "description": check.get("description") or DESCRIPTIONS[kind], "options": options}


def monitor_plan(checks_by_host, only=None, tags=None, skip_tags=None, play_tags=None, mute_for=None,
                 state_file=None):
    """{host: [selected check, ...]} of {host: [check, ...]}; see DOCUMENTATION."""
    if not _is_mapping(checks_by_host):
        raise AnsibleFilterError(f"monitor_plan: expects a mapping of host name to list of checks, got "
                                 f"{_kind(checks_by_host)}")
    only = _names(only, "monitor_only")
    tags = _names(tags, "tags") or ["all"]
    skip_tags = _names(skip_tags, "skip_tags")
    ignored = SPECIAL_TAGS | set(_names(play_tags, "play_tags"))
    defaults = {"mute_for": None if _is_omitted(mute_for) else mute_for,
                "state_file": None if _is_omitted(state_file) else state_file}
    planned = {}
    known = set()
    for host_name, checks in checks_by_host.items():
        host = _Host(host_name)
        if _is_omitted(checks):
            checks = [dict(check) for check in DEFAULT_CHECKS]
        if not _is_list(checks):
            host.fail(None, f"must be a list of checks, got {_kind(checks)}")
        seen = set()
        planned[host_name] = []
        for index, check in enumerate(checks):
            name, kind = _check_type(host, index, check)
            if name in seen:
                host.fail(name, "name: given twice; the names of a host's checks must differ")
            seen.add(name)
            known.update((name, kind))
            planned[host_name].append(_plan_check(host, name, kind, check, defaults))
    for option, entries in (("monitor_only", only), ("--tags", [tag for tag in tags if tag not in ignored])):
        unknown = [entry for entry in entries if entry not in known]
        if unknown:
            raise AnsibleFilterError(
                f"{option}: {', '.join(repr(entry) for entry in unknown)} is not the name or the type of any check; "
                f"known: {', '.join(sorted(known)) or 'none'}")
    listing = "list" in tags
    selected = {}
    for host_name, checks in planned.items():
        selected[host_name] = [] if listing else [
            check for check in checks
            if (not only or check["name"] in only)
            and ("all" in tags or check["name"] in tags or check["type"] in tags)
            and check["name"] not in skip_tags and check["type"] not in skip_tags
        ]
    return selected


class FilterModule:
    """jvmops.deploy's monitoring check plan."""

    def filters(self):
        return {"monitor_plan": monitor_plan}
