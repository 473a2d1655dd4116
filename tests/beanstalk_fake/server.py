# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A local, stateful AWS Elastic Beanstalk + S3 endpoint on 127.0.0.1 for the integration tests.

One threaded HTTP server:
- a request signed (SigV4) for the service `elasticbeanstalk` goes to our Elastic Beanstalk
  (eb_service), checked both ways against botocore's model (eb_contract);
- any other signed request goes to moto's S3, in-process, so that S3 is moto's and the bundles that
  CreateApplicationVersion names are read from moto's backend;
- a request with an absolute URI (`GET http://<cname>/path`, as clients with http_proxy send it) is
  forwarded to the application of the live environment with that CNAME;
- /__fake__/... without a signature are the control endpoints (faults, stats, calls).

    server.py --state-dir DIR [--host 127.0.0.1] [--port 0] [--boot-timeout 60] [--verbose]

DIR/server.json (written atomically when ready) names the endpoint and the credentials; the server
stops on SIGTERM or SIGINT, or when DIR/server.json disappears or names another process, and stops
every application it started. The secret key is never logged.
"""

from __future__ import annotations

import argparse
import hmac
import http.client
import io
import json
import os
import re
import secrets
import signal
import string
import sys
import threading
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from moto.moto_server.werkzeug_app import create_backend_app
from moto.s3.exceptions import MissingBucket
from moto.s3.models import s3_backends
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request

sys.path.insert(0, str(Path(__file__).resolve().parent))
from eb_contract import Contract, ContractError  # noqa: E402 pylint: disable=wrong-import-position
from eb_service import ACCOUNT_ID, AwsError, Beanstalk, is_write  # noqa: E402 pylint: disable=wrong-import-position

DEFAULT_REGION = "us-east-1"
AUTH_RE = re.compile(r"AWS4-HMAC-SHA256 Credential=(?P<credential>[^,\s]+),\s*SignedHeaders=(?P<signed>[^,\s]+),\s*Signature=(?P<signature>[0-9a-f]+)")
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te", "trailer",
              "transfer-encoding", "upgrade", "host", "content-length"}


def _write_json(path, data):
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
    os.replace(tmp, path)


class MotoS3:
    """The moto S3 backend of the account, for what Elastic Beanstalk itself does with S3."""

    def __init__(self):
        self.backend = s3_backends[ACCOUNT_ID]["aws"]

    def read(self, bucket, key):
        """The object's bytes, or None when the bucket or key does not exist."""
        try:
            obj = self.backend.get_object(bucket, key)
        except MissingBucket:
            return None
        return None if obj is None else obj.value

    def delete(self, bucket, key):
        """Delete an object; a missing bucket or key is not an error (as DeleteSourceBundle)."""
        try:
            self.backend.delete_object(bucket, key)
        except MissingBucket:
            pass

    def ensure_bucket(self, bucket, region):
        """Create the bucket unless it exists."""
        try:
            self.backend.get_bucket(bucket)
        except MissingBucket:
            self.backend.create_bucket(bucket, region)


class Stats:
    """What the contract checks saw, written to DIR/stats.json after every Elastic Beanstalk request."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.data = {"requests_received": 0, "requests_validated": 0, "responses_validated": 0, "faults_injected": 0,
                     "s3_requests": 0, "violations": [], "operations": {}}
        self.calls = []

    def count(self, key, operation=None, where=None):
        """Add one to a counter (and to the operation's own counter of requests or responses)."""
        with self.lock:
            self.data[key] += 1
            if operation and where:
                counters = self.data["operations"].setdefault(operation, {"requests": 0, "responses": 0})
                counters[where] += 1

    def violation(self, operation, where, error):
        """Record a request or response that does not fit botocore's model."""
        with self.lock:
            self.data["violations"].append({"operation": operation, "where": where, "error": error})

    def call(self, service, operation, write):
        """Record a call for GET /__fake__/calls."""
        with self.lock:
            self.calls.append({"service": service, "operation": operation, "write": write})

    def save(self):
        """Rewrite stats.json atomically."""
        with self.lock:
            _write_json(self.path, self.data)


class QuietHandler(WSGIRequestHandler):
    """werkzeug's handler, logging requests (method, path, status) only with --verbose."""

    verbose = False

    def log_request(self, code="-", size="-"):
        if self.verbose:
            sys.stderr.write(f"{self.command} {urlsplit(self.path).path} {code}\n")


class FakeBeanstalk:  # pylint: disable=too-many-instance-attributes
    """The service: in-process for the unit tests, or from main() on the command line."""

    def __init__(self, state_dir, host="127.0.0.1", port=0, boot_timeout=60.0, min_transition=0.3, stop_grace=5.0,
                 watch_state=False, verbose=False):
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.host, self.port = host, port
        self.watch_state = watch_state
        self.verbose = verbose
        self.access_key = "AKIA" + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _index in range(16))
        self.secret_key = "".join(secrets.choice(string.ascii_letters + string.digits + "+/") for _index in range(40))
        self.contract = Contract()
        self.stats = Stats(self.state_dir / "stats.json")
        self.service = Beanstalk(self.state_dir, MotoS3(), boot_timeout, min_transition, stop_grace, self.log)
        self.moto = create_backend_app("s3")
        self.faults = {"throttle": {}, "fail": {}}
        self.server = None
        self.endpoint_url = None
        self.region = DEFAULT_REGION
        self._stopped = threading.Event()
        self._done = threading.Event()

    def log(self, message):
        """One line to stderr (never a secret: callers pass names and states only)."""
        sys.stderr.write(f"beanstalk-fake: {message}\n")
        sys.stderr.flush()

    # Lifecycle ----------------------------------------------------------------------------------------

    def start(self):
        """Listen, serve in a thread, write server.json; returns self."""
        QuietHandler.verbose = self.verbose
        self.server = make_server(self.host, self.port, self, threaded=True, request_handler=QuietHandler)
        self.port = self.server.server_port
        self.endpoint_url = f"http://{self.host}:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.stats.save()
        _write_json(self.state_dir / "server.json", {
            "endpoint_url": self.endpoint_url, "proxy_url": self.endpoint_url, "region": self.region,
            "access_key": self.access_key, "secret_key": self.secret_key, "account_id": ACCOUNT_ID, "pid": os.getpid()})
        if self.watch_state:
            threading.Thread(target=self._watch, daemon=True).start()
        self.log(f"listening on {self.endpoint_url}")
        return self

    def _watch(self):
        """Stop when server.json disappears or names another process (another server took the directory over)."""
        while not self._stopped.wait(1.0):
            try:
                pid = json.loads((self.state_dir / "server.json").read_text(encoding="utf-8")).get("pid")
            except (OSError, ValueError):
                pid = None
            if pid != os.getpid():
                self.log("server.json is gone or names another process: stopping")
                self.stop()

    def stop(self):
        """Stop serving and stop every application process."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        try:
            if self.server is not None:
                self.server.shutdown()
                self.server.server_close()
            self.service.shutdown()
            try:
                self.stats.save()
            except OSError as exc:  # the state directory was removed under a server that was left running
                self.log(f"could not write the statistics: {exc}")
            self.log("stopped")
        finally:
            # main() waits for this: the process must end even when a step above failed.
            self._done.set()

    def wait(self):
        """Block until stop() has finished."""
        self._done.wait()

    # Dispatch -----------------------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        raw_uri = environ.get("REQUEST_URI", "")
        if raw_uri.lower().startswith("http://"):
            return self._proxy(environ, start_response, raw_uri)
        auth = environ.get("HTTP_AUTHORIZATION", "")
        query = parse_qs(environ.get("QUERY_STRING", ""))
        if environ["PATH_INFO"].startswith("/__fake__/") and not auth:
            return self._control(environ, start_response)
        match = AUTH_RE.match(auth)
        credential = match.group("credential") if match else (query.get("X-Amz-Credential") or [""])[0]
        scope = credential.split("/")
        if len(scope) == 5 and scope[3] == "elasticbeanstalk":
            return self._beanstalk(environ, start_response, match, scope)
        return self._s3(environ, start_response, match, scope)

    def _body(self, environ):
        """Read the request body (also chunked) and leave a rewound copy for whoever reads it next."""
        body = Request(environ).get_data()
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("wsgi.input_terminated", None)
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        return body

    def _signature_ok(self, environ, body, match, scope):
        """Recompute the SigV4 signature with botocore's own signer and compare."""
        headers = {}
        for name in match.group("signed").split(";"):
            key = name.upper().replace("-", "_")
            value = environ.get(key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key)
            if value is None:
                return False
            headers[name] = value
        request = AWSRequest(method=environ["REQUEST_METHOD"], url=f"http://{environ.get('HTTP_HOST', '')}{environ.get('REQUEST_URI', '')}",
                             headers=headers, data=body)
        request.context["timestamp"] = headers.get("x-amz-date", "")
        signer_class = SigV4Auth if scope[3] == "elasticbeanstalk" else S3SigV4Auth
        signer = signer_class(Credentials(self.access_key, self.secret_key), scope[3], scope[2])
        expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
        return hmac.compare_digest(expected, match.group("signature"))

    # Elastic Beanstalk --------------------------------------------------------------------------------

    def _beanstalk(self, environ, start_response, match, scope):  # pylint: disable=too-many-return-statements
        request_id = str(uuid.uuid4())
        self.stats.count("requests_received")
        body = self._body(environ)
        form = {key: values[-1] for key, values in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
        action = form.get("Action", "")
        region = scope[2]
        try:
            if scope[0] != self.access_key:
                raise AwsError("InvalidClientTokenId", "The security token included in the request is invalid.", 403)
            if match is None or not self._signature_ok(environ, body, match, scope):
                raise AwsError("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you "
                                                        "provided. Check your AWS Secret Access Key and signing method. Consult "
                                                        "the service documentation for details.", 403)
        except AwsError as exc:
            return self._error(start_response, action, exc.code, exc.message, exc.status, request_id)
        if environ["REQUEST_METHOD"] != "POST":
            self.stats.violation(action, "request", f"method {environ['REQUEST_METHOD']}: the Query protocol POSTs a form")
        try:
            action, params = self.contract.parse_request(form)
        except ContractError as exc:
            self.stats.violation(action, "request", exc.message)
            return self._error(start_response, action, exc.code, exc.message, exc.status, request_id)
        self.stats.count("requests_validated", action, "requests")
        self.stats.call("elasticbeanstalk", action, is_write(action))
        fault = self._take_fault(action)
        if fault is not None:
            return self._error(start_response, action, *fault, request_id)
        try:
            result = self.service.call(action, params, region, request_id)
        except AwsError as exc:
            return self._error(start_response, action, exc.code, exc.message, exc.status, request_id)
        try:
            xml = self.contract.serialize_response(action, result, request_id)
        except ContractError as exc:
            self.log(f"response of {action} does not fit the model: {exc.message}")
            self.stats.violation(action, "response", exc.message)
            return self._error(start_response, action, "InternalFailure", "The local service answered outside botocore's model.",
                               500, request_id)
        self.stats.count("responses_validated", action, "responses")
        self.stats.save()
        return self._send(start_response, 200, xml, request_id)

    def _take_fault(self, action):
        """(code, message, status) of an injected fault for this call, or None."""
        with self.stats.lock:
            if self.faults["throttle"].get(action, 0) > 0:
                self.faults["throttle"][action] -= 1
                fault = ("Throttling", "Rate exceeded", 400)
            elif self.faults["fail"].get(action, {}).get("count", 0) > 0:
                spec = self.faults["fail"][action]
                spec["count"] -= 1
                fault = (spec.get("code", "InternalFailure"), spec.get("message", "An internal error occurred."), int(spec.get("status", 500)))
            else:
                return None
        self.stats.count("faults_injected")
        return fault

    def _error(self, start_response, action, code, message, status, request_id):  # pylint: disable=too-many-arguments
        try:
            xml = self.contract.serialize_error(action, code, message, request_id, status, sender=status < 500)
            self.stats.count("responses_validated", action or None, "responses" if action in self.contract.model.operation_names else None)
        except ContractError as exc:
            self.stats.violation(action, "response", exc.message)
            xml = exc.message.encode()
        self.stats.save()
        return self._send(start_response, status, xml, request_id)

    @staticmethod
    def _send(start_response, status, xml, request_id):
        start_response(f"{status} {http.client.responses.get(status, 'Error')}",
                       [("Content-Type", "text/xml"), ("Content-Length", str(len(xml))), ("x-amzn-RequestId", request_id)])
        return [xml]

    # S3 (moto) ----------------------------------------------------------------------------------------

    def _s3(self, environ, start_response, match, scope):
        self.stats.count("s3_requests")
        body = self._body(environ)
        if not scope[0]:
            return self._s3_error(start_response, 403, "AccessDenied", "Anonymous access is not allowed by this local service.")
        if scope[0] != self.access_key:
            return self._s3_error(start_response, 403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
        if match is not None and not self._signature_ok(environ, body, match, scope):
            return self._s3_error(start_response, 403, "SignatureDoesNotMatch",
                                  "The request signature we calculated does not match the signature you provided. Check your key and signing method.")
        method = environ["REQUEST_METHOD"]
        self.stats.call("s3", f"{method} {environ['PATH_INFO']}", method not in ("GET", "HEAD"))
        return self.moto(environ, start_response)

    @staticmethod
    def _s3_error(start_response, status, code, message):
        xml = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
               f'<RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId></Error>').encode()
        start_response(f"{status} {http.client.responses[status]}", [("Content-Type", "application/xml"), ("Content-Length", str(len(xml)))])
        return [xml]

    # The CNAME proxy ----------------------------------------------------------------------------------

    def _proxy(self, environ, start_response, raw_uri):
        url = urlsplit(raw_uri)
        host = url.hostname or ""
        env = self.service.environment_for_host(host)
        process = env.process if env is not None else None
        if env is None:
            return self._text(start_response, 502, f"No live Elastic Beanstalk environment has the CNAME {host} "
                                                   "(this proxy only forwards to environment CNAMEs).\n")
        if process is None or not process.alive():
            return self._text(start_response, 503, f"Environment {env.name} ({host}) has no running application "
                                                   f"(status {env.status}, health {env.health}).\n")
        body = self._body(environ)
        headers = {key[5:].replace("_", "-").title(): value for key, value in environ.items()
                   if key.startswith("HTTP_") and key[5:].replace("_", "-").lower() not in HOP_BY_HOP}
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        headers["Host"] = url.netloc
        connection = http.client.HTTPConnection("127.0.0.1", process.port, timeout=60)
        try:
            connection.request(environ["REQUEST_METHOD"], (url.path or "/") + (f"?{url.query}" if url.query else ""), body or None, headers)
            response = connection.getresponse()
            data = response.read()
        except OSError as exc:
            return self._text(start_response, 502, f"Environment {env.name}: the application did not answer ({exc.__class__.__name__}).\n")
        finally:
            connection.close()
        out = [(key, value) for key, value in response.getheaders() if key.lower() not in HOP_BY_HOP]
        start_response(f"{response.status} {response.reason}", out + [("Content-Length", str(len(data)))])
        return [data]

    @staticmethod
    def _text(start_response, status, text):
        data = text.encode()
        start_response(f"{status} {http.client.responses[status]}", [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(data)))])
        return [data]

    # Control endpoints --------------------------------------------------------------------------------

    def _control(self, environ, start_response):
        method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
        body = self._body(environ)
        if (method, path) == ("GET", "/__fake__/stats"):
            with self.stats.lock:
                return self._json(start_response, 200, self.stats.data)
        if (method, path) == ("GET", "/__fake__/calls"):
            with self.stats.lock:
                return self._json(start_response, 200, self.stats.calls)
        if (method, path) == ("POST", "/__fake__/reset-calls"):
            with self.stats.lock:
                self.stats.calls.clear()
            return self._json(start_response, 200, {})
        if (method, path) == ("POST", "/__fake__/faults"):
            try:
                spec = json.loads(body or b"{}")
            except ValueError:
                return self._json(start_response, 400, {"error": "the body must be JSON"})
            with self.stats.lock:
                self.faults["throttle"].update({key: int(value) for key, value in spec.get("throttle", {}).items()})
                self.faults["fail"].update({key: {**value, "count": int(value.get("count", 1))} for key, value in spec.get("fail", {}).items()})
            with self.service.lock:
                self.service.red_versions.update(spec.get("red_versions", []))
            faults = {"throttle": self.faults["throttle"], "fail": self.faults["fail"], "red_versions": sorted(self.service.red_versions)}
            return self._json(start_response, 200, faults)
        return self._json(start_response, 404, {"error": f"no control endpoint {method} {path}"})

    @staticmethod
    def _json(start_response, status, data):
        payload = json.dumps(data, default=str).encode()
        start_response(f"{status} {http.client.responses[status]}", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
        return [payload]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state-dir", required=True, type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--boot-timeout", type=float, default=60.0, help="seconds an application has to answer its health check")
    parser.add_argument("--min-transition", type=float, default=0.3, help="seconds an environment stays Launching/Updating at least")
    parser.add_argument("--verbose", action="store_true", help="log every request (method, path, status)")
    args = parser.parse_args(argv)
    fake = FakeBeanstalk(args.state_dir, args.host, args.port, args.boot_timeout, args.min_transition,
                         watch_state=True, verbose=args.verbose)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: threading.Thread(target=fake.stop).start())
    fake.start()
    fake.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
