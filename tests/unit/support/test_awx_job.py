# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""tests/awx_job.py: a job runs through ansible-runner with only what it was given, and its checks can fail."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import awx_job  # noqa: E402  pylint: disable=wrong-import-position

PLAYBOOK = """\
- name: A job
  hosts: all
  gather_facts: false
  tasks:
    - name: Show what the job sees
      ansible.builtin.debug:
        msg: "greeting={{ greeting }} injected={{ lookup('ansible.builtin.env', 'JVMOPS_TEST_TOKEN') }}
          outside={{ lookup('ansible.builtin.env', 'JVMOPS_NOT_GIVEN') }}"
    - name: Change something
      ansible.builtin.command: "true"
      changed_when: "greeting == 'change'"
"""


@pytest.fixture(name="project")
def project_fixture(tmp_path):
    (tmp_path / "project" / "playbooks").mkdir(parents=True)
    (tmp_path / "project" / "playbooks" / "job.yml").write_text(PLAYBOOK)
    return tmp_path / "project"


def test_job_sees_extra_vars_and_injected_variables_only(tmp_path, project, monkeypatch):
    monkeypatch.setenv("JVMOPS_NOT_GIVEN", "from-the-test-process")
    job = awx_job.run_job(tmp_path / "job", project, "playbooks/job.yml", awx_job.localhost_inventory(),
                          {"greeting": "hello"}, {"JVMOPS_TEST_TOKEN": "tok-123"})
    assert job.status == "successful" and job.rc == 0, job
    assert '"msg": "greeting=hello injected=tok-123 outside="' in job.stdout, job
    names = job.event_names()
    assert names[0] == "playbook_on_start" and names[-1] == "playbook_on_stats"
    assert job.stats["ok"] == {"localhost": 2} and job.changed(exclude=()) == {}
    assert set(job.task_results("Change something")) == {"localhost"}


def test_changes_and_failures_are_reported(tmp_path, project):
    job = awx_job.run_job(tmp_path / "job", project, "playbooks/job.yml", awx_job.localhost_inventory(),
                          {"greeting": "change"}, {})
    assert job.changed(exclude=()) == {"localhost": 1}
    failed = awx_job.run_job(tmp_path / "failed", project, "playbooks/job.yml", awx_job.localhost_inventory(), {}, {})
    assert failed.status == "failed" and failed.rc != 0
    assert failed.stats["failures"] == {"localhost": 1}


def test_leaks_are_found_in_output_and_events_but_not_in_the_injected_environment(tmp_path, project):
    job = awx_job.run_job(tmp_path / "job", project, "playbooks/job.yml", awx_job.localhost_inventory(),
                          {"greeting": "hello-marker-77"}, {"JVMOPS_TEST_TOKEN": "tok-456"})
    found = job.leaks({"the greeting": "hello-marker-77"})
    files = {Path(name.split(" ")[0]).name for _label, name in found}
    assert "stdout" in files and any(name.endswith(".json") for name in files), found
    # The injected token is printed by the debug task: found in stdout, and not counted in the command record.
    token = job.leaks({"the token": "tok-456"})
    assert token and all("command" not in name for _label, name in token), token
    assert (job.artifacts / "command").read_text().count("tok-456") == 1


def test_command_line_checks_fail_the_run(tmp_path, project, capsys):
    code = awx_job.main(["--dir", str(tmp_path / "job"), "--project", str(project), "--playbook", "playbooks/job.yml",
                         "--localhost", "--extra-var", "greeting=change", "--expect-changed", "0"])
    assert code == 1
    assert "the recap counts 1 changed tasks, expected 0" in capsys.readouterr().err
    code = awx_job.main(["--dir", str(tmp_path / "job2"), "--project", str(project), "--playbook", "playbooks/job.yml",
                         "--localhost", "--extra-var", "greeting=hi", "--expect-changed", "0"])
    assert code == 0
    assert "successful" in capsys.readouterr().out
