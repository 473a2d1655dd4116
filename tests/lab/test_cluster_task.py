# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""jvmops.deploy.cluster_task on the lab hosts: named tasks with arguments, run on every host of a cluster.

The lab's inventory is generated, so each test passes its `cluster_tasks` as extra vars (JSON). Commands only
read, or touch marker files under /tmp named for the test run: other scenarios use the same hosts meanwhile.
"""

from __future__ import annotations

import json
import re
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import ANSIBLE_BIN
from test_run_command import _run_in_terminal

PLAYBOOK = "jvmops.deploy.cluster_task"
NEVER = "/tmp/jvmops-cluster-task-never"  # tasks that must not run touch this
MARK = f"touch {NEVER}"
ALL = ["lb1", "app1", "app2", "build1"]
APP = ["app1", "app2"]


def report(run, task="Show each host's output"):
    """The list a debug task printed as its msg (the report lines, or the task listing)."""
    match = re.search(rf'TASK \[{re.escape(task)}\].*?"msg": (\[.*?\n    \])', run.output, re.S)
    assert match, run
    return json.loads(match.group(1))


def sections(lines):
    """Report lines as {header: [output lines]} for each host's `== user@host: status ==` header."""
    result, current = {}, None
    for line in lines:
        if line.startswith("== ") and "@" in line.split(":")[0]:
            current = result.setdefault(line, [])
        elif line.startswith("== "):
            current = None
        elif current is not None:
            current.append(line[2:])
    return result


@pytest.fixture(name="marker")
def marker_fixture(lab):
    """A marker file path under /tmp, unique to this test; removed from every host afterwards."""
    path = f"/tmp/jvmops-cluster-task-{uuid.uuid4().hex[:12]}"
    yield path
    with ThreadPoolExecutor(len(ALL)) as pool:
        list(pool.map(lambda host: lab.ssh(host, f"rm -f {path}", check=False), ALL))


def exists(lab, host, path):
    return lab.ssh(host, f"test -e {path}", check=False).returncode == 0


def exists_on(lab, hosts, path):
    """The hosts where path exists (asked in parallel)."""
    with ThreadPoolExecutor(len(hosts)) as pool:
        found = list(pool.map(lambda host: exists(lab, host, path), hosts))
    return [host for host, there in zip(hosts, found) if there]


def run(lab, task, tasks, target="app", task_args=None, check=False, **extra):
    extra_json = {"cluster_tasks": tasks, "task": task, "target": target, "confirm": True, **extra}
    if task_args is not None:
        extra_json["task_args"] = task_args
    return lab.playbook(PLAYBOOK, extra_json=extra_json, check=check)


def test_each_hosts_output_is_shown_under_user_at_host(lab):
    tasks = {"hello": {"description": "Say hello", "args": ["who"], "readonly": True,
                       "command": 'echo "hello $1 from $(hostname) ({{ inventory_hostname }}), task $0, $# argument"'}}
    # one argument as a plain -e key=value string
    result = lab.playbook(PLAYBOOK, {"task_args": "world"},
                          extra_json={"cluster_tasks": tasks, "task": "hello", "target": "app", "confirm": True})
    assert result.rc == 0, result
    lines = report(result)
    assert sections(lines) == {
        f"== root@{host}: ok, rc=0 ==": [f"hello world from {host} ({host}), task hello, 1 argument"] for host in APP
    }, result
    assert lines[-1] == "== 2 hosts: 2 ok ==", result
    assert result.changed() == {}, result


def test_arguments_arrive_word_for_word_and_never_run_as_shell(lab, marker):
    hostile = [f"x; touch {marker}", f"$(touch {marker})", f"`touch {marker}`", f"'; touch {marker}; '",
               "two  words", "$HOME", "~", "*", "-n", ""]
    tasks = {"show": {"args": ["first"], "more_args": True, "readonly": True,
                      "command": 'printf "[%s]\\n" "$@"; echo "count=$#"'}}
    result = run(lab, "show", tasks, target="app1", task_args=hostile)
    assert result.rc == 0, result
    body = sections(report(result))["== root@app1: ok, rc=0 =="]
    assert body == [f"[{arg}]" for arg in hostile] + [f"count={len(hostile)}"], result
    assert exists_on(lab, APP, marker) == [], "an argument ran as a shell command"


def test_arguments_as_a_json_list_on_the_command_line(lab, marker):
    tasks = {"show": {"args": ["a", "b"], "readonly": True, "command": 'echo "1=$1 2=$2"'}}
    extra_json = {"cluster_tasks": tasks, "task": "show", "target": "app1", "confirm": True}
    result = lab.playbook(PLAYBOOK, {"task_args": f'["v1.2","x;touch {marker}"]'}, extra_json=extra_json)
    assert result.rc == 0, result
    assert sections(report(result))["== root@app1: ok, rc=0 =="] == [f"1=v1.2 2=x;touch {marker}"], result
    assert not exists(lab, "app1", marker)


def test_failing_host_is_reported_the_others_ran_and_the_run_fails(lab, marker):
    tasks = {"mark": {"command": f"touch {marker}; test $(hostname) != app2"}}
    result = run(lab, "mark", tasks, target="lab")
    assert result.rc != 0, result
    found = sections(report(result))
    for host in ("lb1", "app1", "build1"):
        assert f"== root@{host}: ok, rc=0 ==" in found, result
    assert "== root@app2: failed, rc=1 ==" in found, result
    assert "== 4 hosts: 3 ok, 1 failed ==" in report(result), result
    assert "Cluster task 'mark' did not succeed everywhere. Failed: app2. Unreachable: none." in result.output
    assert exists_on(lab, ALL, marker) == ALL, "every host, the failing one too, ran the task"


def test_a_list_of_commands_stops_at_the_first_failure(lab, marker):
    tasks = {"steps": {"readonly": True, "command": ["cd /tmp", "pwd", "echo step two # a comment", "exit 3",
                                                     f"touch {marker}"]}}
    result = run(lab, "steps", tasks, target="app1")
    assert result.rc != 0, result
    # each command in its own subshell, as separate ssh calls: the cd does not carry over
    assert sections(report(result))["== root@app1: failed, rc=3 =="] == ["/root", "step two", "The command exited with a non-zero return code."], result
    assert not exists(lab, "app1", marker)


def test_readonly_task_converges_and_runs_in_check_mode(lab):
    tasks = {"uptime": {"description": "Load and uptime", "readonly": True, "command": "uptime", "timeout": 30}}
    first = lab.converge(PLAYBOOK, {"task": "uptime", "target": "app", "confirm": "true"},
                         extra_json={"cluster_tasks": tasks})
    assert set(first.recap) == {"localhost", "app1", "app2"}, first
    check = run(lab, "uptime", {"uptime": {**tasks["uptime"], "command": "echo checked"}}, check=True)
    assert check.rc == 0 and not check.changed(), check
    assert sections(report(check))["== root@app1: ok, rc=0 =="] == ["checked"], check


def test_changing_task_is_skipped_in_check_mode_and_changes_in_a_real_run(lab, marker):
    tasks = {"mark": {"command": f"touch {marker}"}}
    check = run(lab, "mark", tasks, check=True)
    assert check.rc == 0 and not check.changed(), check
    assert "== root@app1: skipped ==" in report(check), check
    assert exists_on(lab, APP, marker) == []
    real = run(lab, "mark", tasks)
    assert real.rc == 0, real
    assert real.changed() == {"app1": 1, "app2": 1}, real
    assert exists_on(lab, APP, marker) == APP


def test_timeout_stops_a_hanging_task(lab):
    result = run(lab, "hang", {"hang": {"command": "sleep 30", "readonly": True, "timeout": 2}}, target="app1")
    assert result.rc != 0, result
    assert any(line.startswith("== root@app1: failed") for line in report(result)), result


def test_list_shows_the_tasks_and_runs_nothing(lab):
    tasks = {
        "app-version": {"description": "Show the app's version\nsecond line", "command": MARK, "readonly": True},
        "log-grep": {"description": "Count matching log lines", "args": ["pattern"], "more_args": True,
                     "command": MARK, "become": True},
        "bare": {"command": MARK},
    }
    result = lab.playbook(PLAYBOOK, {"task": "list"}, extra_json={"cluster_tasks": tasks})
    assert result.rc == 0, result
    assert report(result, "List the cluster tasks") == [
        "Cluster tasks for target 'all' (lb1, app1, app2, build1):",
        "  app-version: Show the app's version (readonly)",
        "  bare",
        "  log-grep <pattern> ...: Count matching log lines (become)",
    ], result
    assert set(result.recap) == {"localhost"}, result  # no play ran on a lab host


def test_list_names_tasks_defined_on_some_hosts_only(lab):
    only_app1 = '{{ {"probe": {"command": "true", "description": "Probe"}} if inventory_hostname == "app1" else {} }}'
    result = lab.playbook(PLAYBOOK, {"task": "list", "target": "app"}, extra_json={"cluster_tasks": only_app1})
    assert result.rc == 0, result
    assert report(result, "List the cluster tasks")[1:] == ["  probe: Probe (only on app1)"], result


def test_unconfirmed_run_does_nothing(lab, marker):
    extra_json = {"cluster_tasks": {"mark": {"command": f"touch {marker}"}}, "task": "mark", "target": "app1"}
    result = lab.playbook(PLAYBOOK, extra_json=extra_json)
    assert result.rc != 0, result
    assert "Not confirmed: nothing was run" in result.output, result
    assert not exists(lab, "app1", marker)


def test_confirmation_prompt_shows_the_task_and_yes_runs_it(lab, marker):
    tasks = {"mark": {"description": "Leave a marker", "args": ["name"], "command": 'touch "$1"'}}
    cmd = [str(ANSIBLE_BIN / "ansible-playbook"), "-i", str(lab.inventory), PLAYBOOK,
           "-e", json.dumps({"cluster_tasks": tasks, "task": "mark", "target": "app1", "task_args": [marker]})]
    rc, output = _run_in_terminal(cmd, "yes")
    assert "Run cluster task 'mark' on 1 host (app1)?" in output, output
    assert "Leave a marker" in output and f"arguments: {marker}" in output and 'touch "$1"' in output, output
    assert rc == 0, output
    assert exists(lab, "app1", marker)


ONLY_APP1 = '{{ {"mark": {"command": "' + MARK + '"}} if inventory_hostname == "app1" else {} }}'


@pytest.mark.parametrize("extra, message", [
    ({"task": "deploy-ap", "cluster_tasks": {"mark": {"command": MARK}, "deploy": {"command": MARK}}},
     "unknown cluster task 'deploy-ap' for target 'app': known tasks are deploy, mark (-e task=list describes them)"),
    ({"task": "mark", "cluster_tasks": {}}, "no cluster_tasks are defined for its hosts"),
    ({"task": "mark", "cluster_tasks": {"mark": {"command": MARK, "args": ["version", "color"]}}, "task_args": ["v1"]},
     "cluster task 'mark' needs 2 arguments (version, color), got 1"),
    ({"task": "mark", "cluster_tasks": {"mark": {"command": MARK}}, "task_args": "[v1"},
     "task_args starts with [ but is not a JSON list of strings ([v1)"),
    ({"task": "mark", "task_args": [1.5],
      "cluster_tasks": {"mark": {"command": [MARK, ""], "becomes": True, "timeout": "soon", "readonly": "yes"}}},
     "cluster_task: task_args item 1 is 1.5: each argument must be a string (quote numbers such as \"1.10\"); "
     "cluster_tasks.mark has unknown keys becomes (known: args, become, command, description, more_args, readonly, "
     "timeout); cluster_tasks.mark.command must be a shell command or a list of them (non-empty strings), got "
     f"[\"{MARK}\", \"\"]; cluster_tasks.mark.readonly must be true or false, got \"yes\"; "
     "cluster_tasks.mark.timeout must be a whole number of seconds, got \"soon\"; "
     "cluster task 'mark' takes 0 arguments, got 1 in task_args (set more_args: true to accept more)"),
    ({"task": "mark", "cluster_tasks": ONLY_APP1}, "cluster task 'mark' is not defined (in cluster_tasks) (on app2)"),
    ({"task": "mark", "cluster_tasks": "mark"}, "cluster_tasks must be a mapping of task name to task"),
    ({"cluster_tasks": {"mark": {"command": MARK}}}, "cluster_task needs `task`"),
    ({"task": "mark", "target": " ", "cluster_tasks": {"mark": {"command": MARK}}}, "and `target` (the cluster"),
    ({"task": "mark", "target": "nosuchgroup", "cluster_tasks": {"mark": {"command": MARK}}},
     "target 'nosuchgroup' matches no host in the inventory"),
])
def test_bad_input_is_refused_before_anything_runs(lab, extra, message):
    result = lab.playbook(PLAYBOOK, extra_json={"target": "app", "confirm": True, **extra})
    assert result.rc != 0, result
    assert message in result.output, result
    assert "Traceback" not in result.output, result
    assert set(result.recap) == {"localhost"}, result
    assert exists_on(lab, APP, NEVER) == []
