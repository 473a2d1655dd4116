# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""alert_send against real local services: the SMTP server (STARTTLS, SMTPS, AUTH) of tests/smtp_fake and the Twilio
API and webhook receiver of tests/twilio_fake, which checks every request against Twilio's OpenAPI description."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest
import yaml

from ansible_collections.jvmops.deploy.plugins.modules import alert_send

TESTS = Path(__file__).resolve().parents[3]


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


ALERTS = [
    {"host": "app2", "check": "heap", "subject": "jvm", "level": "warning", "value": "81%", "threshold": "80%",
     "message": "app2: heap 81% of max"},
    {"host": "web1", "check": "disk", "subject": "/data", "level": "critical", "value": "95%", "threshold": "90%",
     "message": "web1: /data is 95% full"},
]


@pytest.fixture(name="smtp", scope="module")
def smtp_fixture(tmp_path_factory):
    server = _load("smtp_fake_server", TESTS / "smtp_fake" / "server.py")
    fake = server.FakeSMTP(tmp_path_factory.mktemp("smtp")).start()
    yield fake
    fake.stop()


@pytest.fixture(name="twilio", scope="module")
def twilio_fixture(tmp_path_factory):
    server = _load("twilio_fake_server", TESTS / "twilio_fake" / "server.py")
    fake = server.FakeTwilio(tmp_path_factory.mktemp("twilio")).start()
    yield fake
    fake.stop()
    assert not fake.stats["violations"], "the module sent a request Twilio's OpenAPI description does not allow"


@pytest.fixture(name="channels")
def channels_fixture(smtp, twilio):
    """The three channels' options, pointing at the local services."""
    return {
        "email": {"host": smtp.host, "port": smtp.port, "username": smtp.username, "password": smtp.password,
                  "from": "alerts@example.com", "to": ["ops@example.com", "oncall@example.com"], "ca_path": smtp.ca_path},
        "sms": {"account_sid": twilio.account_sid, "auth_token": twilio.auth_token, "from": "+14155552345",
                "to": ["+14155550100"], "base_url": twilio.base_url, "ca_path": twilio.ca_path},
        "webhook": {"url": twilio.hook_url, "headers": {"Authorization": f"Bearer {twilio.hook_token}"},
                    "ca_path": twilio.ca_path},
    }


def counts(smtp, twilio):
    return len(smtp.messages()), len(twilio.messages), len(twilio.hooks)


def assert_no_secret(result, smtp, twilio):
    text = str(result)
    for secret in (smtp.password, twilio.auth_token, twilio.hook_token):
        assert secret not in text


def test_disabled_only_reports(invoke, smtp, twilio, channels):
    before = counts(smtp, twilio)
    result = invoke(alert_send.main, {"alerts": ALERTS, **channels})
    assert not result.failed and result.result["changed"] is False
    would = result.result["would_send"]
    assert set(would) == {"email", "sms", "webhook"} and "sent" not in result.result
    assert would["email"]["subject"] == "[jvmops] 2 alerts: web1: /data is 95% full"  # critical first
    assert would["sms"]["recipients"] == ["+14155550100"]
    assert would["webhook"]["payload"]["summary"]["count"] == 2
    assert counts(smtp, twilio) == before
    assert_no_secret(result.result, smtp, twilio)


def test_check_mode_sends_nothing(invoke, smtp, twilio, channels):
    before = counts(smtp, twilio)
    result = invoke(alert_send.main, {"alerts": ALERTS, "enabled": True, **channels}, check=True)
    assert not result.failed and result.result["changed"] is True
    assert set(result.result["would_send"]) == {"email", "sms", "webhook"}
    assert counts(smtp, twilio) == before


def test_sends_one_message_per_channel(invoke, smtp, twilio, channels, monkeypatch):
    before = counts(smtp, twilio)
    validated = twilio.stats["requests_validated"]
    sms = dict(channels["sms"])
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", sms.pop("auth_token"))  # the env_fallback
    result = invoke(alert_send.main, {"alerts": ALERTS, "enabled": True, **channels, "sms": sms})
    assert not result.failed, result.result["msg"]
    assert result.result["changed"] is True
    assert counts(smtp, twilio) == (before[0] + 1, before[1] + 1, before[2] + 1)
    sent = result.result["sent"]

    mail = smtp.messages()[-1]
    assert mail["subject"] == "[jvmops] 2 alerts: web1: /data is 95% full"
    assert sorted(mail["rcpt_tos"]) == ["oncall@example.com", "ops@example.com"]
    assert mail["login"] == smtp.username and mail["tls"]
    for text in ("web1", "/data", "95%", "90%", "app2", "heap", "CRITICAL"):
        assert text in mail["body"]
    assert mail["body"].index("web1") < mail["body"].index("app2")
    assert sent["email"] == {"recipients": ["ops@example.com", "oncall@example.com"], "messages": 1, "alerts": 2,
                             "subject": mail["subject"]}

    message = twilio.messages[-1]
    assert twilio.stats["requests_validated"] == validated + 1 and not twilio.stats["violations"]
    assert message["to"] == "+14155550100" and message["from"] == "+14155552345"
    assert message["body"].startswith("jvmops: 2 alerts. CRITICAL web1: /data is 95% full")
    assert len(message["body"]) <= 320
    assert sent["sms"]["sids"] == [message["sid"]]

    hook = twilio.hooks[-1]
    assert hook["content_type"] == "application/json"
    assert [alert["host"] for alert in hook["body"]["alerts"]] == ["web1", "app2"]
    assert hook["body"]["summary"]["by_level"] == {"critical": 1, "warning": 1}
    assert sent["webhook"]["status"] == 200
    assert_no_secret(result.result, smtp, twilio)


def test_smtps(invoke, smtp, channels):
    email = {**channels["email"], "security": "tls", "port": smtp.tls_port, "to": ["ops@example.com"]}
    result = invoke(alert_send.main, {"alerts": ALERTS[:1], "enabled": True, "email": email})
    assert not result.failed, result.result["msg"]
    assert smtp.messages()[-1]["port"] == smtp.tls_port
    assert smtp.messages()[-1]["subject"] == "[jvmops] 1 alert: app2: heap 81% of max"


def test_no_alerts_sends_nothing(invoke, smtp, twilio, channels):
    before = counts(smtp, twilio)
    result = invoke(alert_send.main, {"alerts": [], "enabled": True, **channels})
    assert not result.failed and result.result["changed"] is False and result.result["sent"] == {}
    assert counts(smtp, twilio) == before


@pytest.mark.parametrize("change, expected", [
    (lambda c: c["email"].pop("to"), "email.to: required"),
    (lambda c: c["email"].update(security="ssl"), "email.security: must be one of starttls, tls, none"),
    (lambda c: c["email"].update(port=70000), "email.port: must be from 1 to 65535"),
    (lambda c: c["email"].update({"from": "ops\r\nBcc: x@example.com"}), "email.from: must be an email address"),
    (lambda c: c["email"].update(security="none"), "email.security: none would send the password"),
    (lambda c: c["sms"].pop("account_sid"), "sms.account_sid: required"),
    (lambda c: c["sms"].update(account_sid="AC123"), "sms.account_sid: must be AC followed by 32 hex digits"),
    (lambda c: c["sms"].update(base_url="ftp://x"), "sms.base_url: must be an http or https URL"),
    (lambda c: c["webhook"].pop("url"), "webhook.url: required"),
    (lambda c: c.update(alerts=[{**ALERTS[0], "level": "fatal"}]), "alerts[0].level: must be one of"),
    (lambda c: c.update(alerts=[{"host": "web1", "check": "disk"}]), "alerts[0]: missing level, message"),
])
def test_bad_input_fails_before_sending(invoke, smtp, twilio, channels, change, expected):
    args = {"alerts": ALERTS, "enabled": True, **channels}
    change(args)
    before = counts(smtp, twilio)
    result = invoke(alert_send.main, args)
    assert result.failed and expected in result.result["msg"]
    assert counts(smtp, twilio) == before
    assert_no_secret(result.result, smtp, twilio)


def test_a_failing_channel_does_not_stop_the_others(invoke, smtp, twilio, channels):
    before = counts(smtp, twilio)
    failed_logins = smtp.store.stats["auth_failed"]
    email = {**channels["email"], "password": "wrong-" + smtp.password[::-1]}
    result = invoke(alert_send.main, {"alerts": ALERTS, "enabled": True, "email": email, "sms": channels["sms"]})
    assert result.failed
    assert result.result["msg"].startswith("Failed to send the alerts by email: SMTP authentication of 'alerts@example.com'")
    assert set(result.result["errors"]) == {"email"} and "535" in result.result["errors"]["email"]
    assert set(result.result["sent"]) == {"sms"} and result.result["changed"] is True
    assert counts(smtp, twilio) == (before[0], before[1] + 1, before[2])
    assert smtp.store.stats["auth_failed"] > failed_logins
    assert_no_secret(result.result, smtp, twilio)
    assert email["password"] not in str(result.result)


def test_twilio_refusal_names_sms(invoke, smtp, twilio, channels):
    failures = twilio.stats["auth_failures"]
    sms = {**channels["sms"], "auth_token": "0" * 32}
    result = invoke(alert_send.main, {"alerts": ALERTS, "enabled": True, "sms": sms, "webhook": channels["webhook"]})
    assert result.failed and set(result.result["errors"]) == {"sms"}
    assert result.result["msg"] == ("Failed to send the alerts by sms: Failed to create Twilio message to '+14155550100': "
                                    "HTTP 401 Authenticate (Twilio error 20003)")
    assert twilio.stats["auth_failures"] == failures + 1 and set(result.result["sent"]) == {"webhook"}
    assert_no_secret(result.result, smtp, twilio)


def test_every_failing_channel_is_named(invoke, smtp, twilio, channels):
    email = {**channels["email"], "port": 1}  # nothing listens there
    webhook = {**channels["webhook"], "headers": {"Authorization": "Bearer wrong"}}
    result = invoke(alert_send.main, {"alerts": ALERTS, "enabled": True, "email": email, "sms": channels["sms"],
                                      "webhook": webhook})
    assert result.failed and set(result.result["errors"]) == {"email", "webhook"}
    assert result.result["msg"].startswith("Failed to send the alerts by email, webhook. email: Failed to connect to SMTP server")
    assert "; webhook: Failed to POST the alerts to the webhook: HTTP 401" in result.result["msg"]
    assert set(result.result["sent"]) == {"sms"}
    assert_no_secret(result.result, smtp, twilio)


def test_sms_body_is_short():
    alerts = [{"host": f"web{i}", "check": "disk", "level": "critical", "message": f"web{i}: " + "x" * 200}
              for i in range(10)]
    body = alert_send.sms_body(alert_send.ordered(alerts))
    assert len(body) <= 320 and body.startswith("jvmops: 10 alerts. CRITICAL web0: ") and body.endswith("more)")
    assert alert_send.sms_body(alerts[:1]).startswith("jvmops: 1 alert. CRITICAL web0: ")


def test_the_awx_credential_types_inject_what_the_module_reads(invoke, smtp, twilio, channels, monkeypatch):
    """extensions/awx/{smtp,twilio}_credential_type.yml: their injected variables alone log in and send."""
    root = Path(__file__).resolve().parents[4]
    injected = {}
    for name, values in (("smtp_credential_type.yml", {"username": smtp.username, "password": smtp.password}),
                         ("twilio_credential_type.yml", {"account_sid": twilio.account_sid, "auth_token": twilio.auth_token})):
        cred = yaml.safe_load((root / "extensions" / "awx" / name).read_text())
        secret = {f["id"] for f in cred["inputs"]["fields"] if f.get("secret")}
        assert secret == {"password"} or secret == {"auth_token"}
        for variable, template in cred["injectors"]["env"].items():
            field = re.fullmatch(r"\{\{ ?(\w+) ?\}\}", template).group(1)
            injected[variable] = values[field]
    for variable, value in injected.items():
        monkeypatch.setenv(variable, value)
    email = {k: v for k, v in channels["email"].items() if k not in ("username", "password")}
    sms = {k: v for k, v in channels["sms"].items() if k not in ("account_sid", "auth_token")}
    before = counts(smtp, twilio)
    result = invoke(alert_send.main, {"alerts": ALERTS, "enabled": True, "email": email, "sms": sms})
    assert not result.failed, result.result["msg"]
    assert counts(smtp, twilio)[:2] == (before[0] + 1, before[1] + 1)
    assert smtp.messages()[-1]["login"] == smtp.username
    assert_no_secret(result.result, smtp, twilio)


def test_subject_and_sms_name_the_host_when_the_message_does_not(invoke):
    alerts = [{"host": "app2", "check": "disk", "subject": "/data", "level": "critical", "value": 95, "threshold": "90%",
               "message": "Use% over 90: /data is at 95%"}]
    sms = {"account_sid": "AC" + "0" * 32, "auth_token": "x" * 32, "from": "+14155552345", "to": ["+14155550100"]}
    email = {"host": "127.0.0.1", "port": 25, "from": "a@example.com", "to": ["b@example.com"]}
    result = invoke(alert_send.main, {"alerts": alerts, "sms": sms, "email": email}).result
    assert result["would_send"]["sms"]["body"] == "jvmops: 1 alert. CRITICAL app2: Use% over 90: /data is at 95%"
    assert result["would_send"]["email"]["subject"] == "[jvmops] 1 alert: app2: Use% over 90: /data is at 95%"
