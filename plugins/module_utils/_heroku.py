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

import http.client
import json
import os
import random
import re
import socket
import ssl
import string
import time
import unicodedata
import urllib.error
from urllib.parse import quote, urlsplit

from ansible.module_utils.basic import AnsibleModule, env_fallback
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.module_utils.urls import make_context, open_url

DEFAULT_API_URL = "https://api.heroku.com"
ACCEPT = "application/vnd.heroku+json; version=3"
USER_AGENT = "jvmops.deploy-heroku/1"
MAX_DELAY = 60.0
# A list is read in at most this many pages; a server that keeps answering 206 is an error, not a hang.
MAX_PAGES = 1000
# A refused connection is retried at most this often (the service is down or the URL is wrong).
REFUSED_RETRIES = 2
LOW_RATE_LIMIT = 20
# Appended to one-off commands, as the Heroku CLI does, so the exit status comes back with the output.
EXIT_MARKER = "\uFFFF heroku-command-exit-status:"
EXIT_STATUS = re.compile("\uFFFF heroku-command-exit-status: ?(\\d+)")
# Heroku's rules for app names (the schema's app name pattern) and process types.
APP_NAME = re.compile(r"^[a-z][a-z0-9-]{1,28}[a-z0-9]$")
PROCESS_TYPE = re.compile(r"^[-\w]{1,128}$")
# The other form of an app's identity (the schema's app id, format uuid).
APP_ID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
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
    "dyno-sizes": ("dyno size", "dyno sizes"),
    "dynos": ("dyno", "dynos"),
    "formation": ("formation", "formation"),
    "log-sessions": ("log session", "log sessions"),
    "releases": ("release", "releases"),
    "sources": ("source upload", "source uploads"),
}
# The calls that answer with a list (the schema's targetSchema type array); every other call answers with an object.
LIST_CALLS = {
    ("GET", "/apps"),
    ("GET", "/apps/{app}/buildpack-installations"),
    ("PUT", "/apps/{app}/buildpack-installations"),
    ("GET", "/apps/{app}/builds"),
    ("GET", "/apps/{app}/formation"),
    ("PATCH", "/apps/{app}/formation"),
    ("GET", "/apps/{app}/releases"),
}
# The fields the modules rely on, per call (of each item for a list; a.b for b inside a), checked like the shape.
FIELDS = {
    ("GET", "/apps/{app}/formation"): ("type",),
    ("PATCH", "/apps/{app}/formation"): ("type",),
    ("GET", "/apps/{app}/releases"): ("version",),
    ("GET", "/apps/{app}/releases/{version}"): ("id", "version"),
    ("POST", "/apps/{app}/releases"): ("id", "version"),
    ("POST", "/apps/{app}/builds"): ("id",),
    ("GET", "/apps/{app}/builds/{build}"): ("id",),
    ("POST", "/sources"): ("source_blob.put_url", "source_blob.get_url"),
    ("POST", "/apps/{app}/dynos"): ("name",),
    ("POST", "/apps/{app}/log-sessions"): ("logplex_url",),
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
        "total_timeout": {"type": "int", "default": 300},
        "allow_http": {"type": "bool", "default": False},
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


def key_problem(key):
    """The rule an API key breaks (never the key itself), or None."""
    for char in key:
        if ord(char) > 255:
            return "api_key: must be Latin-1 text (an API key is ASCII); it holds a character beyond that"
        if char.isspace() or unicodedata.category(char).startswith("C"):
            return ("api_key: must not hold spaces, line breaks or control characters inside it "
                    "(surrounding white space is removed)")
    return None


def url_problem(url, allow_http):
    """The rule api_url breaks, or None: https (http only with allow_http), a host, nothing but the root path."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return f"api_url: '{url}' is not a URL (give one such as {DEFAULT_API_URL})"
    if parts.scheme == "http" and not allow_http:
        return f"api_url: '{url}' is plain http, which would send the API key unencrypted; use https, or set allow_http"
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return f"api_url: must be an http(s) URL (https unless allow_http) such as {DEFAULT_API_URL}, got '{url}'"
    if "@" in parts.netloc:
        return "api_url: must not hold a user name or password (the API key is given by api_key)"
    if parts.query or parts.fragment or "?" in url or "#" in url:
        return f"api_url: must not hold a query or fragment (not shown), got '{origin(url)}/...'"
    if parts.path not in ("", "/"):
        return f"api_url: must be the API root without a path (such as {DEFAULT_API_URL}), got '{origin(url)}/...'"
    if port == 0:
        return f"api_url: port 0 cannot be reached, got '{url}'"
    return None


def check_connection_options(params):
    """Messages naming the option and the rule, for connection options that cannot work."""
    problems = []
    key = (params.get("api_key") or "").strip()
    if not key:
        problems.append("api_key: no API key; set api_key or the HEROKU_API_KEY environment variable")
    elif key_problem(key):
        problems.append(key_problem(key))
    url = params.get("api_url") or DEFAULT_API_URL
    problem = url_problem(url, params.get("allow_http"))
    if problem:
        problems.append(problem)
    ca_path = params.get("ca_path")
    if ca_path and not os.path.isfile(ca_path):
        state = "is a directory" if os.path.isdir(ca_path) else "does not exist"
        problems.append(f"ca_path: must be a PEM file of certificate authorities; {ca_path} {state}")
    elif ca_path:
        try:
            ssl.create_default_context(cafile=ca_path)
        except (ssl.SSLError, OSError, ValueError) as exc:
            problems.append(f"ca_path: {ca_path} is not a PEM file of certificate authorities ({to_text(exc)})")
    if params.get("timeout") is not None and params["timeout"] <= 0:
        problems.append(f"timeout: must be more than 0 seconds, got {params['timeout']}")
    if params.get("retries") is not None and params["retries"] < 0:
        problems.append(f"retries: must be 0 or more, got {params['retries']}")
    if params.get("retry_delay") is not None and params["retry_delay"] < 0:
        problems.append(f"retry_delay: must be 0 or more seconds, got {params['retry_delay']}")
    if params.get("total_timeout") is not None and params["total_timeout"] <= 0:
        problems.append(f"total_timeout: must be more than 0 seconds, got {params['total_timeout']}")
    return problems


def app_problem(app, option="app"):
    """The rule an app name or id breaks (the schema's app identity), or None."""
    if APP_NAME.match(app) or APP_ID.match(app):
        return None
    return (f"{option}: '{app}' is neither a Heroku app name (3-30 characters: lower-case letters, digits and dashes, "
            "starting with a letter and not ending with a dash) nor an app id (a UUID)")


def buildpack_problem(option, value):
    """The rule a buildpack (a registry name such as heroku/jvm, a urn:buildpack: name, or a URL) breaks, or None."""
    if not value or not value.strip():
        return f"{option}: must not be empty"
    if value != value.strip() or any(char.isspace() for char in value):
        return f"{option}: '{value}' must not hold white space"
    if "://" in value:
        try:
            parts = urlsplit(value)
        except ValueError:
            parts = None
        if parts is None or parts.scheme not in ("https", "http") or not parts.hostname:
            return f"{option}: '{value}' is not an http(s) URL of a buildpack"
    return None


def is_certificate_error(exc):
    """An untrusted or mismatched certificate: retrying cannot help."""
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, ssl.SSLCertVerificationError):
        return True
    if "CERTIFICATE_VERIFY_FAILED" in to_text(reason):
        return True
    return isinstance(reason, (ssl.SSLError, ssl.CertificateError)) and "hostname" in to_text(reason).lower()


def describe(exc):
    """A short text for a network error or an HTTP error (no header values)."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"
    if is_certificate_error(exc):
        return f"the server's certificate is not trusted ({to_text(getattr(exc, 'reason', exc))}); set ca_path, or fix api_url"
    if isinstance(exc, socket.timeout) or isinstance(getattr(exc, "reason", None), socket.timeout):
        return "no answer within the timeout"
    return to_text(getattr(exc, "reason", exc))


def missing_field(items, fields):
    """The first of fields (a.b: b inside a) some item lacks (or has as null), or None."""
    for item in items:
        for field in fields:
            value = item
            for part in field.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            if value is None:
                return field
    return None


def json_kind(value):
    """The JSON name of a decoded value's type, with an article."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    return "a " + ("boolean" if isinstance(value, bool) else "number")


def is_refused(exc):
    return isinstance(getattr(exc, "reason", exc), ConnectionRefusedError)


def origin(url):
    """scheme://host[:port] of a URL, without user info, path or query."""
    try:
        parts = urlsplit(to_text(url))
        host = parts.hostname or "?"
        return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")
    except ValueError:
        return "an invalid URL"


class HerokuClient:
    """Calls the Platform API for one module run.

    API calls name a path template and its parameters, client.get("/apps/{app}/releases", app=name): the
    parameters are quoted into the path, and the method and template give the words of the error message
    (call_words), with the app parameter as the name. app may be given for a path without it (POST /apps)
    to name the app in the message.
    """

    def __init__(self, module, sleep=time.sleep, checked=False):
        self.module = module
        params = module.params
        # HerokuModule has checked the options already (with the module's own, in one message).
        problems = [] if checked else check_connection_options(params)
        if problems:
            raise HerokuModuleError("; ".join(problems))
        # Surrounding white space (a key pasted from a file with its newline) is removed; inner white space and
        # control characters are refused by check_connection_options, before any request.
        self.api_key = params["api_key"].strip()
        self.api_url = (params.get("api_url") or DEFAULT_API_URL).rstrip("/")
        self.validate_certs = params["validate_certs"]
        self.ca_path = params.get("ca_path")
        self.timeout = params["timeout"]
        self.retries = params["retries"]
        self.retry_delay = params["retry_delay"]
        self.total_timeout = params.get("total_timeout") or 300
        self.deadline = None
        self.sleep = sleep
        self.rate_limit_remaining = None
        self.retried = 0

    # -- HTTP --------------------------------------------------------------------------------------------

    def _open(self, method, url, data=None, headers=None, timeout=None, follow_redirects="safe"):
        timeout = timeout or self.timeout
        if self.deadline is not None:
            timeout = max(0.1, min(timeout, self.deadline - time.monotonic()))
        return open_url(url, data=data, headers=headers or {}, method=method, timeout=timeout,
                        validate_certs=self.validate_certs, ca_path=self.ca_path, http_agent=USER_AGENT,
                        follow_redirects=follow_redirects, use_netrc=False)

    def _delay(self, attempt, retry_after=None):
        if retry_after is not None:
            return min(MAX_DELAY, retry_after)
        return min(MAX_DELAY, self.retry_delay * (2 ** attempt)) * random.uniform(0.75, 1.0)

    def with_retries(self, send, retryable, what=None):
        """send() until it returns, retrying up to the retries option with backoff and jitter.

        retryable(exc) for an exception of NETWORK_ERRORS (an HTTPError is one): (retry it?, the Retry-After
        seconds or None). An exception it refuses, or the last one when the retries run out, is raised; so is a
        certificate error at once, and a refused connection after REFUSED_RETRIES retries. All tries and waits
        end within total_timeout seconds: a wait that would pass it raises HerokuError (what words it) instead.
        """
        attempt = refused = 0
        start = time.monotonic()
        outer = self.deadline is None
        if outer:
            self.deadline = start + self.total_timeout
        try:
            while True:
                try:
                    return send()
                except NETWORK_ERRORS as exc:
                    retry, retry_after = retryable(exc)
                    refused += is_refused(exc)
                    if not retry or attempt >= self.retries or is_certificate_error(exc) or refused > REFUSED_RETRIES:
                        raise
                    delay = self._delay(attempt, retry_after)
                    if time.monotonic() + delay >= self.deadline:
                        waited = time.monotonic() - start
                        ask = f"a retry in {delay:g} s" if retry_after is None else f"Retry-After {retry_after:g} s"
                        raise HerokuError(f"{failure(what)}: timeout: gave up after {waited:.0f} s and {attempt + 1} "
                                          f"tries ({describe(exc)}); {ask} would pass total_timeout "
                                          f"({self.total_timeout} s)", status=getattr(exc, "code", None),
                                          error_id="timeout") from None
                    self.sleep(delay)
                    attempt += 1
                    self.retried += 1
        finally:
            if outer:
                self.deadline = None

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
                return self._open(method, url, data=data, headers=headers, follow_redirects="none")
            except urllib.error.HTTPError as exc:
                self._note_rate_limit(exc.headers)
                raise
            except (ValueError, UnicodeError):
                # http.client quotes the offending header value (the key, a Range) in its message: never show it.
                raise self._error(what, None, {}, {"id": "invalid_request", "message": "a request header value is not "
                                                   "valid HTTP (not shown, it may be secret); check api_key"}) from None

        def retryable(exc):
            if isinstance(exc, urllib.error.HTTPError):
                return self._retryable(method, exc.code), self._retry_after(exc.headers)
            return method != "POST", None

        # Spread requests out when few are left in the budget (a retry waits anyway).
        if self.rate_limit_remaining is not None and self.rate_limit_remaining < LOW_RATE_LIMIT:
            self.sleep(self.retry_delay)
        try:
            response = self.with_retries(send, retryable, what)
        except urllib.error.HTTPError as exc:
            if 300 <= exc.code < 400:
                raise self._error(what, exc.code, exc.headers, {
                    "id": "redirect", "message": f"the API at {origin(self.api_url)} redirects to "
                    f"{origin(exc.headers.get('Location') or exc.url)}; redirects are not followed, so that the API key "
                    "goes nowhere else (set api_url to the address that answers)"}) from None
            raise self._error(what, exc.code, exc.headers, self._read_error(exc)) from None
        except NETWORK_ERRORS as exc:
            raise self._error(what, None, {}, {"id": "connection_error",
                                               "message": f"cannot reach {self.api_url}: {describe(exc)}"}) from None
        try:
            with response:
                raw = response.read()
                status = response.status
                self._note_rate_limit(response.headers)
        except (OSError, http.client.HTTPException) as exc:
            raise self._error(what, None, {}, {"id": "invalid_response", "message": "the answer was cut off: "
                                               + describe(exc)}) from None
        return status, response.headers, self._document(what, status, response.headers, raw, (method, template))

    def _document(self, what, status, headers, raw, call):
        """The decoded answer, checked to be the object or list (of objects) the call answers with."""
        expected = "a list" if call in LIST_CALLS else "an object"
        text = raw.decode("utf-8", errors="replace")
        if not text.strip():
            problem = f"the answer is empty; {expected} was expected"
        else:
            try:
                document = json.loads(text)
            except ValueError:
                problem = "the answer is not JSON: " + text[:100]
            else:
                items = document if call in LIST_CALLS and isinstance(document, list) else [document]
                if all(isinstance(i, dict) for i in items) and isinstance(document, list) == (call in LIST_CALLS):
                    missing = missing_field(items, FIELDS.get(call, ()))
                    if not missing:
                        return document
                    problem = f"the answer has no {missing}"
                else:
                    problem = f"the answer is {json_kind(document)} where {expected}" + (
                        " of objects" if call in LIST_CALLS else "") + " was expected"
        raise self._error(what, status, headers, {"id": "invalid_response", "message": problem})

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
        """Every item of a list, following Next-Range (at most MAX_PAGES pages, each Range a new one)."""
        items = []
        what = call_words("GET", template) + (params.get("app", ""),)
        for _page in range(MAX_PAGES):
            status, headers, page = self.request("GET", template, range_header=range_header, **params)
            items.extend(page)
            next_range = headers.get("Next-Range")
            if status != 206 or not next_range:
                return items
            if next_range == range_header:
                raise self._error(what, status, headers, {"id": "invalid_response", "message": "the API answers the "
                                                          "same Next-Range again; the list would never end"})
            range_header = next_range
        raise self._error(what, None, {}, {"id": "invalid_response", "message": f"the list goes on past {MAX_PAGES} pages"})

    # -- URLs the API hands out: no API key goes there; what = (verb, resource, name) words their errors --

    def put_blob(self, url, data, what):
        """Upload bytes to a presigned URL (POST /sources put_url); server errors are retried."""
        def send():
            with self._open("PUT", url, data=data, headers={"Content-Type": ""}, timeout=max(self.timeout, 300)):
                return

        def retryable(exc):
            return isinstance(exc, urllib.error.HTTPError) and exc.code in (500, 502, 503, 504), None

        try:
            self.with_retries(send, retryable, what)
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
                yield line.decode("utf-8", errors="replace").rstrip("\r\n")

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
                        raise HerokuError(f"{failure(what)}: timed out after {timeout} s with no end of output "
                                          "(raise wait_timeout, or run detached with attach=false)")
                    conn.settimeout(left)
                    try:
                        data = conn.recv(65536)
                    except socket.timeout:
                        raise HerokuError(f"{failure(what)}: timed out after {timeout} s with no end of output "
                                          "(raise wait_timeout, or run detached with attach=false)") from None
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
        problems = []
        if isinstance(self.params.get("app"), str) and app_problem(self.params["app"]):
            problems.append(app_problem(self.params["app"]))
        problems.extend(check_options(self.params) if check_options else [])
        problems.extend(check_connection_options(self.params))
        if problems:
            self.fail_json(msg="; ".join(problems))
        self.client = HerokuClient(self, checked=True)

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


def check_dyno_size(client, size, option):
    """Raise HerokuOptionError naming option when the API knows no dyno size of that name (in check mode too)."""
    if client.get_or_none("/dyno-sizes/{size}", size=size) is None:
        raise HerokuOptionError(option, f"'{size}' is not a Heroku dyno size (such as basic, standard-1X, standard-2X, "
                                        "performance-M; see GET /dyno-sizes)")


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
