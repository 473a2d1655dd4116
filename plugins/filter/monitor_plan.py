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
      - Or a list of host names, with O(hostvars); each host's checks are then its C(monitor_checks) variable.
    type: raw
    required: true
  hostvars:
    description:
      - The play's C(hostvars), when the input is a list of host names. A host without C(monitor_checks) gets the
        default checks.
    type: raw
  only:
    description:
      - Names of the checks to run (the playbook's C(monitor_only)), as a list or a comma-separated string; all
        checks when empty. It chooses by name only; O(tags) choose by name or type.
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
        own. Not set when null or empty (a null passed through a variable arrives empty before ansible-core 2.19).
    type: raw
  state_file:
    description:
      - The O(jvmops.deploy.disk_alert#module:state_file) of every check whose module has it and that does not set its
        own. Not set when null or empty.
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

from ansible.errors import AnsibleError, AnsibleFilterError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.loader import fragment_loader, module_loader
from ansible.utils.plugin_docs import get_docstring

from ansible_collections.jvmops.deploy.plugins.module_utils._alerts import AlertOptionError, parse_duration
from ansible_collections.jvmops.deploy.plugins.module_utils._checks import (
    SERVICE_REQUIRED_IF,
    CheckOptionError,
    validate_disk,
    validate_process,
    validate_service,
    validate_top,
)

COLLECTION = "jvmops.deploy"
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
# The module option the data gives under another key: the alert subject, as the check's own name is taken.
RENAMED = {"subject": "name"}
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
NAME_MAX = 40
# Options whose values never appear in a message (ansible-test's no_log heuristic, roughly).
SECRET = re.compile(r"pass(word|wd|phrase)?($|_)|secret|token|private_key|api_key", re.IGNORECASE)
HIDDEN = "********"
HOSTS_SHOWN = 5

_SPECS = {}


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
    """A user-facing name for a value's type (not the templar's internal class names)."""
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


def _plain(value):
    """value with plain dicts, lists and scalars (the templar's and the YAML loader's types unwrapped)."""
    if _is_mapping(value):
        return {_plain(key): _plain(item) for key, item in value.items()}
    if _is_list(value):
        return [_plain(item) for item in value]
    if isinstance(value, bool) or value is None:
        return value
    for kind in (str, int, float):
        if isinstance(value, kind):
            return kind(value)
    return value


def _names(value, option):
    """A list of names from a list or a comma-separated string; [] for None."""
    if _is_omitted(value):
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if not _is_list(value):
        raise AnsibleFilterError(f"{option}: must be a list of names or a comma-separated string, got {_kind(value)}")
    names = []
    for entry in value:
        if not isinstance(entry, str):
            raise AnsibleFilterError(f"{option}: must be a list of names, got {_kind(entry)} in it")
        if entry.strip():
            names.append(entry.strip())
    return names


# The modules' options, from their documentation

def _argument_spec(options):
    """An argument_spec of documented options (type, elements, choices, default, required, aliases, suboptions)."""
    spec = {}
    for name, doc in options.items():
        entry = {"type": doc.get("type", "str")}
        for key in ("elements", "choices", "default", "required", "aliases"):
            if key in doc:
                entry[key] = doc[key]
        if doc.get("suboptions"):
            entry["options"] = _argument_spec(doc["suboptions"])
        if SECRET.search(name):
            entry["no_log"] = True
        spec[name] = entry
    return spec


def module_spec(module):
    """The argument_spec of the collection's module (short name), read from its DOCUMENTATION with the doc
    fragments merged, once per process."""
    if module not in _SPECS:
        full = f"{COLLECTION}.{module}"
        context = module_loader.find_plugin_with_context(full)
        if not context.resolved:
            raise AnsibleFilterError(f"monitor_plan: cannot find the module {full} to read its options "
                                     "(is the collection loader set up?)")
        try:
            doc = get_docstring(context.plugin_resolved_path, fragment_loader, collection_name=COLLECTION,
                                is_module=True)[0]
        except (AnsibleError, OSError, ValueError) as exc:
            raise AnsibleFilterError(f"monitor_plan: cannot read the options of {full}: {exc}") from None
        if not doc or not doc.get("options"):
            raise AnsibleFilterError(f"monitor_plan: the documentation of {full} has no options")
        _SPECS[module] = _argument_spec(_plain(doc["options"]))
    return _SPECS[module]


# The validator's words, as "option: rule"

_REWORDS = (
    (re.compile(r"^argument '(?P<option>[^']+)' is of type \S+ and we were unable to convert to (?P<type>\w+): (?P<why>.*)$",
                re.S), "{option}: must be of type {type} ({why})"),
    (re.compile(r"^Elements value for option '(?P<option>[^']+)' is of type \S+ and we were unable to convert to "
                r"(?P<type>\w+): (?P<why>.*)$", re.S), "{option}: every element must be of type {type} ({why})"),
    (re.compile(r"^value of (?P<option>\S+) must be one of: (?P<choices>.*), got: (?P<value>.*)$", re.S),
     "{option}: {value!r} must be one of {choices}"),
    (re.compile(r"^missing required arguments: (?P<options>.*) found in (?P<parent>.*)$", re.S),
     "{parent}: each entry needs {options}"),
    (re.compile(r"^missing required arguments: (?P<options>.*)$", re.S), "{options}: missing; it is required"),
    (re.compile(r"^type is (?P<type>\S+) but all of the following are missing: (?P<options>.*)$", re.S),
     "{options}: missing; a {type} check needs it"),
    (re.compile(r"^(?P<options>.*?)\. Supported parameters include: (?P<known>.*?)\.?$", re.S),
     "{options}: not an option here; the options are {known}"),
)


def _reword(message):
    for pattern, words in _REWORDS:
        match = pattern.match(message)
        if match:
            return words.format(**match.groupdict())
    return message


def _strings(value):
    """The scalars in value, as strings."""
    if _is_mapping(value):
        return [text for item in value.values() for text in _strings(item)]
    if _is_list(value):
        return [text for item in value for text in _strings(item)]
    return [] if _is_omitted(value) else [str(value)]


class _Secrets:
    """The secret values of a check, to keep them out of the messages."""

    def __init__(self, options):
        found = {text for key, value in options.items() if SECRET.search(str(key)) for text in _strings(value)}
        self.values = sorted((text for text in found if text), key=len, reverse=True)

    def hide(self, text):
        for value in self.values:
            text = text.replace(value, HIDDEN)
        return text


def _semantic(module, params):
    """The rules the module applies before it measures anything (the ones that need no look at the host)."""
    if module == "disk_alert":
        validate_disk(params)
    elif module == "process_check":
        validate_process(params)
        parse_duration(params["mute_for"], "mute_for")
    elif module == "service_check":
        validate_service(params)
    elif module == "top_processes":
        validate_top(params)


def _options_error(kind, module, options):
    """The first mistake in a check's module options, in words, or None."""
    spec = module_spec(module)
    known = {alias: name for name, entry in spec.items() for alias in [name, *entry.get("aliases", [])]}
    given = {}
    for key, value in options.items():
        shown = "subject" if key == "name" else key
        if key == "name" and "name" not in spec:
            return f"subject: not an option of a {kind} check ({module} has no alert subject)"
        if key not in known or key == "type":
            allowed = sorted(("subject" if name == "name" else name) for name in spec if name != "type")
            return f"{shown}: not an option of a {kind} check; the options are {', '.join(allowed)}"
        if spec[known[key]]["type"] in ("str", "path") and (_is_mapping(value) or _is_list(value)):
            return f"{shown}: must be a string, got {_kind(value)}"
        given[key] = value
    if module == "service_check":
        given["type"] = kind
    result = ArgumentSpecValidator(spec, required_if=SERVICE_REQUIRED_IF if module == "service_check" else None
                                   ).validate(given)
    errors = [error for error in result.errors if type(error).__name__ != "NoLogError"] or list(result.errors)
    if errors:
        return "; ".join(dict.fromkeys(_reword(error.error_message) for error in errors))
    try:
        _semantic(module, result.validated_parameters)
    except (CheckOptionError, AlertOptionError) as exc:
        return str(exc)
    return None


# The plan

class _Errors:
    """The mistakes found, each once with the hosts it was found on."""

    def __init__(self):
        self.found = {}

    def add(self, host, check, text):
        self.found.setdefault((check, text), []).append(str(host))

    def add_global(self, text):
        self.found.setdefault((None, text), None)

    def raise_any(self):
        if not self.found:
            return
        lines = []
        for (check, text), hosts in self.found.items():
            if hosts is None:
                lines.append(text)
                continue
            shown = ", ".join(hosts[:HOSTS_SHOWN])
            if len(hosts) > HOSTS_SHOWN:
                shown += f" and {len(hosts) - HOSTS_SHOWN} more hosts"
            where = f"monitor_checks of {shown}" + (f", check {check!r}" if check is not None else "")
            lines.append(f"{where}: {text}")
        raise AnsibleFilterError("\n".join(lines))


def _check_type(index, check):
    """(name, type, None) of a check, or (name or None, None, the mistake)."""
    if not _is_mapping(check):
        return None, None, (f"entry {index + 1} must be a mapping with a name, a type and the module's options, "
                            f"got {_kind(check)}")
    name = check.get("name")
    if _is_omitted(name) or name == "":
        return None, None, f"entry {index + 1}: name: missing; every check needs a name"
    if not isinstance(name, str) or len(name) > NAME_MAX or not NAME.match(name):
        shown = repr(name) if isinstance(name, str) else _kind(name)
        return None, None, (f"entry {index + 1}: name: {shown} must be lower case letters, digits, _ and -, "
                            f"starting with a letter or digit, at most {NAME_MAX} characters")
    kind = check.get("type")
    if _is_omitted(kind):
        if name not in MODULES:
            return name, None, (f"type: missing; give one of {', '.join(MODULES)} (it may be left out when the "
                                "name is one of them)")
        kind = name
    if not isinstance(kind, str) or kind not in MODULES:
        shown = repr(kind) if isinstance(kind, str) else _kind(kind)
        return name, None, f"type: {shown} must be one of {', '.join(MODULES)}"
    description = check.get("description")
    if not _is_omitted(description) and not isinstance(description, str):
        return name, None, f"description: must be a string, got {_kind(description)}"
    return name, kind, None


def _plan_check(name, kind, check, defaults):
    """The check as the playbook runs it, and the mistake in its options or None."""
    module = MODULES[kind]
    options = {}
    for key, value in check.items():
        key = str(key)
        if key in OWN_KEYS or _is_omitted(value):
            continue
        options[RENAMED.get(key, key)] = _plain(value)
    secrets = _Secrets(options)
    error = _options_error(kind, module, options)
    spec = module_spec(module)
    for key, value in defaults.items():
        if value is not None and key in spec and key not in options:
            options[key] = value
    if module == "service_check":
        options["type"] = kind
    planned = {"name": name, "type": kind, "module": module,
               "description": check.get("description") or DESCRIPTIONS[kind], "options": options}
    return planned, secrets.hide(error) if error else None


def _unset(value):
    """Not given: None, omit, or an empty string (what a none passed through a variable becomes before 2.19)."""
    return _is_omitted(value) or (isinstance(value, str) and not value.strip())


def _defaults(mute_for, state_file):
    """The mute_for and state_file given to every check that has them, checked."""
    defaults = {"mute_for": None, "state_file": None}
    if not _unset(mute_for):
        try:
            parse_duration(_plain(mute_for), "monitor_mute_for")
        except AlertOptionError as exc:
            raise AnsibleFilterError(str(exc)) from None
        defaults["mute_for"] = _plain(mute_for)
    if not _unset(state_file):
        if not isinstance(state_file, str) or not state_file.strip():
            raise AnsibleFilterError(f"monitor_state_file: must be the path of a file, got "
                                     f"{'an empty string' if isinstance(state_file, str) else _kind(state_file)}")
        defaults["state_file"] = str(state_file)
    return defaults


def _checks_of(hosts, hostvars):
    """{host: its monitor_checks or None} from the play's hostvars (read by key: a missing variable is None)."""
    if not _is_list(hosts) or not all(isinstance(host, str) for host in hosts):
        raise AnsibleFilterError(f"monitor_plan: with hostvars, expects a list of host names, got {_kind(hosts)}")
    found = {}
    for host in hosts:
        variables = hostvars[host]
        found[host] = variables["monitor_checks"] if "monitor_checks" in variables else None
    return found


def monitor_plan(checks_by_host, only=None, tags=None, skip_tags=None, play_tags=None, mute_for=None,
                 state_file=None, hostvars=None):
    """{host: [selected check, ...]} of {host: [check, ...]}; see DOCUMENTATION."""
    if hostvars is not None:
        checks_by_host = _checks_of(checks_by_host, hostvars)
    if not _is_mapping(checks_by_host):
        raise AnsibleFilterError(f"monitor_plan: expects a mapping of host name to list of checks, got "
                                 f"{_kind(checks_by_host)}")
    only = _names(only, "monitor_only")
    tags = _names(tags, "--tags") or ["all"]
    skip_tags = _names(skip_tags, "--skip-tags")
    ignored = SPECIAL_TAGS | set(_names(play_tags, "play_tags"))
    defaults = _defaults(mute_for, state_file)
    errors = _Errors()
    planned = {}
    known = set()
    for host, checks in checks_by_host.items():
        planned[host] = []
        if _is_omitted(checks):
            checks = [dict(check) for check in DEFAULT_CHECKS]
        if not _is_list(checks):
            errors.add(host, None, f"must be a list of checks, got {_kind(checks)}")
            continue
        seen = set()
        for index, check in enumerate(checks):
            name, kind, error = _check_type(index, check)
            if name is not None:
                if name in seen:
                    errors.add(host, name, "name: given twice; the names of a host's checks must differ")
                    continue
                seen.add(name)
                known.add(name)
            if error:
                errors.add(host, name, error)
                continue
            known.add(kind)
            entry, error = _plan_check(name, kind, check, defaults)
            if error:
                errors.add(host, name, error)
                continue
            planned[host].append(entry)
    for option, entries in (("monitor_only", only), ("--tags", [tag for tag in tags if tag not in ignored])):
        unknown = [entry for entry in dict.fromkeys(entries) if entry not in known]
        if unknown:
            errors.add_global(
                f"{option}: {', '.join(repr(entry) for entry in unknown)} "
                f"{'is' if len(unknown) == 1 else 'are'} not the name or the type of any check; the names and "
                f"types known are {', '.join(sorted(known)) or 'none'}")
    errors.raise_any()
    if "list" in tags:
        return {host: [] for host in planned}
    return {host: [check for check in checks
                   if (not only or check["name"] in only)
                   and ("all" in tags or check["name"] in tags or check["type"] in tags)
                   and check["name"] not in skip_tags and check["type"] not in skip_tags]
            for host, checks in planned.items()}


class FilterModule:
    """jvmops.deploy's monitoring check plan."""

    def filters(self):
        return {"monitor_plan": monitor_plan}
