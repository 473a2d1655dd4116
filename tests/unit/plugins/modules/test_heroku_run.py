# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""heroku_run, heroku_release and heroku_logs: option checks before any request; check mode runs nothing."""

from __future__ import annotations

import pytest

from ansible_collections.jvmops.deploy.plugins.modules import heroku_logs, heroku_release, heroku_run
from ansible_collections.jvmops.deploy.plugins.modules.heroku_logs import parse_time

BASE = {"api_key": "hrku-secret-key", "api_url": "https://api.example.test", "app": "app-one"}


@pytest.mark.parametrize("main, args, message", [
    (heroku_run.main, {"command": " "}, "command: must not be empty"),
    (heroku_run.main, {"command": "demo", "time_to_live": 0}, "time_to_live: must be more than 0 seconds, got 0"),
    (heroku_run.main, {"command": "demo", "env": {"A-B": "1"}}, "env: 'A-B' is not an environment variable name"),
    (heroku_run.main, {"command": "demo", "wait_timeout": -5}, "wait_timeout: must be more than 0 seconds, got -5"),
    (heroku_release.main, {"rollback_to": 0}, "rollback_to: must be a release version (1 or more), got 0"),
    (heroku_release.main, {"limit": 5000}, "limit: must be from 0 (all) to 1000, got 5000"),
    (heroku_logs.main, {"lines": 0}, "lines: must be from 1 to 1500, got 0"),
    (heroku_logs.main, {"since": "yesterday"}, "since: 'yesterday' is not an ISO 8601 time with a zone"),
    (heroku_logs.main, {"since": "2026-11-22T14:00:00"}, "since: '2026-11-22T14:00:00' is not an ISO 8601 time with a zone"),
    (heroku_logs.main, {"tail_seconds": -1}, "tail_seconds: must be 0 or more, got -1"),
])
def test_bad_options_fail_before_any_request(invoke, no_heroku_http, main, args, message):
    result = invoke(main, {**BASE, **args})
    assert result.failed
    assert message in result.result["msg"]
    assert "hrku-secret-key" not in str(result.result)
    assert not no_heroku_http


def test_check_mode_starts_no_dyno(invoke, no_heroku_http):
    result = invoke(heroku_run.main, {**BASE, "command": "target/xitrum/script/runner demo 100"}, check=True)
    assert not result.failed
    assert result.result["changed"] is True
    assert "would run 'target/xitrum/script/runner demo 100'" in result.result["msg"]
    assert not no_heroku_http


def test_log_times_compare_across_zones():
    assert parse_time("2026-11-22T14:00:00Z") == parse_time("2026-11-22T15:00:00+01:00")
    assert parse_time("2026-11-22T14:00:00.123456+00:00") > parse_time("2026-11-22T14:00:00Z")
    assert parse_time("2026-11-22") is None
