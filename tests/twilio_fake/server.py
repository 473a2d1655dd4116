# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A local Twilio REST API (2010-04-01) receiver and JSON webhook receiver over HTTPS, for alert_send's tests.

    server.py --state-dir DIR [--host 127.0.0.1] [--port 0]

Every request under /2010-04-01/ is checked against Twilio's OpenAPI description (twilio_contract.py); the
Messages create operation stores the message and answers a full message resource, itself checked against the
description's response schema. POST /hook records a JSON body (needs `Authorization: Bearer <hook_token>`).
When ready it writes DIR/server.json atomically: {"base_url", "hook_url", "ca_path", "account_sid",
"auth_token", "hook_token", "pid"}. Neither the token nor a request body is logged.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import logging
import os
import secrets
import signal
import ssl
import sys
import threading
from datetime import datetime, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import trustme

sys.path.insert(0, str(Path(__file__).resolve().parent))
from twilio_contract import Contract, ContractError  # noqa: E402 pylint: disable=wrong-import-position

LOG = logging.getLogger("twilio_fake")
AUTH_ERROR = {"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}


def _write_json(path, data):
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    os.replace(tmp, path)


class FakeTwilio:
    """The service in this process: FakeTwilio(state_dir).start(); .base_url, .hook_url, .ca_path, .account_sid, .auth_token."""

    def __init__(self, state_dir, host="127.0.0.1", port=0, contract=None):
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.contract = contract or Contract()
        self.host, self.port = host, port
        self.account_sid = "AC" + secrets.token_hex(16)
        self.auth_token = secrets.token_hex(16)
        self.hook_token = "hook-" + secrets.token_urlsafe(18)
        self.ca_path = str(self.state_dir / "ca.pem")
        self.lock = threading.Lock()
        self.messages, self.hooks = [], []
        self.faults = []
        self.stats = {"requests_received": 0, "requests_validated": 0, "responses_validated": 0, "violations": [],
                      "auth_failures": 0, "not_implemented": 0, "faults_injected": 0, "messages": 0, "hooks": 0}
        self.server = None
        self.base_url = self.hook_url = None

    def start(self):
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        ca.cert_pem.write_to_path(self.ca_path)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        self.server = ThreadingHTTPServer((self.host, self.port), _handler(self))
        self.server.daemon_threads = True
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base_url = f"https://{self.host}:{self.server.server_address[1]}"
        self.hook_url = self.base_url + "/hook"
        self.save()
        LOG.info("Twilio API and webhook receiver on %s (account %s)", self.base_url, self.account_sid)
        return self

    def info(self):
        return {"base_url": self.base_url, "hook_url": self.hook_url, "ca_path": self.ca_path, "account_sid": self.account_sid,
                "auth_token": self.auth_token, "hook_token": self.hook_token, "pid": os.getpid()}

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        LOG.info("stopped")

    def save(self):
        _write_json(self.state_dir / "stats.json", self.stats)
        _write_json(self.state_dir / "messages.json", self.messages)
        _write_json(self.state_dir / "hooks.json", self.hooks)

    def violation(self, method, path, error):
        entry = {"method": method, "path": urlsplit(path).path, "where": error.where, "error": str(error)}
        self.stats["violations"].append(entry)
        LOG.warning("contract violation: %s", entry)

    def take_fault(self, target):
        for fault in self.faults:
            if fault["target"] == target and fault["count"] > 0:
                fault["count"] -= 1
                self.stats["faults_injected"] += 1
                return fault["status"]
        return None

    def authorized(self, header, account_sid):
        if not header or not header.startswith("Basic "):
            return False
        try:
            user, _sep, password = base64.b64decode(header[6:], validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return user == self.account_sid == account_sid and secrets.compare_digest(password, self.auth_token)

    def create_message(self, account_sid, form):
        now = format_datetime(datetime.now(timezone.utc), usegmt=True).replace("GMT", "+0000")
        sid = "SM" + secrets.token_hex(16)
        uri = f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json"
        body = form.get("Body", "")
        message = {"account_sid": account_sid, "api_version": "2010-04-01", "body": body, "date_created": now,
                   "date_sent": None, "date_updated": now, "direction": "outbound-api", "error_code": None,
                   "error_message": None, "from": form.get("From"), "messaging_service_sid": form.get("MessagingServiceSid"),
                   "num_media": "0", "num_segments": str(max(1, -(-len(body) // 153) if len(body) > 160 else 1)),
                   "price": None, "price_unit": "USD", "sid": sid, "status": "queued",
                   "subresource_uris": {"media": uri.replace(".json", "/Media.json")}, "to": form["To"], "uri": uri}
        self.messages.append(message)
        self.stats["messages"] += 1
        LOG.info("message %s to %s (%d characters)", sid, form["To"], len(body))
        return message


def _handler(fake):  # pylint: disable=too-many-statements
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _send(self, status, data):
            body = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _body(self):
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _control(self, method, path, body):
            if method == "GET" and path == "/__fake__/stats":
                return 200, fake.stats
            if method == "GET" and path == "/__fake__/messages":
                return 200, fake.messages
            if method == "GET" and path == "/__fake__/hooks":
                return 200, fake.hooks
            if method == "POST" and path == "/__fake__/faults":
                fault = json.loads(body or b"{}")
                fake.faults.append({"target": fault.get("target", "twilio"), "status": int(fault.get("status", 500)),
                                    "count": int(fault.get("count", 1))})
                return 200, {}
            if method == "POST" and path == "/__fake__/reset":
                fake.messages.clear()
                fake.hooks.clear()
                fake.faults.clear()
                return 200, {}
            return 404, {"error": "no such control endpoint"}

        def _hook(self, method, body):
            if method != "POST":
                return 405, {"error": "POST only"}
            if self.headers.get("Authorization") != f"Bearer {fake.hook_token}":
                return 401, {"error": "unauthorized"}
            fault = fake.take_fault("hook")
            if fault:
                return fault, {"error": "injected fault"}
            try:
                data = json.loads(body)
            except ValueError:
                return 400, {"error": "not JSON"}
            if not isinstance(data, dict) or not isinstance(data.get("alerts"), list) or not isinstance(data.get("summary"), dict):
                return 422, {"error": "expected {alerts: [...], summary: {...}}"}
            fake.hooks.append({"content_type": self.headers.get("Content-Type"), "body": data,
                               "headers": sorted(self.headers.keys())})
            fake.stats["hooks"] += 1
            LOG.info("webhook with %d alerts", len(data["alerts"]))
            return 200, {"ok": True}

        def _api(self, method, path, body):
            fake.stats["requests_received"] += 1
            try:
                template, params, operation = fake.contract.route(method, urlsplit(path).path)
            except ContractError as exc:
                fake.violation(method, path, exc)
                return exc.status, {"code": 20404, "message": str(exc), "status": exc.status}
            if not fake.authorized(self.headers.get("Authorization"), params.get("AccountSid")):
                fake.stats["auth_failures"] += 1
                LOG.info("%s %s: authentication failed", method, template)
                return 401, AUTH_ERROR
            try:
                form = fake.contract.check_form(operation, self.headers.get("Content-Type"), body)
            except ContractError as exc:
                fake.violation(method, path, exc)
                return 400, {"code": 20001, "message": str(exc), "status": 400}
            fake.stats["requests_validated"] += 1
            fault = fake.take_fault("twilio")
            if fault:
                return fault, {"code": 20500, "message": "An internal server error has occurred", "status": fault}
            if (method, template) != ("POST", "/2010-04-01/Accounts/{AccountSid}/Messages.json"):
                fake.stats["not_implemented"] += 1
                return 501, {"code": 20501, "message": f"{method} {template} is not implemented by the fake", "status": 501}
            message = fake.create_message(params["AccountSid"], form)
            try:
                fake.contract.check_response(operation, 201, message)
            except ContractError as exc:
                fake.violation(method, path, exc)
                return 500, {"code": 20500, "message": str(exc), "status": 500}
            fake.stats["responses_validated"] += 1
            return 201, message

        def _dispatch(self, method):
            body = self._body()
            path = self.path
            with fake.lock:
                if path.startswith("/__fake__/"):
                    status, data = self._control(method, urlsplit(path).path, body)
                elif urlsplit(path).path == "/hook":
                    status, data = self._hook(method, body)
                else:
                    status, data = self._api(method, path, body)
                fake.save()
            self._send(status, data)

        def do_GET(self):  # pylint: disable=invalid-name
            self._dispatch("GET")

        def do_POST(self):  # pylint: disable=invalid-name
            self._dispatch("POST")

        def do_PUT(self):  # pylint: disable=invalid-name
            self._dispatch("PUT")

        def do_DELETE(self):  # pylint: disable=invalid-name
            self._dispatch("DELETE")

        def log_message(self, format, *args):  # pylint: disable=redefined-builtin
            LOG.info("%s %s", self.address_string(), format % args)

    return Handler


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state-dir", required=True, type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    fake = FakeTwilio(args.state_dir, args.host, args.port).start()
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    _write_json(args.state_dir / "server.json", fake.info())
    done.wait()
    fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
