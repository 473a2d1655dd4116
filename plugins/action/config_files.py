# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""config_files's action: resolves every entry's content on the controller (templates rendered as
ansible.builtin.template renders them, files from files/ read verbatim), then runs the module once."""

from __future__ import annotations

import base64
import os
import re

from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.plugins.action import ActionBase

try:  # ansible-core 2.19 and later: templates must be trusted (data tagging)
    from ansible.template import trust_as_template
except ImportError:  # 2.17 and 2.18
    trust_as_template = None

if trust_as_template is None:
    from ansible.template import AnsibleEnvironment, generate_ansible_template_vars
else:
    AnsibleEnvironment = None  # pylint: disable=invalid-name
    try:
        # What ansible.builtin.template uses on 2.19 to 2.21 for template_host, template_path, ... and ansible_managed.
        from ansible._internal._templating._template_vars import generate_ansible_template_vars
    except ImportError:  # a later core that moved it: templates get the task's variables only
        generate_ansible_template_vars = None  # pylint: disable=invalid-name

MODULE = "jvmops.deploy.config_files"
SOURCES = ("template", "src", "content")
KEYS = frozenset(("dest", "state", "owner", "group", "mode", "validate") + SOURCES)
STATES = ("file", "directory", "absent")
# Modes ansible.builtin.file takes: octal digits, or symbolic clauses such as u=rw,g=r,o=r.
OCTAL_MODE = re.compile(r"^[0-7]{1,5}$")
SYMBOLIC_MODE = re.compile(r"^(a|[ugo]*)([-+=][rwxXstugo]*)+$")


def where(index, entry):
    dest = entry.get("dest") if isinstance(entry, dict) else None
    return f"files[{index}] (dest {dest})" if dest else f"files[{index}]"


def valid_mode(mode):
    if isinstance(mode, bool):
        return False
    if isinstance(mode, int):
        return 0 <= mode <= 0o7777
    if not isinstance(mode, str):
        return False
    if OCTAL_MODE.match(mode):
        return int(mode, 8) <= 0o7777
    return all(SYMBOLIC_MODE.match(part) for part in mode.split(","))


def usable_validate(validate):
    """Whether validate % path works as the module applies it: a string with %s and no other % directive."""
    if not isinstance(validate, str) or "%s" not in validate:
        return False
    try:
        validate % ""  # pylint: disable=pointless-statement
    except (TypeError, ValueError):
        return False
    return True


def entry_problem(entry):
    """What is wrong with one entry of files, or None."""
    if not isinstance(entry, dict):
        return f"each entry must be a dict with dest and template, src or content (or state), got {type(entry).__name__}"
    unknown = sorted(str(key) for key in entry if key not in KEYS)
    if unknown:
        return f"unknown keys {', '.join(unknown)}; the keys are {', '.join(sorted(KEYS))}"
    dest = entry.get("dest")
    if dest is None or dest == "":
        return "dest is required"
    if not isinstance(dest, str):
        return f"dest must be a string, got {type(dest).__name__}"
    if not os.path.isabs(dest):
        return "dest must be an absolute path"
    state = entry.get("state", "file")
    if state not in STATES:
        return f"state must be one of {', '.join(STATES)}, got {state!r}"
    given = [key for key in SOURCES if entry.get(key) is not None]
    if state != "file":
        extra = given + (["validate"] if entry.get("validate") is not None else [])
        if extra:
            return f"{', '.join(extra)} only apply to state=file, not state={state}"
    elif not given:
        return "state=file needs one of template, src or content"
    elif len(given) > 1:
        return f"give only one of template, src and content, got {' and '.join(given)}"
    elif not isinstance(entry[given[0]], str):
        return f"{given[0]} must be a string, got {type(entry[given[0]]).__name__}"
    elif dest.endswith("/"):
        return "dest must name a file, not end with /"
    validate = entry.get("validate")
    if validate is not None and not usable_validate(validate):
        return f"validate must be a command that contains %s (the candidate file) and no other % directive (%% for a literal %), got {validate!r}"
    if entry.get("mode") is not None and not valid_mode(entry["mode"]):
        return f"mode must be octal (quoted, like \"0644\") or symbolic (u=rw,g=r,o=r), got {entry['mode']!r}"
    for key in ("owner", "group"):
        value = entry.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (str, int))):
            return f"{key} must be a name or a number, got {value!r}"
    return None


def check_files(files):
    """Raise AnsibleActionFail naming the first bad entry (index and dest) and the rule it breaks."""
    if not isinstance(files, list):
        raise AnsibleActionFail(f"files must be a list of entries, got {type(files).__name__}")
    for index, entry in enumerate(files):
        problem = entry_problem(entry)
        if problem:
            raise AnsibleActionFail(f"{where(index, entry)}: {problem}")


def module_entry(entry, content):
    """The entry as the module takes it: the source keys replaced by the content, base64-encoded."""
    resolved = {key: value for key, value in entry.items() if key not in SOURCES}
    if content is not None:
        resolved["content_base64"] = to_text(base64.b64encode(content))
    return resolved


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("files",))
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        if task_vars is None:
            task_vars = {}
        result = super().run(tmp, task_vars)
        del tmp  # no effect

        files = self._task.args.get("files")
        if files is None:
            raise AnsibleActionFail("files is required")
        check_files(files)
        resolved = [module_entry(entry, self._content(index, entry, task_vars)) for index, entry in enumerate(files)]
        if not resolved:
            result.update(changed=False, files=[])
            return result
        result.update(self._execute_module(module_name=MODULE, module_args={"files": resolved}, task_vars=task_vars))
        return result

    def _content(self, index, entry, task_vars):
        """The entry's content as bytes, or None for state=directory and state=absent."""
        if entry.get("template") is not None:
            return to_bytes(self._render(index, entry, task_vars), errors="surrogate_or_strict")
        if entry.get("src") is not None:
            return self._read(index, entry)
        if entry.get("content") is not None:
            return to_bytes(entry["content"], errors="surrogate_or_strict")
        return None

    def _find(self, index, entry, key, dirname):
        try:
            path = self._find_needle(dirname, entry[key])
        except AnsibleError as exc:
            raise AnsibleActionFail(f"{where(index, entry)}: {key} {entry[key]!r} not found: {to_text(exc)}") from exc
        if os.path.isdir(path):
            raise AnsibleActionFail(f"{where(index, entry)}: {key} {entry[key]!r} is a directory ({path}); give a file")
        return path

    def _read(self, index, entry):
        """A file from files/ (or the other places ansible.builtin.copy looks), decrypted if vaulted."""
        source = self._find(index, entry, "src", "files")
        try:
            real = self._loader.get_real_file(source, decrypt=True)
        except AnsibleError as exc:
            raise AnsibleActionFail(f"{where(index, entry)}: cannot read src {source}: {to_text(exc)}") from exc
        try:
            with open(to_bytes(real, errors="surrogate_or_strict"), "rb") as handle:
                return handle.read()
        finally:
            self._loader.cleanup_tmp_file(real)

    def _render(self, index, entry, task_vars):
        """The template rendered as ansible.builtin.template renders it (trim_blocks, newline \\n, its variables)."""
        name = entry["template"]
        source = self._find(index, entry, "template", "templates")

        # The search path of includes and imports in the template, as ansible.builtin.template builds it.
        searchpath = list(task_vars.get("ansible_search_path", [])) + [self._loader._basedir, os.path.dirname(source)]
        searchpath = [path for base in searchpath for path in (os.path.join(base, "templates"), base)]

        temp_vars = task_vars.copy()
        if generate_ansible_template_vars is not None:
            if trust_as_template is None:
                generated = generate_ansible_template_vars(name, source, entry["dest"])
                if "ansible_managed" in temp_vars:  # as 2.19 and later do: an ansible_managed the user set is kept
                    generated.pop("ansible_managed", None)
                temp_vars.update(generated)
            else:
                temp_vars.update(generate_ansible_template_vars(path=name, fullpath=source, dest_path=entry["dest"],
                                                                include_ansible_managed="ansible_managed" not in temp_vars))
        overrides = {"trim_blocks": True, "lstrip_blocks": False}
        try:
            if trust_as_template is not None:
                data = trust_as_template(self._loader.get_text_file_contents(source))
                templar = self._templar.copy_with_new_env(searchpath=searchpath, available_variables=temp_vars)
                resultant = templar.template(data, escape_backslashes=False, overrides={**overrides, "newline_sequence": "\n"})
            else:
                data = self._read_text(index, entry, source)
                templar = self._templar.copy_with_new_env(environment_class=AnsibleEnvironment, searchpath=searchpath,
                                                          newline_sequence="\n", available_variables=temp_vars)
                resultant = templar.do_template(data, preserve_trailing_newlines=True, escape_backslashes=False, overrides=overrides)
        except AnsibleActionFail:
            raise
        except AnsibleError as exc:
            raise AnsibleActionFail(f"{where(index, entry)}: failed to render template {name!r}: {to_text(exc)}") from exc
        return "" if resultant is None else resultant

    def _read_text(self, index, entry, source):
        real = self._loader.get_real_file(source)
        try:
            with open(to_bytes(real, errors="surrogate_or_strict"), "rb") as handle:
                return to_text(handle.read(), errors="surrogate_or_strict")
        except UnicodeError as exc:
            raise AnsibleActionFail(f"{where(index, entry)}: template {source} is not UTF-8 text") from exc
        finally:
            self._loader.cleanup_tmp_file(real)
