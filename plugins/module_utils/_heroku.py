# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The Heroku Platform API v3 client and module class the jvmops.deploy Heroku modules share.

HerokuModule is the AnsibleModule of every heroku_* module (in the spirit of amazon.aws's
AnsibleAWSModule): it merges the connection options into the module's argument spec, checks them with
the module's own options before anything is sent, hands out one HerokuClient, and is the one place where
errors become messages (HerokuModule.run).

HerokuClient owns authentication, the API version header, Range/Next-Range pagination, retries with
backoff on throttling and server errors, and turns every API error into one exception, HerokuError,
whose text reads "Failed to <verb> <resource> '<name>': <id>: <message>". The words come from the call
itself: the method gives the verb, the path template ("/apps/{app}/releases") the resource, and its app
parameter the name (see call_words).
"""

from __future__ import annotations

import json
import random
import re
import socket
import ssl
import string
import time
import urllib.error
from urllib.parse import quote, urlsplit

from ansible.module_utils.basic import AnsibleModule, env_fallback
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
# A log line as Logplex writes it: 2026-11-22T14:20:11.123456+00:00 heroku[run.1234]: Process exited with status 3
LOG_LINE = re.compile(r"^(\S+) ([a-z]+)\[([^\]]+)\]: ?(.*)$")
# What cannot reach the other end; urllib.error.HTTPError (an answer) is a URLError too.
NETWORK_ERRORS = (urllib.error.URLError, socket.timeout, ConnectionError, ssl.SSLError)

# The words of an error message: the method gives the verb ...
VERBS = {"GET": "read", "POST": "create", "PUT": "set", "PATCH": "update", "DELETE": "delete"}
# ... the last fixed segment of the path the resource, as one item (before a parameter, or created by POST) or many ...
NOUNS = {
    "apps": ("app", "apps"),
    "buildpack-installations": ("buildpacks", "buildpacks"),
    "builds": ("build", "builds"),
    "config-vars": ("config vars", "config vars"),
    "dynos": ("dyno", "dynos"),
    "formation": ("formation", "formation"),
    "log-sessions": ("log session", "log sessions"),
    "releases": ("release", "releases"),
    "sources": ("source upload", "source uploads"),
}
# ... except for these calls, whose (verb, resource) say better what they do (None: the derived words).
SPECIAL_WORDS = {
    ("PATCH", "/apps/{app}/config-vars"): ("set", None),
    ("PATCH", "/apps/{app}/formation"): ("scale", None),
    ("POST", "/apps/{app}/dynos"): ("start", "one-off dyno of app"),
    ("POST", "/apps/{app}/log-sessions"): ("open", None),
    ("POST", "/apps/{app}/releases"): ("roll back", "app"),
    ("POST", "/sources"): (None, "source upload for app"),
}


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


class HerokuModuleError(Exception):
    """A failure a module reports as it is: the message, and extra return values (result) for fail_json."""

    def __init__(self, message, **result):
        super().__init__(message)
        self.result = result


class HerokuOptionError(HerokuModuleError, ValueError):
    """An option that cannot work; the message starts with the option's name ("rollback_to: ...")."""

    def __init__(self, option, message, **result):
        super().__init__(f"{option}: {message}", **result)


def path_part(value):
    """One path segment: an app name, a release version, a process type."""
    return quote(to_text(value), safe="")


def failure(what):
    """The start of an error message: "Failed to <verb> <resource> '<name>'" for what = (verb, resource, name)."""
    verb, resource, name = what or ("call", "API", "")
    text = f"Failed to {verb} {resource}"
    return f"{text} '{name}'" if name else text


def path_fields(template):
    """The names of the parameters of a path template: {"app", "version"} for "/apps/{app}/releases/{version}"."""
    return {field for _text, field, _spec, _conv in string.Formatter().parse(template) if field}


def call_words(method, template):
    """(verb, resource) of an API call, for its error message: ("read", "releases of app") for GET /apps/{app}/releases."""
    parts = template.strip("/").split("/")
    fixed = [index for index, part in enumerate(parts) if not part.startswith("{")]
    last = fixed[-1] if fixed else 0
    one, many = NOUNS.get(parts[last], (parts[last].replace("-", " "),) * 2)
    resource = one if last + 1 < len(parts) or method == "POST" else many
    if template.startswith("/apps/{app}") and parts[last] != "apps":
        resource += " of app"
    verb = VERBS.get(method, method.lower())
    special_verb, special_resource = SPECIAL_WORDS.get((method, template), (None, None))
    return special_verb or verb, special_resource or resource


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
    """Calls the Platform API for one module run.

    API calls name a path template and its parameters, client.get("/apps/{app}/releases", app=name): the
    parameters are quoted into the path, and the method and template give the words of the error message
    (call_words), with the app parameter as the name. app may be given for a path without it (POST /apps)
    to name the app in the message.
    """

    def __init__(self, module, sleep=time.sleep):
        self.module = module
        params = module.params
        problems = check_connection_options(params)
        if problems:
            raise HerokuModuleError("; ".join(problems))
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

    def with_retries(self, send, retryable):
        """send() until it returns, retrying up to the retries option with backoff and jitter.

        retryable(exc) for an exception of NETWORK_ERRORS (an HTTPError is one): (retry it?, the Retry-After
        seconds or None). An exception it refuses, or the last one when the retries run out, is raised.
        """
        attempt = 0
        while True:
            try:
                return send()
            except NETWORK_ERRORS as exc:
                retry, retry_after = retryable(exc)
                if not retry or attempt >= self.retries:
                    raise
                self.sleep(self._delay(attempt, retry_after))
                attempt += 1
                self.retried += 1

    @staticmethod
    def _retryable(method, status):
        if status in (429, 503):
            return True
        return method != "POST" and status in (500, 502, 504)

    def path(self, template, params):
        """The path of a template with its parameters quoted in; app may be given for the message only."""
        extra = set(params) - path_fields(template) - {"app"}
        if extra:
            raise TypeError(f"{template} has no parameter {', '.join(sorted(extra))}")
        return template.format(**{key: path_part(value) for key, value in params.items()})

    def request(self, method, template, body=None, range_header=None, **params):
        """Send one API request (retrying as configured); returns (status, headers, decoded JSON or None).

        An error raises HerokuError, worded from method and template (call_words) and params["app"].
        """
        what = call_words(method, template) + (params.get("app", ""),)
        url = self.api_url + self.path(template, params)
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

        def send():
            try:
                return self._open(method, url, data=data, headers=headers)
            except urllib.error.HTTPError as exc:
                self._note_rate_limit(exc.headers)
                raise

        def retryable(exc):
            if isinstance(exc, urllib.error.HTTPError):
                return self._retryable(method, exc.code), self._retry_after(exc.headers)
            return method != "POST", None

        # Spread requests out when few are left in the budget (a retry waits anyway).
        if self.rate_limit_remaining is not None and self.rate_limit_remaining < LOW_RATE_LIMIT:
            self.sleep(self.retry_delay)
        try:
            response = self.with_retries(send, retryable)
        except urllib.error.HTTPError as exc:
            raise self._error(what, exc.code, exc.headers, self._read_error(exc)) from None
        except NETWORK_ERRORS as exc:
            reason = getattr(exc, "reason", exc)
            raise self._error(what, None, {}, {"id": "connection_error",
                                               "message": f"cannot reach {self.api_url}: {to_text(reason)}"}) from None
        with response:
            raw = response.read()
            status = response.status
            self._note_rate_limit(response.headers)
        try:
            document = json.loads(to_text(raw)) if raw.strip() else None
        except ValueError:
            raise self._error(what, status, response.headers, {"id": "invalid_response", "message": "the answer is not JSON: "
                                                               + to_text(raw[:100], errors="surrogate_or_replace")}) from None
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

    @staticmethod
    def _error(what, status, headers, payload):
        error_id = payload.get("id") or "error"
        message = to_text(payload.get("message", "")).replace("\n", " ").strip()
        text = f"{failure(what)}: {error_id}: {message}"
        if status is not None:
            text += f" (HTTP {status})"
        return HerokuError(text, status=status, error_id=error_id,
                           request_id=headers.get("Request-Id") if headers else None)

    # -- conveniences ------------------------------------------------------------------------------------

    def call(self, method, template, body=None, **params):
        """One request; the decoded body."""
        return self.request(method, template, body=body, **params)[2]

    def get(self, template, **params):
        return self.call("GET", template, **params)

    def post(self, template, body=None, **params):
        return self.call("POST", template, body, **params)

    def put(self, template, body, **params):
        return self.call("PUT", template, body, **params)

    def patch(self, template, body, **params):
        return self.call("PATCH", template, body, **params)

    def delete(self, template, **params):
        return self.call("DELETE", template, **params)

    def get_or_none(self, template, **params):
        """GET a resource; None when the API says it does not exist."""
        try:
            return self.get(template, **params)
        except HerokuError as exc:
            if exc.status == 404:
                return None
            raise

    def list(self, template, range_header=None, **params):
        """Every item of a list, following Next-Range."""
        items = []
        while True:
            status, headers, page = self.request("GET", template, range_header=range_header, **params)
            items.extend(page or [])
            next_range = headers.get("Next-Range")
            if status != 206 or not next_range:
                return items
            range_header = next_range

    # -- URLs the API hands out: no API key goes there; what = (verb, resource, name) words their errors --

    def put_blob(self, url, data, what):
        """Upload bytes to a presigned URL (POST /sources put_url); server errors are retried."""
        def send():
            with self._open("PUT", url, data=data, headers={"Content-Type": ""}, timeout=max(self.timeout, 300)):
                return

        def retryable(exc):
            return isinstance(exc, urllib.error.HTTPError) and exc.code in (500, 502, 503, 504), None

        try:
            self.with_retries(send, retryable)
        except urllib.error.HTTPError as exc:
            raise self._error(what, exc.code, exc.headers, {"id": "upload_failed",
                                                            "message": to_text(exc.read()[:300]) or exc.reason}) from None
        except NETWORK_ERRORS as exc:
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
        except NETWORK_ERRORS as exc:
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
            raise HerokuError(f"{failure(what)}: unexpected attach_url scheme in '{parts.scheme}://...'")
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
                        raise HerokuError(f"{failure(what)}: no end of output after {timeout} s "
                                          "(raise timeout, or run detached with attach=false)")
                    conn.settimeout(left)
                    data = conn.recv(65536)
                    if not data:
                        break
                    chunks.append(data)
        except (OSError, ssl.SSLError) as exc:
            raise HerokuError(f"{failure(what)}: cannot attach through {parts.hostname}:"
                              f"{parts.port or 5000}: {to_text(exc)}") from None
        output = b"".join(chunks)
        if output.startswith(b"rendezvous\r\n"):
            output = output[len(b"rendezvous\r\n"):]
        return output


class HerokuModule(AnsibleModule):
    """The AnsibleModule of a Heroku module: connection options merged and checked, a client, one error path.

    module = HerokuModule(argument_spec={...}, check_options=check_options, supports_check_mode=True)
    module.run(work)

    argument_spec holds the module's own options; the connection options (heroku_argument_spec) are added.
    check_options(params), if given, returns the problems with the module's options (each naming its option);
    they and the connection options' problems fail the task in one message before any request is sent.
    Other keyword arguments go to AnsibleModule. module.client is the HerokuClient of the run.
    """

    def __init__(self, argument_spec, check_options=None, **kwargs):
        spec = heroku_argument_spec()
        spec.update(argument_spec)
        super().__init__(argument_spec=spec, **kwargs)
        problems = list(check_options(self.params)) if check_options else []
        problems.extend(check_connection_options(self.params))
        if problems:
            self.fail_json(msg="; ".join(problems))
        self.client = HerokuClient(self)

    def run(self, work):
        """exit_json(changed=changed, **result) for (changed, result) = work(module, client).

        The one place where errors become messages: HerokuError (the API) with its status, error id and
        request id, HerokuModuleError and HerokuOptionError (the module) with their result.
        """
        try:
            changed, result = work(self, self.client)
        except HerokuModuleError as exc:
            self.fail_json(msg=str(exc), **exc.result)
        except HerokuError as exc:
            self.fail_json(msg=str(exc), **exc.details())
        self.exit_json(changed=changed, **result)


# -- reads more than one module makes ------------------------------------------------------------------------

def releases(client, app, limit=0):
    """The app's releases, newest first: the newest limit of them, or all when limit is 0."""
    template = "/apps/{app}/releases"
    if limit:
        return client.request("GET", template, range_header=f"version ..; order=desc, max={limit}", app=app)[2] or []
    return sorted(client.list(template, app=app), key=lambda r: r["version"], reverse=True)


def current_release(client, app):
    """The app's newest release, or None when it has none."""
    return (releases(client, app, 1) or [None])[0]


def log_lines(client, app, body, timeout):
    """Open a log session of the app (body: lines, tail, source, type, dyno_name) and yield its lines."""
    session = client.post("/apps/{app}/log-sessions", body, app=app)
    return client.stream_lines(session["logplex_url"], timeout=timeout, what=("read", "log of app", app))


def parse_log_line(line):
    """The parts of a Logplex log line (timestamp, source, dyno, message), or None when it is not one."""
    match = LOG_LINE.match(line)
    if not match:
        return None
    return dict(zip(("timestamp", "source", "dyno", "message"), match.groups()))


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
