# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import re

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.jvmops.deploy.plugins.filter.command_report import FilterModule, command_report

OK = {"changed": True, "rc": 0, "stdout": "up 3 days\nload 0.1", "stdout_lines": ["up 3 days", "load 0.1"],
      "stderr": "", "stderr_lines": []}
FAILED = {"failed": True, "rc": 2, "stdout": "", "stderr": "ls: cannot access 'x'", "msg": "non-zero return code"}
UNREACHABLE = {"unreachable": True, "changed": False, "msg": "Failed to connect to the host via ssh: no route"}
SKIPPED = {"skipped": True, "changed": False, "msg": "Command would have run if not in check mode"}


def test_groups_hosts_by_status_in_given_order():
    results = {"app1": OK, "app2": FAILED, "build1": UNREACHABLE, "lb1": SKIPPED}
    report = command_report(results, hosts=["lb1", "app1", "app2", "build1", "db1"])
    assert [h["host"] for h in report["hosts"]] == ["lb1", "app1", "app2", "build1", "db1"]
    assert report["ok"] == ["app1"]
    assert report["failed"] == ["app2"]
    assert report["unreachable"] == ["build1"]
    assert report["skipped"] == ["lb1"]
    assert report["missing"] == ["db1"]


def test_lines_put_each_hosts_output_under_its_name():
    lines = command_report({"app1": OK, "app2": FAILED}, hosts=["app1", "app2"])["lines"]
    assert lines[:3] == ["== app1: ok, rc=0 ==", "  up 3 days", "  load 0.1"]
    assert lines[3] == "== app2: failed, rc=2 =="
    assert lines[4] == "  stderr: ls: cannot access 'x'"
    assert lines[-2] == "== 2 hosts: 1 ok, 1 failed =="
    assert lines[-1] == "failed: app2"


def test_unreachable_host_shows_the_connection_error():
    lines = command_report({"build1": UNREACHABLE})["lines"]
    assert lines[0] == "== build1: unreachable =="
    assert lines[1] == "  Failed to connect to the host via ssh: no route"
    assert lines[-1] == "unreachable: build1"


def test_stdout_without_lines_is_split():
    report = command_report({"a": {"rc": 0, "stdout": "one\ntwo"}})
    assert report["hosts"][0]["stdout_lines"] == ["one", "two"]


def test_default_order_is_sorted():
    report = command_report({"b": OK, "a": OK})
    assert [h["host"] for h in report["hosts"]] == ["a", "b"]


@pytest.mark.parametrize("bad, kind", [(["app1"], "a list"), ("app1", "a string"), (None, "null"), (3, "an int"), (2.5, "a float")])
def test_rejects_input_that_is_not_a_mapping(bad, kind):
    with pytest.raises(AnsibleFilterError, match=f"mapping of host name to registered result, got {kind}$"):
        command_report(bad)


def test_rejects_hosts_given_as_a_string():
    with pytest.raises(AnsibleFilterError, match="hosts must be a list of host names, got a string"):
        command_report({"a": OK}, hosts="a")


def test_users_put_user_at_host_in_each_header():
    results = {"app1": OK, "app2": FAILED, "build1": UNREACHABLE}
    users = {"app1": "root", "app2": "deploy", "build1": "root"}
    report = command_report(results, hosts=["app1", "app2", "build1"], users=users)
    lines = report["lines"]
    assert lines[:3] == ["== root@app1: ok, rc=0 ==", "  up 3 days", "  load 0.1"]
    assert lines[3:5] == ["== deploy@app2: failed, rc=2 ==", "  stderr: ls: cannot access 'x'"]
    assert lines[5:7] == ["== root@build1: unreachable ==", "  Failed to connect to the host via ssh: no route"]
    # the summary and the lists name hosts only, as they can be given to --limit
    assert lines[7:] == ["== 3 hosts: 1 ok, 1 failed, 1 unreachable ==", "failed: app2", "unreachable: build1"]
    assert [h["user"] for h in report["hosts"]] == ["root", "deploy", "root"]
    assert report["failed"] == ["app2"] and report["unreachable"] == ["build1"]


def test_hosts_without_a_known_user_keep_the_plain_header():
    report = command_report({"a": OK, "b": OK, "c": OK}, users={"a": "", "b": None})
    assert [line for line in report["lines"] if line.startswith("== ")][:3] == [
        "== a: ok, rc=0 ==", "== b: ok, rc=0 ==", "== c: ok, rc=0 =="]
    assert [h["user"] for h in report["hosts"]] == [None, None, None]


def test_without_users_the_report_is_unchanged():
    results = {"app1": OK, "app2": FAILED, "build1": UNREACHABLE, "lb1": SKIPPED}
    hosts = ["lb1", "app1", "app2", "build1", "db1"]
    plain = command_report(results, hosts=hosts)
    assert plain == command_report(results, hosts, None)
    assert all("user" not in entry for entry in plain["hosts"])
    with_users = command_report(results, hosts=hosts, users={})
    assert with_users["lines"] == plain["lines"]


@pytest.mark.parametrize("bad, message", [
    (["root"], "users must be a mapping of host name to user, got a list"),
    ("root", "users must be a mapping of host name to user, got a string"),
    ({"app1": ["root"]}, "users must map host names to user names; app1 has a list"),
    ({"app1": 0}, "users must map host names to user names; app1 has an int"),
])
def test_rejects_users_that_are_not_a_mapping_of_names(bad, message):
    with pytest.raises(AnsibleFilterError, match=f"^command_report: {re.escape(message)}$"):
        command_report({"app1": OK}, users=bad)


def test_filter_is_registered():
    assert FilterModule().filters()["command_report"] is command_report
