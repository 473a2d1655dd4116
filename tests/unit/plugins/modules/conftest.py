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


class AWS:
    """The stubbed clients, the operations called (in order) and the services a client was asked for."""

    def __init__(self, monkeypatch):
        # Imported here: the Heroku and own-server tests need neither boto3 nor amazon.aws.
        import boto3  # pylint: disable=import-outside-toplevel
        from botocore.stub import Stubber  # pylint: disable=import-outside-toplevel
        from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # pylint: disable=import-outside-toplevel
        from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper  # pylint: disable=import-outside-toplevel
        from ansible_collections.jvmops.deploy.plugins.module_utils import _beanstalk  # pylint: disable=import-outside-toplevel

        self.clients = {service: boto3.client(service, region_name="us-east-1", aws_access_key_id="testing",
                                              aws_secret_access_key="testing") for service in ("elasticbeanstalk", "s3")}
        self.stubbers = {service: Stubber(client) for service, client in self.clients.items()}
        self.eb = self.stubbers["elasticbeanstalk"]
        self.calls = []
        self.asked = []
        for client in self.clients.values():
            client.meta.events.register("before-parameter-build.*.*", lambda model, **_kw: self.calls.append(model.name))

        def client(_module, service, retry_decorator=None, **_kw):
            self.asked.append(service)
            return RetryingBotoClientWrapper(self.clients[service], retry_decorator or _beanstalk.RETRY)

        monkeypatch.setattr(AnsibleAWSModule, "client", client)


@pytest.fixture(name="aws")
def aws_fixture(monkeypatch):
    """AWS at the client boundary: AnsibleAWSModule.client hands out real boto3 clients, wrapped as amazon.aws wraps
    them, with a botocore Stubber that checks every call against the service model; nothing may stay queued."""
    aws = AWS(monkeypatch)
    for stubber in aws.stubbers.values():
        stubber.activate()
    yield aws
    for stubber in aws.stubbers.values():
        stubber.assert_no_pending_responses()
        stubber.deactivate()
