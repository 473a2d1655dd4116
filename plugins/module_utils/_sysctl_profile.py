# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What jvmops.deploy.sysctl_profile does on the host, shared with jvmops.deploy.converged (which runs it in check
mode to see whether anything would change)."""

from __future__ import annotations

import errno
import os
import re
import stat
import tempfile

from ansible.module_utils.common.text.converters import to_native

# The options of jvmops.deploy.sysctl_profile.
OPTIONS = {
    "parameters": {"type": "dict", "required": True},
    "file": {"type": "path", "default": "/etc/sysctl.d/60-jvmops.conf"},
    "strict": {"type": "bool", "default": False},
    "floors": {"type": "list", "elements": "str", "default": []},
}
# Lists of ports, which the kernel reads back sorted and with runs of ports merged into ranges: compared as sets.
PORT_LISTS = ("net.ipv4.ip_local_reserved_ports", "net.ipv4.ip_local_unbindable_ports")
NUMBERS = re.compile(r"^[0-9]+( [0-9]+)*$")
PORTS = re.compile(r"^([0-9]+(-[0-9]+)?)(,[0-9]+(-[0-9]+)?)*$")
KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-/]*$")
# Where the kernel parameters are read and written (tests point it at a directory of their own).
PROC_ROOT = "/proc/sys"
MISSING = "not on this kernel or in this network namespace"
REASONS = {
    errno.EINVAL: "the kernel refused the value (Invalid argument); in a container it cannot exceed the host's value",
    errno.EPERM: "not allowed here (Operation not permitted): not settable from this namespace or container",
    errno.EACCES: "read-only here (Permission denied): not settable from this namespace or container",
    errno.EROFS: "read-only here (read-only file system): not settable from this namespace or container",
}
SKIPPED_LINE = re.compile(r"^# (?P<key>\S+) = (?P<value>.*?)  \(skipped: (?P<reason>.*)\)$")


class SysctlProfileError(Exception):
    """A user mistake, or a parameter strict mode does not allow; result holds what to return with it."""

    def __init__(self, msg, **result):
        super().__init__(msg)
        self.result = result


def normalize(value):
    if isinstance(value, bool):
        value = int(value)
    return " ".join(str(value).split())


def ports(value):
    """The set of ports a port list (8000,4430 or 4430,8000-8001) names; None when it is not one."""
    text = value.replace(" ", "")
    if text == "":
        return set()
    if not PORTS.match(text):
        return None
    found = set()
    for part in text.split(","):
        low, _sep, high = part.partition("-")
        found.update(range(int(low), int(high or low) + 1))
    return found


def same(key, live, wanted):
    """Whether the live value is the wanted one (port lists in any order or range notation)."""
    if live == wanted:
        return True
    return key in PORT_LISTS and ports(live) is not None and ports(live) == ports(wanted)


def at_least(live, floor):
    """For a parameter whose value is a floor: each field the larger of the live and the floor's (so a host with
    more keeps it), or the floor itself when the live value is not numbers of the same shape."""
    if not NUMBERS.match(live) or len(live.split()) != len(floor.split()):
        return floor
    return " ".join(str(max(int(a), int(b))) for a, b in zip(live.split(), floor.split()))


def proc_path(key):
    return os.path.join(PROC_ROOT, key.replace(".", "/"))


def read_value(path):
    with open(path, "r", encoding="utf-8", errors="replace") as handle:
        return normalize(handle.read())


def write_value(path, value):
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")


def render_file(wanted, skipped, kept=None):
    lines = ["# Managed by jvmops.deploy.sysctl_profile: edits are overwritten.", ""]
    for key in sorted(wanted):
        if key in (kept or {}):
            lines.append(f"# {key}: the floor is {kept[key]}; this host had more, which is kept")
        if key in skipped:
            lines.append(f"# {key} = {wanted[key]}  (skipped: {skipped[key]})")
        else:
            lines.append(f"{key} = {wanted[key]}")
    return "\n".join(lines) + "\n"


def validate(params):
    wanted = {}
    for key, value in params["parameters"].items():
        if not KEY.match(str(key)) or ".." in str(key):
            raise SysctlProfileError(
                f"parameters: '{key}' is not a kernel parameter name (dotted, like net.core.somaxconn)")
        if value is None or normalize(value) == "" or isinstance(value, (dict, list)):
            raise SysctlProfileError(f"parameters: '{key}' needs a scalar value, got {value!r}")
        wanted[str(key)] = normalize(value)
    if not wanted:
        raise SysctlProfileError("parameters: give at least one kernel parameter")
    floors = [str(key) for key in params.get("floors") or []]
    not_given = [key for key in floors if key not in wanted]
    if not_given:
        raise SysctlProfileError(f"floors: {', '.join(not_given)} not in parameters; floors names parameters whose "
                                 "values are minimums; nothing was changed")
    not_numbers = [f"{key} = {wanted[key]}" for key in floors if not NUMBERS.match(wanted[key])]
    if not_numbers:
        raise SysctlProfileError(f"floors: a floor must be whole numbers separated by spaces, got {'; '.join(not_numbers)}; "
                                 "nothing was changed")
    bad_ports = [f"{key} = {wanted[key]}" for key in PORT_LISTS if key in wanted and ports(wanted[key]) is None]
    if bad_ports:
        raise SysctlProfileError(f"parameters: a port list is ports and ranges separated by commas (8000,4430 or "
                                 f"8000-8010), got {'; '.join(bad_ports)}; nothing was changed")
    problems = [problem for problem in (entry_problem(key) for key in sorted(wanted)) if problem]
    if problems:
        raise SysctlProfileError("parameters: " + "; ".join(problems) + "; nothing was changed")
    check_file(params["file"])
    return wanted


def entry_problem(key):
    """Why key cannot be part of a profile although it exists under /proc/sys, or None."""
    try:
        mode = os.stat(proc_path(key)).st_mode
    except OSError:
        return None  # missing: skipped (or refused with strict) by the rules for missing parameters
    if stat.S_ISDIR(mode):
        return (f"'{key}' names a group of kernel parameters (a directory under {PROC_ROOT}), "
                "not a parameter; give the parameters in it one by one")
    if not stat.S_ISREG(mode):
        return f"'{key}' is not a kernel parameter (not a file under {PROC_ROOT})"
    if not mode & 0o444:
        return (f"'{key}' is write-only (a trigger such as vm.compact_memory, not a setting): "
                "it cannot be read back or persisted, so it cannot be in a profile")
    return None


def check_file(path):
    """The profile file must be a regular UTF-8 file (or not exist yet) in an existing directory."""
    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory):
        raise SysctlProfileError(f"file: directory {directory} does not exist; nothing was changed")
    if not os.path.exists(path):
        return
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise SysctlProfileError(f"file: cannot read {path}: {to_native(exc.strerror or exc)}; "
                                 "nothing was changed") from exc
    if stat.S_ISDIR(mode):
        raise SysctlProfileError(f"file: {path} is a directory; give the path of the file that persists the "
                                 "profile (such as /etc/sysctl.d/60-jvmops.conf); nothing was changed")
    if not stat.S_ISREG(mode):
        raise SysctlProfileError(f"file: {path} is not a regular file; the module owns the file and replaces it "
                                 "whole, so it must be a file or not exist; nothing was changed")
    try:
        read_text(path)
    except OSError as exc:
        raise SysctlProfileError(f"file: cannot read {path}: {to_native(exc.strerror or exc)}; "
                                 "nothing was changed") from exc
    except UnicodeDecodeError as exc:
        raise SysctlProfileError(f"file: {path} is not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset "
                                 f"{exc.start}), so it is not a file this module wrote; move it away or choose "
                                 "another file; nothing was changed") from exc


def read_text(path):
    """The text of the profile file, empty when it does not exist."""
    if not os.path.exists(path):
        return ""
    with open(path, "rb") as handle:
        return handle.read().decode("utf-8")


def recorded_skips(path):
    """Parameters the persisted file records as skipped, with the value then wanted and the reason."""
    skips = {}
    for line in read_text(path).splitlines():
        match = SKIPPED_LINE.match(line)
        if match:
            skips[match["key"]] = (normalize(match["value"]), match["reason"])
    return skips


def apply_profile(module, wanted):
    """(applied, unchanged, skipped, values, previous, target, kept): target is what is set and persisted, which for a
    floor a host already exceeds is the host's value (kept: those floors)."""
    recorded = recorded_skips(module.params["file"])
    applied, unchanged, skipped, values, previous = {}, [], {}, {}, {}
    target, kept = dict(wanted), {}
    missing = [k for k in wanted if not os.path.exists(proc_path(k))]
    if missing and module.params["strict"]:
        raise SysctlProfileError(f"strict: these kernel parameters do not exist here: {', '.join(sorted(missing))}; "
                                 "nothing was changed", skipped_parameters=dict.fromkeys(missing, MISSING))
    # Read every live value before writing any, so that a parameter strict mode refuses changes nothing.
    for key in sorted(wanted):
        if key in missing:
            skipped[key] = MISSING
            continue
        try:
            previous[key] = read_value(proc_path(key))
        except OSError as exc:
            skipped[key] = "cannot be read here: " + REASONS.get(exc.errno, to_native(exc.strerror or exc))
    if skipped and module.params["strict"]:
        raise SysctlProfileError("strict: " + "; ".join(f"{k}: {r}" for k, r in sorted(skipped.items()))
                                 + "; nothing was changed", skipped_parameters=dict(skipped))
    for key in sorted(set(previous) & set(module.params.get("floors") or [])):
        target[key] = at_least(previous[key], wanted[key])
        if target[key] != wanted[key]:
            kept[key] = wanted[key]
    for key in sorted(previous):
        path = proc_path(key)
        current = previous[key]
        if same(key, current, target[key]):
            unchanged.append(key)
            values[key] = current
            continue
        if module.check_mode:
            # Refusals show only on writing: predict them from access rights and from the last run's record.
            if not os.access(path, os.W_OK):
                skipped[key] = REASONS[errno.EACCES]
                values[key] = current
            elif recorded.get(key, (None,))[0] == target[key]:
                skipped[key] = recorded[key][1]
                values[key] = current
            else:
                applied[key] = target[key]
                values[key] = target[key]
            continue
        try:
            write_value(path, target[key])
        except OSError as exc:
            skipped[key] = REASONS.get(exc.errno, f"the kernel refused it: {to_native(exc.strerror or exc)}")
            values[key] = current
            continue
        values[key] = read_value(path)
        if not same(key, values[key], target[key]):
            skipped[key] = f"the kernel kept {values[key]!r} instead of {target[key]!r}"
            continue
        applied[key] = values[key]
    return applied, unchanged, skipped, values, previous, target, kept


def write_file(module, path, content):
    """Replace path with content through a temporary file of its own in the same directory: its name is
    unique, so two runs, or a file an earlier run left behind, never meet; it is removed if anything fails."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=f".{os.path.basename(path)}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        module.atomic_move(tmp, path)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def persist(module, wanted, skipped, kept=None):
    path = module.params["file"]
    content = render_file(wanted, skipped, kept)
    before = read_text(path)
    if before == content:
        return False, before, content
    if not module.check_mode:
        write_file(module, path, content)
    return True, before, content


def apply(module):
    """(changed, result) of setting the profile live and persisting it."""
    wanted = validate(module.params)
    applied, unchanged, skipped, values, previous, target, kept = apply_profile(module, wanted)
    if skipped and module.params["strict"]:
        raise SysctlProfileError("strict: the kernel refused " + "; ".join(f"{k}: {r}" for k, r in sorted(skipped.items())),
                                 applied=applied, skipped_parameters=skipped, live_values=values)
    file_changed, before, after = persist(module, target, skipped, kept)
    for key in sorted(skipped):
        module.warn(f"kernel parameter {key} skipped: {skipped[key]}")
    result = {
        "applied": applied,
        "unchanged": sorted(unchanged),
        "skipped_parameters": skipped,
        "live_values": values,
        "kept": {key: target[key] for key in sorted(kept)},
        "file": module.params["file"],
    }
    if module._diff:  # pylint: disable=protected-access
        result["diff"] = [
            {"before_header": module.params["file"], "after_header": module.params["file"],
             "before": before, "after": after},
            {"before_header": "live kernel values", "after_header": "live kernel values",
             "before": "".join(f"{k} = {v}\n" for k, v in sorted(previous.items())),
             "after": "".join(f"{k} = {values[k]}\n" for k in sorted(previous))},
        ]
    return bool(applied) or file_changed, result
