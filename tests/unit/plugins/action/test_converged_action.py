# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""converged's action with core's real loader and templar: problems fail the task before anything else, the other
options are checked, files are resolved as for config_files, and the module runs once (_execute_module is the only
thing replaced)."""

from __future__ import annotations

import base64
from unittest import mock

import pytest

from ansible.errors import AnsibleActionFail
from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play_context import PlayContext
from ansible.template import Templar

from ansible_collections.jvmops.deploy.plugins.action import converged

MODULE_RESULT = {"changed": False, "converged": False, "differences": ["file /etc/app.conf differs"],
                 "differing": {"files": ["file /etc/app.conf differs"]}}
EMPTY = {"files": [], "links": [], "groups": [], "users": [], "packages": [], "services": [], "commands": []}


@pytest.fixture(name="role")
def role_fixture(tmp_path):
    """A role on disk (tasks, templates, files) below a play directory."""
    role = tmp_path / "roles" / "app"
    for sub in ("tasks", "templates", "files"):
        (role / sub).mkdir(parents=True)
    (role / "tasks" / "main.yml").write_text("---\n")
    (role / "templates" / "app.conf.j2").write_text("{% for name, port in app_ports.items() %}\n{{ name }} = {{ port }}\n{% endfor %}\n")
    (role / "files" / "keystore.p12").write_bytes(bytes(range(256)))
    return role


@pytest.fixture(name="action")
def action_fixture(role):
    """run(args, **task_vars) -> (result, (module_name, module_args) or None), with the module call captured."""
    loader = DataLoader()
    loader.set_basedir(str(role.parent.parent))
    calls = []

    def run(args, check=False, **task_vars):
        task = mock.MagicMock()
        task.args = args
        task.async_val = 0
        task.check_mode = check
        task.action = "jvmops.deploy.converged"
        task.get_search_path.return_value = [str(role), str(role / "tasks")]
        connection = mock.MagicMock()
        connection._shell.tmpdir = None
        action = converged.ActionModule(task=task, connection=connection, play_context=PlayContext(), loader=loader,
                                        templar=Templar(loader=loader, variables={}), shared_loader_obj=None)

        def execute_module(module_name=None, module_args=None, task_vars=None, **_kwargs):
            calls.append((module_name, module_args))
            return dict(MODULE_RESULT)

        action._execute_module = execute_module  # pylint: disable=protected-access
        result = action.run(task_vars={"ansible_search_path": [str(role), str(role / "tasks")], **task_vars})
        return result, (calls[-1] if calls else None)

    run.calls = calls
    return run


def decoded(entry):
    return base64.b64decode(entry["content_base64"])


def fails(action, args, **task_vars):
    """The task's failure message; the module was not run."""
    with pytest.raises(AnsibleActionFail) as caught:
        action(args, **task_vars)
    assert action.calls == []
    return str(caught.value)


# problems

def test_a_problem_fails_the_task_with_exactly_its_message(action):
    message = "haproxy: haproxy_maxconn must be a whole number, got 'lots'"
    assert fails(action, {"problems": message, "packages": ["haproxy"]}) == message


def test_problems_are_joined_and_empty_entries_left_out(action):
    assert fails(action, {"problems": ["", "haproxy: haproxy_maxconn must be a whole number", ""]}) == \
        "haproxy: haproxy_maxconn must be a whole number"
    assert fails(action, {"problems": ["a: x must be set", "", "b: y must be a port"]}) == "a: x must be set; b: y must be a port"


def test_problems_come_before_the_other_options_are_checked_or_templates_rendered(action):
    args = {"problems": "app: app_port must be a port",
            "files": [{"dest": "/etc/a", "template": "no-such-template.j2"}, {"dest": "relative", "content": "x"}],
            "links": [{"dest": "/a", "path": "/b"}], "users": "nobody", "commands": ["true"]}
    assert fails(action, args) == "app: app_port must be a port"


@pytest.mark.parametrize("problems", ["", [], [""], ["", ""], None])
def test_no_problem_lets_the_module_run(action, problems):
    result, (module, args) = action({"problems": problems, "packages": ["haproxy"]})
    assert module == "jvmops.deploy.converged"
    assert args == {**EMPTY, "packages": ["haproxy"]}  # problems is not sent
    assert result == MODULE_RESULT


@pytest.mark.parametrize("problems", [3, ["ok", 3], {"a": "b"}, [["nested"]]])
def test_problems_of_another_type_fail_naming_the_option(action, problems):
    assert fails(action, {"problems": problems}) == f"problems must be a string or a list of strings, got {problems!r}"


# Shapes

@pytest.mark.parametrize("args, message", [
    ({"links": [{"dest": "/srv/app/current", "src": "releases/1"}, {"dest": "/a", "src": "b", "force": True}]},
     "links[1]: unknown keys force; the keys are dest, src"),
    ({"links": {"dest": "/a", "src": "b"}}, "links must be a list, got dict"),
    ({"users": "app"}, "users must be a list, got str"),
    ({"users": [{"name": "app", "uid": 1001}]}, "users[0]: unknown keys uid; the keys are group, home, name, shell"),
    ({"groups": ["app", 5]}, "groups[1] must be a name (a non-empty string), got 5"),
    ({"groups": [""]}, "groups[0] must be a name (a non-empty string), got ''"),
    ({"packages": ["haproxy", {"name": "nginx"}]}, "packages[1] must be a name (a non-empty string), got {'name': 'nginx'}"),
    ({"services": [{"name": "haproxy", "state": "started"}]}, "services[0]: unknown keys state; the keys are active, enabled, name"),
    ({"commands": ["test -f /etc/app.conf"]}, "commands[0] must be a dict with argv, output, rc, got str"),
    ({"commands": [{"argv": ["true"], "shell": True}]}, "commands[0]: unknown keys shell; the keys are argv, output, rc"),
    ({"files": [{"dest": "/etc/a", "content": "x", "backup": True}]}, "files[0] (dest /etc/a): unknown keys backup; the keys are "),
    ({"files": [{"dest": "/etc/a"}]}, "files[0] (dest /etc/a): state=file needs one of template, src or content"),
    ({"files": [{"dest": "/etc/b", "template": "nowhere.j2"}]}, "files[0] (dest /etc/b): template 'nowhere.j2' not found"),
])
def test_bad_shapes_fail_naming_the_option_before_the_module_runs(action, args, message):
    assert fails(action, args).startswith(message)


def test_an_unknown_option_is_refused(action):
    message = fails(action, {"packages": ["haproxy"], "package": ["nginx"]})
    assert "package" in message and "Invalid options" in message


# What is sent

def test_files_are_rendered_as_for_config_files_and_the_rest_sent_as_given(action, role):
    files = [
        {"dest": "/etc/app", "state": "directory", "mode": "0755"},
        {"dest": "/etc/app/app.conf", "template": "app.conf.j2", "owner": "root", "mode": "0644", "validate": "app --check %s"},
        {"dest": "/etc/app/keystore.p12", "src": "keystore.p12", "mode": "0600"},
        {"dest": "/etc/app/JAVA_OPTS", "content": "-Xmx1g\n"},
        {"dest": "/etc/app/old", "state": "absent"},
    ]
    others = {
        "links": [{"dest": "/srv/app/current", "src": "releases/1"}],
        "groups": ["app"],
        "users": [{"name": "app", "group": "app", "home": "/srv/app", "shell": "/usr/sbin/nologin"}],
        "packages": ["openjdk-17-jre-headless"],
        "services": [{"name": "app", "enabled": True, "active": True}],
        "commands": [{"argv": ["test", "-f", "/srv/app/current/app.jar"], "rc": 0, "output": None}],
        "sysctl": {"parameters": {"net.core.somaxconn": 1024}},
        "alternatives": {"select": "/usr/lib/jvm/jdk-17", "commands": ["java"]},
    }
    result, (module, args) = action({"files": files, **others}, app_ports={"http": 8080, "admin": 9090})
    assert module == "jvmops.deploy.converged" and result == MODULE_RESULT
    assert {key: value for key, value in args.items() if key != "files"} == others
    sent = args["files"]
    assert sent[0] == {"dest": "/etc/app", "state": "directory", "mode": "0755"}
    assert decoded(sent[1]) == b"http = 8080\nadmin = 9090\n"
    assert {key: value for key, value in sent[1].items() if key != "content_base64"} == {
        "dest": "/etc/app/app.conf", "owner": "root", "mode": "0644", "validate": "app --check %s"}
    assert decoded(sent[2]) == (role / "files" / "keystore.p12").read_bytes() and "src" not in sent[2]
    assert sent[3] == {"dest": "/etc/app/JAVA_OPTS", "content_base64": base64.b64encode(b"-Xmx1g\n").decode()}
    assert sent[4] == {"dest": "/etc/app/old", "state": "absent"}


def test_a_template_that_fails_to_render_fails_naming_the_entry(action, role):
    (role / "templates" / "broken.j2").write_text("port = {{ no_such_variable }}\n")
    message = fails(action, {"files": [{"dest": "/etc/broken.conf", "template": "broken.j2"}]})
    assert message.startswith("files[0] (dest /etc/broken.conf): failed to render template 'broken.j2'") and "no_such_variable" in message


def test_sysctl_or_alternatives_alone_run_the_module(action):
    _result, (_module, args) = action({"alternatives": {"select": "/usr/lib/jvm/jdk-17", "commands": ["java"]}})
    assert args == {**EMPTY, "alternatives": {"select": "/usr/lib/jvm/jdk-17", "commands": ["java"]}}
    _result, (_module, args) = action({"sysctl": {"parameters": {"vm.swappiness": 1}}, "alternatives": None})
    assert args == {**EMPTY, "sysctl": {"parameters": {"vm.swappiness": 1}}}


@pytest.mark.parametrize("args", [{}, {"problems": ""}, {"files": [], "packages": [], "sysctl": None}, {"links": None, "groups": ""}])
def test_nothing_to_check_is_converged_without_a_module_run(action, args):
    result, call = action(args)
    assert call is None and action.calls == []
    assert result == {"changed": False, "converged": True, "differences": [], "differing": {}}


def test_an_empty_sysctl_or_alternatives_still_runs_the_module_which_refuses_it(action):
    for key in ("sysctl", "alternatives"):
        action.calls.clear()
        _result, call = action({key: {}})
        assert call is not None and call[1][key] == {}, (key, call)
