# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""heroku_app: option checks (before any request) and the change computations."""

from __future__ import annotations

import pytest

from ansible_collections.jvmops.deploy.plugins.modules import heroku_app
from ansible_collections.jvmops.deploy.plugins.modules.heroku_app import config_changes, formation_updates

BASE = {"api_key": "hrku-secret-key", "api_url": "https://api.example.test", "name": "glacial-tundra-7926"}


@pytest.mark.parametrize("args, message", [
    ({"name": "Bad_Name"}, "name: 'Bad_Name' is not a Heroku app name"),
    ({"name": "ab"}, "name: 'ab' is not a Heroku app name"),
    ({"config_vars": {"AUTH-USER": "x"}}, "config_vars: 'AUTH-USER' is not a config var name"),
    ({"config_vars": {"DEBUG": True}}, "config_vars: the value of DEBUG is a boolean; quote it"),
    ({"config_vars": {"LIST": [1]}}, "config_vars: the value of LIST must be a string or null, got a list"),
    ({"formation": [{"type": "web", "quantity": -1}]}, "formation[0].quantity: must be 0 or more, got -1"),
    ({"formation": [{"type": "web"}]}, "formation[0]: give quantity, size or both for 'web'"),
    ({"formation": [{"type": "web", "quantity": 1}, {"type": "web", "quantity": 2}]}, "formation[1].type: 'web' is listed twice"),
    ({"formation": [{"type": "we b", "quantity": 1}]}, "formation[0].type: 'we b' is not a process type name"),
    ({"buildpacks": ["heroku/jvm", " "]}, "buildpacks[1]: must not be empty"),
    ({"state": "absent", "region": "eu"}, "state: absent deletes the app; do not give region"),
    ({"api_key": None}, "api_key: no API key"),
])
def test_bad_options_fail_before_any_request(invoke, no_heroku_http, monkeypatch, args, message):
    monkeypatch.delenv("HEROKU_API_KEY", raising=False)
    result = invoke(heroku_app.main, {**BASE, **args})
    assert result.failed
    assert message in result.result["msg"]
    assert "hrku-secret-key" not in result.result["msg"]
    assert not no_heroku_http


def test_config_changes_set_unset_and_purge():
    current = {"A": "1", "B": "2", "C": "3"}
    params = {"config_vars": {"A": "1", "B": "20", "C": None, "D": 4}, "purge_config_vars": False}
    assert config_changes(current, params) == {"B": "20", "C": None, "D": "4"}
    params = {"config_vars": {"A": "1"}, "purge_config_vars": True}
    assert config_changes(current, params) == {"B": None, "C": None}
    params = {"config_vars": {"A": "1", "Z": None}, "purge_config_vars": False}
    assert config_changes(current, params) == {}


def test_formation_updates_send_only_what_differs():
    formation = [{"type": "web", "quantity": 1, "dyno_size": {"name": "Basic"}}, {"type": "worker", "quantity": 0, "size": "Basic"}]
    params = {"formation": [{"type": "web", "quantity": 1, "size": "basic"}, {"type": "worker", "quantity": 2, "size": None}]}
    assert formation_updates(formation, params, "a", False) == [{"type": "worker", "quantity": 2}]
    params = {"formation": [{"type": "web", "quantity": None, "size": "standard-1X"}]}
    assert formation_updates(formation, params, "a", False) == [{"type": "web", "dyno_size": {"name": "standard-1X"}}]


def test_formation_of_an_undeclared_type_names_the_option():
    with pytest.raises(ValueError, match=r"formation\[0\].type: app 'a' has no process type 'clock' .*it has: web"):
        formation_updates([{"type": "web", "quantity": 1}], {"formation": [{"type": "clock", "quantity": 1, "size": None}]}, "a", False)
