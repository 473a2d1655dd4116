# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real local SMTP server for alert_send's tests: aiosmtpd on 127.0.0.1 with STARTTLS, SMTPS and AUTH PLAIN/LOGIN.

    server.py --state-dir DIR [--username U] [--password P]

Two listeners: `port` (plain, STARTTLS required before AUTH and MAIL) and `tls_port` (TLS from the start), both
with a throwaway trustme certificate for 127.0.0.1 and localhost (DIR/ca.pem), both requiring AUTH. Every message
it accepts is stored as DIR/messages/NNNN.eml and indexed in DIR/messages.json; DIR/stats.json counts sessions,
messages and failed logins. A small HTTP control listener (control_url) answers GET /__fake__/stats and
GET /__fake__/messages, and POST /__fake__/reset. When ready it writes DIR/server.json atomically:
{"host", "port", "tls_port", "ca_path", "username", "password", "control_url", "pid"}.
The password is never logged.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import json
import logging
import os
import secrets
import signal
import socket
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import warnings

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

LOG = logging.getLogger("smtp_fake")


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _write_json(path, data):
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    os.replace(tmp, path)


class Store:
    """The accepted messages and the statistics, on disk in the state dir."""

    def __init__(self, state_dir):
        self.dir = Path(state_dir)
        (self.dir / "messages").mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()
        self.messages = []
        self.stats = {"sessions": 0, "messages": 0, "auth_ok": 0, "auth_failed": 0}
        self.save()

    def save(self):
        _write_json(self.dir / "stats.json", self.stats)
        _write_json(self.dir / "messages.json", self.messages)

    def count(self, key):
        with self.lock:
            self.stats[key] += 1
            self.save()

    def add(self, envelope, session, port, tls):
        with self.lock:
            number = len(self.messages) + 1
            path = self.dir / "messages" / f"{number:04d}.eml"
            path.write_bytes(envelope.original_content)
            parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
            body = parsed.get_body(("plain",))
            entry = {"file": str(path), "mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos),
                     "subject": str(parsed.get("Subject", "")), "body": body.get_content() if body else "",
                     "login": session.auth_data, "tls": tls or session.ssl is not None, "port": port}
            self.messages.append(entry)
            self.stats["messages"] += 1
            self.save()
            return entry

    def reset(self):
        with self.lock:
            self.messages = []
            for path in (self.dir / "messages").glob("*.eml"):
                path.unlink()
            self.save()


class Handler:
    def __init__(self, store, port, tls=False):
        self.store = store
        self.port = port
        self.tls = tls

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # pylint: disable=unused-argument,invalid-name
        session.host_name = hostname
        if not getattr(session, "counted", False):
            session.counted = True
            self.store.count("sessions")
        return responses

    async def handle_DATA(self, server, session, envelope):  # pylint: disable=unused-argument,invalid-name
        entry = self.store.add(envelope, session, self.port, self.tls)
        LOG.info("message %s from %s to %s accepted", Path(entry["file"]).name, envelope.mail_from, ", ".join(envelope.rcpt_tos))
        return "250 OK message accepted"


class _ImplicitTLSController(Controller):
    """SMTPS: the whole connection is TLS, so aiosmtpd's warning about AUTH without STARTTLS does not apply."""

    def factory(self):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
            return super().factory()


class FakeSMTP:
    """The SMTP service in this process: FakeSMTP(state_dir).start(); .port, .tls_port, .ca_path, .username, .password."""

    def __init__(self, state_dir, username="alerts@example.com", password=None):
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.username = username
        self.password = password or "smtp-" + secrets.token_urlsafe(18)
        self.store = Store(self.state_dir)
        self.ca_path = str(self.state_dir / "ca.pem")
        self.host = "127.0.0.1"
        self.port = self.tls_port = None
        self.controllers = []
        self.http = None
        self.control_url = None

    # aiosmtpd's authenticator signature.
    def _authenticate(self, server, session, envelope, mechanism, auth_data):  # pylint: disable=unused-argument,too-many-positional-arguments
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == self.username
              and secrets.compare_digest(auth_data.password, self.password.encode()))
        self.store.count("auth_ok" if ok else "auth_failed")
        LOG.info("AUTH %s for %r: %s", mechanism, auth_data.login.decode() if isinstance(auth_data, LoginPassword) else "?",
                 "ok" if ok else "failed")
        return AuthResult(success=ok, handled=False, auth_data=auth_data.login.decode() if ok else None)

    def start(self):
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        ca.cert_pem.write_to_path(self.ca_path)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        common = {"authenticator": self._authenticate, "auth_required": True, "auth_require_tls": True}
        self.port, self.tls_port = _free_port(), _free_port()
        starttls = Controller(Handler(self.store, self.port), hostname=self.host, port=self.port, tls_context=context,
                              require_starttls=True, **common)
        # TLS from the first byte: aiosmtpd does not see that as TLS for AUTH, so it need not require it (and
        # need not warn that it does not).
        implicit = _ImplicitTLSController(Handler(self.store, self.tls_port, tls=True), hostname=self.host,
                                          port=self.tls_port, ssl_context=context, **{**common, "auth_require_tls": False})
        for controller in (starttls, implicit):
            controller.start()
            self.controllers.append(controller)
        self.http = ThreadingHTTPServer((self.host, 0), _control_handler(self))
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        self.control_url = f"http://{self.host}:{self.http.server_address[1]}"
        LOG.info("SMTP on %s:%s (STARTTLS) and %s (TLS), control %s", self.host, self.port, self.tls_port, self.control_url)
        return self

    def info(self):
        return {"host": self.host, "port": self.port, "tls_port": self.tls_port, "ca_path": self.ca_path,
                "username": self.username, "password": self.password, "control_url": self.control_url, "pid": os.getpid()}

    def messages(self):
        return list(self.store.messages)

    def stop(self):
        for controller in self.controllers:
            controller.stop()
        self.controllers = []
        if self.http:
            self.http.shutdown()
            self.http.server_close()
            self.http = None
        LOG.info("stopped")


def _control_handler(fake):
    class ControlHandler(BaseHTTPRequestHandler):
        def _send(self, status, data):
            body = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):  # pylint: disable=invalid-name
            if self.path == "/__fake__/stats":
                self._send(200, fake.store.stats)
            elif self.path == "/__fake__/messages":
                self._send(200, fake.messages())
            else:
                self._send(404, {"error": "not found"})

        def do_POST(self):  # pylint: disable=invalid-name
            if self.path == "/__fake__/reset":
                fake.store.reset()
                self._send(200, {})
            else:
                self._send(404, {"error": "not found"})

        def log_message(self, format, *args):  # pylint: disable=redefined-builtin
            pass

    return ControlHandler


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state-dir", required=True, type=Path)
    parser.add_argument("--username", default="alerts@example.com")
    parser.add_argument("--password", help="default: a random one (server.json has it)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's own log: no protocol lines
    fake = FakeSMTP(args.state_dir, args.username, args.password).start()
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    _write_json(args.state_dir / "server.json", fake.info())
    done.wait()
    fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
