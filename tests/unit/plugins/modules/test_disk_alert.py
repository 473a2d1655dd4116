# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import json
import os
import time
from types import SimpleNamespace

import pytest

from ansible_collections.jvmops.deploy.plugins.modules import disk_alert

GIB = 1024 ** 3
MOUNTS = """\
proc /proc proc rw,relatime 0 0
sysfs /sys sysfs rw,relatime 0 0
tmpfs /run tmpfs rw,nosuid 0 0
overlay / overlay rw,relatime,lowerdir=/x 0 0
/dev/vda1 /data ext4 rw,relatime 0 0
/dev/vda1 /data/bind ext4 rw,relatime 0 0
/dev/vdb1 /srv/my\\040files xfs rw 0 0
/dev/vdc1 /media/cdrom iso9660 ro,relatime 0 0
none /empty fuseblk rw 0 0
"""


def fs(used, avail, reserved=0, frsize=1, files=100, ffree=60):
    """A statvfs result: used and avail blocks, blocks reserved for root (free but not available)."""
    return SimpleNamespace(f_blocks=used + avail + reserved, f_bfree=avail + reserved, f_bavail=avail, f_frsize=frsize,
                           f_files=files, f_ffree=ffree)


@pytest.fixture(name="run")
def run_fixture(invoke, tmp_path, monkeypatch):
    mounts = tmp_path / "mounts"
    mounts.write_text(MOUNTS)
    monkeypatch.setattr(disk_alert, "_MOUNTS", str(mounts))
    disks = {"/": fs(40, 60), "/data": fs(50, 50), "/data/bind": fs(50, 50), "/srv/my files": fs(10, 90),
             "/media/cdrom": fs(100, 0), "/empty": fs(0, 0), "/proc": fs(0, 0), "/sys": fs(0, 0), "/run": fs(1, 99)}
    calls = []

    def statvfs(path):
        calls.append(path)
        return disks[path]

    monkeypatch.setattr(disk_alert.os, "statvfs", statvfs)

    def run(check=False, **args):
        args.setdefault("state_file", str(tmp_path / "state" / "alerts.json"))
        args.setdefault("host_label", "web1")
        return invoke(disk_alert.main, args, check=check)

    run.disks = disks
    run.calls = calls
    run.state = tmp_path / "state" / "alerts.json"
    run.warnings = invoke.warnings
    return run


def by_mount(result):
    return {m["mount"]: m for m in result["measurements"]}


@pytest.mark.parametrize("used, avail, percent", [(9, 1, 90), (901, 99, 91), (900, 100, 90), (1, 999, 1), (0, 10, 0),
                                                  (10, 0, 100)])
def test_use_percent_is_rounded_up_as_df_does(run, used, avail, percent):
    run.disks["/data"] = fs(used, avail, reserved=50)
    assert by_mount(run(mounts=["/data"]).result)["/data"]["use_percent"] == percent


def test_sizes_and_inodes(run):
    run.disks["/data"] = fs(3 * 1024, 1024, reserved=512, frsize=4096, files=1000, ffree=333)
    found = by_mount(run(mounts=["/data"]).result)["/data"]
    assert found == {"mount": "/data", "device": "/dev/vda1", "fs_type": "ext4", "size": 4608 * 4096,
                     "used": 3 * 1024 * 4096, "available": 1024 * 4096, "use_percent": 75, "inodes_use_percent": 67}


def test_pseudo_readonly_empty_and_bind_mounts_are_skipped(run):
    result = run().result
    assert sorted(by_mount(result)) == ["/", "/data", "/srv/my files"]
    assert "/proc" not in run.calls and "/media/cdrom" not in run.calls and "/data/bind" not in run.calls
    assert sorted(by_mount(run(include_readonly=True).result)) == ["/", "/data", "/media/cdrom", "/srv/my files"]
    assert sorted(by_mount(run(fs_types=["tmpfs"]).result)) == ["/run"]


def test_mount_patterns(run):
    assert sorted(by_mount(run(mounts=["/srv/*", "/"]).result)) == ["/", "/srv/my files"]
    assert sorted(by_mount(run(mounts=["/data/b*"]).result)) == ["/data/bind"]


def test_default_critical_is_over_90_percent(run):
    run.disks["/data"] = fs(90 * GIB, 10 * GIB)
    assert run().result["alerts"] == []  # 90% is not over 90
    run.disks["/data"] = fs(93 * GIB, 7 * GIB)
    result = run().result
    assert result["alerts"] == [{"host": "web1", "check": "disk", "subject": "/data", "level": "critical", "value": 93,
                                 "threshold": "90%", "message": "Use% over 90: /data is at 93% (93.0G of 100.0G used)"}]
    assert result["changed"]


def test_warning_and_per_mount_bytes_free(run):
    run.disks["/data"] = fs(85 * GIB, 15 * GIB)
    run.disks["/"] = fs(80 * GIB, 4 * GIB)
    result = run(warning="80%", thresholds=[{"mount": "/", "critical": "5G"}]).result
    levels = {(a["subject"], a["level"], a["value"]) for a in result["alerts"]}
    assert levels == {("/data", "warning", 85), ("/", "critical", 4 * GIB)}
    message = [a["message"] for a in result["alerts"] if a["subject"] == "/"][0]
    assert message == "Available under 5.0G: / has 4.0G free (96% used)"
    assert not run(warning="80%", thresholds=[{"mount": "/", "warning": "1G", "critical": "500M"}],
                   mounts=["/"], state_file=str(run.state) + ".2").result["alerts"]


def test_inode_thresholds(run):
    run.disks["/data"] = fs(1, 99, files=1000, ffree=40)
    result = run(mounts=["/data"], inode_warning="90%", inode_critical="95").result
    assert [(a["check"], a["level"], a["value"]) for a in result["alerts"]] == [("disk_inodes", "critical", 96)]


def test_mute_window_then_recovery(run):
    run.disks["/data"] = fs(95, 5)
    first = run(mute_for="30m").result
    assert first["changed"] and len(first["alerts"]) == 1
    record = json.loads(run.state.read_text())["alerts"]
    assert [(r["subject"], r["level"]) for r in record] == [("/data", "critical")]
    second = run(mute_for="30m").result
    assert not second["changed"] and second["alerts"] == [] and len(second["all_alerts"]) == 1
    run.disks["/data"] = fs(50, 50)
    third = run(mute_for="30m").result
    assert third["changed"]
    assert [(a["level"], a["message"]) for a in third["alerts"]] == [("recovery", "/data recovered: Use% 50 (50B of 100B used)")]
    assert not run(mute_for="30m").result["changed"]


def test_mute_window_passes(run):
    run.disks["/data"] = fs(95, 5)
    run(mute_for=60)
    assert run(mute_for=60).result["alerts"] == []
    state = json.loads(run.state.read_text())
    state["alerts"][0]["sent_at"] = time.time() - 61  # sent a minute ago
    run.state.write_text(json.dumps(state))
    again = run(mute_for=60).result
    assert len(again["alerts"]) == 1 and again["changed"]


def test_check_mode_writes_no_state(run):
    run.disks["/data"] = fs(95, 5)
    result = run(check=True).result
    assert result["changed"] and len(result["alerts"]) == 1
    assert not run.state.exists() and not run.state.parent.exists()


def test_no_alert_no_change_no_file(run):
    result = run().result
    assert not result["changed"] and result["alerts"] == [] and not run.state.exists()


@pytest.mark.parametrize("args, message", [
    ({"critical": "150%"}, "critical: '150%' must be a percent from 0% to 100%"),
    ({"critical": "10Q"}, "critical: '10Q' must be a percent used like 90% or bytes free like 10G"),
    ({"critical": "90"}, "critical: '90' must be a percent used"),
    ({"warning": "95%"}, "warning: the warning threshold 95% is above the critical one 90%"),
    ({"warning": "1G", "critical": "5G"}, "warning: the warning threshold 1.0G free is below the critical one 5.0G"),
    ({"thresholds": [{"mount": "/data", "warning": "99%"}]}, "thresholds[0]: the warning threshold 99%"),
    ({"thresholds": [{"mount": "/data", "critical": "-3%"}]}, "thresholds[0].critical: '-3%' must be"),
    ({"thresholds": [{"mount": "data"}]}, "thresholds[0]: mount 'data' must be an absolute mount point"),
    ({"mute_for": "-5m"}, "mute_for: '-5m' must be a duration like 90s, 30m, 1h or 2d, not negative"),
    ({"inode_critical": "101%"}, "inode_critical: '101%' must be a percent"),
    ({"inode_warning": "96%", "inode_critical": "95%"}, "inode_warning: the warning threshold 96%"),
])
def test_bad_input_fails_before_measuring(run, args, message):
    out = run(**args)
    assert out.failed and out.result["msg"].startswith(message), out.result["msg"]
    assert run.calls == []


def test_corrupt_state_file_fails_before_measuring(run):
    run.state.parent.mkdir()
    run.state.write_text("{")
    out = run()
    assert out.failed and out.result["msg"].startswith("state_file:") and run.calls == []


def test_unknown_per_mount_threshold_warns(run):
    run(thresholds=[{"mount": "/nowhere/", "critical": "95%"}])
    assert run.warnings == ["thresholds: mount /nowhere is not among the file systems checked here"]


def test_measures_this_machine():
    """The real statvfs of /, against what os gives directly."""
    found = disk_alert.measure("rootfs", "/", "ext4")
    stats = os.statvfs("/")
    assert found["size"] == stats.f_blocks * stats.f_frsize
    assert 0 <= found["use_percent"] <= 100
