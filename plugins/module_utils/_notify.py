# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The alert channels of alert_send: email over SMTP, SMS through Twilio's Messages API, and a JSON webhook.

Each sender takes the channel's options, the message planned for it and the alerts, and returns what went out;
a channel that cannot send raises ChannelError with a message that names no secret.
"""

from __future__ import annotations

import json
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode

from ansible.module_utils.urls import open_url

SECURITY = {"starttls": 587, "tls": 465, "none": 25}  # the default port of each kind of SMTP connection
TWILIO_MESSAGES = "/2010-04-01/Accounts/{sid}/Messages.json"


class ChannelError(Exception):
    """A channel could not send; the message names no secret."""


def one_line(text, limit=None):
    text = " ".join(str(text).split())
    if limit and len(text) > limit:
        text = text[:limit - 3] + "..."
    return text


def tls_context(options):
    if not options.get("validate_certs", True):
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=options.get("ca_path"))


def send_email(email, message, alerts):
    port = email.get("port") or SECURITY[email["security"]]
    mail = EmailMessage()
    mail["Subject"] = message["subject"]
    mail["From"] = email["from"]
    mail["To"] = ", ".join(email["to"])
    mail["Date"] = formatdate(localtime=False, usegmt=True)
    mail["Message-ID"] = make_msgid(domain="jvmops.deploy")
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(message["body"])
    step = "connect to"
    try:
        context = tls_context(email)
        if email["security"] == "tls":
            server = smtplib.SMTP_SSL(email["host"], port, timeout=email["timeout"], context=context)
        else:
            server = smtplib.SMTP(email["host"], port, timeout=email["timeout"])
        with server:
            if email["security"] == "starttls":
                step = "start TLS with"
                server.starttls(context=context)
            if email.get("username"):
                step = "log in to"
                server.login(email["username"], email.get("password") or "")
            step = "send through"
            refused = server.send_message(mail, from_addr=email["from"], to_addrs=list(email["to"]))
    except smtplib.SMTPAuthenticationError as exc:
        raise ChannelError(f"SMTP authentication of '{email['username']}' failed at {email['host']}:{port}: "
                           f"{exc.smtp_code} {_text(exc.smtp_error)}") from None
    except smtplib.SMTPResponseException as exc:
        raise ChannelError(f"Failed to {step} SMTP server {email['host']}:{port}: {exc.smtp_code} {_text(exc.smtp_error)}") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise ChannelError(f"Failed to {step} SMTP server {email['host']}:{port}: {_text(exc)}") from None
    delivered = [address for address in email["to"] if address not in refused]
    if refused:
        raise ChannelError(f"SMTP server {email['host']}:{port} refused {', '.join(sorted(refused))}")
    return {"recipients": delivered, "messages": 1, "alerts": len(alerts), "subject": message["subject"]}


def _text(value):
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return one_line(value, 300)


def _http_error(exc):
    """'HTTP 401 <message>' from an HTTPError, with the service's own message when it sent JSON."""
    detail = ""
    try:
        body = json.loads(exc.read() or b"{}")
        if isinstance(body, dict):
            detail = body.get("message") or ""
            if body.get("code"):
                detail += f" (Twilio error {body['code']})"
    except (ValueError, OSError, AttributeError):
        pass
    return f"HTTP {exc.code} {one_line(detail or exc.reason or '', 300)}".rstrip()


def send_sms(sms, message, alerts):
    url = sms["base_url"].rstrip("/") + TWILIO_MESSAGES.format(sid=sms["account_sid"])
    sids = []
    for number in sms["to"]:
        data = urlencode({"To": number, "From": sms["from"], "Body": message["body"]})
        try:
            with open_url(url, data=data, method="POST", timeout=sms["timeout"], url_username=sms["account_sid"],
                          url_password=sms["auth_token"], force_basic_auth=True, follow_redirects="none",
                          validate_certs=sms["validate_certs"], ca_path=sms.get("ca_path"), use_netrc=False,
                          headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}) as response:
                answer = json.loads(response.read())
        except HTTPError as exc:
            raise ChannelError(f"Failed to create Twilio message to '{number}': {_http_error(exc)}"
                               + (f" (sent before: {', '.join(sids)})" if sids else "")) from None
        except (URLError, OSError, ValueError) as exc:
            raise ChannelError(f"Failed to create Twilio message to '{number}': {_text(getattr(exc, 'reason', exc))}") from None
        if not isinstance(answer, dict) or not answer.get("sid"):
            raise ChannelError(f"Failed to create Twilio message to '{number}': the answer has no message sid")
        sids.append(answer["sid"])
    return {"recipients": list(sms["to"]), "messages": len(sids), "alerts": len(alerts), "sids": sids}


def send_webhook(webhook, message, alerts):
    headers = {str(name): str(value) for name, value in (webhook.get("headers") or {}).items()}
    headers.setdefault("Content-Type", "application/json")
    try:
        with open_url(webhook["url"], data=json.dumps(message["payload"]).encode("utf-8"), method="POST", headers=headers,
                      timeout=webhook["timeout"], validate_certs=webhook["validate_certs"], ca_path=webhook.get("ca_path"),
                      follow_redirects="none", use_netrc=False) as response:
            status = response.status
    except HTTPError as exc:
        raise ChannelError(f"Failed to POST the alerts to the webhook: {_http_error(exc)}") from None
    except (URLError, OSError) as exc:
        raise ChannelError(f"Failed to POST the alerts to the webhook: {_text(getattr(exc, 'reason', exc))}") from None
    return {"url": webhook["url"], "messages": 1, "alerts": len(alerts), "status": status}
