# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""jvmops.deploy.monitor_timer on the lab: build1 becomes the monitoring node and runs a playbook against the
app hosts from a systemd timer, with ansible-core and the collection installed on it from the controller.

Only build1 is changed (others use the other hosts meanwhile); app1 and app2 only run a read-only command.
The lab hosts have no route out: ansible-core and its dependencies come as wheels downloaded on this machine
once and kept in $JVMOPS_LAB_CACHE/wheels, the collection as a tarball built from the tree under test,
python3-venv from apt through the lab's apt proxy.

The timed playbook is jvmops.deploy.run_command (read-only, on group app): its report shows what the runs
really executed, and its arguments check the quoting through systemd (% and $ reach the shell on the app hosts).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from conftest import ANSIBLE_BIN, INVENTORY, Run, ansible_env

PLAYBOOK = "jvmops.deploy.monitor_timer"
NODE = "build1"
NAME = "jvmops-monitor"
SERVICE = f"{NAME}.service"
TIMER = f"{NAME}.timer"
UNIT_DIR = "/etc/systemd/system"
ENV_FILE = f"/etc/jvmops-monitor/{NAME}.env"
LOCK = f"/var/lib/jvmops-monitor/{NAME}.lock"
COLLECTION = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("JVMOPS_LAB_CACHE", "/var/cache/jvmops-lab"))
CORE_VERSION = "2.17.14"  # the collection's requires_ansible floor; Debian 12's 3.11 and 13's 3.13 run it
# Long enough that the timer starts no run of its own during the tests, after the one when it is first started.
EVERY, EVERY_SECONDS = "1h", 3600
TIMED_ARGS = ["-e", "target=app", "-e", "command='echo jvmops-$((6*7)) %h'", "-e", "confirm=true",
              "-e", "readonly=true"]

# Secrets with characters that systemd's and the shell's quoting treat specially; each carries a marker that
# must never show up in any output.
MARKERS = {name: uuid.uuid4().hex for name in
           ("JVMOPS_SMTP_USERNAME", "JVMOPS_SMTP_PASSWORD", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN")}
SECRETS = {
    "JVMOPS_SMTP_USERNAME": f"alerts-{MARKERS['JVMOPS_SMTP_USERNAME']}@example.com",
    "JVMOPS_SMTP_PASSWORD": f"pw {MARKERS['JVMOPS_SMTP_PASSWORD']} $HOME ${{X}} \"q\" 'a' %h \\ `id` #",
    "TWILIO_ACCOUNT_SID": f"AC{MARKERS['TWILIO_ACCOUNT_SID']}",
    "TWILIO_AUTH_TOKEN": f"{MARKERS['TWILIO_AUTH_TOKEN']}$%\\\"",
}
STATE = {"removed": False}


def ssh(lab, command, check=True):
    return lab.ssh(NODE, command, check=check)


def show(lab, unit, prop):
    return ssh(lab, f"systemctl show -p {prop} --value {unit}").stdout.strip()


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}", pytrace=False)
        time.sleep(0.5)


def playbook_verbose(lab, extra_json, *args):
    """ansible-playbook with extra command-line options (lab.playbook() takes none), e.g. -vvv."""
    cmd = [str(ANSIBLE_BIN / "ansible-playbook"), "-i", str(lab.inventory), PLAYBOOK, "-e", json.dumps(extra_json),
           *args]
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env=ansible_env(), timeout=900, check=False)
    return Run(proc.returncode, proc.stdout)


def assert_no_secret(run):
    leaked = [name for name, marker in MARKERS.items() if marker in run.output]
    assert not leaked, f"secret values of {leaked} in the output\n{run}"


def wheels(lab):
    """ansible-core and its dependencies as wheels for the node's Python (3.11 on Debian 12, 3.13 on Debian 13),
    downloaded once and cached."""
    python = ssh(lab, "python3 -c 'import sys; print(\"%d.%d\" % sys.version_info[:2])'").stdout.strip()
    wheels_dir = CACHE / "wheels" / f"ansible-core-{CORE_VERSION}-py{python}-manylinux2014_x86_64"
    if wheels_dir.is_dir() and list(wheels_dir.glob(f"ansible_core-{CORE_VERSION}-*.whl")):
        return wheels_dir
    partial = wheels_dir.with_name(wheels_dir.name + ".partial")
    subprocess.run(["rm", "-rf", str(partial)], check=True)
    proc = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:",
                           "--python-version", python, "--platform", "manylinux2014_x86_64",
                           f"ansible-core=={CORE_VERSION}", "-d", str(partial)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        pytest.fail(f"pip download of ansible-core {CORE_VERSION} failed (this machine needs PyPI once):\n"
                    f"{proc.stdout}{proc.stderr}", pytrace=False)
    partial.rename(wheels_dir)
    return wheels_dir


def collection_tarball(work):
    proc = subprocess.run([str(ANSIBLE_BIN / "ansible-galaxy"), "collection", "build", "--force", "--output-path",
                           str(work)], cwd=COLLECTION, capture_output=True, text=True, env=ansible_env(), check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    version = yaml.safe_load((COLLECTION / "galaxy.yml").read_text())["version"]
    return work / f"jvmops-deploy-{version}.tar.gz"


def node_inventory(work):
    """The app hosts as build1 reaches them (with the key and known_hosts the role installs for the monitor user),
    as an inventory directory: hosts, and their connection settings in group_vars."""
    lab_hosts = yaml.safe_load(INVENTORY.read_text())["all"]["children"]["lab"]["hosts"]
    path = work / "node-inventory"
    (path / "group_vars").mkdir(parents=True)
    (path / "hosts.yml").write_text(yaml.safe_dump({"app": {"hosts": {
        host: {"ansible_host": lab_hosts[host]["ansible_host"]} for host in ("app1", "app2")}}}))
    (path / "group_vars" / "all.yml").write_text(yaml.safe_dump({
        "ansible_user": "root", "ansible_python_interpreter": "/usr/bin/python3",
        "ansible_ssh_common_args": "-o ConnectTimeout=5"}))
    return path


@pytest.fixture(scope="module", name="setup")
def setup_fixture(lab, tmp_path_factory):
    """Install the timer on build1: a first run with --diff, a second one at -vvv and a --check --diff one, which must
    change nothing; the secrets come from the controller's environment."""
    work = tmp_path_factory.mktemp("monitor_timer")
    extra = {
        "monitor_timer_host": NODE,
        "monitor_timer_every": EVERY,
        "monitor_timer_playbook": "jvmops.deploy.run_command",
        "monitor_timer_extra_args": TIMED_ARGS,
        "monitor_timer_install_ansible": True,
        "monitor_timer_ansible_core_version": CORE_VERSION,
        "monitor_timer_pip_wheels_src": str(wheels(lab)),
        "monitor_timer_collection_tarballs": [str(collection_tarball(work))],
        "monitor_timer_inventory_src": str(node_inventory(work)),
        "monitor_timer_ssh_private_key_src": str(yaml.safe_load(INVENTORY.read_text())["all"]["vars"]
                                                 ["ansible_ssh_private_key_file"]),
        "monitor_timer_ssh_known_hosts_src": str(INVENTORY.parent / "ssh" / "known_hosts"),
    }
    with pytest.MonkeyPatch.context() as env:
        for name, value in SECRETS.items():
            env.setenv(name, value)
        first = lab.playbook(PLAYBOOK, diff=True, extra_json=extra)  # --diff: a new file shows its content
        assert first.rc == 0, first
        second = playbook_verbose(lab, extra, "-vvv")
        assert second.rc == 0, second
        check = lab.playbook(PLAYBOOK, check=True, diff=True, extra_json=extra)
        assert check.rc == 0, check
        yield {"extra": extra, "runs": (first, second, check)}
    if not STATE["removed"]:
        lab.playbook(PLAYBOOK, {"monitor_timer_host": NODE, "monitor_timer_state": "absent"})


def test_timer_converges(setup):
    first, second, check = setup["runs"]
    assert first.changed().get(NODE), first
    assert not second.changed(), f"second run changed {second.changed()}\n{second}"
    assert not check.changed(), f"--check run changed {check.changed()}\n{check}"
    assert set(first.recap) == {NODE}


def test_units_pass_systemd_analyze_verify(lab, setup):
    del setup
    proc = ssh(lab, f"systemd-analyze verify --man=no {UNIT_DIR}/{SERVICE} {UNIT_DIR}/{TIMER}", check=False)
    assert proc.returncode == 0 and not (proc.stdout + proc.stderr).strip(), proc.stdout + proc.stderr
    assert ssh(lab, f"systemctl is-enabled {TIMER}").stdout.strip() == "enabled"
    assert ssh(lab, f"systemctl is-active {TIMER}").stdout.strip() == "active"
    # The service is started by the timer only: it has no [Install] section to enable.
    assert ssh(lab, f"systemctl is-enabled {SERVICE}", check=False).stdout.strip() == "static"
    assert show(lab, SERVICE, "Type") == "oneshot"
    assert show(lab, SERVICE, "User") == "jvmops-monitor"
    assert show(lab, SERVICE, "TimeoutStartUSec") == "4min"
    assert ENV_FILE in show(lab, SERVICE, "EnvironmentFiles")


def test_timer_is_listed_with_its_interval_and_has_run(lab, setup):
    del setup
    listed = ssh(lab, f"systemctl list-timers --all --no-pager {TIMER}").stdout
    row = next(line for line in listed.splitlines() if TIMER in line)
    assert row.rstrip().endswith(f"{TIMER} {SERVICE}"), listed
    # The LEFT column: "59min left" (systemd 252), "59min" (systemd 257).
    assert re.search(r"UTC \d+(h \d+)?(min|s)( left)? ", row), listed
    timers = show(lab, TIMER, "TimersMonotonic")
    assert f"OnUnitActiveUSec={EVERY}" in timers and "OnBootUSec=1min" in timers, timers
    # Started after boot, the timer ran the service at once (OnBootSec had passed); the next run is EVERY after it.
    stamps = re.findall(r"\b(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\b", row)
    assert len(stamps) == 2, f"no NEXT and LAST in {row!r}"
    next_run, last_run = (datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S") for stamp in stamps)
    assert abs((next_run - last_run).total_seconds() - EVERY_SECONDS) <= 5, row


def test_node_files_have_their_owners_and_modes(lab, setup):
    del setup
    expected = {
        "/var/lib/jvmops-monitor": "750 jvmops-monitor jvmops-monitor",
        "/var/lib/jvmops-monitor/.ssh": "700 jvmops-monitor jvmops-monitor",
        "/var/lib/jvmops-monitor/.ssh/id_jvmops_monitor": "600 jvmops-monitor jvmops-monitor",
        "/var/lib/jvmops-monitor/.ssh/known_hosts": "644 jvmops-monitor jvmops-monitor",
        "/etc/jvmops-monitor": "750 root jvmops-monitor",
        "/etc/jvmops-monitor/inventory": "750 root jvmops-monitor",
        "/etc/jvmops-monitor/inventory/hosts.yml": "640 root jvmops-monitor",
        "/etc/jvmops-monitor/inventory/group_vars/all.yml": "640 root jvmops-monitor",
        "/opt/jvmops-monitor/venv/bin/ansible-playbook": "755 root root",
    }
    got = ssh(lab, "stat -c '%n %a %U %G' " + " ".join(expected)).stdout.splitlines()
    assert dict(line.split(" ", 1) for line in got) == expected
    assert "-i /etc/jvmops-monitor/inventory jvmops.deploy.run_command" in show(lab, SERVICE, "ExecStart")


def test_environment_file_is_root_only_and_its_secrets_are_never_printed(lab, setup):
    assert ssh(lab, f"stat -c '%a %U %G' {ENV_FILE}").stdout.split() == ["600", "root", "root"]
    assert ssh(lab, f"runuser -u jvmops-monitor -- cat {ENV_FILE}", check=False).returncode != 0
    # systemd reads back exactly the values given, whatever their quotes, $, %, backslashes and spaces.
    for name, value in SECRETS.items():
        got = ssh(lab, f"systemd-run --quiet --wait --pipe -p EnvironmentFile={ENV_FILE} /usr/bin/printenv {name}")
        assert got.stdout.rstrip("\n") == value, name
    first, second, check = setup["runs"]
    assert "ESTABLISH SSH CONNECTION" in second.output, "the second run was not at -vvv"
    for run in (first, second, check):
        assert_no_secret(run)


@pytest.mark.parametrize("every, words", [
    # systemd only warns about a time span it cannot parse, and ignores the setting: the role refuses it.
    ("5 fortnights", ["Write the timer", "failed to validate", "Failed to parse", "5 fortnights"]),
    # A second line would add a setting of its own: refused before anything is changed.
    ("1h\nExecStartPre=/bin/false", ["Check the monitor timer settings", "monitor_timer_every must be one line"]),
], ids=["unparsable-time-span", "newline"])
def test_broken_unit_option_is_refused_and_the_live_timer_stays(lab, setup, every, words):
    units = f"{UNIT_DIR}/{SERVICE} {UNIT_DIR}/{TIMER}"
    before = ssh(lab, f"sha256sum {units}").stdout
    active_since = show(lab, TIMER, "ActiveEnterTimestampMonotonic")
    with pytest.MonkeyPatch.context() as env:
        for name, value in SECRETS.items():
            env.setenv(name, value)
        run = lab.playbook(PLAYBOOK, extra_json={**setup["extra"], "monitor_timer_every": every})
    assert run.rc != 0, run
    for word in words:
        assert word in run.output, run
    assert not run.changed(), run
    assert_no_secret(run)
    assert ssh(lab, f"sha256sum {units}").stdout == before
    assert ssh(lab, f"systemctl is-active {TIMER}").stdout.strip() == "active"
    assert show(lab, TIMER, "ActiveEnterTimestampMonotonic") == active_since
    assert f"OnUnitActiveUSec={EVERY}" in show(lab, TIMER, "TimersMonotonic")


def service_done(lab, after_invocation):
    """The service's state once a run newer than after_invocation has ended, else None."""
    state = ssh(lab, f"systemctl show -p ActiveState -p InvocationID -p Result -p ExecMainStatus {SERVICE}").stdout
    props = dict(line.split("=", 1) for line in state.splitlines() if "=" in line)
    if props.get("InvocationID") in ("", after_invocation) or props.get("ActiveState") not in ("inactive", "failed"):
        return None
    return props


def wait_idle(lab):
    wait_for(lambda: ssh(lab, f"systemctl is-active {SERVICE}", check=False).stdout.strip() in ("inactive", "failed"),
             240, f"{SERVICE} to finish the run in progress")


def test_lock_keeps_out_a_run_while_another_holds_it(lab, setup):
    del setup
    wait_idle(lab)
    before = show(lab, SERVICE, "InvocationID")
    # Hold the lock (as a run started by hand would) while the service starts: it gives up at once with 75.
    proc = ssh(lab, f"flock --nonblock {LOCK} systemctl start {SERVICE}", check=False)
    assert proc.returncode != 0, proc.stdout + proc.stderr
    props = wait_for(lambda: service_done(lab, before), 60, "the refused run to end")
    assert props["Result"] == "exit-code" and props["ExecMainStatus"] == "75", props
    journal = ssh(lab, f"journalctl -o cat _SYSTEMD_INVOCATION_ID={props['InvocationID']}").stdout
    assert "PLAY" not in journal, journal


def test_service_run_executes_the_playbook_on_the_node_against_the_app_hosts(lab, setup):
    del setup
    wait_idle(lab)
    before = show(lab, SERVICE, "InvocationID")
    started = time.monotonic()
    ssh(lab, f"systemctl start --no-block {SERVICE}")
    props = wait_for(lambda: service_done(lab, before), 240, f"{SERVICE} to run and finish")
    took = time.monotonic() - started
    entries = [json.loads(line) for line in
               ssh(lab, f"journalctl -o json _SYSTEMD_INVOCATION_ID={props['InvocationID']}").stdout.splitlines()]
    output = "\n".join(str(e.get("MESSAGE", "")) for e in entries)
    assert props["Result"] == "success" and props["ExecMainStatus"] == "0", f"{props}\n{output}"
    recap = Run(0, output).recap
    assert set(recap) == {"localhost", "app1", "app2"}, output
    assert all(r["failed"] == 0 and r["unreachable"] == 0 and r["ok"] >= 1 for r in recap.values()), output
    # The arguments reached the shell on the app hosts as given: systemd expanded neither %h nor $.
    assert output.count("jvmops-42 %h") == 2, output
    # ... run by the monitor user, with the ansible-core installed on the node.
    uid = ssh(lab, "id -u jvmops-monitor").stdout.strip()
    assert {e.get("_UID") for e in entries if "PLAY RECAP" in str(e.get("MESSAGE", ""))} == {uid}, entries[-1]
    assert f"[core {CORE_VERSION}]" in ssh(lab, "/opt/jvmops-monitor/venv/bin/ansible --version").stdout
    print(f"service run took {took:.1f}s")


def test_the_timed_service_runs_the_fleet_checks(lab, setup):
    """The timer set to run jvmops.deploy.monitor (its disk checks) on app1 and app2, with the node's ansible-core."""
    extra = {**setup["extra"], "monitor_timer_playbook": "jvmops.deploy.monitor",
             "monitor_timer_extra_args": ["--tags", "disk", "-e", "monitor_state_file=/tmp/jvmops-timer-alerts.json"]}
    run = lab.playbook(PLAYBOOK, extra_json=extra)
    assert run.rc == 0 and run.changed().get(NODE), run
    assert "-i /etc/jvmops-monitor/inventory jvmops.deploy.monitor --tags disk" in show(lab, SERVICE, "ExecStart")
    wait_idle(lab)
    before = show(lab, SERVICE, "InvocationID")
    ssh(lab, f"systemctl start --no-block {SERVICE}")
    props = wait_for(lambda: service_done(lab, before), 240, f"{SERVICE} to run monitor.yml and finish")
    output = ssh(lab, f"journalctl -o cat _SYSTEMD_INVOCATION_ID={props['InvocationID']}").stdout
    assert props["Result"] == "success" and props["ExecMainStatus"] == "0", f"{props}\n{output}"
    assert "== 2 hosts, 2 results: 2 ok; 0 alerts to send ==" in output, output
    for host in ("app1", "app2"):
        assert re.search(rf'"{host}\s+disk\s+OK\s+', output), output


def test_absent_removes_everything(lab, setup):
    del setup
    run = lab.converge(PLAYBOOK, {"monitor_timer_host": NODE, "monitor_timer_state": "absent"})
    STATE["removed"] = True
    assert run.changed().get(NODE), run
    for path in (f"{UNIT_DIR}/{SERVICE}", f"{UNIT_DIR}/{TIMER}", "/etc/jvmops-monitor", "/var/lib/jvmops-monitor",
                 "/opt/jvmops-monitor", "/usr/local/lib/jvmops/monitor-timer-check-unit"):
        assert ssh(lab, f"test -e {path}", check=False).returncode == 1, path
    assert TIMER not in ssh(lab, "systemctl list-timers --all --no-pager").stdout
    assert show(lab, TIMER, "LoadState") == "not-found"
    assert show(lab, SERVICE, "LoadState") == "not-found"
    assert ssh(lab, "id jvmops-monitor", check=False).returncode != 0
    assert ssh(lab, "getent group jvmops-monitor", check=False).returncode != 0
