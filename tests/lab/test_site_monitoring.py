# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""jvmops.deploy.monitor on the lab hosts that site.yml converged (this file runs after test_site.py).

The checks are data in group_vars and host_vars beside a copy of the lab's inventory. The alerts go to real local
services on the controller: an SMTP server with STARTTLS and login (tests/smtp_fake), and Twilio's Messages API with a
JSON webhook receiver (tests/twilio_fake), which checks every request against Twilio's published OpenAPI description.
A real ext4 file system on a loop device is mounted on app2 to be filled; MariaDB runs on app2.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from conftest import INVENTORY, REPORT_LINES, AwxJobs, Run

PLAYBOOK = "jvmops.deploy.monitor"
SITE = "jvmops.deploy.site"
TESTS = Path(__file__).resolve().parents[1]
FS_HOST = "app2"
DB_HOST = "app2"
TEST_MOUNT = "/mnt/jvmops-test"
STATE_FILE = "/var/lib/jvmops/alerts.json"
APP_PATTERN = "jvmops[.]hello[.]Main"
DB_PASSWORD = "Mon1tor-" + "pw-7f3a9c"  # a literal the leak scan looks for


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module", name="services")
def services_fixture(tmp_path_factory):
    smtp = _load("lab_smtp_fake", TESTS / "smtp_fake" / "server.py").FakeSMTP(tmp_path_factory.mktemp("smtp")).start()
    twilio = _load("lab_twilio_fake", TESTS / "twilio_fake" / "server.py").FakeTwilio(
        tmp_path_factory.mktemp("twilio")).start()
    yield smtp, twilio
    smtp.stop()
    twilio.stop()
    stats = twilio.stats
    REPORT_LINES.append(f"monitor alerts: {len(smtp.messages())} emails, {stats['messages']} SMS and {stats['hooks']} "
                        f"webhook calls; {stats['requests_validated']} Twilio requests validated against its OpenAPI "
                        f"description, {len(stats['violations'])} violations")
    assert not stats["violations"], stats["violations"]


class Sent:
    """What the local services received since the last look."""

    def __init__(self, services):
        self.smtp, self.twilio = services
        self.seen = (0, 0, 0)

    def new(self):
        mails, sms, hooks = self.smtp.messages(), list(self.twilio.messages), list(self.twilio.hooks)
        fresh = (mails[self.seen[0]:], sms[self.seen[1]:], hooks[self.seen[2]:])
        self.seen = (len(mails), len(sms), len(hooks))
        return fresh


@pytest.fixture(scope="module", name="sent")
def sent_fixture(services):
    return Sent(services)


def container_init(host):
    """The host-side PID of the lab host's systemd (to enter its mount namespace)."""
    prefix = json.loads((INVENTORY.parent / "lab.json").read_text()).get("settings", {}).get("prefix", "jv")
    nspawn = subprocess.run(["pgrep", "-f", "--", f"--machine={prefix}-{host}"], capture_output=True, text=True, check=True)
    for pid in nspawn.stdout.split():
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        if children:
            return children[0]
    raise AssertionError(f"no running container for {host}")


@pytest.fixture(scope="module", name="test_fs")
def test_fs_fixture(lab, tmp_path_factory):
    """A 32 MiB ext4 file system on a loop device of the controller, mounted on FS_HOST at TEST_MOUNT.

    A container cannot attach loop devices itself; the controller attaches it and mounts it inside the host's mount
    namespace, where the host sees an ordinary ext4 mount."""
    image = tmp_path_factory.mktemp("loopfs") / "test.img"
    subprocess.run(["truncate", "-s", "32M", str(image)], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-m", "0", str(image)], check=True)
    loop = subprocess.run(["losetup", "-f", "--show", str(image)], capture_output=True, text=True, check=True).stdout.strip()
    minor = int(re.sub(r"\D", "", loop))
    init = container_init(FS_HOST)
    lab.ssh(FS_HOST, f"mkdir -p {TEST_MOUNT}")
    subprocess.run(["nsenter", "-t", init, "-m", "sh", "-ec",
                    f"mknod /dev/jvmops-test-loop b 7 {minor}; mount -t ext4 /dev/jvmops-test-loop {TEST_MOUNT}; "
                    "rm -f /dev/jvmops-test-loop"], check=True)
    try:
        yield TEST_MOUNT
    finally:
        subprocess.run(["nsenter", "-t", init, "-m", "umount", TEST_MOUNT], check=False)
        subprocess.run(["losetup", "-d", loop], check=False)
        lab.ssh(FS_HOST, f"rmdir {TEST_MOUNT}", check=False)


def fill(lab, percent):
    """Fill TEST_MOUNT to about percent Use% (df's, rounded up); return the Use% df shows."""
    lab.ssh(FS_HOST, f"rm -f {TEST_MOUNT}/fill")
    size, used = (int(v) for v in lab.ssh(FS_HOST, f"df -P -B1 {TEST_MOUNT} | awk 'NR==2 {{print $2, $3}}'").stdout.split())
    want = max(0, size * percent // 100 - used)
    if want:
        lab.ssh(FS_HOST, f"fallocate -l {want} {TEST_MOUNT}/fill")
    return int(lab.ssh(FS_HOST, f"df -P {TEST_MOUNT} | awk 'NR==2 {{print $5}}'").stdout.strip().rstrip("%"))


@pytest.fixture(scope="module", name="app_running")
def app_running_fixture(lab):
    """The app runs on app1 (test_site.py leaves it so; run alone, this converges site.yml first)."""
    if lab.ssh("app1", f"pgrep -f {APP_PATTERN}", check=False).returncode != 0:
        run = lab.playbook(SITE)
        assert run.rc == 0, run
    assert lab.ssh("app1", f"pgrep -f {APP_PATTERN}", check=False).returncode == 0


@pytest.fixture(scope="module", name="mariadb")
def mariadb_fixture(lab):
    """MariaDB on DB_HOST with a `monitor` login, and PyMySQL for the check."""
    lab.ssh(DB_HOST, "DEBIAN_FRONTEND=noninteractive apt-get install -y -q mariadb-server python3-pymysql >/dev/null")
    lab.ssh(DB_HOST, "systemctl start mariadb")
    lab.ssh(DB_HOST, f"mariadb -e \"CREATE USER IF NOT EXISTS 'monitor'@'localhost' IDENTIFIED BY '{DB_PASSWORD}'\"")
    return DB_HOST


@pytest.fixture(scope="module", name="inventory")
def inventory_fixture(tmp_path_factory, services, test_fs, app_running, mariadb):
    """The lab's inventory with the checks as group and host data, and the channels pointing at the local services."""
    smtp, twilio = services
    root = tmp_path_factory.mktemp("inventory")
    (root / "hosts.yml").write_text(INVENTORY.read_text())
    (root / "group_vars").mkdir()
    (root / "host_vars").mkdir()
    (root / "group_vars" / "all.yml").write_text(yaml.safe_dump({
        "monitor_mute_for": "1h",
        "monitor_checks": [{"name": "disk", "type": "disk", "description": "Use% over 90 on any file system"}],
        "monitor_email": {"host": smtp.host, "port": smtp.port, "username": smtp.username, "password": smtp.password,
                          "from": "alerts@example.com", "to": ["ops@example.com"], "ca_path": smtp.ca_path},
        "monitor_sms": {"account_sid": twilio.account_sid, "auth_token": twilio.auth_token, "from": "+14155552345",
                        "to": ["+14155550100"], "base_url": twilio.base_url, "ca_path": twilio.ca_path},
        "monitor_webhook": {"url": twilio.hook_url, "headers": {"Authorization": f"Bearer {twilio.hook_token}"},
                            "ca_path": twilio.ca_path},
    }))
    app_checks = [
        {"name": "disk", "type": "disk"},
        {"name": "app", "type": "process", "subject": "hello-jvm", "pattern": APP_PATTERN,
         "description": "The application's JVM runs"},
        {"name": "app-port", "type": "tcp", "port": 22, "description": "SSH answers"},
    ]
    (root / "group_vars" / "app.yml").write_text(yaml.safe_dump({"monitor_checks": app_checks}))
    (root / "host_vars" / f"{DB_HOST}.yml").write_text(yaml.safe_dump({"monitor_checks": app_checks + [
        {"name": "mysql", "type": "mysql", "login_user": "monitor", "login_password": DB_PASSWORD,
         "description": "MariaDB takes the monitor's login (ping-mysql)"}]}))
    return root / "hosts.yml"


@pytest.fixture(scope="module", name="awx_inventory")
def awx_inventory_fixture(tmp_path_factory, inventory):
    """The same inventory as an AWX inventory source: no key file (the Machine credential holds the key) and no
    channel credentials (the SMTP and Twilio credential types inject them as JVMOPS_SMTP_* and TWILIO_*)."""
    root = tmp_path_factory.mktemp("awx-inventory")
    shutil.copytree(inventory.parent, root, dirs_exist_ok=True)
    (root / "hosts.yml").write_text(AwxJobs.inventory_text(inventory.read_text()))
    all_vars = yaml.safe_load((root / "group_vars" / "all.yml").read_text())
    for key in ("username", "password"):
        del all_vars["monitor_email"][key]
    for key in ("account_sid", "auth_token"):
        del all_vars["monitor_sms"][key]
    (root / "group_vars" / "all.yml").write_text(yaml.safe_dump(all_vars))
    return root / "hosts.yml"


def monitor(lab, inventory, *args, send=True, check=False, diff=False):
    extra = {"monitor_send": "true" if send else "false"}
    return lab.playbook(PLAYBOOK, extra, check=check, diff=diff, inventory=inventory, args=list(args))


def summary(run):
    """The summary table's rows as (host, check, status, detail)."""
    lines = re.findall(r'^\s+"((?:\S+)\s{2,}(?:\S+)\s{2,}[A-Z]+(?:\s{2,}.*)?)",?$', run.output, re.M)
    rows = []
    for line in lines:
        parts = re.split(r"\s{2,}", line, maxsplit=3)
        if parts[0] != "HOST":
            rows.append(tuple(parts + [""] * (4 - len(parts))))
    return rows


def status(run, host, check):
    found = [row[2] for row in summary(run) if row[0] == host and row[1] == check]
    assert found, f"no summary row for {host} {check}\n{run}"
    return found[0]


def clear_state(lab, *hosts):
    for host in hosts:
        lab.ssh(host, f"rm -f {STATE_FILE}")


# ----------------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("extra, words", [
    ({"monitor_checks": [{"name": "disk", "critical": "150%"}]}, ["check 'disk'", "critical", "150%", "0% to 100%"]),
    ({"monitor_checks": [{"name": "disk", "critical": "10X"}]}, ["check 'disk'", "critical", "10X", "unit"]),
    ({"monitor_mute_for": "-5m"}, ["mute_for", "-5m", "negative"]),
    ({"monitor_only": ["nosuch"]}, ["monitor_only", "nosuch"]),
], ids=["threshold-150", "unknown-unit", "negative-window", "unknown-check"])
def test_bad_input_fails_before_anything_is_measured_or_sent(lab, inventory, sent, extra, words):
    sent.new()
    clear_state(lab, FS_HOST)
    run = lab.playbook(PLAYBOOK, {"monitor_send": "true"}, extra_json=extra, inventory=inventory)
    assert run.rc != 0, run
    failure = run.output[run.output.index("fatal:"):]
    for word in words:
        assert word in failure, f"{word!r} not in the failure\n{run}"
    assert "Traceback" not in run.output
    assert "TASK [Reach the host]" not in run.output, run
    assert lab.ssh(FS_HOST, f"test -e {STATE_FILE}", check=False).returncode == 1  # nothing measured, nothing recorded
    assert sent.new() == ([], [], [])


def test_unknown_tag_fails_naming_the_known_checks(lab, inventory):
    run = monitor(lab, inventory, "--tags", "nosuch")
    assert run.rc != 0 and "--tags: 'nosuch'" in run.output and "disk" in run.output, run
    assert "TASK [Reach the host]" not in run.output, run


# ----------------------------------------------------------------------------------------------- quiet fleet


def test_listing_shows_each_groups_checks_and_checks_nothing(lab, inventory):
    run = monitor(lab, inventory, "--tags", "list")
    assert run.rc == 0, run
    assert '"== lb1: 1 check =="' in run.output and '"== app1: 3 checks =="' in run.output, run
    assert f'"== {DB_HOST}: 4 checks =="' in run.output and "MariaDB takes the monitor's login" in run.output, run
    assert "TASK [Reach the host]" not in run.output, run


def test_quiet_fleet_converges_and_sends_nothing(lab, inventory, sent):
    sent.new()
    clear_state(lab, "lb1", "app1", "app2", "build1")
    first = monitor(lab, inventory)
    assert first.rc == 0, first
    assert {status(first, h, "disk") for h in ("lb1", "app1", "app2", "build1")} == {"OK"}
    assert status(first, "app1", "app") == "OK" and status(first, DB_HOST, "mysql") == "OK", first
    second = monitor(lab, inventory)
    assert second.rc == 0 and not second.changed(), second.changed()
    check = monitor(lab, inventory, check=True, diff=True)
    assert check.rc == 0 and not check.changed(), check.changed()
    assert sent.new() == ([], [], [])


def test_tag_runs_only_that_check(lab, inventory):
    run = monitor(lab, inventory, "--tags", "app")
    assert run.rc == 0, run
    assert {(row[0], row[1]) for row in summary(run)} == {("app1", "app"), ("app2", "app")}, run


# ----------------------------------------------------------------------------------------------- full disk


def test_full_disk_alerts_once_per_channel_mutes_and_recovers(lab, inventory, sent, services, awx, awx_inventory):
    smtp, twilio = services
    sent.new()
    use = fill(lab, 95)
    assert use > 90
    first = monitor(lab, inventory, "--tags", "disk", "-vvv")
    assert first.rc == 0, first
    assert status(first, FS_HOST, "disk") == "CRITICAL", first
    mails, sms, hooks = sent.new()
    assert len(mails) == 1 and len(sms) == 1 and len(hooks) == 1, (mails, sms, hooks)
    wording = f"Use% over 90: {TEST_MOUNT} is at {use}%"
    assert wording in mails[0]["body"] and FS_HOST in mails[0]["body"], mails[0]
    assert FS_HOST in sms[0]["body"] and TEST_MOUNT in sms[0]["body"] and f"{use}%" in sms[0]["body"], sms[0]
    [alert] = hooks[0]["body"]["alerts"]
    assert (alert["host"], alert["subject"], alert["value"], alert["level"]) == (FS_HOST, TEST_MOUNT, use, "critical")
    for secret in (smtp.password, twilio.auth_token, twilio.hook_token, DB_PASSWORD):
        assert secret not in first.output, "a secret appeared in the -vvv output"

    muted = monitor(lab, inventory, "--tags", "disk")
    assert muted.rc == 0 and status(muted, FS_HOST, "disk") == "MUTED", muted
    assert not muted.changed(), muted.changed()
    assert sent.new() == ([], [], [])

    # The window passes: the record of the alert sent is made an hour old.
    lab.ssh(FS_HOST, "python3 -c \"import json, time; p = '" + STATE_FILE + "'; d = json.load(open(p)); "
                     "[a.update(sent_at=time.time() - 3601) for a in d['alerts']]; json.dump(d, open(p, 'w'))\"")
    # This time as the scheduled AWX job runs it: the channels' credentials come from the SMTP and Twilio credential
    # types, as environment variables, and none of them shows in anything ansible-runner wrote.
    job = awx.run("monitor.yml", {"monitor_send": "true"}, inventory=awx_inventory, cmdline="--tags disk",
                  envvars={"JVMOPS_SMTP_USERNAME": smtp.username, "JVMOPS_SMTP_PASSWORD": smtp.password,
                           "TWILIO_ACCOUNT_SID": twilio.account_sid, "TWILIO_AUTH_TOKEN": twilio.auth_token})
    assert job.status == "successful", job
    again = Run(job.rc, job.stdout)
    assert again.rc == 0 and status(again, FS_HOST, "disk") == "CRITICAL", again
    assert [len(found) for found in sent.new()] == [1, 1, 1]
    assert job.leaks({"the SMTP password": smtp.password, "the Twilio auth token": twilio.auth_token,
                      "the webhook token": twilio.hook_token, "the MariaDB password": DB_PASSWORD}) == []

    assert fill(lab, 10) < 90
    recovered = monitor(lab, inventory, "--tags", "disk")
    assert recovered.rc == 0 and status(recovered, FS_HOST, "disk") == "RECOVERY", recovered
    mails, sms, hooks = sent.new()
    assert len(mails) == 1 and len(sms) == 1 and len(hooks) == 1
    assert f"{TEST_MOUNT} recovered" in mails[0]["body"] and hooks[0]["body"]["alerts"][0]["level"] == "recovery"
    quiet = monitor(lab, inventory, "--tags", "disk")
    assert quiet.rc == 0 and status(quiet, FS_HOST, "disk") == "OK" and not quiet.changed(), quiet
    assert sent.new() == ([], [], [])


# ----------------------------------------------------------------------------------------------- processes, MariaDB


def manager_command(lab, host, action):
    """Stop or start the app the way its process manager does (supervisord, systemd or runit)."""
    if lab.ssh(host, "supervisorctl status hello", check=False).returncode in (0, 3):
        return f"supervisorctl {action} hello"
    if lab.ssh(host, "test -e /etc/sv/hello", check=False).returncode == 0:
        return f"sv {'down' if action == 'stop' else 'up'} hello"
    return f"systemctl {action} hello"


def wait_for(predicate, what, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    pytest.fail(f"{what} within {timeout}s")


def test_stopped_app_triggers_the_process_alert(lab, inventory, sent):
    sent.new()
    lab.ssh("app1", manager_command(lab, "app1", "stop"))
    try:
        wait_for(lambda: lab.ssh("app1", f"pgrep -f {APP_PATTERN}", check=False).returncode == 1, "the app stopped")
        run = monitor(lab, inventory, "--tags", "app")
        assert run.rc == 0 and status(run, "app1", "app") == "CRITICAL" and status(run, "app2", "app") == "OK", run
        mails, sms, hooks = sent.new()
        assert len(mails) == len(sms) == len(hooks) == 1
        [alert] = hooks[0]["body"]["alerts"]
        assert (alert["host"], alert["check"], alert["subject"], alert["value"]) == ("app1", "process", "hello-jvm", 0)
    finally:
        lab.ssh("app1", manager_command(lab, "app1", "start"))
    wait_for(lambda: lab.ssh("app1", f"pgrep -f {APP_PATTERN}", check=False).returncode == 0, "the app started")
    back = monitor(lab, inventory, "--tags", "app")
    assert back.rc == 0 and status(back, "app1", "app") == "RECOVERY", back
    assert [len(found) for found in sent.new()] == [1, 1, 1]


def test_stopped_mariadb_triggers_the_ping_alert(lab, inventory, sent):
    sent.new()
    lab.ssh(DB_HOST, "systemctl stop mariadb")
    try:
        run = monitor(lab, inventory, "--tags", "mysql")
        assert run.rc == 0 and status(run, DB_HOST, "mysql") == "CRITICAL", run
        assert DB_PASSWORD not in run.output
        mails, sms, hooks = sent.new()
        assert len(mails) == len(sms) == len(hooks) == 1
        [alert] = hooks[0]["body"]["alerts"]
        assert (alert["host"], alert["check"], alert["level"]) == (DB_HOST, "service", "critical"), alert
        assert "MySQL on 127.0.0.1:3306" in alert["message"], alert
    finally:
        lab.ssh(DB_HOST, "systemctl start mariadb")
    back = monitor(lab, inventory, "--tags", "mysql")
    assert back.rc == 0 and status(back, DB_HOST, "mysql") == "RECOVERY", back


# ----------------------------------------------------------------------------------------------- unreachable


def test_stopped_host_is_an_alert_and_the_others_are_still_checked(lab, inventory, sent):
    sent.new()
    lab.stop("lb1")
    try:
        run = monitor(lab, inventory)
        assert run.rc == 0, run
        assert status(run, "lb1", "-") == "UNREACHABLE", run
        for host in ("app1", "app2", "build1"):
            assert status(run, host, "disk") == "OK", run
        mails, sms, hooks = sent.new()
        assert len(mails) == len(sms) == len(hooks) == 1
        [alert] = hooks[0]["body"]["alerts"]
        assert (alert["host"], alert["check"], alert["level"]) == ("lb1", "ssh", "critical"), alert
        assert "lb1 does not answer SSH" in mails[0]["body"] and "lb1" in sms[0]["body"]
    finally:
        lab.start("lb1")
