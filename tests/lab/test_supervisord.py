# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""supervisord role: a changed program is applied alone; a bad program file never goes live."""

from __future__ import annotations

from pathlib import Path

import pytest

PLAYBOOK = str(Path(__file__).resolve().parent / "playbooks" / "supervisord.yml")


@pytest.fixture(scope="module", autouse=True)
def clean_host(lab):
    lab.reset("app1")


def pids(lab):
    daemon = lab.ssh("app1", "systemctl show -p MainPID --value supervisor").stdout.strip()
    return {"supervisord": daemon, **{name: lab.ssh("app1", f"supervisorctl pid {name}").stdout.strip()
                                      for name in ("alpha", "beta")}}


def test_changed_program_is_updated_alone(lab):
    lab.converge(PLAYBOOK)
    before = pids(lab)
    assert all(pid.isdigit() and pid != "0" for pid in before.values()), before
    changed = lab.playbook(PLAYBOOK, {"lab_alpha_colour": "blue"})
    assert changed.rc == 0 and changed.changed().get("app1"), changed
    after = pids(lab)
    assert after["alpha"] != before["alpha"]
    assert after["beta"] == before["beta"]
    assert after["supervisord"] == before["supervisord"]
    assert 'COLOUR="blue"' in lab.ssh("app1", "cat /etc/supervisor/conf.d/alpha.conf").stdout
    assert "COLOUR=blue" in lab.ssh("app1", f"tr '\\0' '\\n' < /proc/{after['alpha']}/environ").stdout


def test_program_file_has_the_guides_keys(lab):
    text = lab.ssh("app1", "cat /etc/supervisor/conf.d/alpha.conf").stdout
    for key in ("autostart=true", "autorestart=true", "startsecs=1", "redirect_stderr=true",
                "stdout_logfile_maxbytes=10MB", "stdout_logfile_backups=7", "stdout_capture_maxbytes=1MB",
                "stdout_events_enabled=false", "stopsignal=TERM", "stopwaitsecs=20"):
        assert key in text, key


def test_bad_program_is_refused_and_the_live_one_keeps_running(lab):
    before = pids(lab)
    live = lab.ssh("app1", "cat /etc/supervisor/conf.d/alpha.conf").stdout
    run = lab.playbook(PLAYBOOK, {"lab_alpha_colour": "blue", "lab_alpha_startsecs": "soon"})
    assert run.rc != 0, run
    assert "failed to validate" in run.output or "startsecs" in run.output, run
    assert lab.ssh("app1", "cat /etc/supervisor/conf.d/alpha.conf").stdout == live
    assert pids(lab) == before


def test_a_stopped_program_or_daemon_or_an_edited_file_is_noticed_and_put_right(lab):
    """A no-change run checks in one module call; what it checks must include what runs, not only the files, and a
    file edited by hand."""
    lab.converge(PLAYBOOK, {"lab_alpha_colour": "blue"})
    lab.ssh("app1", "supervisorctl stop beta")
    run = lab.playbook(PLAYBOOK, {"lab_alpha_colour": "blue"})
    assert run.rc == 0 and run.changed() == {"app1": 1}, run
    assert "RUNNING" in lab.ssh("app1", "supervisorctl status beta").stdout
    lab.ssh("app1", "systemctl stop supervisor")
    run = lab.playbook(PLAYBOOK, {"lab_alpha_colour": "blue"})
    assert run.rc == 0 and run.changed().get("app1"), run
    assert lab.ssh("app1", "systemctl is-active supervisor").stdout.strip() == "active"
    for name in ("alpha", "beta"):
        assert "RUNNING" in lab.ssh("app1", f"supervisorctl status {name}").stdout, name
    lab.ssh("app1", "echo '; edited by hand' >> /etc/supervisor/conf.d/beta.conf")
    run = lab.playbook(PLAYBOOK, {"lab_alpha_colour": "blue"})
    assert run.rc == 0 and run.changed().get("app1"), run
    assert "edited by hand" not in lab.ssh("app1", "cat /etc/supervisor/conf.d/beta.conf").stdout
    again = lab.playbook(PLAYBOOK, {"lab_alpha_colour": "blue"})
    assert again.rc == 0 and not again.changed(), again
