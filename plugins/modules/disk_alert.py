# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: disk_alert
short_description: Measure disk and inode use of the mounted file systems as df does, and alert over thresholds
version_added: 0.1.0
author:
  - jvmops.deploy contributors (@jvmops)
description:
  - Reads the mounted file systems from C(/proc/self/mounts) and measures each one with C(statvfs), without
    running C(df). Use% is computed as C(df) computes it, used / (used + available) rounded up to a whole percent,
    where used is the blocks in use and available the blocks an unprivileged user may still take (the blocks reserved
    for root count as neither), so the numbers match C(df -P).
  - A file system whose Use% is over a percent threshold (C(90%) alerts at 91%, not at 90%), or whose available space
    is under a bytes-free threshold (C(10G)), gives an alert of level C(critical), else of level C(warning) when over
    the warning threshold. The same for inode use with O(inode_warning) and O(inode_critical).
  - An alert already sent for the same host, mount point and level is not sent again until O(mute_for) has passed;
    when a mount point that had an alert is back under its thresholds, one C(recovery) alert is sent. What was sent
    is kept in O(state_file) on the monitored host.
  - Skipped unless chosen with O(fs_types) - pseudo and memory file systems (C(proc), C(sysfs), C(cgroup), C(devpts),
    C(tmpfs), C(devtmpfs), C(ramfs), C(squashfs), C(overlay) and the like; the root mount point C(/) is kept whatever
    its type, so a container's overlay root is measured) and every file system that reports no blocks. Read-only
    mounts are skipped unless O(include_readonly=true). A block device mounted at several places (bind mounts) is
    measured once, at its shortest mount point, as C(df) does.
  - Bad options (a threshold of C(150%), an unknown unit such as C(10Q), a negative O(mute_for), a warning threshold
    beyond the critical one) fail the task before anything is measured.
  - The task reports RV(alerts) and does not fail because of them; use C(failed_when) to make it fail.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - jvmops.deploy.alerts
attributes:
  check_mode:
    support: full
    details: Measures and returns the alerts that would be sent; the state file is not written.
  platform:
    platforms: posix
options:
  mounts:
    description:
      - Mount points to check, as shell-style patterns (C(/), C(/data*), C(/srv/*)); C(*) also matches C(/).
      - By default every mounted file system that is not skipped by type.
    type: list
    elements: str
    default: ["*"]
  fs_types:
    description:
      - Check only file systems of these types (C(ext4), C(xfs), C(tmpfs) ...). When given, the default list of
        skipped pseudo and memory file system types is not applied.
    type: list
    elements: str
  include_readonly:
    description:
      - Also check file systems mounted read-only.
    type: bool
    default: false
  warning:
    description:
      - Warning threshold for every mount point, as a percent used (C(80%), alerts when Use% is over it) or as bytes
        free (C(20G), C(500M), C(1T), C(4096B); binary units; alerts when the available space is under it).
      - No warnings when not given.
    type: str
  critical:
    description:
      - Critical threshold for every mount point, in the same forms as O(warning).
    type: str
    default: 90%
  thresholds:
    description:
      - Thresholds for single mount points, over O(warning) and O(critical).
    type: list
    elements: dict
    default: []
    suboptions:
      mount:
        description: The mount point, as an exact path.
        type: str
        required: true
      warning:
        description: Warning threshold for this mount point; O(warning) when not given.
        type: str
      critical:
        description: Critical threshold for this mount point; O(critical) when not given.
        type: str
  inode_warning:
    description:
      - Warning threshold of inode use, a percent (C(80%)); alerts when inode Use% is over it.
    type: str
  inode_critical:
    description:
      - Critical threshold of inode use, a percent (C(95%)).
    type: str
"""

EXAMPLES = r"""
- name: Alert when a disk is over 90% full (the default)
  jvmops.deploy.disk_alert:
  register: disks

- name: Warn at 80%, critical at 95% or under 5G free on /data, inodes too, one alert per hour
  jvmops.deploy.disk_alert:
    warning: 80%
    critical: 95%
    thresholds:
      - mount: /data
        critical: 5G
    inode_warning: 80%
    inode_critical: 95%
    mute_for: 1h
  register: disks

- name: Fail the play on a critical disk
  jvmops.deploy.disk_alert:
    mounts: ["/", "/var*"]
    critical: 95%
  register: disks
  failed_when: disks.alerts | selectattr('level', 'eq', 'critical') | list | length > 0

- name: Show what was found
  ansible.builtin.debug:
    msg: "{{ disks.alerts | map(attribute='message') | list }}"
"""

RETURN = r"""
measurements:
  description: Each file system checked, sizes in bytes; C(inodes_use_percent) is null when it has no inode count.
  type: list
  elements: dict
  returned: always
  sample: [{"mount": "/", "device": "/dev/vda1", "fs_type": "ext4", "size": 13958643712, "used": 12992276480,
            "available": 966367232, "use_percent": 94, "inodes_use_percent": 41}]
alerts:
  description:
    - The alerts to send now, after the mute window and with the recoveries; each with host, check (C(disk) or
      C(disk_inodes)), subject (the mount point), level (C(warning), C(critical) or C(recovery)), value (the Use% or,
      for a bytes-free threshold, the available bytes), threshold and message.
  type: list
  elements: dict
  returned: always
  sample: [{"host": "web1", "check": "disk", "subject": "/", "level": "critical", "value": 94, "threshold": "90%",
            "message": "Use% over 90: / is at 94% (12.1G of 13.0G used)"}]
all_alerts:
  description: Every alert found this run, before the mute window (no recoveries).
  type: list
  elements: dict
  returned: always
  sample: [{"host": "web1", "check": "disk", "subject": "/", "level": "critical", "value": 94, "threshold": "90%",
            "message": "Use% over 90: / is at 94% (12.1G of 13.0G used)"}]
"""

import fnmatch
import os
import re
import socket

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.jvmops.deploy.plugins.module_utils._alerts import (
    AlertOptionError,
    AlertState,
    alert,
    alert_state_spec,
)
from ansible_collections.jvmops.deploy.plugins.module_utils._checks import (
    CheckOptionError,
    human,
    show,
    validate_disk,
)

# Where the mounted file systems are listed (tests point it at a file of their own).
_MOUNTS = "/proc/self/mounts"
# Pseudo and memory file systems, skipped unless fs_types asks for them (as df -x would); "/" is always kept.
SKIPPED_FS_TYPES = frozenset((
    "autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs", "devpts", "devtmpfs", "efivarfs",
    "fuse.gvfsd-fuse", "fuse.lxcfs", "fuse.portal", "fusectl", "hugetlbfs", "mqueue", "nfsd", "nsfs", "overlay",
    "proc", "pstore", "ramfs", "rpc_pipefs", "securityfs", "selinuxfs", "squashfs", "sysfs", "tmpfs", "tracefs",
))
ESCAPE = re.compile(r"\\([0-7]{3})")


def unescape(field):
    """/proc/self/mounts writes space, tab, newline and backslash in octal (\\040)."""
    return ESCAPE.sub(lambda match: chr(int(match.group(1), 8)), field)


def read_mounts():
    """(device, mount, fs_type, read_only) of each mounted file system; an over-mounted point once, as the last."""
    entries = {}
    with open(_MOUNTS, "r", encoding="utf-8", errors="surrogateescape") as handle:
        for line in handle:
            fields = line.split()
            if len(fields) < 4:
                continue
            device, mount, fs_type = unescape(fields[0]), unescape(fields[1]), fields[2]
            entries.pop(mount, None)
            entries[mount] = (device, mount, fs_type, "ro" in fields[3].split(","))
    return list(entries.values())


def select(mounts, params):
    """The mounts the options choose; a block device once, at its shortest mount point."""
    chosen = []
    for device, mount, fs_type, read_only in mounts:
        if not any(fnmatch.fnmatchcase(mount, pattern) for pattern in params["mounts"]):
            continue
        if params["fs_types"]:
            if fs_type not in params["fs_types"]:
                continue
        elif fs_type in SKIPPED_FS_TYPES and mount != "/":
            continue
        if read_only and not params["include_readonly"]:
            continue
        chosen.append((device, mount, fs_type))
    shortest = {}
    for device, mount, _fs_type in chosen:
        if device.startswith("/") and (device not in shortest or len(mount) < len(shortest[device])):
            shortest[device] = mount
    return [entry for entry in chosen if not entry[0].startswith("/") or shortest[entry[0]] == entry[1]]


def ceil_percent(part, whole):
    return -(-part * 100 // whole) if whole else 0


def measure(device, mount, fs_type):
    """The sizes of one file system as df -P and df -i compute them; None when it has no blocks."""
    stats = os.statvfs(mount)
    if not stats.f_blocks:
        return None
    used = (stats.f_blocks - stats.f_bfree) * stats.f_frsize
    available = stats.f_bavail * stats.f_frsize
    inodes_used = stats.f_files - stats.f_ffree
    return {
        "mount": mount,
        "device": device,
        "fs_type": fs_type,
        "size": stats.f_blocks * stats.f_frsize,
        "used": used,
        "available": available,
        "use_percent": ceil_percent(used, used + available),
        "inodes_use_percent": ceil_percent(inodes_used, inodes_used + stats.f_ffree) if stats.f_files else None,
    }


def space_alert(host, found, limits):
    """The space alert of one measurement, or None."""
    for level, threshold in (("critical", limits[1]), ("warning", limits[0])):
        if threshold is None:
            continue
        kind, number = threshold
        if kind == "percent" and found["use_percent"] > number:
            return alert(host, "disk", found["mount"], level, found["use_percent"], show(threshold),
                         f"Use% over {number:g}: {found['mount']} is at {found['use_percent']}% "
                         f"({human(found['used'])} of {human(found['size'])} used)")
        if kind == "free" and found["available"] < number:
            return alert(host, "disk", found["mount"], level, found["available"], show(threshold),
                         f"Available under {human(number)}: {found['mount']} has {human(found['available'])} free "
                         f"({found['use_percent']}% used)")
    return None


def inode_alert(host, found, limits):
    if found["inodes_use_percent"] is None:
        return None
    for level, number in (("critical", limits[1]), ("warning", limits[0])):
        if number is not None and found["inodes_use_percent"] > number:
            return alert(host, "disk_inodes", found["mount"], level, found["inodes_use_percent"], f"{number:g}%",
                         f"Inode use% over {number:g}: {found['mount']} is at {found['inodes_use_percent']}%")
    return None


def run(module):
    """(changed, result) of measuring the chosen file systems and settling their alerts."""
    params = module.params
    settings = validate_disk(params)
    host = params["host_label"] or socket.gethostname()
    state = AlertState(params["state_file"]).load()
    measurements = []
    for device, mount, fs_type in select(read_mounts(), params):
        try:
            found = measure(device, mount, fs_type)
        except OSError as exc:
            module.warn(f"Failed to measure file system '{mount}': {to_native(exc.strerror or exc)}")
            continue
        if found is not None:
            measurements.append(found)
    for mount in sorted(set(settings["per_mount"]) - {m["mount"] for m in measurements}):
        module.warn(f"thresholds: mount {mount} is not among the file systems checked here")
    space, inodes = [], []
    for found in measurements:
        limits = settings["per_mount"].get(found["mount"], settings["default"])
        space.append(space_alert(host, found, limits))
        inodes.append(inode_alert(host, found, settings["inodes"]))
    space = [a for a in space if a]
    inodes = [a for a in inodes if a]
    by_mount = {m["mount"]: m for m in measurements}
    alerts = state.settle("disk", host, space, {m["mount"]: m["use_percent"] for m in measurements}, settings["mute"])
    inode_checked = {m["mount"]: m["inodes_use_percent"] for m in measurements if m["inodes_use_percent"] is not None}
    alerts += state.settle("disk_inodes", host, inodes, inode_checked, settings["mute"])
    for sent in alerts:
        if sent["level"] == "recovery":
            found = by_mount[sent["subject"]]
            sent["message"] = (f"{found['mount']} recovered: Use% {found['use_percent']} "
                               f"({human(found['used'])} of {human(found['size'])} used)"
                               if sent["check"] == "disk" else
                               f"{found['mount']} recovered: inode Use% {found['inodes_use_percent']}")
    changed = state.save(module)
    result = {"measurements": measurements, "alerts": alerts, "all_alerts": space + inodes}
    if module._diff:
        result["diff"] = state.diff()
    return changed, result


def main():
    module = AnsibleModule(
        argument_spec={
            "mounts": {"type": "list", "elements": "str", "default": ["*"]},
            "fs_types": {"type": "list", "elements": "str"},
            "include_readonly": {"type": "bool", "default": False},
            "warning": {"type": "str"},
            "critical": {"type": "str", "default": "90%"},
            "thresholds": {"type": "list", "elements": "dict", "default": [], "options": {
                "mount": {"type": "str", "required": True},
                "warning": {"type": "str"},
                "critical": {"type": "str"},
            }},
            "inode_warning": {"type": "str"},
            "inode_critical": {"type": "str"},
            **alert_state_spec(),
        },
        supports_check_mode=True,
    )
    try:
        changed, result = run(module)
    except (CheckOptionError, AlertOptionError) as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=changed, **result)


if __name__ == "__main__":
    main()
