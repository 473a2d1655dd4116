# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a module's main() as Ansible would, and catch what it returns."""

from __future__ import annotations

import json

import pytest

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes


class Exit(Exception):
    """What the module passed to exit_json (failed=False) or fail_json (failed=True)."""

    def __init__(self, result, failed):
        super().__init__(result.get("msg", ""))
        self.result = result
        self.failed = failed


@pytest.fixture(name="invoke")
def invoke_fixture(monkeypatch):
    """invoke(main, args, check=False, diff=False) -> Exit; invoke.warnings lists module.warn() texts."""
    warnings = []

    def exit_json(_self, **kwargs):
        raise Exit(kwargs, False)

    def fail_json(_self, **kwargs):
        raise Exit(kwargs, True)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda _self, text: warnings.append(text))

    def invoke(main, args, check=False, diff=False):
        args = {**args, "_ansible_check_mode": check, "_ansible_diff": diff}
        monkeypatch.setattr(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args})))
        monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy", raising=False)
        with pytest.raises(Exit) as caught:
            main()
        return caught.value

    invoke.warnings = warnings
    return invoke


@pytest.fixture(name="no_heroku_http")
def no_heroku_http_fixture(monkeypatch):
    """Fail the test on any Heroku request (the client's open_url); the list of URLs asked for."""
    from ansible_collections.jvmops.deploy.plugins.module_utils import _heroku  # pylint: disable=import-outside-toplevel

    calls = []
    monkeypatch.setattr(_heroku, "open_url", lambda url, **kw: calls.append(url) or pytest.fail(f"unexpected request to {url}"))
    return calls
