# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""tests/smtp_fake: a real SMTP server (STARTTLS, SMTPS, AUTH) and its start, stop and report verbs."""

from __future__ import annotations

import importlib.util
import json
import smtplib
import ssl
import sys
from pathlib import Path

import pytest

pytest.importorskip("aiosmtpd")
FAKE = Path(__file__).resolve().parents[2] / "smtp_fake"
MESSAGE = "Subject: [jvmops] 1 alert: web1 disk\r\nFrom: a@example.com\r\nTo: b@example.com\r\n\r\nweb1 /data 95%\r\n"


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


control = _load("smtp_fake_control", FAKE / "control.py")


@pytest.fixture(name="service", scope="module")
def service_fixture(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("smtp")
    state, info = control.start(state_dir)
    assert state == "started"
    yield state_dir, info
    control.stop(state_dir)


def tls(info):
    return ssl.create_default_context(cafile=info["ca_path"])


def test_report_before_any_message_fails(service):
    state_dir, _info = service
    assert not control.report(state_dir).received


def test_starttls_and_auth_deliver_a_stored_message(service):
    state_dir, info = service
    assert control.start(state_dir) == ("running", info)
    with smtplib.SMTP(info["host"], info["port"], timeout=10) as smtp:
        smtp.starttls(context=tls(info))
        smtp.login(info["username"], info["password"])
        smtp.sendmail("a@example.com", ["b@example.com"], MESSAGE)
    with smtplib.SMTP_SSL(info["host"], info["tls_port"], timeout=10, context=tls(info)) as smtp:
        smtp.login(info["username"], info["password"])
        smtp.sendmail("a@example.com", ["c@example.com"], MESSAGE)
    index = json.loads((state_dir / "messages.json").read_text())
    assert [entry["rcpt_tos"] for entry in index] == [["b@example.com"], ["c@example.com"]]
    assert index[0]["subject"] == "[jvmops] 1 alert: web1 disk" and "95%" in index[0]["body"]
    assert index[0]["login"] == info["username"] and index[0]["tls"]
    assert Path(index[0]["file"]).read_bytes().startswith(b"Subject: [jvmops]")
    result = control.report(state_dir)
    assert result.received and result.lines[0].startswith("SMTP service: 2 messages received")


def test_plain_text_and_wrong_password_are_refused(service):
    state_dir, info = service
    with smtplib.SMTP(info["host"], info["port"], timeout=10) as smtp:
        with pytest.raises(smtplib.SMTPSenderRefused, match="STARTTLS"):
            smtp.sendmail("a@example.com", ["b@example.com"], MESSAGE)
    with smtplib.SMTP(info["host"], info["port"], timeout=10) as smtp:
        smtp.starttls(context=tls(info))
        with pytest.raises(smtplib.SMTPAuthenticationError):
            smtp.login(info["username"], "wrong")
    assert json.loads((state_dir / "stats.json").read_text())["auth_failed"] >= 1


def test_report_finds_a_leaked_password(service, tmp_path):
    state_dir, info = service
    leaky = tmp_path / "ansible.log"
    leaky.write_text(f"password: {info['password']}\n")
    result = control.report(state_dir, {"ansible.log": leaky})
    assert result.leaks == [("the SMTP password", "ansible.log")]
    assert control.main(["report", "--state-dir", str(state_dir), str(leaky)]) == 1
    assert info["password"] not in (state_dir / "server.log").read_text()
