# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""jvmops.deploy.admin_user on a lab host of its own: the operator's user, key and passwordless sudo, then root's SSH
login locked only after the admin user has proven theirs.

The other scenarios log in to the shared lab hosts as root, and the shared lab's host list is what they expect, so
this one brings up a second lab beside it (lab.py's own settings: a state directory, bridge, network, apt proxy
port and machine names of its own, on the same suite and cached image) with one host, boot1, and removes that lab
again at the end. The shared lab need not be up.

The operator is played by a controller HOME and USER of the test's own: ~/.ssh/id_ed25519 made here, USER=opsadmin,
so the role's defaults (the operator's login and key) are what is tested. SSH from the test is real ssh, with the
lab's strict known_hosts, no connection sharing, and only the key given.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import lab  # noqa: E402  pylint: disable=wrong-import-position
from conftest import ANSIBLE_BIN, Run, ansible_env  # noqa: E402  pylint: disable=wrong-import-position

ADMIN = "opsadmin"
HOST = "boot1"
DROPIN = "/etc/ssh/sshd_config.d/00-jvmops-admin-user.conf"
SUDOERS = f"/etc/sudoers.d/{ADMIN}"
PLAY = [{"name": "Bootstrap", "hosts": HOST, "gather_facts": False, "roles": [{"role": "jvmops.deploy.admin_user"}]}]


def private_lab_env():
    """The settings of a lab beside the shared one: same suite and mirror, everything that could clash its own."""
    main = lab.Config.load()
    octet = (int(main.net.rsplit(".", 1)[1]) + 100) % 256
    return {"JVMOPS_LAB_DIR": f"{main.state}-admin-user", "JVMOPS_LAB_SUITE": main.suite, "JVMOPS_LAB_MIRROR": main.mirror,
            "JVMOPS_LAB_BRIDGE": f"{main.bridge[:14]}a", "JVMOPS_LAB_NET": f"{main.net.rsplit('.', 1)[0]}.{octet}",
            "JVMOPS_LAB_PROXY_PORT": str(main.proxy_port + 100), "JVMOPS_LAB_PREFIX": f"{main.prefix[:4]}a"}


class Boot:
    """The host boot1 of the private lab, the operator's controller HOME, and ways to reach and converge the host."""

    def __init__(self, env, work):
        self.env = env
        self.work = work
        state = Path(env["JVMOPS_LAB_DIR"])
        self.inventory = state / "inventory.yml"
        inventory = yaml.safe_load(self.inventory.read_text())
        self.ip = inventory["all"]["children"]["lab"]["hosts"][HOST]["ansible_host"]
        self.root_key = state / "ssh" / "id_ed25519"
        self.known_hosts = state / "ssh" / "known_hosts"
        self.home = work / "home"
        (self.home / ".ssh").mkdir(parents=True)
        self.key = self.home / ".ssh" / "id_ed25519"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "operator@controller", "-f", str(self.key)],
                       check=True)
        self.other_key = work / "other_ed25519"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.other_key)], check=True)
        self.play = work / "play.yml"
        self.play.write_text(yaml.safe_dump(PLAY))

    def ssh(self, user, key, command):
        """Real ssh: a new connection each time, only that key, the lab's strict known_hosts."""
        return subprocess.run(
            ["ssh", "-i", str(key), "-o", "IdentitiesOnly=yes", "-o", f"UserKnownHostsFile={self.known_hosts}",
             "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5",
             "-o", "ControlMaster=no", "-o", "ControlPath=none", f"{user}@{self.ip}", command],
            capture_output=True, text=True, timeout=60, check=False)

    def root(self, command):
        proc = self.ssh("root", self.root_key, command)
        assert proc.returncode == 0, f"as root: {command}: {proc.returncode}\n{proc.stdout}{proc.stderr}"
        return proc.stdout

    def playbook(self, *args, as_admin=False, check=False):
        """The role on boot1 as the operator runs it (their HOME and USER); as_admin: connected as the admin user
        with become, as after root's SSH login is locked."""
        cmd = [str(ANSIBLE_BIN / "ansible-playbook"), "-i", str(self.inventory), str(self.play), *args]
        if as_admin:
            cmd += ["-e", f"ansible_user={ADMIN}", "-e", f"ansible_ssh_private_key_file={self.key}", "-b"]
        if check:
            cmd += ["--check", "--diff"]
        env = {**ansible_env(), "HOME": str(self.home), "USER": ADMIN, "LOGNAME": ADMIN,
               "ANSIBLE_SSH_CONTROL_PATH_DIR": str(self.work / "cp"), "ANSIBLE_LOCAL_TEMP": str(self.work / "tmp")}
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, timeout=300,
                              check=False)
        return Run(proc.returncode, proc.stdout)

    def converge(self, *args, as_admin=False):
        """Apply, then assert that a second run and a --check run change nothing; the first run."""
        first = self.playbook(*args, as_admin=as_admin)
        assert first.rc == 0, first
        second = self.playbook(*args, as_admin=as_admin)
        assert second.rc == 0 and not second.changed(), f"second run changed {second.changed()}\n{second}"
        check = self.playbook(*args, as_admin=as_admin, check=True)
        assert check.rc == 0 and not check.changed(), f"--check run changed {check.changed()}\n{check}"
        return first

    def admin_sudo(self, key=None):
        return self.ssh(ADMIN, key or self.key, "sudo -n true && id -un && sudo -n id -u")


@pytest.fixture(scope="module", name="boot")
def boot_fixture(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("the lab needs root")
    env = {**os.environ, **private_lab_env()}
    command = [sys.executable, str(HERE / "lab.py")]
    up = subprocess.run([*command, "up", "--hosts", HOST], env=env, capture_output=True, text=True, check=False)
    try:
        assert up.returncode == 0, f"lab.py up --hosts {HOST} (private lab) exited {up.returncode}\n{up.stdout}{up.stderr}"
        yield Boot(env, tmp_path_factory.mktemp("admin_user"))
    finally:
        down = subprocess.run([*command, "down"], env=env, capture_output=True, text=True, check=False)
        assert down.returncode == 0, f"lab.py down (private lab) exited {down.returncode}\n{down.stdout}{down.stderr}"


def test_bad_input_fails_before_any_change(boot):
    for args, words in (
        (["-e", "admin_user_name=Ops.Admin"], ["admin_user_name must be a user name", '"Ops.Admin"']),
        (["-e", '{"admin_user_public_keys": ["ssh-ed25519 AAAA"]}'], ["admin_user_public_keys must be public key lines"]),
        # Checked on the host, still before any change: the groups must exist.
        (["-e", '{"admin_user_groups": ["adm", "nosuchgroup"]}'], ["admin_user_groups", "nosuchgroup"]),
    ):
        run = boot.playbook(*args)
        assert run.rc != 0, run
        assert not run.changed(), run
        for word in words:
            assert word in run.output, run
    assert boot.ssh("root", boot.root_key, f"getent passwd {ADMIN}").returncode == 2
    assert boot.root(f"test -e {SUDOERS} && echo present || echo absent").strip() == "absent"


def test_check_mode_on_a_new_host_changes_nothing(boot):
    run = boot.playbook(check=True)
    assert run.rc == 0, run
    assert run.changed() == {HOST: run.recap[HOST]["changed"]} and run.recap[HOST]["changed"] > 0, run
    assert boot.ssh("root", boot.root_key, f"getent passwd {ADMIN}").returncode == 2
    assert boot.root(f"test -e {SUDOERS} && echo present || echo absent").strip() == "absent"


def test_the_operator_gets_a_user_with_their_key_and_passwordless_sudo(boot):
    boot.converge()
    passwd = boot.root(f"getent passwd {ADMIN}").strip().split(":")
    assert passwd[0] == ADMIN and passwd[6] == "/bin/bash" and passwd[2] != "0", passwd
    authorized = boot.root(f"cat ~{ADMIN}/.ssh/authorized_keys")
    assert boot.key.with_suffix(".pub").read_text().split()[1] in authorized
    assert boot.root(f"stat -c '%U %a' {SUDOERS}").split() == ["root", "440"]
    assert boot.root(f"/usr/sbin/visudo -cf {SUDOERS} && /usr/sbin/visudo -c >/dev/null && echo ok").strip().endswith("ok")
    proof = boot.admin_sudo()
    assert proof.returncode == 0 and proof.stdout.split() == [ADMIN, "0"], proof.stdout + proof.stderr
    # Another key is not let in.
    assert boot.ssh(ADMIN, boot.other_key, "true").returncode == 255


def test_a_sudoers_file_visudo_refuses_never_replaces_the_live_one(boot):
    before = boot.root(f"sha1sum {SUDOERS}")
    # The rule the template renders, broken (no colon after NOPASSWD): only reachable through the role's internal
    # variable, as a template mistake would be.
    run = boot.playbook("-e", f"__admin_user_sudoers_rule='{ADMIN} ALL=(ALL:ALL) NOPASSWD ALL'")
    assert run.rc != 0, run
    assert f"failed to validate {SUDOERS}" in run.output, run
    assert boot.root(f"sha1sum {SUDOERS}") == before
    assert boot.root("ls -A /etc/sudoers.d").split() == sorted(["README", ADMIN]), "a candidate file was left behind"
    proof = boot.admin_sudo()
    assert proof.returncode == 0, proof.stdout + proof.stderr


def test_root_login_stays_when_the_admin_user_cannot_prove_theirs(boot):
    # A key that is not the admin user's: the login fails.
    run = boot.playbook("-e", "admin_user_lock_root_ssh=true", "-e", f"admin_user_private_key_file={boot.other_key}")
    assert run.rc != 0, run
    assert "root's SSH login was left as it was" in run.output and f"could not log in over SSH with key {boot.other_key}" \
        in run.output, run
    assert boot.root(f"test -e {DROPIN} && echo present || echo absent").strip() == "absent"
    # No sudo: the login works, `sudo -n true` does not.
    run = boot.playbook("-e", "admin_user_lock_root_ssh=true", "-e", "admin_user_sudo=false")
    assert run.rc != 0, run
    assert "root's SSH login was left as it was" in run.output and "`sudo -n true` failed" in run.output, run
    assert boot.root(f"test -e {DROPIN} && echo present || echo absent").strip() == "absent"
    boot.root("true")


def test_root_ssh_login_is_locked_after_the_admin_user_proved_theirs(boot):
    run = boot.playbook("-e", "admin_user_lock_root_ssh=true")
    assert run.rc == 0, run
    assert run.recap[HOST]["changed"] > 0, run
    refused = boot.ssh("root", boot.root_key, "true")
    assert refused.returncode == 255 and "Permission denied" in refused.stderr, refused.stderr
    proof = boot.admin_sudo()
    assert proof.returncode == 0 and proof.stdout.split() == [ADMIN, "0"], proof.stdout + proof.stderr
    assert boot.ssh(ADMIN, boot.key, "sudo -n /usr/sbin/sshd -T -C user=root,host=x,addr=127.0.0.1").stdout.count(
        "permitrootlogin no") == 1
    # From now on the operator connects as the admin user, with become: nothing more to change, in check mode either.
    boot.converge("-e", "admin_user_lock_root_ssh=true", as_admin=True)
    # Unlocked again (false removes the drop-in): the lab's root login is back.
    run = boot.playbook(as_admin=True)
    assert run.rc == 0 and run.recap[HOST]["changed"] > 0, run
    boot.root(f"test ! -e {DROPIN}")
