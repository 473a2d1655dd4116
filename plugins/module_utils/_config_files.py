# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What jvmops.deploy.config_files does on the host, shared with jvmops.deploy.converged (which runs it in check
mode to see whether anything would change)."""

from __future__ import annotations

import base64
import binascii
import errno
import grp
import hashlib
import os
import pwd
import shlex
import shutil
import tempfile

from ansible.module_utils.common.text.converters import to_native

# The argument_spec of one entry of files (the action plugin has turned template, src and content into content_base64).
FILE_OPTIONS = {
    "dest": {"type": "path", "required": True},
    "state": {"type": "str", "default": "file", "choices": ["file", "directory", "absent"]},
    "template": {"type": "str"},
    "src": {"type": "str"},
    "content": {"type": "str"},
    "owner": {"type": "str"},
    "group": {"type": "str"},
    "mode": {"type": "raw"},
    "validate": {"type": "str"},
    # Secrets in a config file must not reach the host's journal with the module's invocation.
    "content_base64": {"type": "str", "no_log": True},
}

# The largest content shown in a diff; core's default for MAX_FILE_SIZE_FOR_DIFF.
MAX_DIFF_SIZE = 104448
SOURCES = ("template", "src", "content")


class ConfigFilesError(Exception):
    """A user mistake or a host that cannot take the change; the message names the entry."""

    def __init__(self, msg, **details):
        super().__init__(msg)
        self.details = details


def where(index, entry):
    return f"files[{index}] (dest {entry['dest']})"


def known(owner, group):
    """The first of owner and group that this host does not know, as a message, or None."""
    for kind, value, lookup in (("user", owner, pwd.getpwnam), ("group", group, grp.getgrnam)):
        if value is None or value.isdigit():
            continue
        try:
            lookup(value)
        except KeyError:
            return f"{'owner' if kind == 'user' else 'group'}: no {kind} named {value!r} on this host"
    return None


def parse(entries, check_mode):
    """The content of each entry as bytes (None for directories and absent paths); checks every entry first.
    Outside check mode, owners and groups must exist (in check mode an earlier task may be about to make them)."""
    contents = []
    for index, entry in enumerate(entries):
        unknown = None if check_mode or entry["state"] == "absent" else known(entry["owner"], entry["group"])
        if unknown:
            raise ConfigFilesError(f"{where(index, entry)}: {unknown}")
        given = [key for key in SOURCES if entry[key] is not None]
        if given:
            raise ConfigFilesError(
                f"{where(index, entry)}: {', '.join(given)} must be resolved by the action plugin on the controller; "
                "run jvmops.deploy.config_files as a task")
        if not os.path.isabs(entry["dest"]):
            raise ConfigFilesError(f"{where(index, entry)}: dest must be an absolute path")
        if entry["state"] != "file":
            for key in ("content_base64", "validate"):
                if entry[key] is not None:
                    raise ConfigFilesError(f"{where(index, entry)}: {key} only applies to state=file, not state={entry['state']}")
            contents.append(None)
            continue
        if entry["content_base64"] is None:
            raise ConfigFilesError(f"{where(index, entry)}: state=file needs content (from template, src or content)")
        if os.path.basename(entry["dest"]) == "":
            raise ConfigFilesError(f"{where(index, entry)}: dest must name a file, not end with /")
        if entry["validate"] is not None:
            try:
                usable = "%s" in entry["validate"] and entry["validate"] % "" is not None
            except (TypeError, ValueError):  # another % directive: write a literal % as %%
                usable = False
            if not usable:
                raise ConfigFilesError(f"{where(index, entry)}: validate must contain %s (the candidate file) and no other % directive "
                                       f"(write %% for a literal %), got {entry['validate']!r}")
        try:
            contents.append(base64.b64decode(entry["content_base64"], validate=True))
        except (binascii.Error, ValueError) as exc:
            raise ConfigFilesError(f"{where(index, entry)}: content_base64 is not base64: {exc}") from exc
    return contents


def shown(data):
    """Content as diff text, or one line standing for binary or large content."""
    if len(data) > MAX_DIFF_SIZE:
        return f"[content of {len(data)} bytes, over {MAX_DIFF_SIZE}, sha1 {hashlib.sha1(data).hexdigest()}]\n"
    if b"\x00" in data:
        return f"[binary content of {len(data)} bytes, sha1 {hashlib.sha1(data).hexdigest()}]\n"
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return f"[binary content of {len(data)} bytes, sha1 {hashlib.sha1(data).hexdigest()}]\n"


def described(path, values):
    """A state or attributes diff (the dict set_fs_attributes_if_different fills) as lines of text."""
    lines = [f"path: {path}\n"]
    lines += [f"{key}: {values[key]}\n" for key in ("state", "owner", "group", "mode", "secontext", "attributes") if key in values]
    return "".join(lines)


def attributes_diff(dest, attrs):
    if not attrs.get("before") and not attrs.get("after"):
        return None
    return {"before_header": dest, "after_header": dest,
            "before": described(dest, attrs.get("before", {})), "after": described(dest, attrs.get("after", {}))}


def parent_exists(path, planned):
    return os.path.isdir(path) or path in planned


def umask():
    current = os.umask(0)
    os.umask(current)
    return current


def file_args(module, entry, path):
    return module.load_file_common_arguments({"mode": entry["mode"], "owner": entry["owner"], "group": entry["group"]}, path=path)


def read_file(path):
    with open(path, "rb") as handle:
        return handle.read()


def validate_candidate(module, entry, candidate):
    command = entry["validate"] % shlex.quote(candidate)
    rc, out, err = module.run_command(command)
    if rc != 0:
        output = "\n".join(text.strip() for text in (err, out) if text and text.strip()) or f"exit status {rc}"
        # Worded as ansible.builtin.template words it ("failed to validate"), which users and their checks know.
        raise ConfigFilesError(f"failed to validate {entry['dest']}: {output}", rc=rc, stdout=out, stderr=err)


def prepare_candidate(module, entry, content, live, attrs):
    """Write content to a hidden file in dest's directory with the live file's attributes, then the asked ones
    (what they change is recorded in attrs, a diff dict)."""
    dest = entry["dest"]
    directory, name = os.path.split(dest)
    fd, candidate = tempfile.mkstemp(prefix=f".{name}.", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        if live:  # what atomic_move would carry over: mode, extended attributes (ACLs), owner and group
            live_stat = os.stat(dest)
            for copy in (lambda: shutil.copystat(dest, candidate), lambda: os.chown(candidate, live_stat.st_uid, live_stat.st_gid)):
                try:
                    copy()
                except OSError as exc:  # not allowed (not root): keep what the candidate has, as atomic_move does
                    if exc.errno != errno.EPERM:
                        raise
            os.utime(candidate)
        else:
            os.chmod(candidate, 0o666 & ~umask())
        module.set_fs_attributes_if_different(file_args(module, entry, candidate), False, diff=attrs if live else None)
    except BaseException:
        os.unlink(candidate)
        raise
    return candidate


def converge_file(module, entry, content, planned):
    """(changed, item, diffs) for a state=file entry."""
    dest = entry["dest"]
    checksum = hashlib.sha1(content).hexdigest()
    item = {"dest": dest, "state": "file", "changed": False, "checksum": checksum}
    directory = os.path.dirname(dest)
    if not parent_exists(directory, planned):
        if not module.check_mode:
            raise ConfigFilesError(f"Failed to write {dest}: its directory {directory} does not exist")
        # In check mode an earlier task (a package install, say) may be what makes the directory, as with
        # ansible.builtin.template, whose check mode reports the file as changed without looking further.
        item["changed"] = True
        return True, item, [{"before_header": dest, "after_header": dest, "before": "", "after": shown(content)}]
    if os.path.isdir(dest) and not os.path.islink(dest):
        raise ConfigFilesError(f"Failed to write {dest}: it is a directory")
    live = os.path.isfile(dest) and not os.path.islink(dest)
    before = read_file(dest) if live else None
    diffs = []
    attrs = {"before": {}, "after": {}}
    if before == content:
        changed = module.set_fs_attributes_if_different(file_args(module, entry, dest), False, diff=attrs)
        if changed and attributes_diff(dest, attrs):
            diffs.append(attributes_diff(dest, attrs))
        item["changed"] = changed
        return changed, item, diffs
    before_text = "" if before is None else shown(before)
    if os.path.islink(dest):
        before_text = f"[symbolic link to {os.readlink(dest)}]\n"
    diffs.append({"before_header": dest, "after_header": dest, "before": before_text, "after": shown(content)})
    item["changed"] = True
    if module.check_mode:
        if live:
            module.set_fs_attributes_if_different(file_args(module, entry, dest), False, diff=attrs)
    else:
        context = module.selinux_context(dest) if live and module.selinux_enabled() else None
        candidate = prepare_candidate(module, entry, content, live, attrs)
        try:
            if entry["validate"]:
                validate_candidate(module, entry, candidate)
            try:
                module.atomic_move(candidate, dest, unsafe_writes=False, keep_dest_attrs=False)
            except Exception as exc:  # pylint: disable=broad-exception-caught  # core raises a bare Exception there
                raise ConfigFilesError(f"Failed to replace {dest}: {to_native(exc)}") from exc
        finally:
            if os.path.lexists(candidate):
                os.unlink(candidate)
        if context is not None:  # atomic_move without keep_dest_attrs gives the policy's default context
            module.set_context_if_different(dest, context, False)
        # atomic_move gives a new file the umask's mode and the module's user: apply the asked attributes again
        module.set_fs_attributes_if_different(file_args(module, entry, dest), False)
    if attributes_diff(dest, attrs):
        diffs.append(attributes_diff(dest, attrs))
    return True, item, diffs


def converge_directory(module, entry, planned):
    """(changed, item, diffs) for a state=directory entry: the missing directories made, each with the attributes."""
    dest = entry["dest"]
    item = {"dest": dest, "state": "directory", "changed": False}
    if os.path.lexists(dest) and not os.path.isdir(dest):
        raise ConfigFilesError(f"Failed to make directory {dest}: a file or link that is not a directory is in the way")
    missing = []
    path = dest.rstrip("/") or "/"
    while not os.path.isdir(path) and path not in planned:
        if os.path.lexists(path):
            raise ConfigFilesError(f"Failed to make directory {dest}: {path} exists and is not a directory")
        missing.append(path)
        path = os.path.dirname(path)
    missing.reverse()
    diffs = []
    if missing:
        diffs.append({"before_header": dest, "after_header": dest,
                      "before": described(dest, {"state": "absent"}), "after": described(dest, {"state": "directory"})})
        if module.check_mode:
            planned.update(missing)
        else:
            for path in missing:
                os.mkdir(path)
                module.set_fs_attributes_if_different(file_args(module, entry, path), True, expand=False)
        item["changed"] = True
        return True, item, diffs
    if dest in planned:  # an earlier entry would make it (check mode): that entry reports the change
        return False, item, diffs
    attrs = {"before": {}, "after": {}}
    changed = module.set_fs_attributes_if_different(file_args(module, entry, dest), False, diff=attrs)
    if changed and attributes_diff(dest, attrs):
        diffs.append(attributes_diff(dest, attrs))
    item["changed"] = changed
    return changed, item, diffs


def converge_absent(module, entry):
    """(changed, item, diffs) for a state=absent entry."""
    dest = entry["dest"]
    item = {"dest": dest, "state": "absent", "changed": False}
    if not os.path.lexists(dest):
        return False, item, []
    if os.path.islink(dest):
        kind = "link"
    elif os.path.isdir(dest):
        kind = "directory"
        if os.listdir(dest):
            raise ConfigFilesError(f"Failed to remove {dest}: it is a directory that is not empty; "
                                   "state=absent removes only files, links and empty directories")
    else:
        kind = "file"
    if not module.check_mode:
        if kind == "directory":
            os.rmdir(dest)
        else:
            os.unlink(dest)
    item["changed"] = True
    return True, item, [{"before_header": dest, "after_header": dest,
                         "before": described(dest, {"state": kind}), "after": described(dest, {"state": "absent"})}]


def apply(module):
    """(changed, result); on failure a ConfigFilesError with the entries already handled."""
    entries = module.params["files"]
    contents = parse(entries, module.check_mode)
    planned = set()  # directories that entries made in check mode
    items, diffs = [], []
    for index, (entry, content) in enumerate(zip(entries, contents)):
        try:
            if entry["state"] == "file":
                _changed, item, entry_diffs = converge_file(module, entry, content, planned)
            elif entry["state"] == "directory":
                _changed, item, entry_diffs = converge_directory(module, entry, planned)
            else:
                _changed, item, entry_diffs = converge_absent(module, entry)
        except (ConfigFilesError, OSError) as exc:
            done = [i["dest"] for i in items if i["changed"]]
            message = str(exc) if isinstance(exc, ConfigFilesError) else f"Failed to handle {entry['dest']}: {to_native(exc)}"
            message += f" (files[{index}]; " + (f"changed before it: {', '.join(done)})" if done else "nothing changed before it)")
            details = exc.details if isinstance(exc, ConfigFilesError) else {}
            raise ConfigFilesError(message, changed=bool(done), files=items, **details) from exc
        items.append(item)
        diffs.extend(entry_diffs)
    changed = any(item["changed"] for item in items)
    result = {"files": items}
    if module._diff:  # pylint: disable=protected-access
        result["diff"] = diffs
    return changed, result
