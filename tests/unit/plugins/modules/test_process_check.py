# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.jvmops.deploy.plugins.modules import process_check

NOBODY = 65534 if os.getuid() != 65534 else 65533
ARTIFACTORY = ["java", "-cp", "/opt/a.jar", "org.artifactory.standalone.main.Main"]


@pytest.fixture(name="run")
def run_fixture(invoke, tmp_path, monkeypatch):
    proc = tmp_path / "proc"
    proc.mkdir()
    monkeypatch.setattr(process_check, "_PROC", str(proc))

    def spawn(pid, args, uid=0, parent=1):
        directory = proc / str(pid)
        directory.mkdir()
        (directory / "cmdline").write_bytes(b"".join(arg.encode() + b"\0" for arg in args))
        (directory / "status").write_text(f"Name:\tx\nPPid:\t{parent}\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\n")

    def kill(pid):
        for child in (proc / str(pid)).iterdir():
            child.unlink()
        (proc / str(pid)).rmdir()

    def run(check=False, diff=False, **args):
        args.setdefault("state_file", str(tmp_path / "state" / "alerts.json"))
        args.setdefault("host_label", "web1")
        return invoke(process_check.main, args, check=check, diff=diff)

    spawn(1, ["/sbin/init"])
    spawn(2, [])  # a kernel thread: no command line
    run.spawn = spawn
    run.kill = kill
    run.state = tmp_path / "state" / "alerts.json"
    return run


def test_counts_matching_processes(run):
    run.spawn(100, ARTIFACTORY, uid=0)
    run.spawn(101, ["bash", "-c", "sleep 1"])
    result = run(pattern=r"org\.artifactory\..*Main").result
    assert result["count"] == 1 and result["alerts"] == [] and not result["changed"]
    assert result["processes"] == [{"pid": 100, "user": "root", "cmdline": " ".join(ARTIFACTORY)}]


def test_not_running_is_critical_by_default(run):
    result = run(pattern="artifactory", name="Artifactory").result
    assert result["count"] == 0 and result["changed"]
    assert result["alerts"] == [{"host": "web1", "check": "process", "subject": "Artifactory", "level": "critical",
                                 "value": 0, "threshold": ">= 1", "message": "Artifactory is not running"}]


def test_own_process_parent_and_wrappers_are_not_counted(run):
    me, parent = os.getpid(), os.getppid()
    run.spawn(me, ["/usr/bin/python3", "/root/.ansible/tmp/AnsiballZ_process_check.py"], parent=parent)
    run.spawn(parent, ["/bin/sh", "-c", "/usr/bin/python3 /root/.ansible/tmp/AnsiballZ_process_check.py"], parent=900001)
    run.spawn(900001, ["sudo", "-u", "root", "/bin/sh", "-c", "python3 AnsiballZ_process_check.py"], parent=900002)
    run.spawn(900002, ["sshd: admin@notty"], parent=900003)
    run.spawn(900003, ["/usr/sbin/sshd", "-D", "python3"])
    result = run(pattern="python3|sshd").result
    assert [p["pid"] for p in result["processes"]] == [900002, 900003]


def test_on_the_controller_host_the_ansible_command_is_not_counted(run):
    me, parent = os.getpid(), os.getppid()
    run.spawn(me, ["/usr/bin/python3", "/root/.ansible/tmp/AnsiballZ_process_check.py"], parent=parent)
    run.spawn(parent, ["/bin/sh", "-c", "/usr/bin/python3 /root/.ansible/tmp/AnsiballZ_process_check.py"], parent=900001)
    ad_hoc = ["/usr/bin/python3", "/usr/bin/ansible", "localhost", "-m", "process_check", "-a", "pattern=java"]
    run.spawn(900001, ad_hoc, parent=900002)  # the worker, a fork of the command
    run.spawn(900002, ad_hoc, parent=900003)
    run.spawn(900003, ["bash", "-c", "echo java"], parent=1)
    run.spawn(900004, ["java", "-jar", "app.jar"])
    assert [p["pid"] for p in run(pattern="java").result["processes"]] == [900003, 900004]


def test_user_filter_and_long_command_lines(run):
    run.spawn(100, ["nginx: worker process"], uid=NOBODY)
    run.spawn(101, ["nginx: worker process", "x" * 300], uid=NOBODY)
    run.spawn(102, ["nginx: master process"], uid=0)
    result = run(pattern="^nginx", user=str(NOBODY)).result
    assert [p["pid"] for p in result["processes"]] == [100, 101]
    assert len(result["processes"][1]["cmdline"]) == 200
    assert [p["pid"] for p in run(pattern="^nginx", user="root").result["processes"]] == [102]


def test_too_many_and_level(run):
    for pid in range(100, 104):
        run.spawn(pid, ["worker"])
    result = run(pattern="worker", min=2, max=3, level="warning").result
    assert [(a["level"], a["value"], a["threshold"], a["message"]) for a in result["alerts"]] == [
        ("warning", 4, "<= 3", "worker: 4 running, more than 3")]
    result = run(pattern="worker", min=5, state_file=str(run.state) + ".2").result
    assert result["alerts"][0]["message"] == "worker: 4 running, fewer than 5"


def test_mute_window_then_recovery_once(run):
    first = run(pattern="artifactory", name="Artifactory", mute_for="31m").result
    assert first["changed"] and len(first["alerts"]) == 1
    second = run(pattern="artifactory", name="Artifactory", mute_for="31m").result
    assert not second["changed"] and second["alerts"] == [] and len(second["all_alerts"]) == 1
    run.spawn(100, ARTIFACTORY)
    third = run(pattern="artifactory", name="Artifactory", mute_for="31m").result
    assert third["changed"]
    assert [(a["level"], a["message"]) for a in third["alerts"]] == [("recovery", "Artifactory recovered: 1 running")]
    assert json.loads(run.state.read_text())["alerts"] == []
    assert not run(pattern="artifactory", name="Artifactory", mute_for="31m").result["changed"]
    run.kill(100)
    assert len(run(pattern="artifactory", name="Artifactory", mute_for="31m").result["alerts"]) == 1


def test_check_mode_writes_no_state(run):
    result = run(check=True, pattern="artifactory").result
    assert result["changed"] and len(result["alerts"]) == 1
    assert not run.state.exists()


@pytest.mark.parametrize("args, message", [
    ({"pattern": "java ("}, "pattern: 'java (' is not a Python regular expression"),
    ({"pattern": "x", "min": -1}, "min: -1 must be 0 or more"),
    ({"pattern": "x", "min": 3, "max": 2}, "max: 2 is below min 3"),
    ({"pattern": "x", "user": "no-such-user-jvmops"}, "user: there is no user 'no-such-user-jvmops'"),
    ({"pattern": "x", "mute_for": "5y"}, "mute_for: '5y' must be a duration"),
])
def test_bad_input_fails_before_reading_processes(run, monkeypatch, args, message):
    monkeypatch.setattr(process_check, "find", lambda *a: pytest.fail("processes read"))
    out = run(**args)
    assert out.failed and out.result["msg"].startswith(message), out.result["msg"]


def test_diff_mode_shows_the_state_file_before_and_after(run):
    first = run(diff=True, check=True, pattern="no-such-daemon", name="Artifactory", mute_for="1h").result
    assert first["changed"] and json.loads(first["diff"]["before"])["alerts"] == []
    [record] = json.loads(first["diff"]["after"])["alerts"]
    found = (record["host"], record["check"], record["subject"], record["level"])
    assert found == ("web1", "process", "Artifactory", "critical")
    assert first["diff"]["before_header"].endswith("alerts.json")
    plain = run(pattern="no-such-daemon", name="Artifactory", mute_for="1h").result
    assert "diff" not in plain
    again = run(diff=True, pattern="no-such-daemon", name="Artifactory", mute_for="1h").result
    assert not again["changed"] and again["diff"]["before"] == again["diff"]["after"]
