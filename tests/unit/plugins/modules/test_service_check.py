# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import importlib.util
import json
import socket
import sys
import threading
import types
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.jvmops.deploy.plugins.modules import service_check

PASSWORD = "s3cret-Pa55word"


@pytest.fixture(name="run")
def run_fixture(invoke, tmp_path, monkeypatch):
    for variable in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(variable, raising=False)

    def run(check=False, **args):
        args.setdefault("state_file", str(tmp_path / "state" / "alerts.json"))
        args.setdefault("host_label", "web1")
        args.setdefault("timeout", 2)
        return invoke(service_check.main, args, check=check)

    run.state = tmp_path / "state" / "alerts.json"
    return run


@pytest.fixture(name="listener")
def listener_fixture():
    """A real TCP listener on 127.0.0.1; its port."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    yield server.getsockname()[1]
    server.close()


@pytest.fixture(name="closed_port")
def closed_port_fixture():
    """A port on 127.0.0.1 that nothing listens on (bound, then let go)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


class Handler(BaseHTTPRequestHandler):
    """/ready: 200 with a JSON status; /down: 503; anything else 404."""

    requests = []

    def do_GET(self):  # pylint: disable=invalid-name
        Handler.requests.append((self.command, self.path, self.headers.get("User-Agent")))
        if self.path == "/ready":
            self.answer(200, b'{"status": "ready"}')
        elif self.path == "/down":
            self.answer(503, b"maintenance")
        else:
            self.answer(404, b"no such page")

    def answer(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # pylint: disable=arguments-differ
        pass


@pytest.fixture(name="web")
def web_fixture():
    """A real http.server on 127.0.0.1; its base URL."""
    Handler.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(5)


def fake_pymysql(connect):
    """A stand-in for the pymysql package: its err classes as PyMySQL has them, and connect."""
    err = types.SimpleNamespace()

    class MySQLError(Exception):
        pass

    class OperationalError(MySQLError):
        pass

    err.MySQLError = MySQLError
    err.OperationalError = OperationalError
    return types.SimpleNamespace(err=err, connect=connect)


class FakeConnection:
    def __init__(self, row=(1,)):
        self.row = row
        self.executed = []
        self.closed = False

    def cursor(self):
        connection = self

        class Cursor:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

            def execute(self, sql):
                connection.executed.append(sql)

            def fetchone(self):
                return connection.row

        return Cursor()

    def get_server_info(self):
        return "10.11.6-MariaDB-0+deb12u1"

    def close(self):
        self.closed = True


# TCP

def test_open_port_is_ok(run, listener):
    result = run(type="tcp", port=listener).result
    assert result["ok"] and result["detail"] == "open" and not result["changed"]
    assert result["alerts"] == [] and result["all_alerts"] == []
    assert isinstance(result["latency_ms"], float) and result["latency_ms"] >= 0


def test_closed_port_alerts_like_the_document(run, closed_port):
    result = run(type="tcp", port=closed_port).result
    assert not result["ok"] and result["changed"]
    assert result["alerts"] == [{"host": "web1", "check": "service", "subject": f"127.0.0.1:{closed_port}",
                                 "level": "critical", "value": "Connection refused", "threshold": "open",
                                 "message": f"127.0.0.1:{closed_port} is not responding: Connection refused"}]


def test_name_is_the_subject_and_leads_the_message(run, closed_port):
    result = run(type="tcp", port=closed_port, name="Xitrum", level="warning").result
    sent = result["alerts"][0]
    assert (sent["subject"], sent["level"]) == ("Xitrum", "warning")
    assert sent["message"] == f"Xitrum: 127.0.0.1:{closed_port} is not responding: Connection refused"


# HTTP

def test_http_200_is_ok(run, web):
    result = run(type="http", url=f"{web}/ready").result
    assert result["ok"] and result["detail"] == "HTTP 200" and result["alerts"] == []
    assert Handler.requests == [("GET", "/ready", "jvmops.deploy.service_check")]


def test_http_503_is_a_status_not_an_error(run, web):
    result = run(type="http", url=f"{web}/down").result
    assert not result["ok"] and result["detail"] == "HTTP 503"
    assert [(a["value"], a["threshold"], a["message"]) for a in result["alerts"]] == [
        ("HTTP 503", "HTTP 200", f"{web}/down answered HTTP 503, expected HTTP 200")]
    assert run(type="http", url=f"{web}/down", status_codes=[200, 503], state_file=str(run.state) + ".2").result["ok"]


def test_http_body_pattern(run, web):
    assert run(type="http", url=f"{web}/ready", body_pattern=r'"status":\s*"ready"').result["ok"]
    result = run(type="http", url=f"{web}/ready", body_pattern="UP").result
    assert not result["ok"] and result["detail"] == "HTTP 200, body does not match"
    assert result["alerts"][0]["message"] == f"{web}/ready answered HTTP 200 but its body does not match 'UP'"
    assert result["alerts"][0]["threshold"] == "HTTP 200 and a body matching 'UP'"


def test_http_nobody_listening(run, closed_port):
    result = run(type="http", url=f"http://127.0.0.1:{closed_port}/").result
    assert not result["ok"]
    assert result["alerts"][0]["message"] == f"http://127.0.0.1:{closed_port}/ is not responding: Connection refused"


# Mute window, recovery, check mode

def test_mute_window_then_recovery_once(run, listener, closed_port):
    first = run(type="tcp", port=closed_port, name="app", mute_for="31m").result
    assert first["changed"] and len(first["alerts"]) == 1
    second = run(type="tcp", port=closed_port, name="app", mute_for="31m").result
    assert not second["changed"] and second["alerts"] == [] and len(second["all_alerts"]) == 1
    recorded = json.loads(run.state.read_text())["alerts"]
    assert [(r["check"], r["subject"], r["level"]) for r in recorded] == [("service", "app", "critical")]
    third = run(type="tcp", port=listener, name="app", mute_for="31m").result
    assert third["changed"] and third["ok"]
    assert [(a["level"], a["message"]) for a in third["alerts"]] == [("recovery", "app recovered: open")]
    assert json.loads(run.state.read_text())["alerts"] == []
    assert not run(type="tcp", port=listener, name="app", mute_for="31m").result["changed"]


def test_no_mute_window_sends_every_time(run, closed_port):
    assert len(run(type="tcp", port=closed_port).result["alerts"]) == 1
    assert len(run(type="tcp", port=closed_port).result["alerts"]) == 1


def test_check_mode_runs_the_check_and_writes_no_state(run, web):
    result = run(check=True, type="http", url=f"{web}/down").result
    assert result["changed"] and len(result["alerts"]) == 1
    assert Handler.requests and not run.state.exists()


# Bad input

@pytest.mark.parametrize("args, message", [
    ({"type": "tcp"}, "type is tcp but all of the following are missing: port"),
    ({"type": "http"}, "type is http but all of the following are missing: url"),
    ({"type": "mysql"}, "type is mysql but all of the following are missing: login_user"),
    ({"type": "tcp", "port": 0}, "port: 0 must be between 1 and 65535"),
    ({"type": "tcp", "port": 70000}, "port: 70000 must be between 1 and 65535"),
    ({"type": "mysql", "login_user": "root", "port": -5}, "port: -5 must be between 1 and 65535"),
    ({"type": "tcp", "port": 80, "timeout": -1}, "timeout: -1.0 must be more than 0 seconds"),
    ({"type": "tcp", "port": 80, "timeout": 0}, "timeout: 0.0 must be more than 0 seconds"),
    ({"type": "tcp", "port": 80, "mute_for": -60}, "mute_for: -60 must be a duration"),
    ({"type": "tcp", "port": 80, "mute_for": "-1h"}, "mute_for: '-1h' must be a duration"),
    ({"type": "http", "url": "http://127.0.0.1/", "body_pattern": "ready ("},
     "body_pattern: 'ready (' is not a Python regular expression"),
    ({"type": "http", "url": "127.0.0.1:8080/health"}, "url: '127.0.0.1:8080/health' must be an http:// or https://"),
    ({"type": "http", "url": "http://127.0.0.1/", "status_codes": [200, 1000]}, "status_codes: 1000 is not an HTTP"),
    ({"type": "http", "url": "http://127.0.0.1/", "port": 8080}, "port: not used with type=http"),
    ({"type": "tcp", "port": 80, "url": "http://127.0.0.1/"}, "url: only used with type=http, not type=tcp"),
    ({"type": "tcp", "port": 80, "body_pattern": "x"}, "body_pattern: only used with type=http"),
    ({"type": "http", "url": "http://127.0.0.1/", "login_user": "root"}, "login_user: only used with type=mysql"),
])
def test_bad_input_fails_before_anything_is_contacted(run, monkeypatch, args, message):
    monkeypatch.setattr(socket, "create_connection", lambda *a, **kw: pytest.fail("connected"))
    monkeypatch.setattr(service_check, "open_url", lambda *a, **kw: pytest.fail("HTTP request sent"))
    monkeypatch.setattr(service_check, "pymysql", fake_pymysql(lambda **kw: pytest.fail("MySQL contacted")))
    out = run(**args)
    assert out.failed and out.result["msg"].startswith(message), out.result["msg"]
    assert not run.state.exists()


# MySQL

def test_mysql_without_pymysql_names_the_library_and_the_debian_package(run, monkeypatch):
    monkeypatch.setitem(sys.modules, "pymysql", None)  # import pymysql raises ImportError
    spec = importlib.util.spec_from_file_location("service_check_without_pymysql", service_check.__file__)
    without = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(without)
    assert without.pymysql is None
    monkeypatch.setattr(service_check, "main", without.main)
    out = run(type="mysql", login_user="monitor", login_password=PASSWORD)
    assert out.failed
    assert "Failed to import the required Python library (PyMySQL)" in out.result["msg"]
    assert "python3-pymysql" in out.result["msg"] and "import pymysql" in out.result["exception"]
    assert PASSWORD not in str(out.result) and not run.state.exists()


def test_mysql_login_refused_is_an_alert_without_the_password(run, monkeypatch):
    calls = []

    def connect(**kwargs):
        calls.append(kwargs)
        raise module.err.OperationalError(1045, "Access denied for user 'monitor'@'localhost' (using password: YES)")

    module = fake_pymysql(connect)
    monkeypatch.setattr(service_check, "pymysql", module)
    out = run(type="mysql", host="db.internal", login_user="monitor", login_password=PASSWORD)
    result = out.result
    assert not out.failed and not result["ok"]
    assert result["alerts"][0]["message"] == "MySQL on db.internal:3306 refused the login for user monitor"
    assert result["alerts"][0]["subject"] == "MySQL on db.internal:3306"
    assert calls[0]["password"] == PASSWORD and calls[0]["port"] == 3306 and calls[0]["connect_timeout"] == 2
    assert PASSWORD not in str(result)
    assert PASSWORD not in json.dumps(json.loads(run.state.read_text()))


def test_mysql_select_1_is_ok(run, monkeypatch):
    connection = FakeConnection()
    calls = []
    monkeypatch.setattr(service_check, "pymysql", fake_pymysql(lambda **kw: calls.append(kw) or connection))
    result = run(type="mysql", login_user="root", login_unix_socket="/run/mysqld/mysqld.sock").result
    assert result["ok"] and result["alerts"] == []
    assert result["detail"] == "SELECT 1 answered, server 10.11.6-MariaDB-0+deb12u1"
    assert connection.executed == ["SELECT 1"] and connection.closed
    assert calls[0]["unix_socket"] == "/run/mysqld/mysqld.sock" and calls[0]["password"] == ""


def test_mysql_not_responding_hides_the_password_in_the_error(run, monkeypatch):
    def connect(**_kwargs):
        raise module.err.OperationalError(2003, f"Can't connect to MySQL server on '127.0.0.1' ({PASSWORD})")

    module = fake_pymysql(connect)
    monkeypatch.setattr(service_check, "pymysql", module)
    result = run(type="mysql", port=3307, login_user="monitor", login_password=PASSWORD).result
    assert not result["ok"] and PASSWORD not in str(result)
    assert result["alerts"][0]["message"].startswith(
        "MySQL on 127.0.0.1:3307 is not responding: (2003) Can't connect to MySQL server on '127.0.0.1'")
