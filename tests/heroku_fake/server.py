# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A local, stateful fake of the Heroku Platform API v3 for the jvmops.deploy integration tests.

The contract is the Platform API JSON hyper-schema in schema.json (MIT, heroku/platform-api): every request
is routed to a schema link, every request body is validated against the link's schema and every response
body against its targetSchema; a mismatch is answered loudly and recorded in stats.json. Builds unpack the
uploaded tarball and read its Procfile, web dynos run the Procfile command behind a per-app router, one-off
dynos run for real and are reached through the rendezvous protocol or the app's log.

This module is the HTTPS service and the API; heroku_contract.py holds the schema routing and validation,
heroku_runtime.py the logs, dynos, routers and the rendezvous service.

Run:  python server.py --state-dir DIR [--host 127.0.0.1] [--port 0] [--api-key KEY]
In-process:  FakeHeroku(state_dir).start() ... .stop()      See README.md next to this file.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import http.server
import io
import json
import logging
import os
import random
import re
import secrets
import select
import shutil
import signal
import socketserver
import ssl
import sys
import tarfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import trustme

# The sibling modules, whether this file runs as a script or is loaded by path (the unit tests).
sys.path.insert(0, str(Path(__file__).resolve().parent))
from heroku_contract import SCHEMA_FILE, Schema
from heroku_runtime import (
    App, Build, BuildError, Dyno, Formation, Release, Rendezvous, Router, Slug, BUILDPACK_DESCRIPTIONS, DEFAULT_SIZE, LOG,
    LOG_BUFFER_LINES, USER_EMAIL, USER_ID, atomic_write, buildpack_ref, fixed_id, human_size, iso, kill_group, new_id,
    parse_procfile, stack_title, tree_digest, unpack_source)

ACCEPT_MEDIA = "application/vnd.heroku+json"
RATE_LIMIT = 4500                      # requests per hour, as Heroku's token bucket
DEFAULT_PAGE_SIZE = 200
MAX_PAGE_SIZE = 1000
LOG_SESSION_TTL = 300                  # seconds a logplex_url can be opened
LOG_TAIL_MAX = 3600                    # seconds a tailing log session stays open
STOP_GRACE = 10                        # seconds between SIGTERM and SIGKILL
MAX_BODY = 512 * 1024 * 1024
MAX_QUANTITY = 100

TEAM_NAME = "jvmops"
TEAM_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "heroku-fake:team:jvmops"))
GENERATION = {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, "heroku-fake:generation:cedar")), "name": "cedar"}
FIXED_TIME = "2024-01-01T00:00:00Z"

REGIONS = {
    "us": {"country": "United States", "locale": "Virginia", "description": "United States",
           "provider": {"name": "amazon-web-services", "region": "us-east-1"}},
    "eu": {"country": "Ireland", "locale": "Dublin", "description": "Europe",
           "provider": {"name": "amazon-web-services", "region": "eu-west-1"}},
}
STACKS = ("heroku-22", "heroku-24")
DEFAULT_STACK = "heroku-24"
# name: (compute, memory in GB, dyno units)
DYNO_SIZES = {
    "Eco": (1, 0.5, 0.0),
    "Basic": (1, 0.5, 0.28),
    "Standard-1X": (1, 0.5, 1.0),
    "Standard-2X": (4, 1.0, 2.0),
    "Performance-M": (8, 2.5, 8.0),
    "Performance-L": (16, 14.0, 16.0),
}

# Heroku's app name rule; generated names look like glacial-tundra-7926.
NAME_WORDS = (("glacial", "quiet", "shrouded", "frozen", "polar", "misty", "ancient", "calm", "radiant", "rocky"),
              ("tundra", "river", "meadow", "harbor", "summit", "forest", "canyon", "island", "reef", "plains"))

RATE_LIMIT_MESSAGE = "Your account reached the API rate limit\nPlease wait a few minutes before making new requests"
NOT_FOUND_ENDPOINT = ("The requested API endpoint was not found. Are you using the right HTTP verb (i.e. `GET` vs. `POST`), "
                      "and did you specify your intended version with the `Accept` header?")


# -- TLS ------------------------------------------------------------------------------------------------------

def make_certificates(state_dir):
    """A throwaway CA and a server certificate for 127.0.0.1 and localhost; (ca.pem, cert, key) paths."""
    state_dir = Path(state_dir)
    ca = trustme.CA(organization_name="jvmops.deploy tests")
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca_path = state_dir / "ca.pem"
    cert_path = state_dir / "server-cert.pem"
    key_path = state_dir / "server-key.pem"
    atomic_write(ca_path, ca.cert_pem.bytes().decode("ascii"))
    atomic_write(cert_path, "".join(blob.bytes().decode("ascii") for blob in cert.cert_chain_pems))
    atomic_write(key_path, cert.private_key_pem.bytes().decode("ascii"), mode=0o600)
    return ca_path, cert_path, key_path


# -- errors and replies ---------------------------------------------------------------------------------------

class ApiError(Exception):
    """An error answer in Heroku's shape: {"id": ..., "message": ...}."""

    def __init__(self, status, error_id, message, headers=None):
        super().__init__(message)
        self.status = status
        self.error_id = error_id
        self.message = message
        self.headers = headers or {}


class Reply:
    """A JSON answer of an API handler; a list answer names its Range fields (first is the default)."""

    def __init__(self, status, body, ranges=None):
        self.status = status
        self.body = body
        self.ranges = ranges


def not_found(what):
    return ApiError(404, "not_found", f"Couldn't find that {what}.")


def invalid(message):
    return ApiError(422, "invalid_params", message)


# -- the HTTP server ------------------------------------------------------------------------------------------

class TLSServer(http.server.ThreadingHTTPServer):
    """HTTPS, with the TLS handshake in the connection's thread."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address, handler, fake, context):
        self.fake = fake
        self.context = context
        super().__init__(address, handler)

    def server_bind(self):
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def finish_request(self, request, client_address):
        request.settimeout(30)
        try:
            conn = self.context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError) as exc:
            LOG.debug("TLS handshake with %s failed: %s", client_address, exc)
            return
        try:
            conn.settimeout(120)
            self.RequestHandlerClass(conn, client_address, self)
        finally:
            try:
                conn.close()
            except OSError:
                pass


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "heroku-fake/1"
    sys_version = ""

    def log_message(self, format, *args):
        LOG.debug("%s %s", self.address_string(), format % args)

    def do_GET(self):
        self.server.fake.dispatch(self)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    # response helpers
    def send_body(self, status, data, content_type, headers=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def send_json(self, status, body, headers=None):
        self.send_body(status, json.dumps(body).encode("utf-8"), "application/json; charset=utf-8", headers)

    def start_chunked(self, content_type="text/plain; charset=utf-8", headers=None):
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()

    def chunk(self, data):
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

    def end_chunked(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def client_gone(self):
        """After a GET nothing more comes from the client: anything readable means it closed the connection."""
        try:
            readable = select.select([self.connection], [], [], 0)[0]
        except (OSError, ValueError):
            return True
        return bool(readable)

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
                if len(data) > MAX_BODY:
                    raise ValueError("body too large")
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ValueError("body too large")
        return self.rfile.read(length) if length > 0 else b""


# -- the service ----------------------------------------------------------------------------------------------

class Request:
    """What an API handler gets: path params, the validated body, the link."""

    def __init__(self, params, body, link, headers):
        self.params = params
        self.body = body
        self.link = link
        self.headers = headers


class FakeHeroku:
    """The local Heroku Platform API: start(), then api_url, ca_path and api_key; stop() ends everything."""

    def __init__(self, state_dir, host="127.0.0.1", port=0, api_key=None, page_size=DEFAULT_PAGE_SIZE,
                 build_line_delay=0.03, boot_timeout=60, rendezvous_timeout=60, stop_grace=STOP_GRACE,
                 schema_path=SCHEMA_FILE, watch_state=False):
        self.state_dir = Path(state_dir).resolve()
        self.host = host
        self.port = port
        self.api_key = api_key or f"HRKU-{new_id()}"
        self.page_size = page_size
        self.build_line_delay = build_line_delay
        self.boot_timeout = boot_timeout
        self.rendezvous_timeout = rendezvous_timeout
        self.stop_grace = stop_grace
        self.schema = Schema(schema_path)
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.stopping = threading.Event()
        self.stop_request = threading.Event()
        self.watch_state = watch_state
        self.started_at = iso()
        self.apps = {}
        self.builds = {}
        self.sources = {}
        self.sessions = {}
        self.faults = []
        self.failing_builds = {}
        self.stats = {"requests_received": 0, "requests_validated": 0, "responses_validated": 0, "faults_injected": 0,
                      "mismatches": [], "calls": {}}
        self.stats_lock = threading.Lock()
        self.rate_tokens = float(RATE_LIMIT)
        self.rate_time = time.monotonic()
        self.api_url = None
        self.ca_path = None
        self.httpd = None
        self.rendezvous = None
        self.routes = self.make_routes()

    # -- lifecycle ----------------------------------------------------------------------------------------------

    def start(self):
        self.state_dir.mkdir(parents=True, exist_ok=True)
        for sub in ("blobs", "builds", "slugs", "dynos"):
            (self.state_dir / sub).mkdir(exist_ok=True)
        ca_path, cert_path, key_path = make_certificates(self.state_dir)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_path, key_path)
        self.httpd = TLSServer((self.host, self.port), Handler, self, context)
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        self.api_url = f"https://{host}:{self.httpd.server_address[1]}"
        self.ca_path = str(ca_path)
        self.rendezvous = Rendezvous(self, host, context)
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2}, name="api", daemon=True).start()
        self.write_stats()
        atomic_write(self.state_dir / "server.json", json.dumps({"api_url": self.api_url, "ca_path": self.ca_path,
                                                                 "pid": os.getpid(), "api_key": self.api_key}, indent=2) + "\n",
                     mode=0o600)
        LOG.info("Heroku API fake listening at %s (state in %s)", self.api_url, self.state_dir)
        if self.watch_state:
            threading.Thread(target=self.watch_server_json, name="watch-state", daemon=True).start()
        return self

    def watch_server_json(self):
        """Ask to stop once server.json is gone or names another process: nobody can reach or stop this one any more."""
        path = self.state_dir / "server.json"
        while not self.stop_request.wait(2.0):
            try:
                pid = json.loads(path.read_text(encoding="utf-8")).get("pid")
            except (OSError, ValueError, AttributeError):
                pid = None
            if pid != os.getpid():
                LOG.warning("%s is gone or names another process: stopping this orphaned server", path)
                self.stop_request.set()

    def serve_until_stopped(self):
        """Run until stop_request is set (a signal, or the state dir taken away), then stop()."""
        try:
            self.stop_request.wait()
        finally:
            self.stop()

    def stop(self):
        """Stop serving, stop every dyno (SIGTERM, SIGKILL after the grace period), keep server.json and stats.json."""
        if self.stopping.is_set():
            return
        self.stopping.set()
        self.stop_request.set()
        with self.lock:
            dynos = []
            for app in self.apps.values():
                app.router.close()
                app.log.close()
                dynos.extend(app.dynos.values())
                dynos.extend(app.oneoffs.values())
            self.cond.notify_all()
        for dyno in dynos:
            dyno.stop()
        deadline = time.monotonic() + self.stop_grace
        for dyno in dynos:
            if dyno.proc is not None:
                dyno.exited.wait(max(0.0, deadline - time.monotonic()))
        for dyno in dynos:
            if dyno.proc is not None and not dyno.exited.is_set():
                kill_group(dyno.proc.pid, signal.SIGKILL)
                dyno.exited.wait(2)
        if self.rendezvous is not None:
            self.rendezvous.close()
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
        self.write_stats()
        LOG.info("Heroku API fake stopped")

    # -- bookkeeping ----------------------------------------------------------------------------------------

    def stats_snapshot(self):
        with self.stats_lock:
            return json.loads(json.dumps(self.stats))

    def write_stats(self):
        with self.stats_lock:
            text = json.dumps(self.stats, indent=2, sort_keys=True) + "\n"
            atomic_write(self.state_dir / "stats.json", text)

    def bump(self, key):
        with self.stats_lock:
            self.stats[key] += 1

    def mismatch(self, method, path, where, error):
        with self.stats_lock:
            self.stats["mismatches"].append({"method": method, "path": path, "where": where, "error": error})
        LOG.error("SCHEMA MISMATCH in the %s of %s %s: %s", where, method, path, error)

    def take_token(self):
        with self.stats_lock:
            now = time.monotonic()
            self.rate_tokens = min(float(RATE_LIMIT), self.rate_tokens + (now - self.rate_time) * RATE_LIMIT / 3600.0)
            self.rate_time = now
            self.rate_tokens = max(0.0, self.rate_tokens - 1)
            return int(self.rate_tokens)

    def take_fault(self, method, path):
        with self.lock:
            for fault in self.faults:
                if fault["method"] and fault["method"] != method:
                    continue
                if fault["regex"] is not None and not fault["regex"].search(path):
                    continue
                fault["count"] -= 1
                if fault["count"] <= 0:
                    self.faults.remove(fault)
                return fault["status"]
        return None

    def authorized(self, header):
        scheme, unused, value = (header or "").partition(" ")
        if scheme.lower() == "bearer":
            token = value.strip()
        elif scheme.lower() == "basic":
            try:
                token = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")[2]
            except (ValueError, UnicodeDecodeError):
                return False
        else:
            return False
        return bool(token) and hmac.compare_digest(token.encode("utf-8"), self.api_key.encode("utf-8"))

    # -- HTTP dispatch ----------------------------------------------------------------------------------------

    def dispatch(self, h):
        h.request_id = new_id()
        try:
            try:
                raw = h.read_body()
            except ValueError:
                h.close_connection = True
                h.send_json(413, {"id": "request_too_large", "message": "The request body is too large."},
                            {"Request-Id": h.request_id})
                return
            parts = urlsplit(h.path)
            path = parts.path
            if path.startswith("/__fake__/"):
                self.control(h, path[len("/__fake__/"):], raw)
            elif path.startswith("/__blobs__/"):
                self.blob(h, path[len("/__blobs__/"):], parts.query, raw)
            elif path.startswith("/__streams__/"):
                self.build_stream(h, path[len("/__streams__/"):])
            elif path.startswith("/__logs__/"):
                self.log_stream(h, path[len("/__logs__/"):], parts.query)
            elif path.startswith("/__slugs__/"):
                self.slug_download(h, path[len("/__slugs__/"):])
            else:
                self.api(h, path, raw)
        except (OSError, ssl.SSLError) as exc:
            LOG.debug("connection ended during %s %s: %s", h.command, h.path, exc)
            h.close_connection = True

    def api(self, h, path, raw):
        method = h.command
        self.bump("requests_received")
        headers = {"Request-Id": h.request_id, "RateLimit-Remaining": str(self.take_token())}
        try:
            status, body = self.api_call(h, method, path, raw, headers)
        except ApiError as err:
            headers.update(err.headers)
            status, body = err.status, {"id": err.error_id, "message": err.message}
        except Exception as exc:  # a bug in the fake: say so loudly
            LOG.exception("unhandled error in %s %s", method, path)
            self.mismatch(method, path, "response", f"the fake failed: {type(exc).__name__}: {exc}")
            status, body = 500, {"id": "internal_server_error", "message": f"The local Heroku fake failed: {type(exc).__name__}"}
        h.send_json(status, body, headers)
        self.write_stats()

    def api_call(self, h, method, path, raw, headers):
        if not self.authorized(h.headers.get("Authorization")):
            raise ApiError(401, "unauthorized", "Invalid credentials provided.", {"WWW-Authenticate": 'Basic realm="Heroku"'})
        accept = h.headers.get("Accept", "")
        if ACCEPT_MEDIA not in accept or not re.search(r"version=3(\b|$)", accept):
            self.mismatch(method, path, "headers", f"the Accept header must be '{ACCEPT_MEDIA}; version=3', got {accept!r}")
            raise ApiError(400, "bad_request", "Please specify a version along with Heroku's API MIME type. "
                                               "For example, `Accept: application/vnd.heroku+json; version=3`.")
        links, params = self.schema.route(method, path)
        if links is None:
            self.mismatch(method, path, "request", "no link of the schema has this method and path")
            raise ApiError(404, "not_found", NOT_FOUND_ENDPOINT)
        template = f"{method} {links[0].template}"
        with self.stats_lock:
            self.stats["calls"][template] = self.stats["calls"].get(template, 0) + 1
        fault = self.take_fault(method, path)
        if fault is not None:
            self.bump("faults_injected")
            if fault == 429:
                raise ApiError(429, "rate_limit", RATE_LIMIT_MESSAGE, {"RateLimit-Remaining": "0"})
            raise ApiError(fault, "internal_server_error", "Internal server error. (This failure was injected by the local Heroku fake.)")
        body = None
        if raw.strip():
            try:
                body = json.loads(raw)
            except ValueError:
                self.mismatch(method, path, "request", "the body is not JSON")
                raise ApiError(400, "bad_request", "Invalid JSON in the request body.") from None
        elif method in ("POST", "PUT", "PATCH"):
            body = {}
        link = links[0]
        if body is not None and any(candidate.schema is not None for candidate in links):
            link, problem = self.schema.check_request(links, body)
            if problem is not None:
                self.mismatch(method, path, "request", problem)
                raise ApiError(422, "invalid_params", f"Invalid params: {problem}")
        self.bump("requests_validated")
        handler = self.routes.get(f"{template}#{link.title}") or self.routes.get(template)
        if handler is None:
            raise ApiError(501, "not_implemented", f"The local Heroku fake does not implement {link.title} ({template}).")
        reply = handler(Request(params, body if body is not None else {}, link, h.headers))
        body, status = reply.body, reply.status
        if reply.ranges is not None:
            body, status, extra = self.paginate(body, reply.ranges, h.headers.get("Range"))
            headers.update(extra)
        problem = self.schema.check(link, "response", body)
        if problem is not None:
            self.mismatch(method, path, "response", problem)
            raise ApiError(500, "fake_schema_mismatch", f"The local Heroku fake's response does not match the schema: {problem}")
        self.bump("responses_validated")
        return status, body

    def paginate(self, items, fields, header):
        """Heroku's Range: <field> [[]start]..[end[][; max=N][, order=asc|desc]; (page, status, headers)."""
        field, size, order = fields[0], self.page_size, "asc"
        start = end = None
        start_open = end_open = False
        if header and header.strip():
            spec, unused, params = header.partition(";")
            spec = spec.strip()
            if " " in spec:
                field, spec = spec.split(None, 1)
            elif ".." not in spec:
                field, spec = spec, ".."
            if field not in fields:
                raise ApiError(416, "requested_range_not_satisfiable",
                               f"Invalid range field {field!r}; this list can be ranged by: {', '.join(fields)}")
            low, unused, high = spec.partition("..")
            low, high = low.strip(), high.strip()
            if low.startswith("]"):
                start_open, low = True, low[1:]
            if high.endswith("["):
                end_open, high = True, high[:-1]
            start, end = low or None, high or None
            for param in re.split(r"[;,]", params):
                key, unused, value = param.strip().partition("=")
                key, value = key.strip(), value.strip()
                if key == "max":
                    if not value.isdigit() or int(value) < 1:
                        raise ApiError(416, "requested_range_not_satisfiable", f"Invalid max in Range: {value!r}")
                    size = min(int(value), MAX_PAGE_SIZE)
                elif key == "order":
                    if value not in ("asc", "desc"):
                        raise ApiError(416, "requested_range_not_satisfiable", f"Invalid order in Range: {value!r}")
                    order = value
                elif key:
                    raise ApiError(416, "requested_range_not_satisfiable", f"Unknown Range parameter: {key!r}")
        attr = {"started_at": "created_at"}.get(field, field)
        numeric = field in ("version", "ordinal")

        def value_of(item):
            value = item.get(attr)
            if numeric:
                return value if isinstance(value, int) else 0
            return "" if value is None else str(value)
        try:
            start = None if start is None else (int(start) if numeric else start)
            end = None if end is None else (int(end) if numeric else end)
        except ValueError:
            raise ApiError(416, "requested_range_not_satisfiable", f"Invalid {field} value in Range") from None
        desc = order == "desc"

        def inside(value):
            if start is not None:
                if desc and (value > start or (start_open and value == start)):
                    return False
                if not desc and (value < start or (start_open and value == start)):
                    return False
            if end is not None:
                if desc and (value < end or (end_open and value == end)):
                    return False
                if not desc and (value > end or (end_open and value == end)):
                    return False
            return True
        selected = [item for item in sorted(items, key=value_of, reverse=desc) if inside(value_of(item))]
        page = selected[:size]
        suffix = f"; max={size}" + (", order=desc" if desc else "")
        headers = {"Accept-Ranges": ", ".join(fields)}
        if page:
            headers["Content-Range"] = f"{field} {value_of(page[0])}..{value_of(page[-1])}{suffix}"
        if len(selected) > size:
            upper = "" if end is None else f"{end}{'[' if end_open else ''}"
            headers["Next-Range"] = f"{field} ]{value_of(page[-1])}..{upper}{suffix}"
            return page, 206, headers
        return page, 200, headers

    # -- routes -------------------------------------------------------------------------------------------------

    def make_routes(self):
        routes = {
            "GET /account": self.account_info,
            "GET /regions": self.region_list,
            "GET /regions/{region}": self.region_info,
            "GET /stacks": self.stack_list,
            "GET /stacks/{stack}": self.stack_info,
            "GET /teams": self.team_list,
            "GET /teams/{team}": self.team_info,
            "GET /dyno-sizes": self.size_list,
            "GET /dyno-sizes/{dyno-size}": self.size_info,
            "POST /apps": self.app_create,
            "GET /apps": self.app_list,
            "GET /apps/{app}": self.app_info,
            "PATCH /apps/{app}": self.app_update,
            "DELETE /apps/{app}": self.app_delete,
            "POST /teams/apps": self.team_app_create,
            "GET /teams/apps/{team-app}": self.team_app_info,
            "GET /teams/{team}/apps": self.team_app_list,
            "GET /apps/{app}/config-vars": self.config_info,
            "PATCH /apps/{app}/config-vars": self.config_update,
            "GET /apps/{app}/releases/{release}/config-vars": self.release_config_info,
            "GET /apps/{app}/buildpack-installations": self.buildpack_list,
            "PUT /apps/{app}/buildpack-installations": self.buildpack_update,
            "POST /sources": self.source_create,
            "POST /apps/{app}/sources": self.source_create,
            "POST /apps/{app}/builds": self.build_create,
            "GET /apps/{app}/builds": self.build_list,
            "GET /apps/{app}/builds/{build}": self.build_info,
            "GET /apps/{app}/slugs/{slug}": self.slug_info,
            "GET /apps/{app}/releases": self.release_list,
            "GET /apps/{app}/releases/{release}": self.release_info,
            "POST /apps/{app}/releases#Create": self.release_create,
            "POST /apps/{app}/releases#Rollback": self.release_rollback,
            "GET /apps/{app}/formation": self.formation_list,
            "GET /apps/{app}/formation/{formation}": self.formation_info,
            "PATCH /apps/{app}/formation": self.formation_batch_update,
            "PATCH /apps/{app}/formation/{formation}": self.formation_update,
            "POST /apps/{app}/dynos": self.dyno_create,
            "GET /apps/{app}/dynos": self.dyno_list,
            "GET /apps/{app}/dynos/{dyno}": self.dyno_info,
            "DELETE /apps/{app}/dynos": self.dyno_restart_all,
            "DELETE /apps/{app}/dynos/{dyno}": self.dyno_restart,
            "POST /apps/{app}/dynos/{dyno}/actions/stop": self.dyno_stop,
            "DELETE /apps/{app}/formations/{dyno_formation_type}": self.formation_restart,
            "POST /apps/{app}/formations/{dyno_formation_type}/actions/stop": self.formation_restart,
            "POST /apps/{app}/log-sessions": self.log_session_create,
        }
        known = {f"{link.method} {link.template}" for link in self.schema.links}
        known |= {f"{link.method} {link.template}#{link.title}" for link in self.schema.links}
        missing = sorted(set(routes) - known)
        if missing:
            raise RuntimeError(f"routes without a link in the schema: {missing}")
        return routes

    # -- lookups (under self.lock) ----------------------------------------------------------------------------

    def find_app(self, ident):
        for app in self.apps.values():
            if ident in (app.id, app.name):
                return app
        raise not_found("app")

    def app_named(self, name):
        return next((app for app in self.apps.values() if app.name == name), None)

    @staticmethod
    def find_release(app, ident):
        for release in app.releases:
            if ident == release.id or (ident.isdigit() and int(ident) == release.version):
                return release
        raise not_found("release")

    @staticmethod
    def find_formation(app, ident):
        for formation in app.formation.values():
            if ident in (formation.id, formation.type):
                return formation
        raise not_found(f"process type ({ident})")

    @staticmethod
    def find_dyno(app, ident):
        for dyno in list(app.dynos.values()) + list(app.oneoffs.values()):
            if ident in (dyno.id, dyno.name) and dyno.visible():
                return dyno
        raise not_found("dyno")

    @staticmethod
    def resolve_fixed(kind, names, ident):
        """The name of a fixed resource (region, stack) given by name or id."""
        for name in names:
            if ident in (name, fixed_id(kind, name)):
                return name
        raise invalid(f"Couldn't find that {kind}: {ident}")

    def resolve_region(self, ident):
        return self.resolve_fixed("region", REGIONS, ident)

    def resolve_stack(self, ident):
        return self.resolve_fixed("stack", STACKS, ident)

    @staticmethod
    def resolve_size(value):
        if value is None:
            return None
        ident = value if isinstance(value, str) else (value.get("name") or value.get("id") or "")
        for name in DYNO_SIZES:
            if ident.lower() == name.lower() or ident == fixed_id("dyno-size", name):
                return name
        raise invalid(f"Invalid dyno size: {ident}. Use one of: {', '.join(DYNO_SIZES)}")

    def generate_name(self):
        while True:
            name = f"{random.choice(NAME_WORDS[0])}-{random.choice(NAME_WORDS[1])}-{random.randint(1000, 9999)}"
            if self.app_named(name) is None:
                return name

    # -- representations (under self.lock) --------------------------------------------------------------------

    @staticmethod
    def ref(kind, name):
        return {"id": fixed_id(kind, name), "name": name}

    @staticmethod
    def user_ref():
        return {"id": USER_ID, "email": USER_EMAIL}

    def owner_ref(self, app):
        return {"email": f"{TEAM_NAME}@herokumanager.com", "id": TEAM_ID} if app.team else self.user_ref()

    def app_json(self, app):
        team = {"id": TEAM_ID, "name": TEAM_NAME} if app.team else None
        slug = app.current_slug()
        return {
            "acm": False,
            "archived_at": None,
            "buildpack_provided_description": slug.description if slug else None,
            "build_stack": self.ref("stack", app.build_stack),
            "created_at": app.created_at,
            "generation": dict(GENERATION),
            "git_url": f"https://git.heroku.com/{app.name}.git",
            "id": app.id,
            "internal_routing": None,
            "maintenance": app.maintenance,
            "name": app.name,
            "organization": team,
            "owner": self.owner_ref(app),
            "region": self.ref("region", app.region),
            "released_at": app.released_at,
            "repo_size": None,
            "slug_size": slug.size if slug else None,
            "space": None,
            "stack": self.ref("stack", app.stack),
            "team": team,
            "updated_at": app.updated_at,
            "web_url": app.web_url(),
        }

    def team_app_json(self, app):
        body = self.app_json(app)
        for key in ("acm", "generation", "organization"):
            body.pop(key)
        body["team"] = {"name": TEAM_NAME} if app.team else None
        body["joined"] = True
        body["locked"] = app.locked
        return body

    def release_json(self, app, release):
        return {
            "addon_plan_names": [],
            "app": {"id": app.id, "name": app.name},
            "artifacts": [{"type": "slug", "id": release.slug_id}] if release.slug_id else [],
            "created_at": release.created_at,
            "current": release is app.current_release(),
            "description": release.description,
            "eligible_for_rollback": release.slug_id is not None,
            "id": release.id,
            "output_stream_url": None,
            "slug": {"id": release.slug_id} if release.slug_id else None,
            "status": "succeeded",
            "updated_at": release.updated_at,
            "user": self.user_ref(),
            "version": release.version,
        }

    def build_json(self, build):
        return {
            "app": {"id": build.app_id},
            "buildpacks": [dict(pack) for pack in build.buildpacks] if build.buildpacks else None,
            "created_at": build.created_at,
            "generation": GENERATION["name"],
            "id": build.id,
            "output_stream_url": f"{self.api_url}/__streams__/{build.id}",
            "release": {"id": build.release_id} if build.release_id else None,
            "slug": {"id": build.slug_id} if build.slug_id else None,
            "source_blob": dict(build.source_blob),
            "stack": build.stack,
            "status": build.status,
            "updated_at": build.updated_at,
            "user": self.user_ref(),
        }

    def slug_json(self, slug):
        return {
            "blob": {"method": "GET", "url": f"{self.api_url}/__slugs__/{slug.id}.tgz"},
            "buildpack_provided_description": slug.description,
            "checksum": slug.checksum,
            "commit": slug.commit,
            "commit_description": slug.commit_description,
            "created_at": slug.created_at,
            "deleted_at": None,
            "id": slug.id,
            "process_types": dict(slug.process_types),
            "size": slug.size,
            "stack": self.ref("stack", slug.stack),
            "updated_at": slug.updated_at,
        }

    def formation_json(self, app, formation):
        slug = app.current_slug()
        return {
            "app": {"id": app.id, "name": app.name},
            "command": (slug.process_types.get(formation.type) if slug else None) or "",
            "created_at": formation.created_at,
            "dyno_size": self.ref("dyno-size", formation.size),
            "id": formation.id,
            "quantity": formation.quantity,
            "size": formation.size,
            "type": formation.type,
            "updated_at": formation.updated_at,
        }

    def dyno_json(self, app, dyno):
        return {
            "app": {"id": app.id, "name": app.name},
            "attach_url": dyno.attach_url,
            "command": dyno.command,
            "created_at": dyno.created_at,
            "id": dyno.id,
            "name": dyno.name,
            "release": {"id": dyno.release.id, "version": dyno.release.version},
            "size": dyno.size,
            "state": dyno.state,
            "type": dyno.type,
            "updated_at": dyno.updated_at,
        }

    @staticmethod
    def region_json(name):
        info = REGIONS[name]
        return {"country": info["country"], "created_at": FIXED_TIME, "description": info["description"],
                "id": fixed_id("region", name), "locale": info["locale"], "name": name, "private_capable": False,
                "provider": dict(info["provider"]), "updated_at": FIXED_TIME}

    @staticmethod
    def stack_json(name):
        return {"created_at": FIXED_TIME, "default": name == DEFAULT_STACK, "id": fixed_id("stack", name), "name": name,
                "state": "active", "updated_at": FIXED_TIME}

    @staticmethod
    def team_json():
        return {"created_at": FIXED_TIME, "credit_card_collections": False, "default": False, "enterprise_account": None,
                "id": TEAM_ID, "identity_provider": None, "membership_limit": None, "name": TEAM_NAME,
                "provisioned_licenses": False, "role": "admin", "type": "team", "updated_at": FIXED_TIME}

    @staticmethod
    def size_json(name):
        compute, memory, units = DYNO_SIZES[name]
        return {"architecture": "amd64", "compute": compute, "cost": None, "dedicated": False, "generation": dict(GENERATION),
                "id": fixed_id("dyno-size", name), "memory": memory, "name": name, "precise_dyno_units": units,
                "private_space_only": False}

    # -- platform resources ---------------------------------------------------------------------------------

    def account_info(self, req):
        return Reply(200, {
            "allow_tracking": True, "beta": False, "country_of_residence": None, "created_at": FIXED_TIME,
            "default_organization": None, "default_team": None, "delinquent_at": None, "email": USER_EMAIL,
            "federated": False, "id": USER_ID, "identity_provider": None, "last_login": self.started_at, "name": "Ops",
            "sms_number": None, "suspended_at": None, "two_factor_authentication": False, "updated_at": FIXED_TIME,
            "verified": True})

    def region_list(self, req):
        return Reply(200, [self.region_json(name) for name in REGIONS], ranges=["id", "name"])

    def region_info(self, req):
        try:
            return Reply(200, self.region_json(self.resolve_region(req.params[0])))
        except ApiError:
            raise not_found("region") from None

    def stack_list(self, req):
        return Reply(200, [self.stack_json(name) for name in STACKS], ranges=["id", "name"])

    def stack_info(self, req):
        try:
            return Reply(200, self.stack_json(self.resolve_stack(req.params[0])))
        except ApiError:
            raise not_found("stack") from None

    def team_list(self, req):
        return Reply(200, [self.team_json()], ranges=["id", "name"])

    def team_info(self, req):
        if req.params[0] not in (TEAM_NAME, TEAM_ID):
            raise not_found("team")
        return Reply(200, self.team_json())

    def size_list(self, req):
        return Reply(200, [self.size_json(name) for name in DYNO_SIZES], ranges=["id", "name"])

    def size_info(self, req):
        try:
            return Reply(200, self.size_json(self.resolve_size(req.params[0])))
        except ApiError:
            raise not_found("dyno size") from None

    # -- apps -------------------------------------------------------------------------------------------------

    def create_app(self, name, region, stack, team=False, locked=False):
        region = self.resolve_region(region or "us")
        stack = self.resolve_stack(stack or DEFAULT_STACK)
        with self.lock:
            if self.stopping.is_set():
                raise ApiError(503, "unavailable", "The local Heroku fake is stopping.")
            name = name or self.generate_name()
            if self.app_named(name) is not None:
                raise invalid(f"Name {name} is already taken")
            app = App(name, region, stack, team)
            app.locked = locked
            app.router = Router(self, app)
            self.apps[app.id] = app
            app.releases.append(Release(1, "Initial release", None, {}))
            app.api_log(f"Initial release by user {USER_EMAIL}")
            app.api_log(f"Release v1 created by user {USER_EMAIL}")
            LOG.info("app %s created (router on port %s)", app.name, app.router.port)
            return app

    def app_create(self, req):
        body = req.body
        app = self.create_app(body.get("name"), body.get("region"), body.get("stack"))
        with self.lock:
            return Reply(201, self.app_json(app))

    def team_app_create(self, req):
        body = req.body
        team = body.get("team")
        if team is not None and team not in (TEAM_NAME, TEAM_ID):
            raise not_found("team")
        app = self.create_app(body.get("name"), body.get("region"), body.get("stack"), team=team is not None and not body.get("personal"),
                              locked=bool(body.get("locked")))
        with self.lock:
            return Reply(201, self.team_app_json(app))

    def app_list(self, req):
        with self.lock:
            return Reply(200, [self.app_json(app) for app in self.apps.values()], ranges=["id", "name", "updated_at"])

    def team_app_list(self, req):
        if req.params[0] not in (TEAM_NAME, TEAM_ID):
            raise not_found("team")
        with self.lock:
            return Reply(200, [self.team_app_json(app) for app in self.apps.values() if app.team], ranges=["name", "id"])

    def app_info(self, req):
        with self.lock:
            return Reply(200, self.app_json(self.find_app(req.params[0])))

    def team_app_info(self, req):
        with self.lock:
            app = self.app_named(req.params[0])
            if app is None:
                raise not_found("app")
            return Reply(200, self.team_app_json(app))

    def app_update(self, req):
        body = req.body
        with self.lock:
            app = self.find_app(req.params[0])
            if "build_stack" in body:
                app.build_stack = self.resolve_stack(body["build_stack"])
            if "name" in body and body["name"] != app.name:
                if self.app_named(body["name"]) is not None:
                    raise invalid(f"Name {body['name']} is already taken")
                app.api_log(f"Rename app from {app.name} to {body['name']} by user {USER_EMAIL}")
                self.failing_builds.pop(app.name, None)
                app.name = body["name"]
            if "maintenance" in body and body["maintenance"] != app.maintenance:
                app.maintenance = body["maintenance"]
                app.api_log(f"{'Enable' if app.maintenance else 'Disable'} Maintenance mode by user {USER_EMAIL}")
            app.updated_at = iso()
            return Reply(200, self.app_json(app))

    def app_delete(self, req):
        with self.lock:
            app = self.find_app(req.params[0])
            body = self.app_json(app)
            self.remove_app(app)
            return Reply(200, body)

    def remove_app(self, app):
        """Forget an app: its router closes, its dynos stop, its slugs go (under self.lock)."""
        app.deleted = True
        self.apps.pop(app.id, None)
        self.failing_builds.pop(app.name, None)
        app.router.close()
        for dyno in list(app.dynos.values()) + list(app.oneoffs.values()):
            if dyno.secret:
                self.rendezvous.claim(dyno.secret)
            dyno.stop()
        app.dynos.clear()
        app.log.close()
        for sid in [sid for sid, session in self.sessions.items() if session["app"] is app]:
            del self.sessions[sid]
        for slug in app.slugs.values():
            shutil.rmtree(slug.path, ignore_errors=True)
        self.cond.notify_all()
        LOG.info("app %s deleted", app.name)

    # -- config vars and releases -------------------------------------------------------------------------------

    def config_info(self, req):
        with self.lock:
            return Reply(200, dict(self.find_app(req.params[0]).config))

    def release_config_info(self, req):
        with self.lock:
            app = self.find_app(req.params[0])
            return Reply(200, dict(self.find_release(app, req.params[1]).config))

    def config_update(self, req):
        with self.lock:
            app = self.find_app(req.params[0])
            config = dict(app.config)
            added, removed = [], []
            for key, value in req.body.items():
                if value is None:
                    if key in config:
                        del config[key]
                        removed.append(key)
                elif config.get(key) != value:
                    config[key] = value
                    added.append(key)
            if added or removed:
                if added and removed:
                    description = f"Set {', '.join(added)} and remove {', '.join(removed)} config vars"
                elif added:
                    description = f"Set {', '.join(added)} config vars"
                else:
                    description = f"Remove {', '.join(removed)} config vars"
                app.api_log(f"{description} by user {USER_EMAIL}")
                self.new_release(app, description, app.current_release().slug_id, config)
            return Reply(200, dict(app.config))

    def new_release(self, app, description, slug_id, config):
        """A new current release; the dynos restart on it (under self.lock)."""
        release = Release(app.current_release().version + 1, description, slug_id, config)
        app.releases.append(release)
        app.config = dict(config)
        app.released_at = app.updated_at = release.created_at
        app.api_log(f"Release v{release.version} created by user {USER_EMAIL}")
        self.sync_formation(app)
        self.reconcile(app, restart=True)
        return release

    def release_list(self, req):
        with self.lock:
            app = self.find_app(req.params[0])
            return Reply(200, [self.release_json(app, release) for release in app.releases], ranges=["version", "id"])

    def release_info(self, req):
        with self.lock:
            app = self.find_app(req.params[0])
            return Reply(200, self.release_json(app, self.find_release(app, req.params[1])))

    def release_create(self, req):
        with self.lock:
            app = self.find_app(req.params[0])
            slug = app.slugs.get(req.body["slug"])
            if slug is None:
                raise not_found("slug")
            description = req.body.get("description") or f"Deploy {slug.checksum[7:15] if slug.checksum else slug.id[:8]}"
            app.api_log(f"{description} by user {USER_EMAIL}")
            release = self.new_release(app, description, slug.id, app.config)
            return Reply(201, self.release_json(app, release))

    def release_rollback(self, req):
        with self.lock:
            app = self.find_app(req.params[0])
            target = self.find_release(app, str(req.body["release"]))
            if target.slug_id is None:
                raise invalid(f"Cannot roll back to v{target.version}: that release has no slug (nothing was deployed in it).")
            description = f"Rollback to v{target.version}"
            app.api_log(f"{description} by user {USER_EMAIL}")
            release = self.new_release(app, description, target.slug_id, target.config)
            return Reply(201, self.release_json(app, release))

    # -- buildpacks, sources, builds, slugs ---------------------------------------------------------------------

    def buildpack_list(self, req):
        with self.lock:
            app = self.find_app(req.params[0])
            return Reply(200, [{"buildpack": dict(pack), "ordinal": index} for index, pack in enumerate(app.buildpacks)],
                         ranges=["ordinal"])

    def buildpack_update(self, req):
        packs = []
        for update in req.body["updates"]:
            if not update["buildpack"].strip():
                raise invalid("Buildpack must not be empty")
            packs.append(buildpack_ref(update["buildpack"]))
        with self.lock:
            app = self.find_app(req.params[0])
            app.buildpacks = packs
            app.updated_at = iso()
            return Reply(200, [{"buildpack": dict(pack), "ordinal": index} for index, pack in enumerate(app.buildpacks)],
                         ranges=["ordinal"])

    def source_create(self, req):
        with self.lock:
            if req.params:
                self.find_app(req.params[0])
            sid = new_id()
            source = {"get": secrets.token_urlsafe(24), "put": secrets.token_urlsafe(24),
                      "path": self.state_dir / "blobs" / sid, "uploaded": False}
            self.sources[sid] = source
        return Reply(201, {"source_blob": {"get_url": f"{self.api_url}/__blobs__/{sid}?signature={source['get']}",
                                           "put_url": f"{self.api_url}/__blobs__/{sid}?signature={source['put']}"}})

    def build_create(self, req):
        blob = req.body["source_blob"]
        if not blob.get("url"):
            raise invalid("source_blob.url is required")
        packs = None
        if req.body.get("buildpacks"):
            packs = []
            for pack in req.body["buildpacks"]:
                given = pack.get("url") or pack.get("name") or ""
                if not given.strip():
                    raise invalid("Each buildpack needs a url or a name")
                packs.append(buildpack_ref(given))
        with self.lock:
            app = self.find_app(req.params[0])
            build = Build(app, blob, packs if packs is not None else [dict(p) for p in app.buildpacks], app.build_stack)
            app.builds[build.id] = build
            self.builds[build.id] = build
            app.api_log(f"Build started by user {USER_EMAIL}")
            fail_message = self.failing_builds.pop(app.name, None)
            body = self.build_json(build)
        threading.Thread(target=self.run_build, args=(app, build, fail_message), name=f"build-{build.id[:8]}",
                         daemon=True).start()
        return Reply(201, body)

    def build_list(self, req):
        with self.lock:
            app = self.find_app(req.params[0])
            return Reply(200, [self.build_json(build) for build in app.builds.values()], ranges=["started_at", "id"])

    def build_info(self, req):
        with self.lock:
            app = self.find_app(req.params[0])
            build = app.builds.get(req.params[1])
            if build is None:
                raise not_found("build")
            return Reply(200, self.build_json(build))

    def slug_info(self, req):
        with self.lock:
            app = self.find_app(req.params[0])
            slug = app.slugs.get(req.params[1])
            if slug is None:
                raise not_found("slug")
            return Reply(200, self.slug_json(slug))

    def fetch_source(self, url):
        """The bytes behind one of this service's own source get_urls, or None."""
        parts = urlsplit(url)
        ours = urlsplit(self.api_url)
        if parts.scheme != "https" or parts.port != ours.port or parts.hostname not in ("127.0.0.1", "localhost"):
            return None
        if not parts.path.startswith("/__blobs__/"):
            return None
        with self.lock:
            source = self.sources.get(parts.path[len("/__blobs__/"):])
        signature = parse_qs(parts.query).get("signature", [""])[0]
        if source is None or not source["uploaded"] or not hmac.compare_digest(signature, source["get"]):
            return None
        return source["path"].read_bytes()

    def run_build(self, app, build, fail_message):
        workdir = self.state_dir / "builds" / build.id
        try:
            self.build_steps(app, build, fail_message, workdir)
        except Exception:  # a bug in the fake: the build fails and says so
            LOG.exception("build %s of app %s failed inside the fake", build.id, app.name)
            self.build_failed(app, build, "Internal error in the local Heroku fake (see its log)")
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def build_failed(self, app, build, *reasons):
        build.add(" !     Push rejected, failed to compile app.")
        for reason in reasons:
            for line in str(reason).splitlines() or [""]:
                build.add(f" !     {line}")
        with self.lock:
            build.status = "failed"
            build.updated_at = iso()
            if not app.deleted:
                app.api_log(f"Build failed -- check your build output: {self.api_url}/__streams__/{build.id}")
        build.finish()

    def build_steps(self, app, build, fail_message, workdir):
        def say(line):
            build.add(line)
            self.stopping.wait(self.build_line_delay)

        say(f"-----> Building on the {stack_title(build.stack)} stack")
        data = self.fetch_source(build.source_blob["url"])
        if data is None:
            self.build_failed(app, build, "Unable to fetch source from source_blob.url (it must be a get_url from POST /sources, "
                                          "after the upload to its put_url)")
            return
        checksum = build.source_blob.get("checksum")
        if checksum:
            algorithm, unused, expected = checksum.partition(":")
            if algorithm.upper() != "SHA256":
                self.build_failed(app, build, f"Unsupported checksum algorithm {algorithm!r}: use SHA256:<hex>")
                return
            if hashlib.sha256(data).hexdigest() != expected.lower():
                self.build_failed(app, build, "Checksum mismatch: the source does not match source_blob.checksum")
                return
        for pack in build.buildpacks or []:
            say(f"-----> Using buildpack: {pack['name']}")
        if not build.buildpacks:
            say("-----> Using buildpack: none set (the local fake runs the Procfile commands as they are)")
        source_dir = workdir / "source"
        try:
            files = unpack_source(data, source_dir)
        except BuildError as exc:
            self.build_failed(app, build, str(exc))
            return
        say(f"-----> Source: {files} files ({human_size(len(data))} compressed)")
        if fail_message is not None:
            say("-----> Compiling...")
            self.build_failed(app, build, fail_message or "Build failed")
            return
        procfile = source_dir / "Procfile"
        if not procfile.is_file():
            self.build_failed(app, build, "No Procfile found at the top of the source: the app needs one to declare its "
                                          "process types (lines like 'web: <command>')")
            return
        types = parse_procfile(procfile)
        if not types:
            self.build_failed(app, build, "The Procfile declares no process types (lines like 'web: <command>')")
            return
        say("-----> Discovering process types")
        say(f"       Procfile declares types -> {', '.join(types)}")
        say("-----> Compressing...")
        digest, size = tree_digest(source_dir)
        say(f"       Done: {human_size(size)}")
        say("-----> Launching...")
        pack_names = [pack["name"] for pack in build.buildpacks or []]
        with self.lock:
            if app.deleted or self.stopping.is_set():
                build.status = "failed"
                build.updated_at = iso()
                build.finish()
                return
            slug = Slug(types, digest, size, build.stack, source_dir, commit=build.source_blob.get("version"),
                        commit_description=build.source_blob.get("version_description"),
                        description=next((BUILDPACK_DESCRIPTIONS[name] for name in pack_names if name in BUILDPACK_DESCRIPTIONS), None))
            slug.path = self.state_dir / "slugs" / slug.id
            os.replace(source_dir, slug.path)
            app.slugs[slug.id] = slug
            app.stack = build.stack
            label = build.source_blob.get("version") or (checksum or digest).partition(":")[2][:8]
            description = f"Deploy {label}"
            app.api_log(f"{description} by user {USER_EMAIL}")
            release = self.new_release(app, description, slug.id, app.config)
            build.slug_id, build.release_id = slug.id, release.id
            web_url = app.web_url()
        say(f"       Released v{release.version}")
        say(f"       {web_url} deployed to Heroku")
        with self.lock:
            build.status = "succeeded"
            build.updated_at = iso()
            app.api_log("Build succeeded")
        build.finish()

    # -- formation and dynos ----------------------------------------------------------------------------------

    def sync_formation(self, app):
        """The formation follows the process types of the current slug (under self.lock)."""
        slug = app.current_slug()
        types = slug.process_types if slug else {}
        for ptype in list(app.formation):
            if ptype not in types:
                del app.formation[ptype]
        for ptype in types:
            if ptype not in app.formation:
                app.formation[ptype] = Formation(ptype, 1 if ptype == "web" else 0)

    def reconcile(self, app, restart=False, types=()):
        """Run what the formation asks for; restart: replace every running dyno (under self.lock)."""
        slug = app.current_slug()
        release = app.current_release()
        wanted = {}
        if slug is not None and not app.deleted and not self.stopping.is_set():
            wanted = {f.type: f for f in app.formation.values() if f.quantity > 0 and f.type in slug.process_types}
        for name, dyno in list(app.dynos.items()):
            formation = wanted.get(dyno.type)
            index = int(name.rsplit(".", 1)[1])
            if restart or dyno.type in types or formation is None or index > formation.quantity:
                del app.dynos[name]
                dyno.stop()
        for ptype, formation in wanted.items():
            for index in range(1, formation.quantity + 1):
                name = f"{ptype}.{index}"
                if name not in app.dynos:
                    dyno = Dyno(self, app, name, ptype, slug.process_types[ptype], release, slug, formation.size)
                    app.dynos[name] = dyno
                    dyno.start()
        self.cond.notify_all()

    def pick_web_dyno(self, app, wait):
        """An up web dyno (round robin), waiting while some boot; (dyno, None) or (None, router error code)."""
        deadline = time.monotonic() + wait
        with self.cond:
            while True:
                web = [dyno for dyno in app.dynos.values() if dyno.type == "web"]
                up = [dyno for dyno in web if dyno.state == "up"]
                if up:
                    app.round_robin += 1
                    return up[app.round_robin % len(up)], None
                if app.deleted or self.stopping.is_set():
                    return None, "H14"
                if not any(dyno.state == "starting" for dyno in web):
                    return None, "H10" if web else "H14"
                left = deadline - time.monotonic()
                if left <= 0:
                    return None, "H20"
                self.cond.wait(left)

    def formation_list(self, req):
        with self.lock:
            app = self.find_app(req.params[0])
            return Reply(200, [self.formation_json(app, f) for f in app.formation.values()], ranges=["type", "id"])

    def formation_info(self, req):
        with self.lock:
            app = self.find_app(req.params[0])
            return Reply(200, self.formation_json(app, self.find_formation(app, req.params[1])))

    def scale(self, app, updates):
        """Apply [(formation, quantity or None, size or None)] after checking them all (under self.lock)."""
        for formation, quantity, size in updates:
            if quantity is not None and not 0 <= quantity <= MAX_QUANTITY:
                raise invalid(f"Quantity for {formation.type} must be from 0 to {MAX_QUANTITY}")
            if (size or formation.size) == "Eco" and (quantity if quantity is not None else formation.quantity) > 1:
                raise invalid("Cannot update to more than 1 Eco size dynos per process type.")
        resized = set()
        for formation, quantity, size in updates:
            if quantity is not None:
                formation.quantity = quantity
            if size is not None and size != formation.size:
                formation.size = size
                resized.add(formation.type)
            formation.updated_at = iso()
        if updates:
            app.api_log("Scaled to " + ", ".join(f"{f.type}@{f.quantity}:{f.size}" for f, unused_quantity, unused_size in updates)
                        + f" by user {USER_EMAIL}")
        self.reconcile(app, types=resized)

    def formation_batch_update(self, req):
        with self.lock:
            app = self.find_app(req.params[0])
            updates = [(self.find_formation(app, u["type"]), u.get("quantity"), self.resolve_size(u.get("dyno_size") or u.get("size")))
                       for u in req.body["updates"]]
            self.scale(app, updates)
            return Reply(200, [self.formation_json(app, f) for f, unused_quantity, unused_size in updates])

    def formation_update(self, req):
        with self.lock:
            app = self.find_app(req.params[0])
            formation = self.find_formation(app, req.params[1])
            self.scale(app, [(formation, req.body.get("quantity"), self.resolve_size(req.body.get("dyno_size") or req.body.get("size")))])
            return Reply(200, self.formation_json(app, formation))

    def dyno_list(self, req):
        with self.lock:
            app = self.find_app(req.params[0])
            for name in [name for name, dyno in app.oneoffs.items() if not dyno.visible()]:
                del app.oneoffs[name]
            dynos = list(app.dynos.values()) + list(app.oneoffs.values())
            return Reply(200, [self.dyno_json(app, dyno) for dyno in dynos], ranges=["name", "id"])

    def dyno_info(self, req):
        with self.lock:
            app = self.find_app(req.params[0])
            return Reply(200, self.dyno_json(app, self.find_dyno(app, req.params[1])))

    def dyno_create(self, req):
        body = req.body
        size = self.resolve_size(body.get("size")) or DEFAULT_SIZE
        ttl = body.get("time_to_live", 3600)
        if not 1 <= ttl <= 86400:
            raise invalid("time_to_live must be from 1 to 86400 seconds")
        ptype = body.get("type") or "run"
        if not re.match(r"^[-\w]{1,128}$", ptype):
            raise invalid("type must be a process type name")
        with self.lock:
            app = self.find_app(req.params[0])
            slug = app.current_slug()
            if slug is None:
                raise invalid("This app has no release with a slug: deploy a build before running one-off dynos.")
            while True:
                name = f"{ptype}.{random.randint(1000, 9999)}"
                if name not in app.oneoffs and name not in app.dynos:
                    break
            dyno = Dyno(self, app, name, ptype, body["command"], app.current_release(), slug, size,
                        extra_env=body.get("env"), oneoff=True, attach=bool(body.get("attach")), ttl=ttl)
            app.oneoffs[name] = dyno
            app.api_log(f"Starting process with command `{body['command']}` by user {USER_EMAIL}")
            if dyno.attach:
                dyno.attach_url = f"rendezvous://{urlsplit(self.api_url).hostname}:{self.rendezvous.port}/{dyno.secret}"
                self.rendezvous.register(dyno)
            else:
                dyno.start()
            return Reply(201, self.dyno_json(app, dyno))

    def stop_oneoff(self, dyno):
        if dyno.secret and self.rendezvous.claim(dyno.secret) is not None:
            dyno.exited.set()
            dyno.set_state("complete")
        else:
            dyno.stop()

    def dyno_restart_all(self, req):
        with self.lock:
            app = self.find_app(req.params[0])
            app.api_log(f"Restart all dynos by user {USER_EMAIL}")
            for dyno in app.oneoffs.values():
                self.stop_oneoff(dyno)
            self.reconcile(app, restart=True)
            return Reply(202, {})

    def dyno_restart(self, req):
        with self.lock:
            app = self.find_app(req.params[0])
            dyno = self.find_dyno(app, req.params[1])
            app.api_log(f"Restart {dyno.name} dyno by user {USER_EMAIL}")
            if dyno.oneoff:
                self.stop_oneoff(dyno)
            else:
                app.dynos.pop(dyno.name, None)
                dyno.stop()
                self.reconcile(app)
            return Reply(202, {})

    def dyno_stop(self, req):
        """Stopping a formation dyno makes the platform start it again, as on Heroku; a one-off dyno just ends."""
        return self.dyno_restart(req)

    def formation_restart(self, req):
        with self.lock:
            app = self.find_app(req.params[0])
            ptype = req.params[1]
            app.api_log(f"Restart {ptype} dynos by user {USER_EMAIL}")
            for dyno in app.oneoffs.values():
                if dyno.type == ptype:
                    self.stop_oneoff(dyno)
            self.reconcile(app, types={ptype})
            return Reply(202, {})

    # -- logs ---------------------------------------------------------------------------------------------------

    def log_session_create(self, req):
        body = req.body
        lines = body.get("lines", 100)
        if not 1 <= lines <= LOG_BUFFER_LINES:
            raise invalid(f"lines must be from 1 to {LOG_BUFFER_LINES}")
        if body.get("source") not in (None, "app", "heroku"):
            raise invalid("source must be app or heroku")
        with self.lock:
            app = self.find_app(req.params[0])
            now = time.monotonic()
            for sid in [sid for sid, session in self.sessions.items() if session["expires"] < now]:
                del self.sessions[sid]
            sid = new_id()
            srv = secrets.token_urlsafe(16)
            self.sessions[sid] = {"app": app, "srv": srv, "lines": lines, "tail": bool(body.get("tail")),
                                  "expires": now + LOG_SESSION_TTL,
                                  "filters": {"source": body.get("source"), "dyno": body.get("dyno_name") or body.get("dyno"),
                                              "ptype": body.get("type")}}
        stamp = iso()
        return Reply(201, {"created_at": stamp, "id": sid, "logplex_url": f"{self.api_url}/__logs__/{sid}?srv={srv}",
                           "updated_at": stamp})

    # -- streams and blobs (no API key, like Heroku's) --------------------------------------------------------

    @staticmethod
    def send_text(h, status, text):
        h.send_body(status, text.encode("utf-8"), "text/plain; charset=utf-8", {"Request-Id": h.request_id})

    def log_stream(self, h, sid, query):
        with self.lock:
            session = self.sessions.get(sid)
        srv = parse_qs(query).get("srv", [""])[0]
        if h.command != "GET":
            self.send_text(h, 405, "Method not allowed\n")
            return
        if session is None or not hmac.compare_digest(srv, session["srv"]):
            self.send_text(h, 404, "Log session not found\n")
            return
        if time.monotonic() > session["expires"]:
            self.send_text(h, 404, "Log session expired\n")
            return
        app, filters, buf = session["app"], session["filters"], session["app"].log
        with buf.cond:
            backlog = [line for line in buf.lines if line.matches(**filters)][-session["lines"]:]
            last = buf.seq
        h.start_chunked(headers={"Request-Id": h.request_id})
        h.chunk("".join(line.text() + "\n" for line in backlog).encode("utf-8"))
        if session["tail"]:
            deadline = time.monotonic() + LOG_TAIL_MAX
            while not self.stopping.is_set() and time.monotonic() < deadline:
                with buf.cond:
                    buf.cond.wait_for(lambda: buf.seq > last or buf.closed or self.stopping.is_set(), timeout=1.0)
                    fresh = [line for line in buf.lines if line.seq > last and line.matches(**filters)]
                    last = buf.seq
                    closed = buf.closed
                h.chunk("".join(line.text() + "\n" for line in fresh).encode("utf-8"))
                if closed or app.deleted or h.client_gone():
                    break
        h.end_chunked()

    def build_stream(self, h, bid):
        with self.lock:
            build = self.builds.get(bid)
        if build is None or h.command != "GET":
            self.send_text(h, 404, "Build output stream not found\n")
            return
        h.start_chunked(headers={"Request-Id": h.request_id})
        sent = 0
        while True:
            with build.cond:
                build.cond.wait_for(lambda: len(build.lines) > sent or build.done or self.stopping.is_set(), timeout=1.0)
                fresh = build.lines[sent:]
                sent = len(build.lines)
                done = build.done
            h.chunk("".join(line + "\n" for line in fresh).encode("utf-8"))
            if done or self.stopping.is_set():
                break
        h.end_chunked()

    @staticmethod
    def s3_error(h, status, code, message):
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
                f"<RequestId>{h.request_id}</RequestId></Error>\n").encode("utf-8")
        h.send_body(status, body, "application/xml", {"x-amz-request-id": h.request_id})

    def blob(self, h, sid, query, raw):
        with self.lock:
            source = self.sources.get(sid)
        if h.command not in ("GET", "PUT", "HEAD"):
            self.s3_error(h, 405, "MethodNotAllowed", "The specified method is not allowed against this resource.")
            return
        if source is None:
            self.s3_error(h, 404, "NoSuchKey", "The specified key does not exist.")
            return
        signature = parse_qs(query).get("signature", [""])[0]
        expected = source["put"] if h.command == "PUT" else source["get"]
        if not hmac.compare_digest(signature.encode("utf-8"), expected.encode("utf-8")):
            self.s3_error(h, 403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.")
            return
        if h.command == "PUT":
            source["path"].write_bytes(raw)
            with self.lock:
                source["uploaded"] = True
            h.send_body(200, b"", "application/xml", {"ETag": '"%s"' % hashlib.md5(raw, usedforsecurity=False).hexdigest()})
            return
        if not source["uploaded"]:
            self.s3_error(h, 404, "NoSuchKey", "The specified key does not exist.")
            return
        h.send_body(200, source["path"].read_bytes(), "application/octet-stream")

    def slug_download(self, h, name):
        slug = None
        with self.lock:
            for app in self.apps.values():
                slug = app.slugs.get(name[:-4] if name.endswith(".tgz") else name) or slug
        if slug is None or h.command != "GET":
            self.send_text(h, 404, "Slug not found\n")
            return
        data = io.BytesIO()
        with tarfile.open(fileobj=data, mode="w:gz") as tar:
            tar.add(slug.path, arcname="app")
        h.send_body(200, data.getvalue(), "application/octet-stream")

    # -- control endpoints ----------------------------------------------------------------------------------

    def control(self, h, name, raw):
        headers = {"Request-Id": h.request_id}
        try:
            body = json.loads(raw) if raw.strip() else {}
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
            status, answer = self.control_call(h.command, name, body)
        except (ValueError, TypeError, re.error) as exc:
            status, answer = 400, {"id": "bad_request", "message": str(exc)}
        h.send_json(status, answer, headers)

    def control_call(self, method, name, body):
        if (method, name) == ("GET", "stats"):
            return 200, self.stats_snapshot()
        if (method, name) == ("POST", "faults"):
            status, count = int(body.get("status")), int(body.get("count", 1))
            if status not in (429, 500, 502, 503) or count < 1:
                raise ValueError("status must be 429, 500, 502 or 503 and count 1 or more")
            regex = re.compile(body["path_regex"]) if body.get("path_regex") else None
            with self.lock:
                self.faults.append({"status": status, "count": count, "method": (body.get("method") or "").upper() or None,
                                    "regex": regex})
                pending = [{"status": f["status"], "count": f["count"], "method": f["method"],
                            "path_regex": f["regex"].pattern if f["regex"] else None} for f in self.faults]
            return 201, {"faults": pending}
        if (method, name) == ("POST", "fail-next-build"):
            if not body.get("app"):
                raise ValueError("app is required")
            with self.lock:
                self.failing_builds[str(body["app"])] = str(body.get("message") or "Build failed")
            return 201, {"app": body["app"]}
        if (method, name) == ("POST", "config"):
            if "page_size" in body:
                size = int(body["page_size"])
                if not 1 <= size <= MAX_PAGE_SIZE:
                    raise ValueError(f"page_size must be from 1 to {MAX_PAGE_SIZE}")
                self.page_size = size
            return 200, {"page_size": self.page_size}
        if (method, name) == ("POST", "reset"):
            with self.lock:
                for app in list(self.apps.values()):
                    self.remove_app(app)
                self.faults.clear()
                self.failing_builds.clear()
                self.sessions.clear()
            return 200, {"reset": True}
        return 404, {"id": "not_found", "message": f"No control endpoint {method} /__fake__/{name}"}


# -- command line ---------------------------------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(description="A local fake of the Heroku Platform API v3 (see README.md).")
    parser.add_argument("--state-dir", required=True, help="where server.json, stats.json, ca.pem, slugs and sandboxes go")
    parser.add_argument("--host", default="127.0.0.1", help="address of the API (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port of the API (default 0: any free port)")
    parser.add_argument("--api-key", help="the API key to accept (default: a random one, written to server.json)")
    parser.add_argument("--page-size", type=int, default=DEFAULT_PAGE_SIZE, help="default page size of lists (200)")
    parser.add_argument("--verbose", action="store_true", help="log every HTTP request to stderr")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s heroku-fake[%(process)d] %(levelname)s %(message)s")
    fake = FakeHeroku(args.state_dir, host=args.host, port=args.port, api_key=args.api_key, page_size=args.page_size,
                      watch_state=True)

    def on_signal(signum, frame):
        LOG.info("signal %s: stopping", signum)
        fake.stop_request.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    fake.start()
    fake.serve_until_stopped()
    return 0


if __name__ == "__main__":
    sys.exit(main())
