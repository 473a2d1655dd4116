# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""config_files's action with core's real loader and templar: what it sends to the module (_execute_module is the
only thing replaced), and the entries it refuses before that."""

from __future__ import annotations

import base64
from unittest import mock

import pytest

from ansible.errors import AnsibleActionFail
from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play_context import PlayContext
from ansible.release import __version__ as core_version
from ansible.template import Templar

from ansible_collections.jvmops.deploy.plugins.action import config_files


@pytest.fixture(name="role")
def role_fixture(tmp_path):
    """A role on disk (tasks, templates, files) and a play directory above it."""
    role = tmp_path / "roles" / "app"
    for sub in ("tasks", "templates", "files"):
        (role / sub).mkdir(parents=True)
    (role / "tasks" / "main.yml").write_text("---\n")
    (role / "templates" / "app.conf.j2").write_text(
        "# {{ ansible_managed }}\n"
        "{% for name, port in app_ports.items() %}\n"
        "{{ name }} = {{ port }}\n"
        "{% endfor %}\n"
        "dest = {{ template_destpath }}\n"
        "{% include 'part.j2' %}\n")
    (role / "templates" / "part.j2").write_text("heap = {{ app_heap }}\n")
    (role / "files" / "keystore.p12").write_bytes(bytes(range(256)))
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "play.j2").write_text("from the play's templates/: {{ app_heap }}\n")
    return role


@pytest.fixture(name="action")
def action_fixture(role):
    """run(files, **task_vars) -> (result, module_args), with the module call captured."""
    loader = DataLoader()
    loader.set_basedir(str(role.parent.parent))
    calls = []

    def run(files, check=False, **task_vars):
        task = mock.MagicMock()
        task.args = {"files": files}
        task.async_val = 0
        task.check_mode = check
        task.action = "jvmops.deploy.config_files"
        task.get_search_path.return_value = [str(role), str(role / "tasks")]
        connection = mock.MagicMock()
        connection._shell.tmpdir = None
        action = config_files.ActionModule(task=task, connection=connection, play_context=PlayContext(), loader=loader,
                                           templar=Templar(loader=loader, variables={}), shared_loader_obj=None)

        def execute_module(module_name=None, module_args=None, task_vars=None, **_kwargs):
            calls.append((module_name, module_args))
            return {"changed": True, "files": [{"dest": f["dest"]} for f in module_args["files"]]}

        action._execute_module = execute_module  # pylint: disable=protected-access
        result = action.run(task_vars={"ansible_search_path": [str(role), str(role / "tasks")], **task_vars})
        return result, (calls[-1] if calls else None)

    run.calls = calls
    return run


def decoded(entry):
    return base64.b64decode(entry["content_base64"])


def test_renders_templates_with_the_task_vars_and_reads_src_verbatim(action, role):
    files = [
        {"dest": "/etc/app", "state": "directory", "mode": "0755"},
        {"dest": "/etc/app/app.conf", "template": "app.conf.j2", "owner": "root", "mode": "0644", "validate": "check %s"},
        {"dest": "/etc/app/keystore.p12", "src": "keystore.p12", "mode": "0600"},
        {"dest": "/etc/app/JAVA_OPTS", "content": "-Xmx1g\n"},
        {"dest": "/etc/app/play.conf", "template": "play.j2"},
        {"dest": "/etc/app/old", "state": "absent"},
    ]
    result, (module, args) = action(files, app_ports={"http": 8080, "admin": 9090}, app_heap="2g")
    assert module == "jvmops.deploy.config_files"
    assert result["changed"]
    sent = args["files"]
    assert [entry["dest"] for entry in sent] == [entry["dest"] for entry in files]
    assert sent[0] == {"dest": "/etc/app", "state": "directory", "mode": "0755"}
    assert sent[5] == {"dest": "/etc/app/old", "state": "absent"}
    conf = decoded(sent[1]).decode()
    managed = conf.splitlines()[0]
    assert managed.startswith("# ") and "{{" not in managed and managed != "# "  # core's ansible_managed, rendered
    assert conf.splitlines()[1:] == ["http = 8080", "admin = 9090", "dest = /etc/app/app.conf", "heap = 2g"]
    assert {key: value for key, value in sent[1].items() if key != "content_base64"} == {
        "dest": "/etc/app/app.conf", "owner": "root", "mode": "0644", "validate": "check %s"}
    assert decoded(sent[2]) == (role / "files" / "keystore.p12").read_bytes()
    assert "src" not in sent[2] and sent[2]["mode"] == "0600"
    assert decoded(sent[3]) == b"-Xmx1g\n" and "content" not in sent[3]
    assert decoded(sent[4]) == b"from the play's templates/: 2g\n"  # trailing newline kept, as by ansible.builtin.template


def test_ansible_managed_set_by_the_user_is_kept(action, role):
    (role / "templates" / "managed.j2").write_text("# {{ ansible_managed }}\n")
    _result, (_module, args) = action([{"dest": "/etc/m", "template": "managed.j2"}], ansible_managed="Managed by jvmops")
    assert decoded(args["files"][0]) == b"# Managed by jvmops\n"


def test_an_undefined_variable_fails_naming_the_entry(action, role):
    (role / "templates" / "broken.j2").write_text("port = {{ no_such_variable }}\n")
    with pytest.raises(AnsibleActionFail) as caught:
        action([{"dest": "/etc/ok", "content": "x"}, {"dest": "/etc/broken.conf", "template": "broken.j2"}])
    assert str(caught.value).startswith("files[1] (dest /etc/broken.conf): failed to render template 'broken.j2'")
    assert "no_such_variable" in str(caught.value)
    assert action.calls == []


@pytest.mark.parametrize("files, message", [
    ([{"dest": "/etc/a", "content": "x", "backup": True}], "files[0] (dest /etc/a): unknown keys backup; the keys are "),
    ([{"dest": "/etc/a", "content": "x"}, {"dest": "/etc/b", "template": "app.conf.j2", "content": "x"}],
     "files[1] (dest /etc/b): give only one of template, src and content, got template and content"),
    ([{"content": "x"}], "files[0]: dest is required"),
    ([{"dest": "etc/a", "content": "x"}], "files[0] (dest etc/a): dest must be an absolute path"),
    ([{"dest": "/etc/a"}], "files[0] (dest /etc/a): state=file needs one of template, src or content"),
    ([{"dest": "/etc/a", "state": "directory", "content": "x"}], "files[0] (dest /etc/a): content only apply to state=file"),
    ([{"dest": "/etc/a", "state": "gone"}], "files[0] (dest /etc/a): state must be one of file, directory, absent"),
    ([{"dest": "/etc/a", "content": "x", "validate": "check"}], "files[0] (dest /etc/a): validate must be a command that contains %s"),
    ([{"dest": "/etc/a", "content": "x", "validate": "check --max 5% %s"}], "files[0] (dest /etc/a): validate must be a command that contains %s"),
    ([{"dest": "/etc/a", "content": "x", "mode": 644.0}], "files[0] (dest /etc/a): mode must be octal"),
    ([{"dest": "/etc/a", "content": "x", "mode": "rw-r--r--"}], "files[0] (dest /etc/a): mode must be octal"),
    ([{"dest": "/etc/a", "content": ["x"]}], "files[0] (dest /etc/a): content must be a string, got list"),
    (["/etc/a"], "files[0]: each entry must be a dict"),
    ({"dest": "/etc/a"}, "files must be a list of entries, got dict"),
    ([{"dest": "/etc/a", "content": "x"}, {"dest": "/etc/b", "template": "nowhere.j2"}],
     "files[1] (dest /etc/b): template 'nowhere.j2' not found"),
    ([{"dest": "/etc/b", "src": "nowhere.bin"}], "files[0] (dest /etc/b): src 'nowhere.bin' not found"),
])
def test_bad_entries_fail_before_the_module_runs(action, files, message):
    with pytest.raises(AnsibleActionFail) as caught:
        action(files)
    assert str(caught.value).startswith(message), str(caught.value)
    assert action.calls == []


def test_good_modes_pass_the_check():
    for mode in ("0644", "644", "01777", 0o644, "u=rw,g=r,o=", "a+x", "u+rwx,g-w", "=r"):
        assert config_files.valid_mode(mode), mode
    for mode in ("0999", "rw-r--r--", True, "u=rw;g=r", 0o17777):
        assert not config_files.valid_mode(mode), mode


def test_an_empty_list_changes_nothing_without_a_module_run(action):
    result, call = action([])
    assert result == {"changed": False, "files": []} and call is None


def test_the_templating_api_matches_the_core_version():
    """2.19 and later: trusted templates and core's template vars; 2.17 and 2.18: AnsibleEnvironment."""
    if tuple(int(part) for part in core_version.split(".")[:2]) >= (2, 19):
        assert config_files.trust_as_template is not None and config_files.generate_ansible_template_vars is not None
    else:
        assert config_files.trust_as_template is None and config_files.AnsibleEnvironment is not None
