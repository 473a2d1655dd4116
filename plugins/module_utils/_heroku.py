# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The Heroku Platform API v3 client the jvmops.deploy Heroku modules share.

It owns authentication, the API version header, Range/Next-Range pagination, retries with backoff on
throttling and server errors, and turns every API error into one exception, HerokuError, whose text
reads "Failed to <verb> <resource> '<name>': <id>: <message>".
"""

from __future__ import annotations

import json
import random
import re
import socket
import ssl
import time
import urllib.error
from urllib.parse import quote, urlsplit

from ansible.module_utils.basic import env_fallback
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.module_utils.urls import make_context, open_url

DEFAULT_API_URL = "https://api.heroku.com"
ACCEPT = "application/vnd.heroku+json; version=3"
USER_AGENT = "jvmops.deploy-heroku/1"
MAX_DELAY = 60.0
LOW_RATE_LIMIT = 20
# Appended to one-off commands, as the Heroku CLI does, so the exit status comes back with the output.
EXIT_MARKER = "\uFFFF heroku-command-exit-status:"
EXIT_STATUS = re.compile("\uFFFF heroku-command-exit-status: ?(\\d+)")
# Heroku's rules for app names (the schema's app name pattern) and process types.
APP_NAME = re.compile(r"^[a-z][a-z0-9-]{1,28}[a-z0-9]$")
PROCESS_TYPE = re.compile(r"^[-\w]{1,128}$")
SECRET_MASK = "********"


def heroku_argument_spec():
    """The connection options every Heroku module takes (documented in the jvmops.deploy.heroku fragment)."""
    return {
        "api_key": {"type": "str", "no_log": True, "fallback": (env_fallback, ["HEROKU_API_KEY"])},
        "api_url": {"type": "str", "fallback": (env_fallback, ["HEROKU_API_URL"])},
        "validate_certs": {"type": "bool", "default": True},
        "ca_path": {"type": "path"},
        "timeout": {"type": "int", "default": 30},
        "retries": {"type": "int", "default": 5},
        "retry_delay": {"type": "float", "default": 2.0},
    }


class HerokuError(Exception):
    """An API call that failed, with what the API said about it."""

    def __init__(self, message, status=None, error_id=None, request_id=None):
        super().__init__(message)
        self.status = status
        self.error_id = error_id
        self.request_id = request_id

    def details(self):
        """Extra keys for fail_json."""
        out = {}
        if self.status is not None:
            out["status"] = self.status
        if self.error_id:
            out["error_id"] = self.error_id
        if self.request_id:
            out["request_id"] = self.request_id
        return out


def path_part(value):
    """One path segment: an app name, a release version, a process type."""
    return quote(to_text(value), safe="")


def check_connection_options(params):
    """Messages naming the option and the rule, for connection options that cannot work."""
    problems = []
    if not params.get("api_key"):
        problems.append("api_key: no API key; set api_key or the HEROKU_API_KEY environment variable")
    url = params.get("api_url") or DEFAULT_API_URL
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        problems.append(f"api_url: must be an http(s) URL such as {DEFAULT_API_URL}, got '{url}'")
    if params.get("timeout") is not None and params["timeout"] <= 0:
        problems.append(f"timeout: must be more than 0 seconds, got {params['timeout']}")
    if params.get("retries") is not None and params["retries"] < 0:
        problems.append(f"retries: must be 0 or more, got {params['retries']}")
    if params.get("retry_delay") is not None and params["retry_delay"] < 0:
        problems.append(f"retry_delay: must be 0 or more seconds, got {params['retry_delay']}")
    return problems


class HerokuClient:
    """Calls the Platform API for one module run."""

    def __init__(self, module, sleep=time.sleep):
        self.module = module
        params = module.params
        problems = check_connection_options(params)
        if problems:
            module.fail_json(msg="; ".join(problems))
        self.api_key = params["api_key"]
        self.api_url = (params.get("api_url") or DEFAULT_API_URL).rstrip("/")
        self.validate_certs = params["validate_certs"]
        self.ca_path = params.get("ca_path")
        self.timeout = params["timeout"]
        self.retries = params["retries"]
        self.retry_delay = params["retry_delay"]
        self.sleep = sleep
        self.rate_limit_remaining = None
        self.retried = 0

    # -- HTTP --------------------------------------------------------------------------------------------

    def _open(self, method, url, data=None, headers=None, timeout=None):
        return open_url(url, data=data, headers=headers or {}, method=method, timeout=timeout or self.timeout,
                        validate_certs=self.validate_certs, ca_path=self.ca_path, http_agent=USER_AGENT,
                        follow_redirects="safe", use_netrc=False)

    def _delay(self, attempt, retry_after=None):
        if retry_after is not None:
            return min(MAX_DELAY, retry_after)
        return min(MAX_DELAY, self.retry_delay * (2 ** attempt)) * random.uniform(0.75, 1.0)

    @staticmethod
    def _retryable(method, status):
        if status in (429, 503):
            return True
        return method != "POST" and status in (500, 502, 504)

    def request(self, method, path, body=None, what=None, range_header=None):
        """Send one API request (retrying as configured); returns (status, headers, decoded JSON or None).

        what: (verb, resource, name) for the error message; an error raises HerokuError.
        """
        url = self.api_url + path
        headers = {
            "Accept": ACCEPT,
            "Authorization": "Bearer " + self.api_key,
        }
        data = None
        if body is not None:
            data = to_bytes(json.dumps(body))
            headers["Content-Type"] = "application/json"
        if range_header:
            headers["Range"] = range_header
        attempt = 0
        while True:
            # Spread requests out when few are left in the budget (a retry has just waited already).
            if attempt == 0 and self.rate_limit_remaining is not None and self.rate_limit_remaining < LOW_RATE_LIMIT:
                self.sleep(self.retry_delay)
            try:
                response = self._open(method, url, data=data, headers=headers)
            except urllib.error.HTTPError as exc:
                status, error_headers, payload = exc.code, exc.headers, self._read_error(exc)
                self._note_rate_limit(error_headers)
                if self._retryable(method, status) and attempt < self.retries:
                    self.sleep(self._delay(attempt, self._retry_after(error_headers)))
                    attempt += 1
                    self.retried += 1
                    continue
                raise self._error(what, status, error_headers, payload) from None
            except (urllib.error.URLError, socket.timeout, ConnectionError, ssl.SSLError) as exc:
                if method != "POST" and attempt < self.retries:
                    self.sleep(self._delay(attempt))
                    attempt += 1
                    self.retried += 1
                    continue
                reason = getattr(exc, "reason", exc)
                raise self._error(what, None, {}, {"id": "connection_error",
                                                   "message": f"cannot reach {self.api_url}: {to_text(reason)}"}) from None
            with response:
                raw = response.read()
                status = response.status
                self._note_rate_limit(response.headers)
                document = json.loads(to_text(raw)) if raw.strip() else None
                return status, response.headers, document

    @staticmethod
    def _read_error(exc):
        try:
            raw = exc.read()
        except (OSError, AttributeError):
            raw = b""
        try:
            payload = json.loads(to_text(raw)) if raw else {}
        except ValueError:
            payload = {}
        if not isinstance(payload, dict):
            payload = {}
        if "message" not in payload:
            payload["message"] = to_text(raw[:300]).strip() or f"HTTP {exc.code}"
        return payload

    @staticmethod
    def _retry_after(headers):
        value = headers.get("Retry-After") if headers else None
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None

    def _note_rate_limit(self, headers):
        value = headers.get("RateLimit-Remaining") if headers else None
        try:
            self.rate_limit_remaining = int(value) if value is not None else self.rate_limit_remaining
        except ValueError:
            pass

    def _error(self, what, status, headers, payload):
        verb, resource, name = what or ("call", "API", "")
        error_id = payload.get("id") or "error"
        message = to_text(payload.get("message", "")).replace("\n", " ").strip()
        text = f"Failed to {verb} {resource} '{name}': {error_id}: {message}"
        if status is not None:
            text += f" (HTTP {status})"
        return HerokuError(text, status=status, error_id=error_id,
                           request_id=headers.get("Request-Id") if headers else None)

    # -- conveniences ------------------------------------------------------------------------------------

    def call(self, method, path, body=None, what=None):
        """One request; the decoded body."""
        return self.request(method, path, body=body, what=what)[2]

    def get_or_none(self, path, what):
        """GET a resource; None when the API says it does not exist."""
        try:
            return self.call("GET", path, what=what)
        except HerokuError as exc:
            if exc.status == 404:
                return None
            raise

    def list(self, path, what, range_header=None):
        """Every item of a list, following Next-Range."""
        items = []
        while True:
            status, headers, page = self.request("GET", path, what=what, range_header=range_header)
            items.extend(page or [])
            next_range = headers.get("Next-Range")
            if status != 206 or not next_range:
                return items
            range_header = next_range

    # -- URLs the API hands out: no API key goes there --------------------------------------------------

    def put_blob(self, url, data, what):
        """Upload bytes to a presigned URL (POST /sources put_url)."""
        attempt = 0
        while True:
            try:
                with self._open("PUT", url, data=data, headers={"Content-Type": ""}, timeout=max(self.timeout, 300)):
                    return
            except urllib.error.HTTPError as exc:
                if exc.code in (500, 502, 503, 504) and attempt < self.retries:
                    self.sleep(self._delay(attempt))
                    attempt += 1
                    continue
                raise self._error(what, exc.code, exc.headers, {"id": "upload_failed",
                                                                "message": to_text(exc.read()[:300]) or exc.reason}) from None
            except (urllib.error.URLError, socket.timeout, ConnectionError, ssl.SSLError) as exc:
                raise self._error(what, None, {}, {"id": "upload_failed",
                                                   "message": to_text(getattr(exc, "reason", exc))}) from None

    def stream_lines(self, url, timeout, what):
        """Yield the text lines of a streaming URL (build output, log session) until it ends.

        Raises HerokuError when it cannot be opened; a read that times out ends the stream.
        """
        try:
            response = self._open("GET", url, timeout=timeout)
        except urllib.error.HTTPError as exc:
            raise self._error(what, exc.code, exc.headers, {"id": "stream_failed", "message": to_text(exc.reason)}) from None
        except (urllib.error.URLError, socket.timeout, ConnectionError, ssl.SSLError) as exc:
            raise self._error(what, None, {}, {"id": "stream_failed", "message": to_text(getattr(exc, "reason", exc))}) from None
        with response:
            while True:
                try:
                    line = response.readline()
                except (socket.timeout, ConnectionError, ssl.SSLError, OSError):
                    return
                if not line:
                    return
                yield to_text(line, errors="surrogate_or_replace").rstrip("\r\n")

    def ssl_context(self):
        return make_context(cafile=self.ca_path, validate_certs=self.validate_certs)

    def rendezvous(self, attach_url, timeout, what):
        """Attach to a one-off dyno: the output (bytes) it prints until it ends.

        The protocol of the Heroku CLI: TLS to the rendezvous host, send the secret and CRLF, read.
        """
        parts = urlsplit(attach_url)
        if parts.scheme != "rendezvous" or not parts.hostname:
            raise HerokuError(f"Failed to {what[0]} {what[1]} '{what[2]}': unexpected attach_url scheme in '{parts.scheme}://...'")
        secret = parts.path.lstrip("/")
        deadline = time.monotonic() + timeout
        chunks = []
        try:
            raw = socket.create_connection((parts.hostname, parts.port or 5000), timeout=min(timeout, self.timeout))
            with self.ssl_context().wrap_socket(raw, server_hostname=parts.hostname) as conn:
                conn.sendall(to_bytes(secret) + b"\r\n")
                while True:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise HerokuError(f"Failed to {what[0]} {what[1]} '{what[2]}': no end of output after {timeout} s "
                                          "(raise timeout, or run detached with attach=false)")
                    conn.settimeout(left)
                    data = conn.recv(65536)
                    if not data:
                        break
                    chunks.append(data)
        except (OSError, ssl.SSLError) as exc:
            raise HerokuError(f"Failed to {what[0]} {what[1]} '{what[2]}': cannot attach through {parts.hostname}:"
                              f"{parts.port or 5000}: {to_text(exc)}") from None
        output = b"".join(chunks)
        if output.startswith(b"rendezvous\r\n"):
            output = output[len(b"rendezvous\r\n"):]
        return output


def parse_exit_status(output):
    """Split the output of a command run with EXIT_MARKER appended: (output without the marker, status or None)."""
    matches = list(EXIT_STATUS.finditer(output))
    if not matches:
        return output, None
    last = matches[-1]
    return output[:last.start()] + output[last.end():].lstrip("\r\n"), int(last.group(1))


def redact(config, show):
    """Config vars for output: the names, and the values only when asked."""
    if show:
        return dict(config)
    return {key: SECRET_MASK for key in config}
