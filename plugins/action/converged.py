# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""converged's action: resolves the contents of files on the controller as config_files does, checks the other
options, then runs the module once."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail

from ansible_collections.jvmops.deploy.plugins.action.config_files import ActionModule as ConfigFilesAction
from ansible_collections.jvmops.deploy.plugins.action.config_files import check_files, module_entry

MODULE = "jvmops.deploy.converged"
SERVICE_KEYS = frozenset(("name", "enabled", "active"))
LINK_KEYS = frozenset(("dest", "src"))
USER_KEYS = frozenset(("name", "group", "home", "shell"))
COMMAND_KEYS = frozenset(("argv", "rc", "output"))


def check_list(name, value, keys=None):
    """Raise AnsibleActionFail unless value is a list (of dicts with only the given keys, when keys is given)."""
    if not isinstance(value, list):
        raise AnsibleActionFail(f"{name} must be a list, got {type(value).__name__}")
    for index, entry in enumerate(value):
        if keys is None:
            if not isinstance(entry, str) or not entry:
                raise AnsibleActionFail(f"{name}[{index}] must be a name (a non-empty string), got {entry!r}")
            continue
        if not isinstance(entry, dict):
            raise AnsibleActionFail(f"{name}[{index}] must be a dict with {', '.join(sorted(keys))}, got {type(entry).__name__}")
        unknown = sorted(str(key) for key in entry if key not in keys)
        if unknown:
            raise AnsibleActionFail(f"{name}[{index}]: unknown keys {', '.join(unknown)}; the keys are {', '.join(sorted(keys))}")


class ActionModule(ConfigFilesAction):
    _VALID_ARGS = frozenset(("problems", "files", "links", "groups", "users", "packages", "services", "sysctl", "alternatives",
                             "commands"))

    def run(self, tmp=None, task_vars=None):
        if task_vars is None:
            task_vars = {}
        result = super(ConfigFilesAction, self).run(tmp, task_vars)  # ActionBase.run: the common checks
        del tmp  # no effect
        problems = self._task.args.get("problems") or []
        if isinstance(problems, str):
            problems = [problems]
        if not isinstance(problems, list) or not all(isinstance(problem, str) for problem in problems):
            raise AnsibleActionFail(f"problems must be a string or a list of strings, got {problems!r}")
        if any(problems):
            # The role's own check of its settings: its message, before the host is looked at.
            raise AnsibleActionFail("; ".join(problem for problem in problems if problem))
        args = {key: self._task.args.get(key) or [] for key in ("files", "links", "groups", "users", "packages", "services",
                                                                "commands")}
        check_files(args["files"])
        check_list("links", args["links"], LINK_KEYS)
        check_list("groups", args["groups"])
        check_list("users", args["users"], USER_KEYS)
        check_list("packages", args["packages"])
        check_list("services", args["services"], SERVICE_KEYS)
        check_list("commands", args["commands"], COMMAND_KEYS)
        args["files"] = [module_entry(entry, self._content(index, entry, task_vars)) for index, entry in enumerate(args["files"])]
        given = any(args.values())
        for key in ("sysctl", "alternatives"):  # checked by the module's argument_spec
            if self._task.args.get(key) is not None:
                args[key] = self._task.args[key]
                given = True
        if not given:
            result.update(changed=False, converged=True, differences=[], differing={})
            return result
        result.update(self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars))
        return result
