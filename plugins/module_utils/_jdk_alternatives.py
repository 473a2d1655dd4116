# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What jvmops.deploy.jdk_alternatives does on the host, shared with jvmops.deploy.converged (which runs it in check
mode to see whether anything would change)."""

from __future__ import annotations

import os
import re

# The options of jvmops.deploy.jdk_alternatives.
OPTIONS = {
    "select": {"type": "path", "required": True},
    "register": {"type": "list", "elements": "path", "default": []},
    "commands": {"type": "list", "elements": "str", "required": True},
    "priority": {"type": "int", "default": 100},
    "link_dir": {"type": "path", "default": "/usr/bin"},
}
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


def apply(module, with_version=True):
    """The run's result; without with_version, java_version is not asked (None)."""
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
        "java_version": java_version(module, params["link_dir"]) if with_version else None,
    }
    if module._diff:  # pylint: disable=protected-access
        result["diff"] = {"before_header": "update-alternatives", "after_header": "update-alternatives",
                          "before": describe(before), "after": describe(after)}
    return result
