#!/usr/bin/python
# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: alert_send
short_description: Send the fleet checks' alerts by email, SMS (Twilio) and a JSON webhook, once per run
version_added: 0.1.0
author:
  - jvmops.deploy contributors (@jvmops)
description:
  - Takes the alerts the fleet checks produced in this run and sends them from the controller, one message per
    channel; one email (SMTP) to every address in O(email.to), one SMS (Twilio's REST API) to every number in O(sms.to),
    and one JSON C(POST) to O(webhook.url). Run it once per play, on the controller (with C(delegate_to) V(localhost)
    and C(run_once)) or in a play on C(localhost).
  - Sending is off by default. Without O(enabled) the module only returns what it would send (RV(would_send)), as the
    fleet check's C(--alerts) flag does. Check mode does the same.
  - Alerts are ordered by level (C(unreachable), C(critical), C(warning), C(recovery)), keeping their order within a
    level; the first one after that names the email subject and leads the SMS. In the subject and the SMS each alert
    shows as its message led by its host name and a colon, unless the message already starts with the host name.
  - Every option is checked before anything is sent; a problem fails the task, naming the option
    (such as C(email.port)) and the rule it breaks.
  - When a channel fails, the others are still tried; then the task fails naming the channels that failed and why.
  - The SMTP password, the Twilio auth token and the webhook's header values never appear in the result or in
    messages.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Sends nothing and returns RV(would_send).
  diff_mode:
    support: none
  idempotent:
    support: none
    description: Every run with O(enabled) and alerts sends them again.
  platform:
    platforms: all
    details: It talks to the SMTP server, Twilio and the webhook from where the task runs, meant to be the controller.
options:
  alerts:
    description:
      - The alerts of this run. Each is a dict with the keys C(host), C(check), C(level) and C(message) (required), and
        C(subject) (what was checked, such as a mount point or a process), C(value) and C(threshold) (optional).
      - C(level) is one of V(warning), V(critical), V(recovery) or V(unreachable).
      - An empty list sends nothing.
    type: list
    elements: dict
    required: true
  enabled:
    description:
      - Whether to send. Off, the module returns RV(would_send) and sends nothing.
    type: bool
    default: false
  email:
    description:
      - Send one email over SMTP. Required keys are O(email.host), O(email.from) and O(email.to).
    type: dict
    suboptions:
      host:
        description: The SMTP server (required).
        type: str
      port:
        description:
          - The SMTP port, from 1 to 65535. Default V(587) for O(email.security=starttls), V(465) for V(tls), V(25) for
            V(none).
        type: int
      security:
        description:
          - V(starttls) (upgrade a plain connection, the default), V(tls) (TLS from the start, SMTPS) or V(none)
            (plain text; the password is then refused).
        type: str
        default: starttls
      username:
        description:
          - The SMTP user. With it, the module logs in (AUTH) after TLS is up. Defaults to the environment variable
            E(JVMOPS_SMTP_USERNAME).
        type: str
      password:
        description:
          - The SMTP user's password. Defaults to the environment variable E(JVMOPS_SMTP_PASSWORD), which the AWX
            credential type C(extensions/awx/smtp_credential_type.yml) sets.
        type: str
      from:
        description: The sender address (required).
        type: str
      to:
        description: The recipient addresses (required, at least one).
        type: list
        elements: str
      subject_prefix:
        description: What the subject starts with.
        type: str
        default: "[jvmops]"
      timeout:
        description: Seconds to wait for the server at each step.
        type: int
        default: 30
      ca_path:
        description: A PEM file of CA certificates to check the server's certificate with, instead of the system's.
        type: path
      validate_certs:
        description: Whether to check the server's certificate and name. Only turn off for tests.
        type: bool
        default: true
  sms:
    description:
      - Send one SMS through Twilio's Messages resource (API 2010-04-01) to each number. Required keys are
        O(sms.account_sid), O(sms.auth_token), O(sms.from) and O(sms.to).
      - The text is short (at most 320 characters, two SMS segments), the number of alerts and the first ones.
    type: dict
    suboptions:
      account_sid:
        description:
          - The Twilio account SID (C(AC) and 32 hex digits). Defaults to the environment variable
            E(TWILIO_ACCOUNT_SID), which the AWX credential type C(extensions/awx/twilio_credential_type.yml) sets.
        type: str
      auth_token:
        description:
          - The account's auth token. Defaults to the environment variable E(TWILIO_AUTH_TOKEN).
        type: str
      from:
        description: The sending Twilio number (E.164, such as V(+14155552345)) or sender ID.
        type: str
      to:
        description: The recipients' numbers (E.164).
        type: list
        elements: str
      base_url:
        description: Twilio's API address. Only change it for a test service or a proxy.
        type: str
        default: https://api.twilio.com
      timeout:
        description: Seconds to wait for each request.
        type: int
        default: 30
      ca_path:
        description: A PEM file of CA certificates to check the server's certificate with, instead of the system's.
        type: path
      validate_certs:
        description: Whether to check the server's certificate. Only turn off for tests.
        type: bool
        default: true
  webhook:
    description:
      - POST the alerts as JSON to a URL, an object with the keys C(alerts) (the list) and C(summary) (C(count),
        C(by_level), C(hosts), C(text)). O(webhook.url) is required.
    type: dict
    suboptions:
      url:
        description: The C(http) or C(https) URL to POST to.
        type: str
      headers:
        description: Extra request headers, such as an C(Authorization) header. Their values are kept out of the output.
        type: dict
      timeout:
        description: Seconds to wait for the request.
        type: int
        default: 30
      ca_path:
        description: A PEM file of CA certificates to check the server's certificate with, instead of the system's.
        type: path
      validate_certs:
        description: Whether to check the server's certificate. Only turn off for tests.
        type: bool
        default: true
notes:
  - The module runs on the controller; it needs no library beyond Python's own C(smtplib).
seealso:
  - name: Twilio Messages resource
    description: The API the SMS channel calls.
    link: https://www.twilio.com/docs/messaging/api/message-resource
"""

EXAMPLES = r"""
- name: Send this run's alerts (only when alerts_send is true)
  jvmops.deploy.alert_send:
    alerts: "{{ fleet_alerts }}"
    enabled: "{{ alerts_send | default(false) }}"
    email:
      host: smtp.example.com
      username: alerts@example.com
      password: "{{ vault_smtp_password }}"
      from: alerts@example.com
      to: [ops@example.com]
    sms:
      account_sid: ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
      auth_token: "{{ vault_twilio_auth_token }}"
      from: "+14155552345"
      to: ["+14155550100"]
    webhook:
      url: https://hooks.example.com/jvmops
      headers:
        Authorization: "Bearer {{ vault_hook_token }}"
  delegate_to: localhost
  run_once: true

- name: Show what would be sent
  jvmops.deploy.alert_send:
    alerts:
      - {host: web1, check: disk, subject: /, level: critical, value: "95%", threshold: "90%", message: "web1: / is 95% full"}
    email:
      host: smtp.example.com
      from: alerts@example.com
      to: [ops@example.com]
  delegate_to: localhost
  run_once: true
  register: preview
"""

RETURN = r"""
sent:
  description: Per channel that sent, what went out.
  type: dict
  returned: when O(enabled) and not in check mode
  sample:
    email: {"recipients": ["ops@example.com"], "messages": 1, "alerts": 3, "subject": "[jvmops] 3 alerts: web1: / is 95% full"}
    sms: {"recipients": ["+14155550100"], "messages": 1, "alerts": 3, "sids": ["SM0123456789abcdef0123456789abcdef"]}
    webhook: {"url": "https://hooks.example.com/jvmops", "messages": 1, "alerts": 3, "status": 200}
would_send:
  description: Per configured channel, what a run with O(enabled) would send (subject and body, SMS text, JSON body).
  type: dict
  returned: when not O(enabled), or in check mode
  sample:
    email: {"recipients": ["ops@example.com"], "subject": "[jvmops] 1 alert: web1: / is 95% full", "body": "..."}
    sms: {"recipients": ["+14155550100"], "body": "jvmops: 1 alert. CRITICAL web1: / is 95% full"}
    webhook: {"url": "https://hooks.example.com/jvmops", "payload": {"alerts": [], "summary": {}}}
errors:
  description: Per channel that failed, the error.
  type: dict
  returned: on failure of a channel
  sample: {"email": "SMTP authentication failed: (535, '5.7.8 Authentication credentials invalid')"}
alerts:
  description: How many alerts the run had.
  type: int
  returned: always
  sample: 3
"""

import re
from urllib.parse import urlsplit

from ansible.module_utils.basic import AnsibleModule, env_fallback

from ansible_collections.jvmops.deploy.plugins.module_utils._notify import (
    SECURITY,
    ChannelError,
    one_line,
    send_email,
    send_sms,
    send_webhook,
)

LEVELS = ("unreachable", "critical", "warning", "recovery")
REQUIRED_ALERT_KEYS = ("host", "check", "level", "message")
SMS_LIMIT = 320
ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
CHANNELS = ("email", "sms", "webhook")


def check_alerts(alerts):
    problems = []
    for index, alert in enumerate(alerts):
        where = f"alerts[{index}]"
        if not isinstance(alert, dict):
            problems.append(f"{where}: must be a dict")
            continue
        missing = [key for key in REQUIRED_ALERT_KEYS if alert.get(key) in (None, "")]
        if missing:
            problems.append(f"{where}: missing {', '.join(missing)}")
        if alert.get("level") not in (None, "") and alert.get("level") not in LEVELS:
            problems.append(f"{where}.level: must be one of {', '.join(LEVELS)}, got '{alert['level']}'")
    return problems


def _required(problems, channel, params, keys):
    for key in keys:
        if params.get(key) in (None, "", []):
            problems.append(f"{channel}.{key}: required")


def _check_common(problems, channel, params):
    if params.get("timeout") is not None and params["timeout"] < 1:
        problems.append(f"{channel}.timeout: must be 1 or more seconds, got {params['timeout']}")


def _check_url(problems, option, url):
    parts = urlsplit(url or "")
    if url and (parts.scheme not in ("http", "https") or not parts.hostname):
        problems.append(f"{option}: must be an http or https URL")


def check_options(params):
    """Every problem with the channel options, as `option.suboption: rule`."""
    problems = []
    email = params.get("email")
    if email is not None:
        _required(problems, "email", email, ("host", "from", "to"))
        if email["security"] not in SECURITY:
            problems.append(f"email.security: must be one of {', '.join(SECURITY)}, got '{email['security']}'")
        elif email["security"] == "none" and email.get("password"):
            problems.append("email.security: none would send the password in plain text; use starttls or tls")
        if email.get("port") is not None and not 1 <= email["port"] <= 65535:
            problems.append(f"email.port: must be from 1 to 65535, got {email['port']}")
        if email.get("password") and not email.get("username"):
            problems.append("email.username: required with email.password")
        for address in email.get("to") or []:
            if "@" not in address or any(c in address for c in "\r\n"):
                problems.append("email.to: every entry must be an email address")
                break
        if email.get("from") and ("@" not in email["from"] or any(c in email["from"] for c in "\r\n")):
            problems.append("email.from: must be an email address")
        _check_common(problems, "email", email)
    sms = params.get("sms")
    if sms is not None:
        _required(problems, "sms", sms, ("account_sid", "auth_token", "from", "to"))
        if sms.get("account_sid") and not ACCOUNT_SID.match(sms["account_sid"]):
            problems.append("sms.account_sid: must be AC followed by 32 hex digits")
        _check_url(problems, "sms.base_url", sms.get("base_url"))
        _check_common(problems, "sms", sms)
    webhook = params.get("webhook")
    if webhook is not None:
        _required(problems, "webhook", webhook, ("url",))
        _check_url(problems, "webhook.url", webhook.get("url"))
        for name, value in (webhook.get("headers") or {}).items():
            if not isinstance(value, (str, int)) or any(c in f"{name}{value}" for c in "\r\n"):
                problems.append(f"webhook.headers: '{name}' must be a one-line string")
        _check_common(problems, "webhook", webhook)
    return problems


def ordered(alerts):
    """The alerts, most severe level first, keeping their order within a level."""
    return sorted(alerts, key=lambda alert: LEVELS.index(alert["level"]))


def headline(alert):
    """The alert's message, naming its host first unless the message already does."""
    message, host = str(alert["message"]), str(alert.get("host") or "")
    return message if not host or message.startswith(host) else f"{host}: {message}"


def count_text(alerts):
    return f"{len(alerts)} alert{'' if len(alerts) == 1 else 's'}"


def summary(alerts):
    by_level = {level: sum(1 for alert in alerts if alert["level"] == level) for level in LEVELS}
    return {"count": len(alerts), "by_level": {level: n for level, n in by_level.items() if n},
            "hosts": sorted({str(alert["host"]) for alert in alerts}),
            "text": f"{count_text(alerts)}: {one_line(headline(alerts[0]), 200)}"}


def email_subject(prefix, alerts):
    return one_line(f"{prefix} {count_text(alerts)}: {headline(alerts[0])}", 200)


COLUMNS = ("level", "host", "check", "subject", "value", "threshold", "message")


def email_body(alerts):
    """A plain-text table of the alerts, one row each, then a count per level."""
    rows = [[one_line(alert.get(column) if alert.get(column) is not None else "-", 120) for column in COLUMNS]
            for alert in alerts]
    for row in rows:
        row[0] = row[0].upper()
    widths = [max(len(column), *(len(row[i]) for row in rows)) for i, column in enumerate(COLUMNS)]
    lines = ["  ".join(column.upper().ljust(widths[i]) for i, column in enumerate(COLUMNS)).rstrip(),
             "  ".join("-" * width for width in widths)]
    lines.extend("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows)
    counts = summary(alerts)["by_level"]
    lines.extend(["", f"{count_text(alerts)}: " + ", ".join(f"{n} {level}" for level, n in counts.items()), ""])
    return "\n".join(lines)


def sms_body(alerts):
    """At most SMS_LIMIT characters: the count, then as many alerts as fit, then how many more."""
    text = f"jvmops: {count_text(alerts)}."
    for index, alert in enumerate(alerts):
        part = f"{' ' if index == 0 else '; '}{alert['level'].upper()} {one_line(headline(alert), 150)}"
        left = len(alerts) - index - 1
        more = f" (+{left} more)" if left else ""
        if len(text) + len(part) + len(more) > SMS_LIMIT:
            if index == 0:  # the first alert always shows, shortened
                more = f" (+{left} more)" if left else ""
                return text + part[:SMS_LIMIT - len(text) - len(more) - 3] + "..." + more
            return text + f" (+{left + 1} more)"
        text += part
    return text


def plan(params, alerts):
    """What each configured channel would send."""
    channels = {}
    if params.get("email"):
        email = params["email"]
        channels["email"] = {"recipients": list(email["to"]), "subject": email_subject(email["subject_prefix"], alerts),
                             "body": email_body(alerts)}
    if params.get("sms"):
        channels["sms"] = {"recipients": list(params["sms"]["to"]), "body": sms_body(alerts)}
    if params.get("webhook"):
        channels["webhook"] = {"url": params["webhook"]["url"], "payload": {"alerts": alerts, "summary": summary(alerts)}}
    return channels


SENDERS = {"email": send_email, "sms": send_sms, "webhook": send_webhook}


def run(module):
    """(changed, result, failed): send, or only plan, every configured channel."""
    params = module.params
    alerts = ordered(params["alerts"])
    result = {"alerts": len(alerts)}
    if not alerts:
        result["would_send" if not params["enabled"] or module.check_mode else "sent"] = {}
        return False, result, {}
    messages = plan(params, alerts)
    if not params["enabled"] or module.check_mode:
        result["would_send"] = messages
        return bool(params["enabled"] and messages), result, {}
    sent, failed = {}, {}
    for channel in CHANNELS:
        if channel not in messages:
            continue
        try:
            sent[channel] = SENDERS[channel](params[channel], messages[channel], alerts)
        except ChannelError as exc:
            failed[channel] = str(exc)
    result["sent"] = sent
    return bool(sent), result, failed


def main():
    common = {"timeout": {"type": "int", "default": 30}, "ca_path": {"type": "path"},
              "validate_certs": {"type": "bool", "default": True}}
    module = AnsibleModule(argument_spec={
        "alerts": {"type": "list", "elements": "dict", "required": True},
        "enabled": {"type": "bool", "default": False},
        "email": {"type": "dict", "options": {
            "host": {"type": "str"},
            "port": {"type": "int"},
            "security": {"type": "str", "default": "starttls"},
            "username": {"type": "str", "fallback": (env_fallback, ["JVMOPS_SMTP_USERNAME"])},
            "password": {"type": "str", "no_log": True, "fallback": (env_fallback, ["JVMOPS_SMTP_PASSWORD"])},
            "from": {"type": "str"},
            "to": {"type": "list", "elements": "str"},
            "subject_prefix": {"type": "str", "default": "[jvmops]"},
            **common,
        }},
        "sms": {"type": "dict", "options": {
            "account_sid": {"type": "str", "fallback": (env_fallback, ["TWILIO_ACCOUNT_SID"])},
            "auth_token": {"type": "str", "no_log": True, "fallback": (env_fallback, ["TWILIO_AUTH_TOKEN"])},
            "from": {"type": "str"},
            "to": {"type": "list", "elements": "str"},
            "base_url": {"type": "str", "default": "https://api.twilio.com"},
            **common,
        }},
        "webhook": {"type": "dict", "options": {
            "url": {"type": "str"},
            "headers": {"type": "dict", "no_log": True},
            **common,
        }},
    }, supports_check_mode=True)
    problems = check_alerts(module.params["alerts"]) + check_options(module.params)
    if problems:
        module.fail_json(msg="; ".join(problems), problems=problems)
    changed, result, failed = run(module)
    if failed:
        # "Failed to send the alerts by email: <why>", or by several channels: "... by email, sms. email: <why>; sms: <why>".
        why = next(iter(failed.values())) if len(failed) == 1 else "; ".join(f"{c}: {e}" for c, e in failed.items())
        module.fail_json(msg=f"Failed to send the alerts by {', '.join(failed)}{':' if len(failed) == 1 else '.'} {why}",
                         changed=changed, errors=failed, **result)
    module.exit_json(changed=changed, **result)


if __name__ == "__main__":
    main()
