# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""jvmops.deploy.run_command on the lab hosts: one shell command on every host of a group."""

from __future__ import annotations

import os
import pty
import select
import signal
import time

import pytest

from conftest import ANSIBLE_BIN, ansible_env

PLAYBOOK = "jvmops.deploy.run_command"
ALL = ["lb1", "app1", "app2", "build1"]


def section(output, host):
    """The lines printed under a host's header in the report."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if f'"== {host}: ' in line)
    body = []
    for line in lines[start + 1:]:
        if '"== ' in line:
            break
        value = line.strip().rstrip(",").strip('"')
        if value in ("]", "}"):
            break
        body.append(value[2:] if value.startswith("  ") else value)
    return lines[start].strip().rstrip(",").strip('"'), body


@pytest.fixture(name="clean_marker")
def clean_marker_fixture(lab):
    def remove():
        for host in ALL:
            lab.ssh(host, "rm -f /root/jvmops-run-marker", check=False)
    remove()
    yield "/root/jvmops-run-marker"
    remove()


def test_lab_hosts_answer_ping(lab):
    run = lab.adhoc("all", "ansible.builtin.ping")
    assert run.rc == 0, run
    assert run.output.count('"ping": "pong"') == 4, run


def test_output_is_grouped_under_each_host(lab):
    run = lab.playbook(PLAYBOOK, {"target": "lab", "command": "'hostname; echo answer-$((6*7))'", "confirm": "true"})
    assert run.rc == 0, run
    for host in ALL:
        header, body = section(run.output, host)
        assert header == f"== {host}: ok, rc=0 ==", run
        assert body[:2] == [host, "answer-42"], run
    assert "== 4 hosts: 4 ok ==" in run.output


def test_readonly_command_converges(lab):
    first = lab.converge(PLAYBOOK, {"target": "app", "command": "uptime", "confirm": "true", "readonly": "true"})
    assert set(first.recap) == {"localhost", "app1", "app2"}
    check = lab.playbook(PLAYBOOK, {"target": "app", "command": "'echo checked'", "confirm": "true",
                                    "readonly": "true"}, check=True)
    assert check.rc == 0 and section(check.output, "app1")[1][0] == "checked", check


def test_check_mode_runs_nothing_then_real_run_changes(lab, clean_marker):
    extra = {"target": "app", "command": f"'touch {clean_marker}'", "confirm": "true"}
    check = lab.playbook(PLAYBOOK, extra, check=True)
    assert check.rc == 0 and not check.changed(), check
    assert "== app1: skipped ==" in check.output
    for host in ("app1", "app2"):
        assert lab.ssh(host, f"test -e {clean_marker}", check=False).returncode == 1
    real = lab.playbook(PLAYBOOK, extra)
    assert real.rc == 0, real
    assert real.changed() == {"app1": 1, "app2": 1}
    for host in ("app1", "app2"):
        assert lab.ssh(host, f"test -e {clean_marker}", check=False).returncode == 0
    assert lab.ssh("lb1", f"test -e {clean_marker}", check=False).returncode == 1


def test_unconfirmed_run_does_nothing(lab, clean_marker):
    run = lab.playbook(PLAYBOOK, {"target": "app", "command": f"'touch {clean_marker}'"})
    assert run.rc != 0
    assert "Not confirmed: nothing was run" in run.output
    assert "pass -e confirm=true" in run.output
    assert lab.ssh("app1", f"test -e {clean_marker}", check=False).returncode == 1


def _run_in_terminal(cmd, answer, timeout=120):
    """Run cmd on a pseudo-terminal, answer the confirmation prompt, return (exit code, output).

    The pause module flushes pending input when it starts reading, so the answer is typed again
    each second until the play moves past the prompt.
    """
    pid, fd = pty.fork()
    if pid == 0:  # child
        os.execve(cmd[0], cmd, ansible_env())
    output, typed_at = b"", None
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _w, _x = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                output += chunk
            prompted = b"Type 'yes' to go on" in output
            moved_on = b"TASK [Stop unless confirmed]" in output
            if prompted and not moved_on and (typed_at is None or time.monotonic() - typed_at > 1):
                os.write(fd, answer.encode() + b"\r")
                typed_at = time.monotonic()
    finally:
        if time.monotonic() >= deadline:
            os.kill(pid, signal.SIGKILL)
        _pid, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), output.decode(errors="replace")


@pytest.mark.parametrize("answer, runs", [("yes", True), ("no", False)])
def test_confirmation_prompt(lab, clean_marker, answer, runs):
    cmd = [str(ANSIBLE_BIN / "ansible-playbook"), "-i", str(lab.inventory), PLAYBOOK,
           "-e", "target=app1", "-e", f"command='touch {clean_marker}'"]
    rc, output = _run_in_terminal(cmd, answer)
    assert "Run this command on 1 host (app1)?" in output
    assert (rc == 0) is runs, output
    assert (lab.ssh("app1", f"test -e {clean_marker}", check=False).returncode == 0) is runs


def test_failed_host_is_listed_and_fails_the_run(lab):
    run = lab.playbook(PLAYBOOK, {"target": "app", "command": "'test $(hostname) != app2'", "confirm": "true",
                                  "readonly": "true"})
    assert run.rc != 0, run
    assert section(run.output, "app1")[0] == "== app1: ok, rc=0 =="
    assert section(run.output, "app2")[0] == "== app2: failed, rc=1 =="
    assert "Failed: app2. Unreachable: none." in run.output


def test_stopped_host_is_reported_unreachable_and_others_still_run(lab):
    lab.stop("build1")
    try:
        run = lab.playbook(PLAYBOOK, {"target": "lab", "command": "hostname", "confirm": "true", "readonly": "true"})
    finally:
        lab.start("build1")
    assert run.rc != 0, run
    for host in ("lb1", "app1", "app2"):
        assert section(run.output, host)[0] == f"== {host}: ok, rc=0 ==", run
        assert section(run.output, host)[1][0] == host
    assert section(run.output, "build1")[0] == "== build1: unreachable =="
    assert "== 4 hosts: 3 ok, 1 unreachable ==" in run.output
    assert "Failed: none. Unreachable: build1." in run.output


@pytest.mark.parametrize("extra, message", [
    ({"target": "app", "confirm": "true"}, "run_command needs `target`"),
    ({"target": "app", "command": "''", "confirm": "true"}, "run_command needs `target`"),
    ({"command": "uptime", "confirm": "true"}, "run_command needs `target`"),
    ({"target": "nosuchgroup", "command": "uptime", "confirm": "true"}, "target 'nosuchgroup' matches no host"),
    ({"target": "app", "command": "uptime", "confirm": "true", "command_timeout": "soon"}, "whole number of seconds"),
])
def test_bad_input_is_refused_before_anything_runs(lab, extra, message):
    run = lab.playbook(PLAYBOOK, extra)
    assert run.rc != 0, run
    assert message in run.output, run
    assert set(run.recap) == {"localhost"}, run


def test_timeout_stops_a_hanging_command(lab):
    run = lab.playbook(PLAYBOOK, {"target": "app1", "command": "'sleep 30'", "confirm": "true",
                                  "readonly": "true", "command_timeout": "2"})
    assert run.rc != 0, run
    assert section(run.output, "app1")[0].startswith("== app1: failed"), run


def test_become_runs_as_root(lab):
    run = lab.playbook(PLAYBOOK, {"target": "app1", "command": "'id -un'", "confirm": "true", "readonly": "true",
                                  "command_become": "true"})
    assert run.rc == 0, run
    assert section(run.output, "app1")[1] == ["root"], run


def test_lab_host_survives_a_reboot(lab, clean_marker):
    lab.ssh("app2", f"touch {clean_marker}")
    run = lab.adhoc("app2", "ansible.builtin.reboot", "reboot_timeout=120")
    assert run.rc == 0, run
    assert '"rebooted": true' in run.output, run
    assert lab.ssh("app2", f"test -e {clean_marker}", check=False).returncode == 0


# ----------------------------------------------------------------------------------------------- as an AWX job


def test_as_an_awx_job_with_survey_answers(awx):
    """The job template's survey gives target, command, readonly and confirm; each host's output is in the events."""
    job = awx.run("run_command.yml", {"target": "app", "command": "hostname; echo answer-$((6*7))",
                                      "readonly": True, "confirm": True})
    assert job.status == "successful" and job.rc == 0, job
    assert not {"runner_on_failed", "runner_on_unreachable"} & set(job.event_names()), job
    assert job.changed(exclude=()) == {}, job.stats
    for host in ("app1", "app2"):
        header, body = section(job.stdout, host)
        assert header == f"== {host}: ok, rc=0 ==" and body[:2] == [host, "answer-42"], job
    assert set(job.stats["ok"]) == {"localhost", "app1", "app2"}, job.stats
    assert job.leaks({"the Machine credential's key": awx.ssh_key.strip().splitlines()[1]}) == []


def test_awx_job_without_confirm_stops_at_once(awx):
    """A job has a terminal but nobody at it: no prompt waits for the idle timeout, nothing runs."""
    started = time.monotonic()
    job = awx.run("run_command.yml", {"target": "app", "command": "touch /root/jvmops-run-marker"}, idle_timeout=120)
    assert time.monotonic() - started < 60, job
    assert job.status == "failed" and "Not confirmed: nothing was run." in job.stdout, job
    assert "Type 'yes' to go on" not in job.stdout, job
    assert not {"app1", "app2"} & set(job.stats["ok"]), job.stats
