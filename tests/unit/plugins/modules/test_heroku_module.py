# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""HerokuModule, the module class of every heroku_* module: options merged and checked, one error path."""

from __future__ import annotations

import pytest

from ansible_collections.jvmops.deploy.plugins.module_utils._heroku import (
    HerokuClient, HerokuError, HerokuModule, HerokuModuleError, HerokuOptionError)

BASE = {"api_key": "hrku-secret-key", "api_url": "https://api.example.test", "app": "app-one"}


def main_running(work, check_options=None):
    """A module main() that runs work(module, client)."""
    def main():
        module = HerokuModule(argument_spec={"app": {"type": "str", "required": True}, "count": {"type": "int", "default": 1}},
                              check_options=check_options, supports_check_mode=True)
        module.run(work)
    return main


def test_connection_options_are_merged_and_a_client_is_handed_out(invoke, no_heroku_http):
    seen = {}

    def work(module, client):
        seen.update(module.params, client=client)
        return False, {"app": module.params["app"]}

    result = invoke(main_running(work), {**BASE, "retries": 2})
    assert not result.failed
    assert result.result == {"changed": False, "app": "app-one"}
    assert isinstance(seen["client"], HerokuClient)
    assert seen["client"].retries == 2 and seen["timeout"] == 30 and seen["validate_certs"] is True
    assert not no_heroku_http


def test_option_problems_and_connection_problems_fail_together_before_any_work(invoke, no_heroku_http, monkeypatch):
    monkeypatch.delenv("HEROKU_API_KEY", raising=False)
    result = invoke(main_running(lambda m, c: pytest.fail("work ran"), lambda params: [f"count: got {params['count']}"]),
                    {**BASE, "api_key": None, "count": 0})
    assert result.failed
    assert result.result["msg"] == ("count: got 0; api_key: no API key; set api_key or the HEROKU_API_KEY environment "
                                    "variable")
    assert not no_heroku_http


def test_the_api_key_comes_from_the_environment(invoke, monkeypatch):
    monkeypatch.setenv("HEROKU_API_KEY", "from-env")
    keys = []

    def work(_module, client):
        keys.append(client.api_key)
        return False, {}

    assert not invoke(main_running(work), {"app": "app-one", "api_url": "https://api.example.test"}).failed
    assert keys == ["from-env"]


@pytest.mark.parametrize("error, expected", [
    (HerokuError("Failed to read app 'app-one': forbidden: no (HTTP 403)", status=403, error_id="forbidden", request_id="r1"),
     {"msg": "Failed to read app 'app-one': forbidden: no (HTTP 403)", "status": 403, "error_id": "forbidden",
      "request_id": "r1"}),
    (HerokuOptionError("count", "must be 1 or more"), {"msg": "count: must be 1 or more"}),
    (HerokuModuleError("Failed to build app 'app-one': failed", changed=True, build_output=["x"]),
     {"msg": "Failed to build app 'app-one': failed", "changed": True, "build_output": ["x"]}),
])
def test_run_turns_errors_into_one_fail_json(invoke, no_heroku_http, error, expected):
    def work(_module, _client):
        raise error

    result = invoke(main_running(work), BASE)
    assert result.failed
    assert result.result == expected


def test_option_errors_are_value_errors_named_by_option():
    error = HerokuOptionError("formation[0].type", "app 'a' has no process type 'clock'")
    assert isinstance(error, ValueError) and isinstance(error, HerokuModuleError)
    assert str(error) == "formation[0].type: app 'a' has no process type 'clock'"
    assert error.result == {}


def test_other_exceptions_are_not_hidden(invoke, no_heroku_http):
    def work(_module, _client):
        raise KeyError("a bug")

    with pytest.raises(KeyError):
        invoke(main_running(work), BASE)
