# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""jvm_app's HTTPS settings (jvm_app_https_port, jvm_app_https_keystore, jvm_app_https_keystore_password) as bad
input: each case fails in the role's one check task, before anything is looked at, with a message that names the
variable and never holds the password; valid settings get through to the first module run. The runner is
test_role_inputs.py's (check mode on localhost, whose Python is /bin/false)."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from test_role_inputs import ANSIBLE_PLAYBOOK, CHECK_TASKS, COLLECTION, assert_nothing_changed, first_failure, run_case, task_results

PASSWORD = "Role-https-" + "pw-6d2e"  # a literal the checks look for in the output
CHECK = CHECK_TASKS["jvm_app"]
SPEC_TASK = "Validating arguments against arg spec"

# Each: id, variables ({keystore} stands for a keystore file that exists), words the failure message must hold.
BAD = [
    ("no-password", {"jvm_app_https_keystore": "{keystore}"},
     ["jvm_app_https_keystore_password must be set when jvm_app_https_keystore is given"]),
    ("missing-keystore", {"jvm_app_https_keystore": "/nonexistent/site.p12", "jvm_app_https_keystore_password": PASSWORD},
     ["jvm_app_https_keystore: /nonexistent/site.p12 does not exist on the controller"]),
    ("password-newline", {"jvm_app_https_keystore": "{keystore}", "jvm_app_https_keystore_password": PASSWORD + "\nx"},
     ["jvm_app_https_keystore_password must be one line"]),
    ("port-0", {"jvm_app_https_port": 0}, ["jvm_app_https_port must be a port 1-65535", 'got "0"']),
    ("port-70000", {"jvm_app_https_port": 70000}, ["jvm_app_https_port must be a port 1-65535", 'got "70000"']),
    ("port-is-http-port", {"jvm_app_https_keystore": "{keystore}", "jvm_app_https_keystore_password": PASSWORD,
                           "jvm_app_https_port": 8000}, ["jvm_app_https_port", "other than jvm_app_port"]),
    ("all-at-once", {"jvm_app_https_keystore": "/nonexistent/site.p12", "jvm_app_https_port": 65536},
     ["jvm_app_https_port", "jvm_app_https_keystore_password must be set", "/nonexistent/site.p12 does not exist"]),
]
GOOD = [
    ("keystore", {"jvm_app_https_keystore": "{keystore}", "jvm_app_https_keystore_password": PASSWORD}),
    ("keystore-other-port", {"jvm_app_https_keystore": "{keystore}", "jvm_app_https_keystore_password": PASSWORD,
                             "jvm_app_https_port": "8443"}),
    # Without a keystore the HTTPS port is not used, so it may equal the HTTP port (an app on 4430 only).
    ("no-keystore-port-4430", {"jvm_app_port": 4430}),
]


@pytest.fixture(scope="module", name="runs")
def runs_fixture(tmp_path_factory):
    """Every case run once, several at a time: case id -> (report, process)."""
    if COLLECTION.parents[1].name != "ansible_collections" or not ANSIBLE_PLAYBOOK.exists():
        pytest.skip("needs the collection in an ansible_collections tree and ansible-playbook beside python")
    base = tmp_path_factory.mktemp("jvm_app_https")
    keystore = base / "site.p12"
    keystore.write_bytes(b"\x30\x82 not checked before the host is reached")
    cases = {case[0]: {k: (str(keystore) if v == "{keystore}" else v) for k, v in case[1].items()} for case in BAD + GOOD}
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 2)) as pool:
        futures = {cid: pool.submit(run_case, base / cid, "jvm_app", variables, False) for cid, variables in cases.items()}
        return {cid: future.result() for cid, future in futures.items()}


@pytest.mark.parametrize("cid, words", [(cid, words) for cid, _variables, words in BAD], ids=[case[0] for case in BAD])
def test_bad_https_settings_fail_in_the_check_naming_the_variable(runs, cid, words):
    report, proc = runs[cid]
    assert report is not None, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.returncode != 0
    name, result = first_failure(report)
    assert name == CHECK, (name, result.get("msg"))
    message = str(result.get("msg", ""))
    assert message.startswith("jvm_app: "), message
    for word in words:
        assert word in message, message
    assert PASSWORD not in proc.stdout + proc.stderr
    assert "Traceback" not in json.dumps(result)
    assert_nothing_changed(report, proc)


@pytest.mark.parametrize("cid", [case[0] for case in GOOD])
def test_valid_https_settings_get_through_the_check(runs, cid):
    report, proc = runs[cid]
    assert report is not None, proc.stdout[-3000:] + proc.stderr[-3000:]
    names = [name for name, _result in task_results(report)]
    assert any(name.startswith(SPEC_TASK) for name in names), names
    assert CHECK in names, names
    name, result = first_failure(report)
    # The check task runs its module (and fails here, where the host's Python is /bin/false): not the role's refusal.
    assert name != CHECK or not str(result.get("msg", "")).startswith("jvm_app: "), (name, result.get("msg"))
    assert PASSWORD not in proc.stdout + proc.stderr
    assert_nothing_changed(report, proc)
