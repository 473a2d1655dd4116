# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: service_check
short_description: Check that a TCP port is open, an HTTP URL answers as expected, or MySQL/MariaDB takes a login, and alert when not
version_added: 0.1.0
author:
  - jvmops.deploy contributors (@jvmops)
description:
  - Runs one check on the monitored host, the source document's clj.monitor C(ping-mysql) and its kind.
  - O(type=tcp) opens a TCP connection to O(host) and O(port) and closes it again.
  - O(type=http) sends a C(GET) to O(url) (redirects followed) and reads the answer's status, also when it is not
    C(2xx); the status must be one of O(status_codes) and, when O(body_pattern) is given, the body (its first MiB)
    must match it.
  - O(type=mysql) logs in to MySQL or MariaDB as O(login_user) with PyMySQL and runs C(SELECT 1). A login the server
    refuses is an alert of its own; the password is never shown.
  - A check that fails gives an alert of level O(level). An alert already sent for the same host, subject and level
    is not sent again until O(mute_for) has passed; when the check passes again, one C(recovery) alert is sent.
    What was sent is kept in O(state_file) on the monitored host.
  - Bad options (an option of another type, a missing O(port), O(url) or O(login_user), a port outside 1 to 65535,
    a O(url) that is not C(http://) or C(https://), a O(body_pattern) that is not a regular expression, a
    O(timeout) of 0 or less, a negative O(mute_for)) fail the task before anything is contacted.
  - The task reports RV(alerts) and does not fail because of them; use C(failed_when) to make it fail.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - jvmops.deploy.alerts
attributes:
  check_mode:
    support: full
    details: Runs the check (it only reads) and returns the alerts that would be sent; the state file is not written.
  platform:
    platforms: posix
requirements:
  - PyMySQL, for O(type=mysql) only (Debian and Ubuntu package C(python3-pymysql)), on the monitored host.
options:
  type:
    description:
      - What to check.
      - V(tcp) - a TCP connection to O(host) and O(port) opens.
      - V(http) - O(url) answers with one of O(status_codes), and a body matching O(body_pattern) when given.
      - V(mysql) - MySQL or MariaDB on O(host) and O(port), or on O(login_unix_socket), takes the login of
        O(login_user) and answers C(SELECT 1).
    type: str
    choices: [tcp, http, mysql]
    required: true
  name:
    description:
      - The subject of the alerts and of the state file, as people call the service (C(Artifactory)).
      - When not given, the target - C(host:port) for V(tcp), O(url) for V(http), C(MySQL on host:port) (or
        C(MySQL on <socket>)) for V(mysql).
    type: str
  host:
    description:
      - The host name or address to connect to, for V(tcp) and V(mysql).
    type: str
    default: 127.0.0.1
  port:
    description:
      - The TCP port, 1 to 65535. Required with V(tcp); V(mysql) uses C(3306) when not given; not used with
        V(http) (give the port in O(url)).
    type: int
  url:
    description:
      - The C(http://) or C(https://) URL to get, for V(http) (required there).
    type: str
  status_codes:
    description:
      - The HTTP statuses that pass, for V(http). Any other status, C(3xx) after the redirects included, alerts.
    type: list
    elements: int
    default: [200]
  body_pattern:
    description:
      - Python regular expression searched (C(re.search)) in the body of the answer, for V(http). The check
        alerts when it does not match. The body is read as UTF-8, or the charset the answer names.
    type: str
  timeout:
    description:
      - Seconds to wait for the connection and for each answer; more than 0.
    type: float
    default: 5
  validate_certs:
    description:
      - Whether to validate the server's TLS certificate, for an C(https://) O(url).
    type: bool
    default: true
  login_user:
    description:
      - The MySQL user to log in as, for V(mysql) (required there).
    type: str
  login_password:
    description:
      - The password of O(login_user), for V(mysql). None when not given (for C(unix_socket) authentication).
    type: str
  login_unix_socket:
    description:
      - The server's Unix socket, for V(mysql), such as C(/run/mysqld/mysqld.sock). When given, O(host) and O(port)
        are not used.
    type: path
  level:
    description:
      - The level of the alerts of this check.
    type: str
    choices: [warning, critical]
    default: critical
seealso:
  - module: jvmops.deploy.process_check
  - module: jvmops.deploy.alert_send
"""

EXAMPLES = r"""
- name: Is the application's port open? Alert at most every 31 minutes
  jvmops.deploy.service_check:
    name: Xitrum
    type: tcp
    port: 8000
    mute_for: 31m
  register: xitrum

- name: Does the health page answer 200 and say it is ready?
  jvmops.deploy.service_check:
    type: http
    url: http://127.0.0.1:8000/health
    status_codes: [200, 204]
    body_pattern: '"status":\s*"(UP|ready)"'
    timeout: 2.5
    level: warning

- name: Is MySQL up and taking the monitor's login? (clj.monitor's ping-mysql)
  jvmops.deploy.service_check:
    type: mysql
    login_user: monitor
    login_password: "{{ mysql_monitor_password }}"
  register: mysql

- name: Fail when the database does not answer
  jvmops.deploy.service_check:
    type: mysql
    login_user: root
    login_unix_socket: /run/mysqld/mysqld.sock
  register: db
  failed_when: not db.ok
"""

RETURN = r"""
ok:
  description: Whether the check passed.
  type: bool
  returned: always
  sample: false
latency_ms:
  description: How long the check took, in milliseconds, also when it failed (then up to O(timeout)).
  type: float
  returned: always
  sample: 1.7
detail:
  description:
    - What the check saw - C(open) or the connection error for V(tcp); C(HTTP <status>) (and whether the body
      matched) or the connection error for V(http); the server's version or its error for V(mysql). Never a password.
  type: str
  returned: always
  sample: HTTP 503
alerts:
  description:
    - The alerts to send now, after the mute window and with the recoveries; each with host, check (C(service)),
      subject (O(name) or the target), level, value (as RV(detail)), threshold (what passes) and message.
  type: list
  elements: dict
  returned: always
  sample: [{"host": "web1", "check": "service", "subject": "127.0.0.1:8000", "level": "critical",
            "value": "Connection refused", "threshold": "open",
            "message": "127.0.0.1:8000 is not responding: Connection refused"}]
all_alerts:
  description: The alert found this run, before the mute window (no recoveries).
  type: list
  elements: dict
  returned: always
  sample: []
"""

import socket
import time
import traceback
from http.client import HTTPException
from urllib.error import HTTPError, URLError

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.urls import ConnectionError as UrlsConnectionError, open_url

from ansible_collections.jvmops.deploy.plugins.module_utils._alerts import (
    AlertOptionError,
    AlertState,
    alert,
    alert_state_spec,
)
from ansible_collections.jvmops.deploy.plugins.module_utils._checks import (
    SERVICE_REQUIRED_IF,
    CheckOptionError,
    validate_service,
)

try:
    import pymysql
except ImportError:
    pymysql = None
    PYMYSQL_IMPORT_ERROR = traceback.format_exc()
else:
    PYMYSQL_IMPORT_ERROR = None

MYSQL_PORT = 3306
BODY_READ = 1 << 20
# ER_ACCESS_DENIED_ERROR, ER_ACCESS_DENIED_NO_PASSWORD_ERROR (unix_socket authentication of another user)
ACCESS_DENIED = (1045, 1698)
AGENT = "jvmops.deploy.service_check"


class Outcome:
    """What one check saw: whether it passed, what (detail), and the alert's words when it did not."""

    def __init__(self, ok, detail, problem=None):
        self.ok = ok
        self.detail = detail
        self.problem = problem


def address(host, port):
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def target(params):
    """The checked thing in words: host:port, the URL, or MySQL on host:port (or on its socket)."""
    if params["type"] == "tcp":
        return address(params["host"], params["port"])
    if params["type"] == "http":
        return params["url"]
    if params["login_unix_socket"]:
        return f"MySQL on {params['login_unix_socket']}"
    return f"MySQL on {address(params['host'], params['port'] or MYSQL_PORT)}"


def error_text(exc, timeout):
    """A connection error in a few words, without a traceback."""
    if isinstance(exc, URLError) and not isinstance(exc, HTTPError):
        reason = exc.reason
        if isinstance(reason, BaseException):
            return error_text(reason, timeout)
        return str(reason)
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return f"timed out after {timeout:g}s"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the host name: {exc.strerror or exc}"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def check_tcp(params):
    where = target(params)
    try:
        connection = socket.create_connection((params["host"], params["port"]), timeout=params["timeout"])
    except OSError as exc:
        text = error_text(exc, params["timeout"])
        return Outcome(False, text, f"{where} is not responding: {text}")
    connection.close()
    return Outcome(True, "open")


def expected_statuses(params):
    return "HTTP " + ", ".join(str(code) for code in params["status_codes"])


def check_http(params, pattern):
    url = params["url"]
    try:
        response = open_url(url, method="GET", timeout=params["timeout"], validate_certs=params["validate_certs"],
                            http_agent=AGENT)
    except HTTPError as exc:  # a status that is not 2xx: an answer all the same
        response = exc
    except (URLError, OSError, HTTPException, UrlsConnectionError, ValueError) as exc:
        text = error_text(exc, params["timeout"])
        return Outcome(False, text, f"{url} is not responding: {text}")
    try:
        status = response.getcode()
        if status not in params["status_codes"]:
            return Outcome(False, f"HTTP {status}", f"{url} answered HTTP {status}, expected {expected_statuses(params)}")
        if pattern is None:
            return Outcome(True, f"HTTP {status}")
        try:
            raw = response.read(BODY_READ)
        except (OSError, HTTPException) as exc:
            text = error_text(exc, params["timeout"])
            return Outcome(False, f"HTTP {status}, body not read: {text}",
                           f"{url} answered HTTP {status} but its body could not be read: {text}")
        charset = response.headers.get_content_charset() if response.headers is not None else None
        try:
            body = raw.decode(charset or "utf-8", "replace")
        except LookupError:
            body = raw.decode("utf-8", "replace")
        if not pattern.search(body):
            return Outcome(False, f"HTTP {status}, body does not match",
                           f"{url} answered HTTP {status} but its body does not match {pattern.pattern!r}")
        return Outcome(True, f"HTTP {status}, body matches")
    finally:
        response.close()


def hide(text, secret):
    return text.replace(secret, "********") if secret else text


def check_mysql(params):
    where = target(params)
    user = params["login_user"]
    secret = params["login_password"]
    connection = None
    try:
        connection = pymysql.connect(
            host=params["host"], port=params["port"] or MYSQL_PORT, unix_socket=params["login_unix_socket"],
            user=user, password=secret or "", connect_timeout=params["timeout"], read_timeout=params["timeout"],
            write_timeout=params["timeout"])
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            row = cursor.fetchone()
        if not row or row[0] != 1:
            return Outcome(False, f"SELECT 1 answered {row!r}", f"{where} answered SELECT 1 with {row!r}")
        return Outcome(True, f"SELECT 1 answered, server {connection.get_server_info()}")
    except pymysql.err.MySQLError as exc:
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        if code in ACCESS_DENIED:
            return Outcome(False, f"login refused for user {user}", f"{where} refused the login for user {user}")
        text = hide(" ".join(str(arg) for arg in exc.args[1:]) or str(exc) or type(exc).__name__, secret)
        detail = f"({code}) {text}" if code is not None else text
        return Outcome(False, detail, f"{where} is not responding: {detail}")
    except (OSError, RuntimeError, ValueError) as exc:
        text = hide(error_text(exc, params["timeout"]), secret)
        return Outcome(False, text, f"{where} is not responding: {text}")
    finally:
        if connection is not None:
            try:
                connection.close()
            except (pymysql.err.MySQLError, OSError):
                pass


def run(module):
    """(changed, result) of running the check and settling its alert."""
    params = module.params
    pattern, mute = validate_service(params)
    if params["type"] == "mysql" and pymysql is None:
        module.fail_json(msg=missing_required_lib("PyMySQL", reason="for type=mysql")
                         + ". On Debian and Ubuntu, install the package python3-pymysql.",
                         exception=PYMYSQL_IMPORT_ERROR)
    host = params["host_label"] or socket.gethostname()
    subject = params["name"] or target(params)
    state = AlertState(params["state_file"]).load()
    started = time.monotonic()
    if params["type"] == "tcp":
        outcome = check_tcp(params)
    elif params["type"] == "http":
        outcome = check_http(params, pattern)
    else:
        outcome = check_mysql(params)
    latency = round((time.monotonic() - started) * 1000, 1)
    all_alerts = []
    if not outcome.ok:
        message = outcome.problem if params["name"] is None else f"{subject}: {outcome.problem}"
        all_alerts.append(alert(host, "service", subject, params["level"], outcome.detail, threshold(params, pattern),
                                message))
    alerts = state.settle("service", host, all_alerts, {subject: outcome.detail}, mute)
    changed = state.save(module)
    result = {"ok": outcome.ok, "latency_ms": latency, "detail": outcome.detail, "alerts": alerts,
              "all_alerts": all_alerts}
    if module._diff:
        result["diff"] = state.diff()
    return changed, result


def threshold(params, pattern):
    """What passes, in words."""
    if params["type"] == "tcp":
        return "open"
    if params["type"] == "http":
        statuses = expected_statuses(params)
        return statuses if pattern is None else f"{statuses} and a body matching {pattern.pattern!r}"
    return "login and SELECT 1"


def main():
    module = AnsibleModule(
        argument_spec={
            "type": {"type": "str", "choices": ["tcp", "http", "mysql"], "required": True},
            "name": {"type": "str"},
            "host": {"type": "str", "default": "127.0.0.1"},
            "port": {"type": "int"},
            "url": {"type": "str"},
            "status_codes": {"type": "list", "elements": "int", "default": [200]},
            "body_pattern": {"type": "str"},
            "timeout": {"type": "float", "default": 5},
            "validate_certs": {"type": "bool", "default": True},
            "login_user": {"type": "str"},
            "login_password": {"type": "str", "no_log": True},
            "login_unix_socket": {"type": "path"},
            "level": {"type": "str", "choices": ["warning", "critical"], "default": "critical"},
            **alert_state_spec(),
        },
        required_if=SERVICE_REQUIRED_IF,
        supports_check_mode=True,
    )
    try:
        changed, result = run(module)
    except (CheckOptionError, AlertOptionError) as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=changed, **result)


if __name__ == "__main__":
    main()
