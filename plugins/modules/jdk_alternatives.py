# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: jdk_alternatives
short_description: Register the commands of JDKs with update-alternatives and select one JDK's, in one call
version_added: 0.1.0
author:
  - jvmops.deploy contributors (@jvmops)
description:
  - Makes C(/usr/bin/java), C(javac), C(jar), ... point to the commands of one JDK, switching them together, and
    registers the commands of other JDKs (such as ones unpacked from tarballs) so that they can be selected later.
  - Reads every alternative with C(update-alternatives --query), then changes only what differs. A no-change run is
    one module call, whatever the number of commands, where M(community.general.alternatives) takes one call per
    command.
  - A command is handled for a JDK only when the JDK's C(bin/) directory has it as an executable file; a runtime
    without C(javac) leaves C(javac) with the JDK that has one.
  - A selected command is set in manual mode (C(update-alternatives --set)), so that installing another JDK package
    later does not switch it.
  - A command of the selected JDK that is not registered yet is registered with O(priority) first. Commands that
    Debian's JDK packages registered keep their package's priority.
  - After the changes, reads back where each command points and the output of C(java -version).
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: >-
      A JDK whose directory does not exist yet (not unpacked, because the run is a check) is reported in
      RV(missing_homes) instead of failing the task.
  diff_mode:
    support: full
  platform:
    platforms: debian
requirements:
  - C(update-alternatives) (Debian's dpkg) on the managed host.
options:
  select:
    description:
      - The home directory of the JDK whose commands become the default (C(/usr/lib/jvm/java-17-openjdk-amd64)).
    type: path
    required: true
  register:
    description:
      - Home directories of JDKs whose commands are registered (with O(priority)) but not selected.
      - Commands registered with another priority are registered again with O(priority).
    type: list
    elements: path
    default: []
  commands:
    description:
      - The command names to handle (C(java), C(javac), ...). Those a JDK lacks are skipped for that JDK.
    type: list
    elements: str
    required: true
  priority:
    description:
      - The priority commands are registered with.
    type: int
    default: 100
  link_dir:
    description:
      - Where the generic names of new alternatives are created (C(/usr/bin/java)). An alternative that exists keeps
        its link.
    type: path
    default: /usr/bin
seealso:
  - module: community.general.alternatives
"""

EXAMPLES = r"""
- name: Make JDK 17 the default and register a Temurin 25 unpacked under /usr/lib/jvm
  jvmops.deploy.jdk_alternatives:
    select: /usr/lib/jvm/java-17-openjdk-amd64
    register:
      - /usr/lib/jvm/temurin-25
    commands: [java, javac, jar, jcmd, jshell, keytool]
    priority: 100
  register: jdk

- name: Show the JDK that java runs
  ansible.builtin.debug:
    msg: "{{ jdk.java_version }}"
"""

RETURN = r"""
selected:
  description: Where each command of the selected JDK points after the run (in check mode, where it would point).
  type: dict
  returned: always
  sample: {"java": "/usr/lib/jvm/java-17-openjdk-amd64/bin/java", "javac": "/usr/lib/jvm/java-17-openjdk-amd64/bin/javac"}
actions:
  description: The update-alternatives calls made (or, in check mode, that would be made), in order.
  type: list
  elements: list
  returned: always
  sample: [["--install", "/usr/bin/java", "java", "/usr/lib/jvm/temurin-25/bin/java", "100"], ["--set", "java", "/usr/lib/jvm/temurin-25/bin/java"]]
missing_homes:
  description: JDK homes without a C(bin/) directory; only in check mode, where they may not be unpacked yet.
  type: list
  elements: str
  returned: always
  sample: ["/usr/lib/jvm/temurin-25"]
java_version:
  description: >-
    What C(java -version) prints (on standard error) through the generic C(java) link after the run, or null when
    there is no such command.
  type: str
  returned: always
  sample: 'openjdk version "17.0.13" 2024-10-15'
"""

import os
import re

from ansible.module_utils.basic import AnsibleModule

COMMAND = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
# Options given to every update-alternatives call (tests point --altdir and --admindir at directories of their own).
ADMIN_ARGS = []
ENV = {"LC_ALL": "C", "LANGUAGE": "C"}


class JdkAlternativesError(Exception):
    """A user mistake or a host that cannot take the change; the message names the option."""


def validate(params):
    bad = [c for c in params["commands"] if not COMMAND.match(c)]
    if bad or not params["commands"]:
        raise JdkAlternativesError(
            f"commands: give command names (letters, digits, . _ + -, no path), got {bad or params['commands']}")
    if params["priority"] < 0:
        raise JdkAlternativesError(f"priority: must be 0 or more, got {params['priority']}")
    for option, homes in (("select", [params["select"]]), ("register", params["register"])):
        relative = [h for h in homes if not os.path.isabs(h)]
        if relative:
            raise JdkAlternativesError(f"{option}: JDK homes must be absolute paths, got {relative}")
    if not os.path.isabs(params["link_dir"]):
        raise JdkAlternativesError(f"link_dir: must be an absolute path, got {params['link_dir']}")


def home_commands(home, commands):
    """The commands the JDK at home has, as {name: path}."""
    found = {}
    for name in commands:
        path = os.path.join(home, "bin", name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            found[name] = path
    return found


def parse_query(text):
    """update-alternatives --query output as {link, status, value, alternatives: {path: priority}}."""
    group = {"link": None, "status": None, "value": None, "alternatives": {}}
    current = None
    for line in text.splitlines():
        if not line.strip() or line.startswith(" "):
            continue
        key, _sep, value = line.partition(": ")
        if key == "Link" and current is None:
            group["link"] = value
        elif key == "Status":
            group["status"] = value
        elif key == "Value":
            group["value"] = None if value == "none" else value
        elif key == "Alternative":
            current = value
            group["alternatives"][current] = None
        elif key == "Priority" and current is not None:
            group["alternatives"][current] = int(value)
    return group


class Alternatives:
    def __init__(self, module):
        self.module = module
        self.binary = module.get_bin_path("update-alternatives", required=True)

    def query(self, name):
        rc, out, _err = self.module.run_command([self.binary, *ADMIN_ARGS, "--query", name], environ_update=ENV)
        if rc != 0:  # no such alternative yet
            return {"link": None, "status": None, "value": None, "alternatives": {}}
        return parse_query(out)

    def run(self, args):
        rc, out, err = self.module.run_command([self.binary, *ADMIN_ARGS, *args], environ_update=ENV)
        if rc != 0:
            raise JdkAlternativesError(f"update-alternatives {' '.join(args)} failed (exit {rc}): {(err or out).strip()}")


def describe(groups):
    """One line per alternative: where it points and its mode."""
    lines = []
    for name in sorted(groups):
        group = groups[name]
        if group["value"] is None:
            lines.append(f"{name}: (none)\n")
        else:
            lines.append(f"{name}: {group['value']} ({group['status']})\n")
    return "".join(lines)


def plan(params, tool, check_mode):
    """(actions, before, after, selected, missing) for the wanted state."""
    missing, available = [], {}
    for option, home in [("select", params["select"])] + [("register", h) for h in params["register"]]:
        if not os.path.isdir(os.path.join(home, "bin")):
            if check_mode:
                missing.append(home)
                continue
            raise JdkAlternativesError(f"{option}: {home} has no bin directory; install the JDK there first")
        available[home] = home_commands(home, params["commands"])
    select = params["select"]
    if select in available and not available[select]:
        raise JdkAlternativesError(
            f"select: {select}/bin has none of the commands {params['commands']}; is it a JDK home?")
    names = sorted({name for found in available.values() for name in found})
    before = {name: tool.query(name) for name in names}
    after = {name: {**group, "alternatives": dict(group["alternatives"])} for name, group in before.items()}
    actions = []

    def install(name, path):
        group = after[name]
        link = group["link"] or os.path.join(params["link_dir"], name)
        actions.append(["--install", link, name, path, str(params["priority"])])
        group["link"] = link
        group["alternatives"][path] = params["priority"]
        if group["status"] in (None, "auto"):  # update-alternatives picks the best in auto mode
            best = max(group["alternatives"].items(), key=lambda item: (item[1], item[0]))[0]
            group["status"], group["value"] = "auto", best

    for home in params["register"]:
        for name, path in available.get(home, {}).items():
            if after[name]["alternatives"].get(path, -1) != params["priority"]:
                install(name, path)
    for name, path in available.get(select, {}).items():
        if path not in after[name]["alternatives"]:
            install(name, path)
        if after[name]["value"] != path or after[name]["status"] != "manual":
            actions.append(["--set", name, path])
            after[name]["value"], after[name]["status"] = path, "manual"
    selected = {name: after[name]["value"] for name in available.get(select, {})}
    return actions, before, after, selected, missing


def java_version(module, link_dir):
    java = os.path.join(link_dir, "java")
    if not os.path.exists(java):
        return None
    rc, out, err = module.run_command([java, "-version"], environ_update={"LC_ALL": "C", "JAVA_TOOL_OPTIONS": ""})
    text = (err or out).strip()
    return text if rc == 0 else f"{java} -version failed (exit {rc}): {text}"


def apply(module):
    params = module.params
    validate(params)
    tool = Alternatives(module)
    actions, before, after, selected, missing = plan(params, tool, module.check_mode)
    if actions and not module.check_mode:
        for args in actions:
            tool.run(args)
        after = {name: tool.query(name) for name in before}
        selected = {name: after[name]["value"] for name in selected}
    result = {
        "changed": bool(actions),
        "actions": actions,
        "selected": selected,
        "missing_homes": missing,
        "java_version": java_version(module, params["link_dir"]),
    }
    if module._diff:  # pylint: disable=protected-access
        result["diff"] = {"before_header": "update-alternatives", "after_header": "update-alternatives",
                          "before": describe(before), "after": describe(after)}
    return result


def main():
    module = AnsibleModule(
        argument_spec={
            "select": {"type": "path", "required": True},
            "register": {"type": "list", "elements": "path", "default": []},
            "commands": {"type": "list", "elements": "str", "required": True},
            "priority": {"type": "int", "default": 100},
            "link_dir": {"type": "path", "default": "/usr/bin"},
        },
        supports_check_mode=True,
    )
    try:
        result = apply(module)
    except JdkAlternativesError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
