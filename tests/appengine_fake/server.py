# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A local, stateful App Engine Admin API v1 on 127.0.0.1 for the jvmops.deploy tests, with Cloud Storage beside it.

One threaded HTTP server:
- /v1/... is the Admin API (ae_service), every request and response checked against the v1 discovery
  document of the installed google-api-python-client (ae_contract); `Authorization: Bearer <token>` with
  the one token of this run;
- POST /token is the OAuth token endpoint of the run's service account (a JWT bearer grant signed with its
  key answers the same token), so that service-account key files work as they do against Google;
- a request for an App Engine hostname (Host `<version>-dot-<service>-dot-<defaultHostname>`, or an absolute
  URI as clients with http_proxy send) goes to the version's process;
- /__fake__/... are the control endpoints (stats, calls, faults, reset, config).
Cloud Storage is gcp-storage-emulator, in-process on a port of its own (STORAGE_EMULATOR_HOST).

    server.py --state-dir DIR [--host 127.0.0.1] [--port 0] [--project jvmops-test ...] [--operation-delay 0.5]
              [--boot-timeout 60] [--verbose]

The token is APPENGINE_FAKE_TOKEN from the environment, else a fresh random one. DIR/server.json (written
atomically when ready) names the endpoints, the token and the service-account key file; the server stops on
SIGTERM or SIGINT, or when DIR/server.json disappears or names another process, and stops every version it
started. The token and the private key are never logged.
"""

from __future__ import annotations

import argparse
import base64
import hmac
import http.client
import http.server
import json
import logging
import os
import re
import secrets
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from gcp_storage_emulator.server import create_server

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ae_contract import Contract, ContractError  # noqa: E402 pylint: disable=wrong-import-position
from ae_runtime import free_port  # noqa: E402 pylint: disable=wrong-import-position
from ae_service import CODES, ApiError, AppEngine, bad_request, is_write  # noqa: E402 pylint: disable=wrong-import-position

DEFAULT_PROJECT = "jvmops-test"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te", "trailer",
              "transfer-encoding", "upgrade", "content-length"}
STATUS_BY_HTTP = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 409: "ABORTED",
                  429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 501: "UNIMPLEMENTED", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
FAULT_MESSAGES = {"UNAVAILABLE": "The service is currently unavailable.",
                  "RESOURCE_EXHAUSTED": "Quota exceeded for quota metric 'Requests' of service 'appengine.googleapis.com'."}
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _write_json(path, data, mode=0o644):
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1, default=str)
    os.replace(tmp, path)


def _b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class EmulatorStorage:
    """gcp-storage-emulator in this process, on a free port; what App Engine itself reads from Cloud Storage."""

    def __init__(self, host="127.0.0.1"):
        self.port = free_port()
        self.endpoint = f"http://{host}:{self.port}"
        self.server = create_server(host, self.port, in_memory=True)
        self.server.start()
        self.lock = threading.Lock()   # the emulator serves one request at a time

    def _open(self, method, path, body=None):
        request = urllib.request.Request(self.endpoint + path, data=body, method=method,
                                         headers={"Content-Type": "application/json"} if body is not None else {})
        with self.lock, _DIRECT.open(request, timeout=30) as response:
            return response.read()

    def ensure_bucket(self, bucket, project):
        """Create the bucket unless it exists."""
        try:
            self._open("GET", f"/storage/v1/b/{quote(bucket, safe='')}")
        except urllib.error.HTTPError as exc:
            if exc.code != 404:
                raise
            self._open("POST", f"/storage/v1/b?project={quote(project)}", json.dumps({"name": bucket}).encode())

    def read(self, bucket, name):
        """The object's bytes, or None when the bucket or object does not exist."""
        try:
            return self._open("GET", f"/download/storage/v1/b/{quote(bucket, safe='')}/o/{quote(name, safe='')}?alt=media")
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise

    def wipe(self):
        """Delete every object, keeping the buckets."""
        with self.lock:
            self.server.wipe(keep_buckets=True)

    def stop(self):
        """Stop the emulator."""
        self.server.stop()


class ServiceAccount:
    """The run's service account: an RSA key, its JSON key file, and the check of the JWTs signed with it."""

    def __init__(self, project, token_uri):
        self.email = f"jvmops-deployer@{project}.iam.gserviceaccount.com"
        self.token_uri = token_uri
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.key_id = secrets.token_hex(20)
        self.pem = self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()).decode()
        self.project = project

    def key_file(self):
        """The key file as Google issues it (what google.oauth2.service_account reads)."""
        return {"type": "service_account", "project_id": self.project, "private_key_id": self.key_id, "private_key": self.pem,
                "client_email": self.email, "client_id": str(int(self.key_id[:12], 16)), "auth_uri": "https://accounts.google.com/o/oauth2/auth",
                "token_uri": self.token_uri, "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
                "client_x509_cert_url": f"https://www.googleapis.com/robot/v1/metadata/x509/{quote(self.email)}",
                "universe_domain": "googleapis.com"}

    def leak_marker(self):
        """A line of the private key's base64 body: found in a log whether the key was written raw or JSON-escaped."""
        return self.pem.splitlines()[1]

    def verify(self, jwt):
        """(claims, None) for a JWT signed with this key by this account and not expired, else (None, why not)."""
        try:
            header_b64, claims_b64, signature_b64 = jwt.split(".")
            header, claims = json.loads(_b64url_decode(header_b64)), json.loads(_b64url_decode(claims_b64))
            signature = _b64url_decode(signature_b64)
        except ValueError:
            return None, "the token is not a JWT"
        if header.get("alg") != "RS256":
            return None, "the JWT must be signed with RS256"
        try:
            self.key.public_key().verify(signature, f"{header_b64}.{claims_b64}".encode(), padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return None, "Invalid JWT Signature."
        now = time.time()
        if claims.get("iss") != self.email:
            return None, "the JWT's iss is not this service account"
        if not isinstance(claims.get("exp"), (int, float)) or not claims.get("iat", 0) - 300 <= now <= claims["exp"] + 300:
            return None, "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe."
        return claims, None

    def check_assertion(self, assertion):
        """None when the JWT bearer grant for the token endpoint is good, else why not."""
        claims, problem = self.verify(assertion)
        # google-auth addresses the assertion to Google's token endpoint whatever token_uri says; Google takes both.
        if problem is None and claims.get("aud") not in (self.token_uri, GOOGLE_TOKEN_URI):
            problem = "the assertion's aud is not this token endpoint"
        if problem is None and not claims.get("scope"):
            problem = "the assertion has no scope"
        return problem

    def check_self_signed(self, jwt):
        """Whether a bearer token is a self-signed JWT of this account for the Admin API (what google-auth sends
        instead of an access token when a client library asks for always_use_jwt_access)."""
        claims, problem = self.verify(jwt)
        return problem is None and (claims.get("aud") == "https://appengine.googleapis.com/" or bool(claims.get("scope")))


class Stats:
    """What the contract checks saw, written to DIR/stats.json after every API request."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.data = {"requests_received": 0, "requests_validated": 0, "responses_validated": 0, "faults_injected": 0,
                     "token_requests": 0, "self_signed_jwt_requests": 0, "proxied_requests": 0, "violations": [], "methods": {}}
        self.calls = []

    def count(self, key, method=None, where=None):
        """Add one to a counter (and to the method's own count of requests or responses)."""
        with self.lock:
            self.data[key] += 1
            if method and where:
                self.data["methods"].setdefault(method, {"requests": 0, "responses": 0})[where] += 1

    def violation(self, method, where, error):
        """Record a request or response outside the discovery document."""
        with self.lock:
            self.data["violations"].append({"method": method, "where": where, "error": error})

    def call(self, entry):
        """Record a call for GET /__fake__/calls."""
        with self.lock:
            self.calls.append(entry)

    def snapshot(self):
        """A copy of the statistics."""
        with self.lock:
            return json.loads(json.dumps(self.data))

    def save(self):
        """Rewrite stats.json atomically."""
        _write_json(self.path, self.snapshot())


class Handler(http.server.BaseHTTPRequestHandler):
    """Hands every request to the FakeAppEngine of its server."""

    protocol_version = "HTTP/1.1"
    server_version = "appengine-fake"

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        if self.server.fake.verbose:
            sys.stderr.write(f"appengine-fake: {self.command} {urlsplit(self.path).path} {args[1] if len(args) > 1 else ''}\n")

    def do_GET(self):  # pylint: disable=invalid-name
        """Every method goes to the same dispatch."""
        self.server.fake.dispatch(self)

    do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def read_body(self):
        """The request body (Content-Length or chunked)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send(self, status, data, content_type="application/json; charset=UTF-8", headers=()):
        """One complete response."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers:
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


class Server(http.server.ThreadingHTTPServer):
    """The threaded HTTP server, knowing its FakeAppEngine."""

    daemon_threads = True

    def __init__(self, address, fake):
        self.fake = fake
        super().__init__(address, Handler)


class FakeAppEngine:  # pylint: disable=too-many-instance-attributes
    """The service: in-process for the unit tests, or from main() on the command line."""

    def __init__(self, state_dir, host="127.0.0.1", port=0, projects=(DEFAULT_PROJECT,), token=None,  # pylint: disable=too-many-arguments
                 operation_delay=0.5, boot_timeout=60.0, stop_grace=5.0, watch_state=False, verbose=False):
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.host, self.port = host, port
        self.projects = list(projects)
        self.token = token or os.environ.get("APPENGINE_FAKE_TOKEN") or "ya29.fake-" + secrets.token_urlsafe(32)
        self.operation_delay, self.boot_timeout, self.stop_grace = operation_delay, boot_timeout, stop_grace
        self.watch_state = watch_state
        self.verbose = verbose
        # The emulator logs every missing object at ERROR: a normal answer here (a file not uploaded yet).
        logging.getLogger("gcp_storage_emulator").setLevel(logging.INFO if verbose else logging.CRITICAL)
        self.contract = Contract()
        self.stats = Stats(self.state_dir / "stats.json")
        self.faults = {}
        self.storage = None
        self.service = None
        self.account = None
        self.server = None
        self.endpoint = None
        self._stopped = threading.Event()
        self._done = threading.Event()

    def log(self, message):
        """One line to stderr (never a secret: callers pass names and states only)."""
        sys.stderr.write(f"appengine-fake: {message}\n")
        sys.stderr.flush()

    # Lifecycle ----------------------------------------------------------------------------------------

    def start(self):
        """Start the storage emulator, listen, serve in a thread, write server.json; returns self."""
        self.storage = EmulatorStorage(self.host)
        self.server = Server((self.host, self.port), self)
        self.port = self.server.server_address[1]
        self.endpoint = f"http://{self.host}:{self.port}"
        self.account = ServiceAccount(self.projects[0], self.endpoint + "/token")
        self.service = AppEngine(self.state_dir, self.storage, self.projects, self.log, self.operation_delay, self.boot_timeout,
                                 self.stop_grace)
        _write_json(self.state_dir / "service_account.json", self.account.key_file(), 0o600)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.stats.save()
        _write_json(self.state_dir / "server.json", self.info(), 0o600)
        if self.watch_state:
            threading.Thread(target=self._watch, daemon=True).start()
        self.log(f"listening on {self.endpoint} (Cloud Storage emulator on {self.storage.endpoint}; discovery document revision "
                 f"{self.contract.revision})")
        return self

    def info(self):
        """What server.json holds."""
        app = self.service.apps[self.projects[0]]
        return {"api_endpoint": self.endpoint, "proxy_url": self.endpoint, "storage_endpoint": self.storage.endpoint,
                "project": app.app_id, "projects": self.projects, "default_hostname": app.hostname, "code_bucket": app.code_bucket,
                "token": self.token, "service_account_file": str(self.state_dir / "service_account.json"),
                "service_account_email": self.account.email, "token_uri": self.account.token_uri,
                "private_key_marker": self.account.leak_marker(), "pid": os.getpid()}

    def _watch(self):
        """Stop when server.json disappears or names another process."""
        while not self._stopped.wait(1.0):
            try:
                pid = json.loads((self.state_dir / "server.json").read_text(encoding="utf-8")).get("pid")
            except (OSError, ValueError):
                pid = None
            if pid != os.getpid():
                self.log("server.json is gone or names another process: stopping")
                self.stop()

    def stop(self):
        """Stop serving, stop every version's process and the storage emulator."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        try:
            if self.server is not None:
                self.server.shutdown()
                self.server.server_close()
            if self.service is not None:
                self.service.shutdown()
            if self.storage is not None:
                self.storage.stop()
            try:
                self.stats.save()
            except OSError as exc:
                self.log(f"could not write the statistics: {exc}")
            self.log("stopped")
        finally:
            self._done.set()

    def wait(self):
        """Block until stop() has finished."""
        self._done.wait()

    # Dispatch -----------------------------------------------------------------------------------------

    def dispatch(self, h):
        """Route one request: proxy, control, token endpoint or the Admin API."""
        try:
            if h.path.lower().startswith("http://"):
                url = urlsplit(h.path)
                self._proxy(h, url.netloc, (url.path or "/") + (f"?{url.query}" if url.query else ""))
                return
            host = (h.headers.get("Host") or "").lower().split(":")[0]
            if host.endswith(".appspot.com"):
                self._proxy(h, host, h.path)
                return
            path = urlsplit(h.path).path
            if path.startswith("/__fake__/"):
                self._control(h, path)
            elif path == "/token" and h.command == "POST":
                self._token(h)
            else:
                self._api(h)
        except (BrokenPipeError, ConnectionResetError):
            pass

    # The Admin API ------------------------------------------------------------------------------------

    def _api(self, h):  # pylint: disable=too-many-return-statements,too-many-branches
        self.stats.count("requests_received")
        url = urlsplit(h.path)
        raw = h.read_body()
        query = parse_qs(url.query, keep_blank_values=True)
        ints = any("enum-encoding=int" in value for name in ("$alt", "alt") for value in query.get(name, []))
        try:
            method, params = self.contract.resolve(h.command, url.path)
        except ContractError as exc:
            self.stats.violation(f"{h.command} {url.path}", "request", exc.message)
            return self._error(h, None, ApiError("NOT_FOUND", exc.message), ints)
        try:
            checked_query = self.contract.check_query(method, query)
            body = json.loads(raw) if raw.strip() else None
            self.contract.check_body(method, body)
        except (ContractError, ValueError) as exc:
            message = getattr(exc, "message", None) or f"Invalid JSON payload received. {exc}"
            self.stats.violation(method.id, "request", message)
            return self._error(h, method, bad_request(message, getattr(exc, "field", None)), ints)
        self.stats.count("requests_validated", method.id, "requests")
        denied = self._authenticate(h.headers.get("Authorization", ""), method.id)
        if denied is not None:
            return self._error(h, method, denied, ints)
        short_id = method.id.removeprefix("appengine.")
        self.stats.call({"method": short_id, "http_method": h.command, "path": url.path, "write": is_write(method.id)})
        fault = self._take_fault(short_id)
        if fault is not None:
            return self._error(h, method, fault, ints)
        if method.request and body is not None:
            body = self.contract.decode_enums(method.request, body)
        try:
            result = self.service.call(method.id, params, checked_query, body, self.account.email)
        except ApiError as exc:
            return self._error(h, method, exc, ints)
        if ints and method.response:
            result = self.contract.encode_enums(method.response, result)
        try:
            self.contract.check_response(method, result)
        except ContractError as exc:
            self.log(f"response of {method.id} is outside the discovery document: {exc.message}")
            self.stats.violation(method.id, "response", exc.message)
            return self._error(h, method, ApiError("INTERNAL", "The local service answered outside the discovery document."), ints)
        self.stats.count("responses_validated", method.id, "responses")
        self.stats.save()
        return h.send(200, json.dumps(result).encode())

    def _authenticate(self, header, method_id):
        """None for the run's token, else the ApiError Google answers."""
        scheme, _sep, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return ApiError("UNAUTHENTICATED", "Request is missing required authentication credential. Expected OAuth 2 access token, "
                                               "login cookie or other valid authentication credential.",
                            [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "CREDENTIALS_MISSING",
                              "domain": "googleapis.com", "metadata": {"service": "appengine.googleapis.com"}}])
        token = token.strip()
        if token.count(".") == 2 and self.account.check_self_signed(token):
            self.stats.count("self_signed_jwt_requests")
            return None
        if not hmac.compare_digest(token.encode(), self.token.encode()):
            return ApiError("PERMISSION_DENIED", "The caller does not have permission",
                            [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "IAM_PERMISSION_DENIED",
                              "domain": "appengine.googleapis.com", "metadata": {"method": method_id}}])
        return None

    def _take_fault(self, short_id):
        """The ApiError of an injected fault for this call, or None."""
        with self.stats.lock:
            spec = self.faults.get(short_id)
            if not spec or spec["count"] <= 0:
                return None
            spec["count"] -= 1
        self.stats.count("faults_injected")
        status = int(spec.get("status", 503))
        name = spec.get("status_name") or STATUS_BY_HTTP.get(status, "INTERNAL")
        return ApiError(name, spec.get("message") or FAULT_MESSAGES.get(name, "Internal error encountered."))

    def _error(self, h, method, error, ints):  # pylint: disable=unused-argument
        body = error.body()
        problem = self._check_error(body)
        if problem:
            self.stats.violation(method.id if method else None, "response", problem)
        else:
            self.stats.count("responses_validated", method.id if method else None, "responses" if method else None)
        self.stats.save()
        return h.send(error.http_status, json.dumps(body).encode())

    def _check_error(self, body):
        """Why an error body is not Google's JSON error format (with a google.rpc.Status inside), or None."""
        error = body.get("error") or {}
        if set(error) - {"code", "message", "status", "details"} or not isinstance(error.get("message"), str):
            return "the error body is not {\"error\": {code, message, status, details}}"
        if error.get("status") not in CODES or CODES[error["status"]][1] != error.get("code"):
            return f"the error status {error.get('status')} does not go with the HTTP code {error.get('code')}"
        try:
            self.contract.check_value({"$ref": "Status"}, {"message": error["message"], "details": error["details"]}, "error", "response")
        except ContractError as exc:
            return exc.message
        return None

    # The service account's token endpoint -------------------------------------------------------------

    def _token(self, h):
        self.stats.count("token_requests")
        form = {key: values[-1] for key, values in parse_qs(h.read_body().decode("utf-8", "replace")).items()}
        if form.get("grant_type") != JWT_GRANT:
            return h.send(400, json.dumps({"error": "unsupported_grant_type", "error_description": "Invalid grant_type."}).encode())
        problem = self.account.check_assertion(form.get("assertion", ""))
        if problem:
            return h.send(400, json.dumps({"error": "invalid_grant", "error_description": problem}).encode())
        return h.send(200, json.dumps({"access_token": self.token, "expires_in": 3599, "token_type": "Bearer"}).encode())

    # The App Engine front end -------------------------------------------------------------------------

    def _proxy(self, h, host, path):
        body = h.read_body()
        cookie = re.search(r"GOOGAPPUID=([^;\s]+)", h.headers.get("Cookie", ""))
        process, problem = self.service.route(host, cookie.group(1) if cookie else h.client_address[0])
        if problem is not None:
            return h.send(problem[0], (problem[1] + "\n").encode(), "text/plain; charset=utf-8")
        self.stats.count("proxied_requests")
        headers = {key: value for key, value in h.headers.items() if key.lower() not in HOP_BY_HOP and key.lower() != "host"}
        headers.update({"Host": host.split(":")[0], "X-Forwarded-For": h.client_address[0], "X-Forwarded-Proto": "https",
                        "X-Cloud-Trace-Context": f"{uuid.uuid4().hex}/1;o=1"})
        connection = http.client.HTTPConnection("127.0.0.1", process.port, timeout=60)
        try:
            connection.request(h.command, path, body or None, headers)
            response = connection.getresponse()
            data = response.read()
        except OSError as exc:
            return h.send(502, f"The version did not answer ({exc.__class__.__name__}).\n".encode(), "text/plain; charset=utf-8")
        finally:
            connection.close()
        h.send_response(response.status, response.reason)
        for key, value in response.getheaders():
            if key.lower() not in HOP_BY_HOP:
                h.send_header(key, value)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(data)
        return None

    # Control endpoints --------------------------------------------------------------------------------

    def _control(self, h, path):  # pylint: disable=too-many-return-statements
        raw = h.read_body()
        try:
            spec = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return self._json(h, 400, {"error": "the body must be JSON"})
        route = (h.command, path)
        if route == ("GET", "/__fake__/stats"):
            return self._json(h, 200, {**self.stats.snapshot(), "running_versions": self.service.running_processes()})
        if route == ("GET", "/__fake__/calls"):
            with self.stats.lock:
                return self._json(h, 200, list(self.stats.calls))
        if route == ("POST", "/__fake__/reset-calls"):
            with self.stats.lock:
                self.stats.calls.clear()
            return self._json(h, 200, {})
        if route == ("POST", "/__fake__/faults"):
            with self.stats.lock:
                for name, fault in (spec.get("fail") or {}).items():
                    self.faults[name.removeprefix("appengine.")] = {**fault, "count": int(fault.get("count", 1))}
                return self._json(h, 200, {"fail": self.faults})
        if route == ("POST", "/__fake__/config"):
            for key in ("operation_delay", "boot_timeout"):
                if key in spec:
                    setattr(self.service, key, float(spec[key]))
            return self._json(h, 200, {"operation_delay": self.service.operation_delay, "boot_timeout": self.service.boot_timeout})
        if route == ("POST", "/__fake__/reset"):
            self.service.reset()
            self.storage.wipe()
            with self.stats.lock:
                self.stats.calls.clear()
                self.faults.clear()
            return self._json(h, 200, {})
        return self._json(h, 404, {"error": f"no control endpoint {h.command} {path}"})

    @staticmethod
    def _json(h, status, data):
        return h.send(status, json.dumps(data, default=str).encode())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state-dir", required=True, type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--project", action="append", help=f"an application's project id (repeatable; default {DEFAULT_PROJECT})")
    parser.add_argument("--operation-delay", type=float, default=0.5, help="seconds before an operation does its work")
    parser.add_argument("--boot-timeout", type=float, default=60.0, help="seconds a version has to answer HTTP on PORT")
    parser.add_argument("--verbose", action="store_true", help="log every request (method, path, status)")
    args = parser.parse_args(argv)
    fake = FakeAppEngine(args.state_dir, args.host, args.port, args.project or [DEFAULT_PROJECT], None, args.operation_delay,
                         args.boot_timeout, watch_state=True, verbose=args.verbose)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: threading.Thread(target=fake.stop).start())
    fake.start()
    fake.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
