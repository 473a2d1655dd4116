# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The option rules of the monitoring check modules, shared with the jvmops.deploy.monitor_plan filter.

Each validate_*() takes the module's params (as AnsibleModule or ArgumentSpecValidator gives them, the defaults
filled in) and checks what the argument_spec cannot say - thresholds, units, order, ranges, regular expressions,
options of one service type - without looking at the host: the modules run them on the monitored host before
measuring anything, the filter on the controller before any host is contacted. A user mistake raises
CheckOptionError whose message starts with the option's name. Host lookups (a user name) stay in the modules.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from ansible_collections.jvmops.deploy.plugins.module_utils._alerts import parse_duration

UNITS = {"": None, "b": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3, "t": 1024 ** 4, "p": 1024 ** 5}
THRESHOLD = re.compile(r"^(?P<number>\d+(?:\.\d+)?)\s*(?:(?P<percent>%)|(?P<unit>[bkmgtp]?)(?:i?b)?)$", re.IGNORECASE)

# service_check: the options of one type only, and the options each type requires.
SERVICE_ONLY = {"url": "http", "body_pattern": "http", "login_user": "mysql", "login_password": "mysql",
                "login_unix_socket": "mysql"}
SERVICE_REQUIRED_IF = [
    ("type", "tcp", ["port"]),
    ("type", "http", ["url"]),
    ("type", "mysql", ["login_user"]),
]


class CheckOptionError(Exception):
    """A user mistake in the options of a check; the message starts with the option's name."""


# disk_alert

def parse_threshold(value, option):
    """("percent", p) for "90%", ("free", bytes) for "10G"; None for None."""
    if value is None:
        return None
    rule = "must be a percent used like 90% or bytes free like 10G, 500M (units B, K, M, G, T, P)"
    match = THRESHOLD.match(str(value).strip())
    if not match:
        raise CheckOptionError(f"{option}: {str(value)!r} {rule}")
    number = float(match["number"])
    if match["percent"]:
        if number > 100:
            raise CheckOptionError(f"{option}: {str(value)!r} must be a percent from 0% to 100% (alerts when Use% is over it)")
        return ("percent", number)
    if not match["unit"]:
        raise CheckOptionError(f"{option}: {str(value)!r} {rule}; a bare number is ambiguous, add % or a unit")
    return ("free", int(number * UNITS[match["unit"].lower()]))


def parse_inode(value, option):
    if value is None:
        return None
    text = str(value).strip()
    parsed = parse_threshold(text if text.endswith("%") else text + "%", option)
    return parsed[1]


def check_order(warning, critical, option):
    """A warning must come before the critical level when both are of one kind."""
    if warning is None or critical is None or warning[0] != critical[0]:
        return
    if warning[0] == "percent" and warning[1] > critical[1]:
        raise CheckOptionError(f"{option}: the warning threshold {show(warning)} is above the critical one "
                               f"{show(critical)}; a warning comes first")
    if warning[0] == "free" and warning[1] < critical[1]:
        raise CheckOptionError(f"{option}: the warning threshold {show(warning)} free is below the critical one "
                               f"{show(critical)} free; a warning comes first")


def show(threshold):
    kind, number = threshold
    if kind == "percent":
        return f"{number:g}%"
    return human(number)


def human(size):
    """Bytes as df -h shows them (binary units, one decimal)."""
    value = float(size)
    for unit in ("B", "K", "M", "G", "T"):
        if value < 1024:
            return f"{int(value)}{unit}" if unit == "B" else f"{value:.1f}{unit}"
        value /= 1024
    return f"{value:.1f}P"


def normalize_mount(path):
    path = str(path)
    return path.rstrip("/") or "/" if path.startswith("/") else path


def validate_disk(params):
    """disk_alert's checked options: {"mute": seconds, "default": (warning, critical), "per_mount": {mount:
    (warning, critical)}, "inodes": (warning %, critical %)}."""
    settings = {"mute": parse_duration(params["mute_for"], "mute_for")}
    warning = parse_threshold(params["warning"], "warning")
    critical = parse_threshold(params["critical"], "critical")
    check_order(warning, critical, "warning")
    settings["default"] = (warning, critical)
    per_mount = {}
    for index, entry in enumerate(params["thresholds"]):
        option = f"thresholds[{index}]"
        mount = normalize_mount(entry["mount"])
        if not mount.startswith("/"):
            raise CheckOptionError(f"{option}: mount {entry['mount']!r} must be an absolute mount point such as /data")
        if mount in per_mount:
            raise CheckOptionError(f"{option}: mount {mount} is given twice")
        mount_warning = parse_threshold(entry["warning"], f"{option}.warning") if entry["warning"] is not None else warning
        mount_critical = (parse_threshold(entry["critical"], f"{option}.critical")
                          if entry["critical"] is not None else critical)
        check_order(mount_warning, mount_critical, option)
        per_mount[mount] = (mount_warning, mount_critical)
    settings["per_mount"] = per_mount
    inode_warning = parse_inode(params["inode_warning"], "inode_warning")
    inode_critical = parse_inode(params["inode_critical"], "inode_critical")
    check_order(("percent", inode_warning) if inode_warning is not None else None,
                ("percent", inode_critical) if inode_critical is not None else None, "inode_warning")
    settings["inodes"] = (inode_warning, inode_critical)
    return settings


# process_check

def validate_process(params):
    """process_check's compiled pattern, once pattern, min and max are checked (user and mute_for are the
    module's: the user is looked up on the host)."""
    try:
        pattern = re.compile(params["pattern"])
    except re.error as exc:
        raise CheckOptionError(f"pattern: {params['pattern']!r} is not a Python regular expression: {exc}") from exc
    if params["min"] < 0:
        raise CheckOptionError(f"min: {params['min']} must be 0 or more")
    if params["max"] is not None and params["max"] < params["min"]:
        raise CheckOptionError(f"max: {params['max']} is below min {params['min']}")
    return pattern


# service_check

def validate_service(params):
    """service_check's (compiled body_pattern or None, mute seconds)."""
    kind = params["type"]
    for option, only in SERVICE_ONLY.items():
        if params[option] is not None and kind != only:
            raise CheckOptionError(f"{option}: only used with type={only}, not type={kind}")
    if kind == "http" and params["port"] is not None:
        raise CheckOptionError("port: not used with type=http; give the port in url")
    if params["port"] is not None and not 1 <= params["port"] <= 65535:
        raise CheckOptionError(f"port: {params['port']} must be between 1 and 65535")
    if not params["timeout"] > 0:
        raise CheckOptionError(f"timeout: {params['timeout']} must be more than 0 seconds")
    if not params["host"] or not params["host"].strip():
        raise CheckOptionError("host: must not be empty")
    pattern = None
    if kind == "http":
        parts = urlsplit(params["url"])
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CheckOptionError(f"url: {params['url']!r} must be an http:// or https:// URL with a host")
        if not params["status_codes"]:
            raise CheckOptionError("status_codes: must list at least one status")
        for code in params["status_codes"]:
            if not 100 <= code <= 599:
                raise CheckOptionError(f"status_codes: {code} is not an HTTP status (100 to 599)")
        if params["body_pattern"] is not None:
            try:
                pattern = re.compile(params["body_pattern"])
            except re.error as exc:
                raise CheckOptionError(
                    f"body_pattern: {params['body_pattern']!r} is not a Python regular expression: {exc}") from exc
    return pattern, parse_duration(params["mute_for"], "mute_for")


# top_processes

def validate_top(params):
    """top_processes' count, interval and width (the user is the module's: it is looked up on the host)."""
    if not 1 <= params["count"] <= 100:
        raise CheckOptionError(f"count: {params['count']} must be from 1 to 100")
    if not 0.1 <= params["interval"] <= 10:
        raise CheckOptionError(f"interval: {params['interval']} must be from 0.1 to 10 seconds")
    if params["width"] < 10:
        raise CheckOptionError(f"width: {params['width']} must be 10 or more")
