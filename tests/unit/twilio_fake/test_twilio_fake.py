# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""tests/twilio_fake: its contract checks (Twilio's OpenAPI description) and its start, stop and report verbs."""

from __future__ import annotations

import base64
import importlib.util
import json
import ssl
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

FAKE = Path(__file__).resolve().parents[2] / "twilio_fake"


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


control = _load("twilio_fake_control", FAKE / "control.py")
contract = _load("twilio_fake_contract", FAKE / "twilio_contract.py")


def post(info, path, form, token=None, content_type="application/x-www-form-urlencoded"):
    auth = base64.b64encode(f"{info['account_sid']}:{token or info['auth_token']}".encode()).decode()
    request = urllib.request.Request(info["base_url"] + path, data=form.encode(), method="POST",
                                     headers={"Content-Type": content_type, "Authorization": f"Basic {auth}"})
    try:
        with urllib.request.urlopen(request, timeout=10, context=ssl.create_default_context(cafile=info["ca_path"])) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture(name="service", scope="module")
def service_fixture(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("twilio")
    state, info = control.start(state_dir)
    assert state == "started"
    yield state_dir, info
    control.stop(state_dir)


def messages_path(info):
    return f"/2010-04-01/Accounts/{info['account_sid']}/Messages.json"


def test_a_valid_message_is_stored_and_answered_per_the_schema(service):
    state_dir, info = service
    assert control.start(state_dir) == ("running", info)
    status, body = post(info, messages_path(info), "To=%2B14155550100&From=%2B14155552345&Body=disk+full")
    assert status == 201 and body["sid"].startswith("SM") and body["status"] == "queued" and body["body"] == "disk full"
    stored = json.loads((state_dir / "messages.json").read_text())
    assert [m["sid"] for m in stored] == [body["sid"]]
    result = control.report(state_dir)
    assert result.lines[0].startswith("1 Twilio requests validated against the OpenAPI description, 0 violations")
    assert result.contract_ok and not result.leaks


@pytest.mark.parametrize("path, form, content_type, error", [
    (None, "To=%2B14155550100&Bodyy=x", None, "form fields not in the description: Bodyy"),
    (None, "From=%2B14155552345&Body=x", None, "required: To"),
    (None, "To=%2B14155550100&Attempt=two", None, "Attempt: not a integer"),
    (None, "To=%2B14155550100&Body=a&Body=b", None, "Body: given 2 times"),
    (None, "To=%2B14155550100", "application/json", "Content-Type must be application/x-www-form-urlencoded"),
    ("/2010-04-01/Accounts/AC1/Messages.json", "To=%2B14155550100", None, "path parameter AccountSid"),
    ("/2010-04-01/Accounts/{sid}/Texts.json", "To=%2B14155550100", None, "no path of the description matches"),
])
def test_a_request_outside_the_description_is_a_violation(service, path, form, content_type, error):
    state_dir, info = service
    before = len(json.loads((state_dir / "stats.json").read_text())["violations"])
    status, body = post(info, (path or messages_path(info)).format(sid=info["account_sid"]), form,
                        content_type=content_type or "application/x-www-form-urlencoded")
    assert status in (400, 404) and error in body["message"]
    violations = json.loads((state_dir / "stats.json").read_text())["violations"]
    assert len(violations) == before + 1 and error in violations[-1]["error"]
    result = control.report(state_dir)
    assert not result.contract_ok and control.main(["report", "--state-dir", str(state_dir)]) == 1


def test_wrong_token_is_refused_and_a_leaked_token_is_found(service, tmp_path):
    state_dir, info = service
    status, body = post(info, messages_path(info), "To=%2B14155550100&Body=x", token="0" * 32)
    assert status == 401 and body["code"] == 20003
    leaky = tmp_path / "ansible.log"
    leaky.write_text(f"auth_token={info['auth_token']}\n")
    assert control.report(state_dir, {"ansible.log": leaky}).leaks == [("the Twilio auth token", "ansible.log")]
    assert info["auth_token"] not in (state_dir / "server.log").read_text()


def test_the_response_check_can_fail():
    description = contract.Contract()
    _template, _params, operation = description.route("POST", "/2010-04-01/Accounts/AC" + "0" * 32 + "/Messages.json")
    with pytest.raises(contract.ContractError, match="sid"):
        description.check_response(operation, 201, {"sid": "XX1", "status": "queued"})
    with pytest.raises(contract.ContractError, match="properties missing"):
        description.check_response(operation, 201, {"sid": "SM" + "0" * 32, "status": "queued"})


def test_a_missing_description_says_where_it_was_looked_for(tmp_path):
    with pytest.raises(FileNotFoundError, match="shared/twilio-api/twilio_api_v2010.json"):
        contract.Contract(tmp_path / "nothing.json")
