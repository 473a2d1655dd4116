# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: converged
short_description: Tell in one module call whether a host already has everything a role would put there
version_added: 0.1.0
author:
  - jvmops.deploy contributors (@jvmops)
description:
  - Looks, without changing anything, at the files, packages, services and live state that a role manages, and
    returns RV(converged) true only when every one of them is already as asked. A role runs it first and runs its
    own tasks only when something differs, so that a no-change run costs one module call per host instead of one
    per task.
  - O(files) takes the entries of M(jvmops.deploy.config_files), with the same action plugin on the controller
    (templates rendered as M(ansible.builtin.template) renders them), and compares them as
    M(jvmops.deploy.config_files) does in check mode (content by SHA-1, owner, group and mode; directories;
    absent paths). O(files[].validate) is accepted and not run, so that a role can hand both modules one list
    (what is on the host was checked when it was written).
  - O(sysctl) and O(alternatives) are compared as M(jvmops.deploy.sysctl_profile) and M(jvmops.deploy.jdk_alternatives)
    compare them in check mode.
  - O(groups) and O(users) must exist as given, O(links) must point where given.
  - O(packages) must be installed (C(dpkg-query)); O(services) must be enabled or disabled, active or inactive, as
    asked (C(systemctl show)); O(commands) are read-only probes whose exit status must be O(commands[].rc).
  - It never changes anything and never reports a change; a difference is a RV(differences) entry, not a
    failure. An entry the host cannot take (a directory where a file should be) is also a difference, and the role's
    own tasks then fail on it with their usual message.
  - A probe must not change the host; it runs in check mode too.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details: The module only looks; it runs the same way in check mode.
  diff_mode:
    support: none
  platform:
    platforms: debian
options:
  problems:
    description:
      - What is wrong with the settings the check is for, as the role worked it out (every problem at once, each
        naming the variable and the rule); an empty string or list when nothing is.
      - When there is something, the task fails with it (the entries joined by C(; )) on the controller, before the
        host is looked at and before any template is rendered, so that a role needs no task of its own for that.
    type: raw
    default: []
  files:
    description:
      - Files, directories and absent paths, as O(jvmops.deploy.config_files#module:files) takes them.
    type: list
    elements: dict
    default: []
    suboptions:
      dest:
        description: Absolute path on the host.
        type: path
        required: true
      state:
        description: What O(files[].dest) must be.
        type: str
        choices: [file, directory, absent]
        default: file
      template:
        description: A template (role C(templates/) or the play's), rendered on the controller.
        type: str
      src:
        description: A file (role C(files/) or the play's), read on the controller.
        type: str
      content:
        description: The content itself.
        type: str
      owner:
        description: Owner the path must have.
        type: str
      group:
        description: Group the path must have.
        type: str
      mode:
        description: Mode the path must have, octal (quoted) or symbolic.
        type: raw
      validate:
        description: Accepted so that the list of M(jvmops.deploy.config_files) can be given as it is; not run.
        type: str
      content_base64:
        description:
          - Set by the action plugin to the resolved content, base64-encoded; do not set it yourself.
        type: str
  links:
    description:
      - Symbolic links that must exist and point at O(links[].src), as written (not resolved).
    type: list
    elements: dict
    default: []
    suboptions:
      dest:
        description: The link.
        type: path
        required: true
      src:
        description: What it must point at.
        type: str
        required: true
  groups:
    description:
      - Groups that must exist.
    type: list
    elements: str
    default: []
  users:
    description:
      - Users that must exist, with the primary group, home directory and shell given (those left out are not
        looked at).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The user.
        type: str
        required: true
      group:
        description: Its primary group.
        type: str
      home:
        description: Its home directory.
        type: path
      shell:
        description: Its login shell.
        type: str
  packages:
    description:
      - Debian packages that must be installed.
    type: list
    elements: str
    default: []
  services:
    description:
      - systemd units and the state they must be in. A state left out is not looked at.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The unit (C(.service) may be left out).
        type: str
        required: true
      enabled:
        description:
          - Whether the unit must be enabled at boot. C(static), C(alias), C(indirect) and C(generated) units count as
            enabled, as for C(systemctl is-enabled); a unit that does not exist counts as disabled.
        type: bool
      active:
        description: Whether the unit must be running (C(ActiveState=active)) or not.
        type: bool
  sysctl:
    description:
      - Kernel parameters as M(jvmops.deploy.sysctl_profile) takes them (O(sysctl.parameters), O(sysctl.file),
        O(sysctl.strict), O(sysctl.floors)), compared live and in the file as that module does in check mode. A parameter this kernel
        refuses is not a difference (the module would skip it again); its warning is given as that module gives it.
    type: dict
    suboptions:
      parameters:
        description: Kernel parameters in dotted form and their values.
        type: dict
        required: true
      file:
        description: The file that persists them.
        type: path
        default: /etc/sysctl.d/60-jvmops.conf
      strict:
        description: As for M(jvmops.deploy.sysctl_profile); a parameter it would refuse is a difference.
        type: bool
        default: false
      floors:
        description: As for M(jvmops.deploy.sysctl_profile); a host above a floor is not a difference.
        type: list
        elements: str
        default: []
  alternatives:
    description:
      - JDK commands as M(jvmops.deploy.jdk_alternatives) takes them, compared as that module does in check mode
        (without its C(java -version); give a probe in O(commands) for that).
    type: dict
    suboptions:
      select:
        description: The JDK home whose commands must be selected.
        type: path
        required: true
      register:
        description: JDK homes whose commands must be registered.
        type: list
        elements: path
        default: []
      commands:
        description: Command names.
        type: list
        elements: str
        required: true
      priority:
        description: The priority they are registered with.
        type: int
        default: 100
      link_dir:
        description: Where the generic links are.
        type: path
        default: /usr/bin
  commands:
    description:
      - Read-only probes run on the host, without a shell (give C(sh -c) for one).
    type: list
    elements: dict
    default: []
    suboptions:
      argv:
        description: The command and its arguments.
        type: list
        elements: str
        required: true
      rc:
        description: The exit status that means converged.
        type: int
        default: 0
      output:
        description:
          - A regular expression that the command's output (standard output, then standard error) must match
            (searched anywhere, as the C(search) test does).
        type: str
notes:
  - A role that uses it keeps its own tasks for the case where something differs, so the fast path can only make a
    run faster; it cannot make it do less than the role's tasks would.
seealso:
  - module: jvmops.deploy.config_files
"""

EXAMPLES = r"""
- name: Look whether HAProxy is already as asked (one module call)
  jvmops.deploy.converged:
    problems: "{{ 'haproxy: haproxy_maxconn must be a whole number' if haproxy_maxconn | int < 1 else '' }}"
    packages: [haproxy]
    files:
      - {dest: /etc/haproxy/haproxy.cfg, template: haproxy.cfg.j2, owner: root, group: root, mode: "0644", validate: haproxy -c -f %s}
    services:
      - {name: haproxy, enabled: true, active: true}
    commands:
      - argv: [test, -f, /var/lib/haproxy/server-state]
  register: haproxy_state

- name: Install and configure HAProxy
  ansible.builtin.include_tasks: converge.yml
  when: not haproxy_state.converged
"""

RETURN = r"""
converged:
  description: Whether everything asked is already there.
  returned: success
  type: bool
  sample: false
differences:
  description: What differs, one line each (for files the path only, never the content).
  returned: success
  type: list
  elements: str
  sample: ["file /etc/haproxy/haproxy.cfg differs", "service haproxy.service is not active (failed)"]
differing:
  description:
    - RV(differences) by option (C(users) for O(groups) and O(users) alike), for a role that handles each part on
      its own; only the options where something differs.
  returned: success
  type: dict
  sample: {"links": ["link /srv/hello/current points at releases/0a1b2c3d4e5f, not releases/5f4e3d2c1b0a"]}
"""

import grp
import os
import pwd
import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.jvmops.deploy.plugins.module_utils import _jdk_alternatives as alternatives
from ansible_collections.jvmops.deploy.plugins.module_utils import _sysctl_profile as sysctl
from ansible_collections.jvmops.deploy.plugins.module_utils._config_files import FILE_OPTIONS, ConfigFilesError, apply, known

# UnitFileState values for which `systemctl is-enabled` exits 0.
ENABLED_STATES = frozenset(("enabled", "enabled-runtime", "static", "alias", "indirect", "generated", "transient", "linked",
                            "linked-runtime"))


class Part:
    """The module as one of the collection's modules sees it: its own options, check mode, no diff, warnings kept."""

    def __init__(self, module, params):
        self._module = module
        self.params = params
        self.check_mode = True
        self._diff = False
        self.warnings = []

    def warn(self, warning):
        self.warnings.append(warning)

    def __getattr__(self, name):
        return getattr(self._module, name)


def sysctl_differences(module):
    """What jvmops.deploy.sysctl_profile would change (a skipped parameter is not a difference: it would stay skipped)."""
    params = module.params["sysctl"]
    if params is None:
        return []
    part = Part(module, params)
    try:
        changed, result = sysctl.apply(part)
    except sysctl.SysctlProfileError as exc:
        return [f"sysctl: {exc}"]
    if not changed:
        for warning in part.warnings:  # the parameters this kernel refuses, as sysctl_profile says on every run
            module.warn(warning)
        return []
    if result["applied"]:
        return [f"kernel parameters differ: {', '.join(sorted(result['applied']))}"]
    return [f"file {params['file']} differs"]


def alternatives_differences(module):
    """What jvmops.deploy.jdk_alternatives would change (java -version is a probe of its own, in commands)."""
    params = module.params["alternatives"]
    if params is None:
        return []
    try:
        result = alternatives.apply(Part(module, params), with_version=False)
    except alternatives.JdkAlternativesError as exc:
        return [f"alternatives: {exc}"]
    if result["missing_homes"]:
        return [f"JDK homes missing: {', '.join(result['missing_homes'])}"]
    return [f"update-alternatives {' '.join(action)}" for action in result["actions"]]


def file_differences(module):
    """What config_files would change, as lines (config_files in check mode, without its diff). An owner or group this
    host does not have yet (a user the role is about to create) is a difference, not a failure."""
    differences, entries = [], []
    for entry in module.params["files"]:
        unknown = None if entry["state"] == "absent" else known(entry["owner"], entry["group"])
        if unknown:
            differences.append(f"{entry['state']} {entry['dest']} differs ({unknown})")
        else:
            entries.append(entry)
    if not entries:
        return differences
    try:
        _changed, result = apply(Part(module, {"files": entries}))
    except (ConfigFilesError, OSError) as exc:
        return differences + [f"files: {exc}"]
    return differences + [f"{item['state']} {item['dest']} differs" for item in result["files"] if item["changed"]]


def link_differences(module):
    differences = []
    for link in module.params["links"]:
        dest = link["dest"]
        if not os.path.islink(dest):
            differences.append(f"link {dest} is missing" if not os.path.lexists(dest) else f"{dest} is not a link")
        elif os.readlink(dest) != link["src"]:
            differences.append(f"link {dest} points at {os.readlink(dest)}, not {link['src']}")
    return differences


def account_differences(module):
    differences = []
    for name in module.params["groups"]:
        try:
            grp.getgrnam(name)
        except KeyError:
            differences.append(f"group {name} does not exist")
    for user in module.params["users"]:
        try:
            entry = pwd.getpwnam(user["name"])
        except KeyError:
            differences.append(f"user {user['name']} does not exist")
            continue
        if user["group"] is not None:
            try:
                gid = int(user["group"]) if user["group"].isdigit() else grp.getgrnam(user["group"]).gr_gid
            except KeyError:
                gid = None
            if entry.pw_gid != gid:
                differences.append(f"user {user['name']}'s primary group is not {user['group']}")
        for key, value in (("home", entry.pw_dir), ("shell", entry.pw_shell)):
            if user[key] is not None and value != user[key]:
                differences.append(f"user {user['name']}'s {key} is {value}, not {user[key]}")
    return differences


def package_differences(module):
    names = module.params["packages"]
    if not names:
        return []
    dpkg_query = module.get_bin_path("dpkg-query")
    if dpkg_query is None:
        return ["packages: dpkg-query not found"]
    _rc, out, _err = module.run_command([dpkg_query, "-W", "-f", "${Package} ${db:Status-Abbrev}\\n", "--", *names])
    # ${db:Status-Abbrev}: the wanted action, then the state (i for installed, whether held or not), then an error flag.
    installed = {line.split()[0] for line in out.splitlines()
                 if len(line.split(" ", 1)) > 1 and line.split(" ", 1)[1][1:3] == "i "}
    return [f"package {name} is not installed" for name in names if name not in installed]


def unit_name(name):
    return name if "." in name else f"{name}.service"


def service_differences(module):
    services = module.params["services"]
    if not services:
        return []
    systemctl = module.get_bin_path("systemctl")
    if systemctl is None:
        return ["services: systemctl not found"]
    units = [unit_name(service["name"]) for service in services]
    rc, out, err = module.run_command([systemctl, "show", "--property=Id,UnitFileState,ActiveState,LoadState", "--", *units])
    blocks = [dict(line.split("=", 1) for line in block.splitlines() if "=" in line) for block in out.strip().split("\n\n")]
    if rc != 0 or len(blocks) != len(units):
        return [f"services: systemctl show failed: {(err or out).strip() or f'exit status {rc}'}"]
    differences = []
    for service, unit, props in zip(services, units, blocks):
        found = props.get("LoadState") != "not-found"
        enabled = found and props.get("UnitFileState") in ENABLED_STATES
        active = props.get("ActiveState") == "active"
        if service["enabled"] is not None and enabled != service["enabled"]:
            differences.append(f"service {unit} is {'' if enabled else 'not '}enabled"
                               + ("" if found else " (no such unit)"))
        if service["active"] is not None and active != service["active"]:
            differences.append(f"service {unit} is {'' if active else 'not '}active ({props.get('ActiveState', 'unknown')})")
    return differences


def command_differences(module):
    differences = []
    for command in module.params["commands"]:
        argv = command["argv"]
        if not argv:
            differences.append("commands: an empty argv")
            continue
        executable = argv[0] if os.path.isabs(argv[0]) else module.get_bin_path(argv[0])
        if executable is None or not os.access(executable, os.X_OK):
            differences.append(f"command {argv[0]} not found")  # a file the role's own tasks write, say
            continue
        rc, out, err = module.run_command([executable, *argv[1:]])
        if rc != command["rc"]:
            differences.append(f"command {' '.join(argv)} exited {rc}, not {command['rc']}")
        elif command["output"] is not None and not re.search(command["output"], out + err, re.S):
            differences.append(f"command {' '.join(argv)} printed no match for {command['output']}")
    return differences


def main():
    module = AnsibleModule(
        argument_spec={
            "problems": {"type": "raw", "default": []},  # handled by the action plugin
            "files": {"type": "list", "elements": "dict", "default": [], "options": FILE_OPTIONS},
            "links": {"type": "list", "elements": "dict", "default": [], "options": {
                "dest": {"type": "path", "required": True},
                "src": {"type": "str", "required": True},
            }},
            "groups": {"type": "list", "elements": "str", "default": []},
            "users": {"type": "list", "elements": "dict", "default": [], "options": {
                "name": {"type": "str", "required": True},
                "group": {"type": "str"},
                "home": {"type": "path"},
                "shell": {"type": "str"},
            }},
            "packages": {"type": "list", "elements": "str", "default": []},
            "services": {"type": "list", "elements": "dict", "default": [], "options": {
                "name": {"type": "str", "required": True},
                "enabled": {"type": "bool"},
                "active": {"type": "bool"},
            }},
            "sysctl": {"type": "dict", "options": sysctl.OPTIONS},
            "alternatives": {"type": "dict", "options": alternatives.OPTIONS},
            "commands": {"type": "list", "elements": "dict", "default": [], "options": {
                "argv": {"type": "list", "elements": "str", "required": True},
                "rc": {"type": "int", "default": 0},
                "output": {"type": "str"},
            }},
        },
        supports_check_mode=True,
    )
    # It only looks: whatever it reuses from the collection's other modules runs as in check mode.
    module.check_mode = True
    for index, command in enumerate(module.params["commands"]):
        if command["output"] is not None:
            try:
                re.compile(command["output"])
            except re.error as exc:
                module.fail_json(msg=f"commands[{index}].output: not a regular expression ({exc}): {command['output']!r}")
    # The probes read the host the same way whatever the locale.
    os.environ.update(LC_ALL="C")
    differing = {
        "users": account_differences(module),
        "files": file_differences(module),
        "links": link_differences(module),
        "packages": package_differences(module),
        "services": service_differences(module),
        "sysctl": sysctl_differences(module),
        "alternatives": alternatives_differences(module),
        "commands": command_differences(module),
    }
    differences = [line for lines in differing.values() for line in lines]
    module.exit_json(changed=False, converged=not differences, differences=differences,
                     differing={kind: lines for kind, lines in differing.items() if lines})


if __name__ == "__main__":
    main()
