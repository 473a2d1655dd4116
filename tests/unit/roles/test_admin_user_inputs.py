# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""admin_user's settings as bad input: each case fails in the role's argument spec or its one check task, before the
host is looked at, with a message that names the variable and the rule, and nothing changed. The defaults come from
the controller (USER or LOGNAME, and the first of ~/.ssh/id_ed25519.pub, id_rsa.pub, id_ecdsa.pub): cases give the
run a HOME and a USER of their own and show, through the message about a bad value, which one the role took. The
sudoers template renders a file that visudo takes, where visudo is installed. The runner is test_role_inputs.py's
(check mode on localhost, whose Python is /bin/false)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from unittest import mock

import pytest
from jinja2 import Environment

from test_role_inputs import ANSIBLE_PLAYBOOK, COLLECTION, SPEC_TASK, assert_nothing_changed, first_failure, run_case, task_results

CHECK = "Check the admin user settings and whether the admin user's groups exist"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGbpRNMyWTMitAoN9KBcoOt+3rHCjj9ULDDbSOa6bNWE ops@laptop"
RSA = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 ops@desk"
OK = {"admin_user_name": "deployer", "admin_user_public_keys": [KEY]}
DEFAULT = None  # a variable left to the role's default

# Homes on the "controller" (a directory given as HOME): file name -> content.
HOMES = {
    "none": {},
    "ed25519-first": {"id_ed25519.pub": "ssh-ed25519 not-base64!\n", "id_rsa.pub": RSA + "\n"},
    "rsa": {"id_rsa.pub": RSA + "\n", "id_ecdsa.pub": "ecdsa-sha2-nistp256 not-base64!\n"},
}

# Each: id, variables (over OK; DEFAULT drops one), environment of the run (HOME names one of HOMES), words the
# failure message must hold, and the task it must fail in (the check task unless given).
BAD = [
    ("name-empty", {"admin_user_name": ""}, {}, ["admin_user_name is empty"]),
    ("name-root", {"admin_user_name": "root"}, {}, ["admin_user_name must not be root"]),
    ("name-upper", {"admin_user_name": "Deployer"}, {}, ["admin_user_name must be a user name", '"Deployer"']),
    ("name-dot", {"admin_user_name": "de.ployer"}, {}, ["admin_user_name must be a user name", '"de.ployer"']),
    ("name-digits", {"admin_user_name": "1234"}, {}, ["admin_user_name must be a user name"]),
    ("name-space", {"admin_user_name": "de ployer"}, {}, ["admin_user_name must be a user name"]),
    ("name-newline", {"admin_user_name": "deployer\nALL ALL=(ALL) ALL"}, {}, ["admin_user_name must be a user name"]),
    ("name-too-long", {"admin_user_name": "d" * 33}, {}, ["admin_user_name must be a user name", "at most 32"]),
    ("name-not-a-string", {"admin_user_name": ["deployer"]}, {}, ["admin_user_name must be a user name"]),
    ("default-name-is-root", {"admin_user_name": DEFAULT}, {"USER": "root"}, ["admin_user_name must not be root"]),
    ("default-name-from-user", {"admin_user_name": DEFAULT}, {"USER": "Operator"}, ['"Operator"']),
    ("default-name-from-logname", {"admin_user_name": DEFAULT}, {"USER": "", "LOGNAME": "Logname"}, ['"Logname"']),
    ("keys-empty", {"admin_user_public_keys": []}, {}, ["admin_user_public_keys is empty"]),
    ("default-keys-none-found", {"admin_user_public_keys": DEFAULT}, {"HOME": "none"},
     ["admin_user_public_keys is empty and no public key was found on the controller", "~/.ssh/id_ed25519.pub"]),
    ("default-key-ed25519-first", {"admin_user_public_keys": DEFAULT}, {"HOME": "ed25519-first"},
     ["admin_user_public_keys must be public key lines", '"ssh-ed25519 not-base64!"']),
    ("key-private", {"admin_user_public_keys": ["-----BEGIN OPENSSH PRIVATE KEY-----"]}, {},
     ["admin_user_public_keys must be public key lines", "entry 1"]),
    ("key-unknown-type", {"admin_user_public_keys": [KEY.replace("ssh-ed25519", "ssh-foo")]}, {},
     ["admin_user_public_keys must be public key lines"]),
    ("key-type-mismatch", {"admin_user_public_keys": [KEY, KEY.replace("ssh-ed25519", "ssh-rsa")]}, {},
     ["admin_user_public_keys must be public key lines", "entry 2"]),
    ("key-two-lines", {"admin_user_public_keys": [KEY + "\n" + RSA]}, {}, ["admin_user_public_keys must be public key lines"]),
    ("key-bad-base64", {"admin_user_public_keys": ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AA!A"]}, {},
     ["admin_user_public_keys must be public key lines"]),
    ("key-options", {"admin_user_public_keys": ['from="10.0.0.1" ' + KEY]}, {}, ["admin_user_public_keys must be public key lines"]),
    ("keys-not-a-list", {"admin_user_public_keys": {"key": KEY}}, {}, ["admin_user_public_keys"], SPEC_TASK),
    ("shell-relative", {"admin_user_shell": "bash"}, {}, ["admin_user_shell must be an absolute path", '"bash"']),
    ("shell-colon", {"admin_user_shell": "/bin/sh:x"}, {}, ["admin_user_shell must be an absolute path"]),
    ("group-bad", {"admin_user_groups": ["sudo", "a b"]}, {}, ["admin_user_groups must be group names", '"a b"']),
    ("sudo-not-bool", {"admin_user_sudo": "maybe"}, {}, ["admin_user_sudo"], SPEC_TASK),
    ("lock-not-over-ssh", {"admin_user_lock_root_ssh": True}, {},
     ["admin_user_lock_root_ssh needs an SSH connection", '"local"']),
    ("lock-key-missing", {"admin_user_lock_root_ssh": True, "admin_user_private_key_file": "/nonexistent/id_ed25519"}, {},
     ["admin_user_private_key_file", "/nonexistent/id_ed25519", "is not a file on the controller"]),
    ("all-at-once", {"admin_user_name": "Root", "admin_user_public_keys": ["x"], "admin_user_shell": ""}, {},
     ["admin_user_name must be a user name", "admin_user_public_keys must be public key lines", "admin_user_shell"]),
]
GOOD = [
    ("given", {}, {}),
    ("rsa-and-ecdsa-keys", {"admin_user_public_keys": [
        RSA, "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTY= ", "  " + KEY]}, {}),
    ("groups-and-options", {"admin_user_name": "_ops-1", "admin_user_groups": ["adm", "systemd-journal"],
                            "admin_user_exclusive_keys": True, "admin_user_sudo": False, "admin_user_shell": "/bin/sh"}, {}),
    ("defaults", {"admin_user_name": DEFAULT, "admin_user_public_keys": DEFAULT}, {"USER": "operator", "HOME": "rsa"}),
]


@pytest.fixture(scope="module", name="runs")
def runs_fixture(tmp_path_factory):
    """Every case run once, several at a time: case id -> (report, process)."""
    if COLLECTION.parents[1].name != "ansible_collections" or not ANSIBLE_PLAYBOOK.exists():
        pytest.skip("needs the collection in an ansible_collections tree and ansible-playbook beside python")
    base = tmp_path_factory.mktemp("admin_user")
    homes = {}
    for name, files in HOMES.items():
        homes[name] = base / "homes" / name
        (homes[name] / ".ssh").mkdir(parents=True)
        for file_name, content in files.items():
            (homes[name] / ".ssh" / file_name).write_text(content)
    results = {}
    plain = {case[0]: case[1] for case in BAD + GOOD if not case[2]}
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 2)) as pool:
        futures = {cid: pool.submit(run_case, base / cid, "admin_user", given(variables), False)
                   for cid, variables in plain.items()}
        results.update((cid, future.result()) for cid, future in futures.items())
    # run_case takes the environment of this process: the cases with a HOME or USER of their own run one by one.
    for cid, variables, env, *_rest in BAD + GOOD:
        if env:
            env = {key: str(homes[value]) if key == "HOME" else value for key, value in env.items()}
            with mock.patch.dict(os.environ, env):
                results[cid] = run_case(base / cid, "admin_user", given(variables), False)
    return results


def given(variables):
    """OK with the case's values; DEFAULT drops a variable, so that the role's default applies."""
    return {key: value for key, value in {**OK, **variables}.items() if value is not DEFAULT}


@pytest.mark.parametrize("cid, words, task", [(case[0], case[3], case[4] if len(case) > 4 else CHECK) for case in BAD],
                         ids=[case[0] for case in BAD])
def test_bad_settings_fail_before_any_change_naming_the_variable(runs, cid, words, task):
    report, proc = runs[cid]
    assert report is not None, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.returncode != 0
    name, result = first_failure(report)
    assert name and name.startswith(task), (name, result.get("msg"))
    message = str(result.get("msg", ""))
    if task == CHECK:
        assert message.startswith("admin_user: "), message
    for word in words:
        assert word in message, message
    assert "Traceback" not in json.dumps(result)
    assert_nothing_changed(report, proc)


@pytest.mark.parametrize("cid", [case[0] for case in GOOD])
def test_valid_settings_get_through_the_check(runs, cid):
    report, proc = runs[cid]
    assert report is not None, proc.stdout[-3000:] + proc.stderr[-3000:]
    names = [name for name, _result in task_results(report)]
    assert any(name.startswith(SPEC_TASK) for name in names), names
    assert CHECK in names, names
    name, result = first_failure(report)
    # The first module run on the host fails here (its Python is /bin/false; the check task runs its module when
    # there are groups to look for): not the role's refusal.
    assert name is not None and not name.startswith(SPEC_TASK), (name, result.get("msg"))
    assert not str(result.get("msg", "")).startswith("admin_user: "), result.get("msg")
    assert_nothing_changed(report, proc)


NAMES = ["deployer", "_ops-1", "a", "x" * 32]


@pytest.mark.skipif(not shutil.which("visudo", path="/usr/sbin:/usr/bin:/sbin:/bin"), reason="visudo is not installed")
@pytest.mark.parametrize("name", NAMES)
def test_the_sudoers_template_renders_a_file_visudo_takes(tmp_path, name):
    template = (COLLECTION / "roles" / "admin_user" / "templates" / "sudoers.j2").read_text()
    rule = f"{name} ALL=(ALL:ALL) NOPASSWD: ALL"
    text = Environment(keep_trailing_newline=True, trim_blocks=True).from_string(template).render(
        ansible_managed="Ansible managed", __admin_user_sudoers_rule=rule)
    assert rule + "\n" in text
    (tmp_path / name).write_text(text)
    visudo = shutil.which("visudo", path="/usr/sbin:/usr/bin:/sbin:/bin")
    proc = subprocess.run([visudo, "-cf", str(tmp_path / name)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # The same check refuses a broken rule: the role's validate would keep the live file.
    (tmp_path / "broken").write_text(text.replace("NOPASSWD:", "NOPASSWD"))
    proc = subprocess.run([visudo, "-cf", str(tmp_path / "broken")], capture_output=True, text=True, check=False)
    assert proc.returncode != 0
