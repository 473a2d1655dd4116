# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import json

from ansible_collections.jvmops.deploy.plugins.modules import deploy_lock as module

ALICE = {"id": "run-a", "user": "alice", "controller": "ops1", "pid": 4711, "why": "release 1.4.2", "operation": "deploy"}
BOB = {"id": "run-b", "user": "bob", "operation": "rollback"}


def test_take_creates_the_lock_with_its_holder_and_parent_directory(invoke, tmp_path):
    path = tmp_path / "locks" / "hello.lock"
    result = invoke(module.main, {"path": str(path), "holder": ALICE})
    assert not result.failed and result.result["changed"]
    written = json.loads(path.read_text())
    assert {k: written[k] for k in ALICE} == ALICE and written["since"].endswith("Z")
    assert result.result["held_by"] == written and result.result["broken"] == {}


def test_taking_it_again_in_the_same_run_changes_nothing(invoke, tmp_path):
    path = tmp_path / "hello.lock"
    invoke(module.main, {"path": str(path), "holder": ALICE})
    before = path.read_text()
    again = invoke(module.main, {"path": str(path), "holder": ALICE})
    assert not again.failed and not again.result["changed"]
    assert path.read_text() == before


def test_another_run_is_refused_with_the_holder_and_nothing_changes(invoke, tmp_path):
    path = tmp_path / "hello.lock"
    invoke(module.main, {"path": str(path), "holder": ALICE})
    before = path.read_text()
    refused = invoke(module.main, {"path": str(path), "holder": BOB})
    assert refused.failed
    msg = refused.result["msg"]
    assert "deploy by alice@ops1 (pid 4711) since" in msg and "why: release 1.4.2" in msg and "lock=break" in msg
    assert refused.result["held_by"]["id"] == "run-a"
    assert path.read_text() == before


def test_force_takes_a_held_lock_over_and_returns_the_former_holder(invoke, tmp_path):
    path = tmp_path / "hello.lock"
    invoke(module.main, {"path": str(path), "holder": ALICE})
    result = invoke(module.main, {"path": str(path), "holder": BOB, "force": True})
    assert not result.failed and result.result["changed"]
    assert result.result["broken"]["id"] == "run-a"
    assert json.loads(path.read_text())["id"] == "run-b"
    assert not list(tmp_path.glob(".lock-*")), "the candidate file was left behind"


def test_check_mode_reports_and_writes_nothing(invoke, tmp_path):
    path = tmp_path / "hello.lock"
    result = invoke(module.main, {"path": str(path), "holder": ALICE}, check=True)
    assert result.result["changed"] and not path.exists()
    invoke(module.main, {"path": str(path), "holder": ALICE})
    refused = invoke(module.main, {"path": str(path), "holder": BOB}, check=True)
    assert refused.failed, "check mode must still refuse a lock another run holds"
    released = invoke(module.main, {"path": str(path), "holder": ALICE, "state": "absent"}, check=True)
    assert released.result["changed"] and path.exists()


def test_release_removes_only_its_own_lock(invoke, tmp_path):
    path = tmp_path / "hello.lock"
    invoke(module.main, {"path": str(path), "holder": ALICE})
    other = invoke(module.main, {"path": str(path), "holder": BOB, "state": "absent"})
    assert not other.failed and not other.result["changed"] and path.exists()
    assert any("held by another run" in w for w in invoke.warnings)
    mine = invoke(module.main, {"path": str(path), "holder": ALICE, "state": "absent"})
    assert mine.result["changed"] and not path.exists()
    again = invoke(module.main, {"path": str(path), "holder": ALICE, "state": "absent"})
    assert not again.result["changed"]


def test_release_with_force_removes_another_runs_lock(invoke, tmp_path):
    path = tmp_path / "hello.lock"
    invoke(module.main, {"path": str(path), "holder": ALICE})
    result = invoke(module.main, {"path": str(path), "holder": BOB, "state": "absent", "force": True})
    assert result.result["changed"] and result.result["broken"]["id"] == "run-a" and not path.exists()


def test_an_unreadable_lock_file_is_refused_and_can_be_broken(invoke, tmp_path):
    path = tmp_path / "hello.lock"
    path.write_text("garbage")
    refused = invoke(module.main, {"path": str(path), "holder": ALICE})
    assert refused.failed and "cannot be read ('garbage')" in refused.result["msg"]
    forced = invoke(module.main, {"path": str(path), "holder": ALICE, "force": True})
    assert forced.result["changed"] and json.loads(path.read_text())["id"] == "run-a"


def test_bad_input_names_the_option(invoke, tmp_path):
    blank = invoke(module.main, {"path": str(tmp_path / "x.lock"), "holder": {"id": "  "}})
    assert blank.failed and "holder.id" in blank.result["msg"]
    directory = invoke(module.main, {"path": str(tmp_path), "holder": ALICE})
    assert directory.failed and directory.result["msg"].startswith("path:")


def test_diff_shows_the_holder_before_and_after(invoke, tmp_path):
    path = tmp_path / "hello.lock"
    taken = invoke(module.main, {"path": str(path), "holder": ALICE}, check=True, diff=True)
    diff = taken.result["diff"]
    assert diff["before"] == "" and '"id": "run-a"' in diff["after"] and diff["before_header"] == str(path)
    invoke(module.main, {"path": str(path), "holder": ALICE})
    released = invoke(module.main, {"path": str(path), "holder": ALICE, "state": "absent"}, diff=True)
    assert '"user": "alice"' in released.result["diff"]["before"] and released.result["diff"]["after"] == ""
    plain = invoke(module.main, {"path": str(path), "holder": ALICE})
    assert "diff" not in plain.result
