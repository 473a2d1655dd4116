# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Alert muting, recovery and the state file, with an injected clock."""

from __future__ import annotations

import json
import os
import stat

import pytest

from ansible_collections.jvmops.deploy.plugins.module_utils import _alerts
from ansible_collections.jvmops.deploy.plugins.module_utils._alerts import AlertOptionError, AlertState, alert


class Clock:
    def __init__(self, start=1_000_000.0):
        self.time = start

    def __call__(self):
        return self.time


class FakeModule:
    """What save() uses of an AnsibleModule."""

    def __init__(self, check_mode=False):
        self.check_mode = check_mode
        self.moves = []

    def atomic_move(self, src, dest):
        self.moves.append(dest)
        os.rename(src, dest)


def disk(subject, level="critical", value=93):
    return alert("web1", "disk", subject, level, value, 90, f"Use% over 90: {subject} is at {value}%")


@pytest.fixture(name="state")
def state_fixture(tmp_path):
    clock = Clock()

    def make():
        return AlertState(str(tmp_path / "state" / "alerts.json"), now=clock).load()

    make.clock = clock
    make.path = tmp_path / "state" / "alerts.json"
    return make


def run(state, found, checked, mute=1800):
    current = state()
    report = current.settle("disk", "web1", found, checked, mute)
    current.save(FakeModule())
    return report, current


def test_alert_keys_and_levels():
    assert disk("/") == {"host": "web1", "check": "disk", "subject": "/", "level": "critical", "value": 93,
                         "threshold": 90, "message": "Use% over 90: / is at 93%"}
    with pytest.raises(ValueError):
        alert("h", "c", "s", "error", 1, 1, "m")


def test_spec_fragment():
    assert _alerts.alert_state_spec() == {"host_label": {"type": "str"},
                                          "state_file": {"type": "path", "default": "/var/lib/jvmops/alerts.json"},
                                          "mute_for": {"type": "raw", "default": 0}}


def test_muted_inside_the_window_and_sent_again_after(state):
    report, current = run(state, [disk("/")], ["/"])
    assert [a["subject"] for a in report] == ["/"] and current.changed is False  # saved
    assert state.path.exists()
    state.clock.time += 1799
    report, current = run(state, [disk("/", value=95)], ["/"])
    assert report == [] and not current.changed
    state.clock.time += 1
    report, current = run(state, [disk("/", value=96)], ["/"])
    assert [a["value"] for a in report] == [96]
    assert json.loads(state.path.read_text())["alerts"][0]["sent_at"] == state.clock.time


def test_no_window_reports_every_run(state):
    assert len(run(state, [disk("/")], ["/"], mute=0)[0]) == 1
    assert len(run(state, [disk("/")], ["/"], mute=0)[0]) == 1


def test_level_change_alerts_again_inside_the_window(state):
    run(state, [disk("/", level="warning", value=85)], ["/"])
    state.clock.time += 60
    report = run(state, [disk("/")], ["/"])[0]
    assert [a["level"] for a in report] == ["critical"]
    state.clock.time += 60
    assert run(state, [disk("/")], ["/"])[0] == []


def test_recovery_once_then_nothing(state):
    run(state, [disk("/")], {"/": 93})
    state.clock.time += 60
    report = run(state, [], {"/": 42})[0]
    assert report == [{"host": "web1", "check": "disk", "subject": "/", "level": "recovery", "value": 42,
                       "threshold": 90, "message": "/ recovered: 42"}]
    assert json.loads(state.path.read_text())["alerts"] == []
    report, current = run(state, [], {"/": 41})
    assert report == [] and not current.changed


def test_recovery_without_a_value(state):
    run(state, [disk("/")], ["/"])
    assert run(state, [], ["/"])[0][0]["message"] == "/ recovered"


def test_subjects_not_checked_and_other_checks_are_left_alone(state):
    run(state, [disk("/"), disk("/data")], ["/", "/data"])
    other = state()
    other.settle("process", "web1", [alert("web1", "process", "nginx", "critical", 0, 1, "m")], ["nginx"], 0)
    other.save(FakeModule())
    report = run(state, [], ["/"])[0]
    assert [(a["subject"], a["level"]) for a in report] == [("/", "recovery")]
    subjects = sorted((r["check"], r["subject"]) for r in json.loads(state.path.read_text())["alerts"])
    assert subjects == [("disk", "/data"), ("process", "nginx")]


def test_check_mode_writes_nothing_but_reports_the_change(state):
    current = state()
    assert current.settle("disk", "web1", [disk("/")], ["/"], 60)
    module = FakeModule(check_mode=True)
    assert current.save(module) is True
    assert not state.path.exists() and module.moves == []


def test_diff_shows_the_record_added_then_removed(state):
    current = state()
    current.settle("disk", "web1", [disk("/")], ["/"], 60)
    diff = current.diff()
    assert diff["before_header"] == diff["after_header"] == str(state.path)
    assert json.loads(diff["before"]) == {"version": 1, "alerts": []}
    [record] = json.loads(diff["after"])["alerts"]
    assert (record["subject"], record["level"], record["sent_at"]) == ("/", "critical", state.clock.time)
    current.save(FakeModule())
    recovered = state()
    recovered.settle("disk", "web1", [], {"/": 40}, 60)
    assert json.loads(recovered.diff()["before"]) == json.loads(diff["after"])
    assert json.loads(recovered.diff()["after"])["alerts"] == []


def test_unchanged_state_is_not_written(state):
    run(state, [disk("/")], ["/"])
    current = state()
    current.settle("disk", "web1", [disk("/")], ["/"], 60)
    module = FakeModule()
    assert current.save(module) is False and module.moves == []


def test_file_and_directory_modes(state):
    run(state, [disk("/")], ["/"])
    assert stat.S_IMODE(os.stat(state.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(state.path.parent).st_mode) == 0o700
    assert os.listdir(state.path.parent) == ["alerts.json"]


@pytest.mark.parametrize("text", ["{not json", "[]", '{"version": 1, "alerts": [{"host": "h"}]}', '{"version": 9, "alerts": []}',
                                  b"\xff\xfe"])
def test_corrupt_file_names_state_file(state, text):
    state.path.parent.mkdir()
    if isinstance(text, bytes):
        state.path.write_bytes(text)
    else:
        state.path.write_text(text)
    with pytest.raises(AlertOptionError) as caught:
        state()
    assert str(caught.value).startswith(f"state_file: {state.path} is not an alert state")


def test_empty_file_is_an_empty_state(state):
    state.path.parent.mkdir()
    state.path.write_text("")
    assert state().records == {}


@pytest.mark.parametrize("value, seconds", [(0, 0), ("0", 0), (90, 90), ("90", 90), ("90s", 90), ("30m", 1800),
                                            ("1h", 3600), ("2d", 172800), (" 5M ", 300)])
def test_durations(value, seconds):
    assert _alerts.parse_duration(value, "mute_for") == seconds


@pytest.mark.parametrize("value, rule", [
    ("-5m", "mute_for: '-5m' must be a duration like 90s, 30m, 1h or 2d, not negative"),
    (-5, "mute_for: -5 must be a duration like 90s, 30m, 1h or 2d, not negative"),
    ("10w", "mute_for: '10w' must be a duration like 90s, 30m, 1h or 2d (a whole number and one of the units"),
    ("1.5h", "mute_for: '1.5h' must be a duration"),
    ("", "mute_for: '' must be a duration"),
    (True, "mute_for: True must be a duration"),
])
def test_bad_durations(value, rule):
    with pytest.raises(AlertOptionError) as caught:
        _alerts.parse_duration(value, "mute_for")
    assert str(caught.value).startswith(rule)
