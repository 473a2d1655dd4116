# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""jvm_app_check against a real HTTP server on 127.0.0.1 and limits files of its own."""

from __future__ import annotations

import http.server
import socket
import threading

import pytest

from ansible.module_utils import basic

from ansible_collections.jvmops.deploy.plugins.modules import jvm_app_check

LIMITS = """Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            {soft}                {hard}                files
Max processes             63474                63474                processes
"""


class App:
    """What the app answers: status and body per path, changed by the tests (also after a number of requests)."""

    def __init__(self):
        self.answers = {"/health": (200, "OK"), "/version": (200, "1.4.2 (build 6f0c2a)")}
        self.later = {}  # path -> (after n requests, status, body)
        self.requests = []


@pytest.fixture(name="app")
def app_fixture():
    app = App()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the name http.server calls)
            app.requests.append(self.path)
            status, body = app.answers.get(self.path, (404, "not found"))
            after = app.later.get(self.path)
            if after and app.requests.count(self.path) > after[0]:
                status, body = after[1], after[2]
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    app.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield app
    server.shutdown()
    server.server_close()


@pytest.fixture(name="run")
def run_fixture(invoke, app, tmp_path, monkeypatch):
    monkeypatch.setattr(jvm_app_check, "PROC_ROOT", str(tmp_path / "proc"))
    monkeypatch.setattr(jvm_app_check, "RUNIT_DIR", str(tmp_path / "sv"))
    monkeypatch.setattr(jvm_app_check.time, "sleep", lambda _s: None)  # the app's answers do not depend on time
    commands = []

    def run_command(_self, argv, **_kw):
        commands.append(argv)
        return run.pid_answer

    monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)

    def run(check=False, **args):
        return invoke(jvm_app_check.main, {"url": app.url, **args}, check=check)

    def process(pid, soft, hard, runit_name=None):
        (tmp_path / "proc" / str(pid)).mkdir(parents=True)
        (tmp_path / "proc" / str(pid) / "limits").write_text(LIMITS.format(soft=soft, hard=hard))
        if runit_name:
            (tmp_path / "sv" / runit_name / "supervise").mkdir(parents=True)
            (tmp_path / "sv" / runit_name / "supervise" / "pid").write_text(f"{pid}\n")

    run.process, run.commands, run.pid_answer = process, commands, (0, "4242\n", "")
    return run


def test_a_healthy_app_with_its_version_and_limit_passes_in_one_call(run, app):
    run.process(4242, 65536, 65536)
    result = run(expected_version="1.4.2", process_manager="supervisord", name="hello", nofile=65536)
    assert not result.failed and result.result["changed"] is False, result.result
    assert result.result["health"] == {"status": 200, "body": "OK"}
    assert result.result["version"] == "1.4.2 (build 6f0c2a)"
    assert result.result["pid"] == 4242 and "65536" in result.result["nofile_line"]
    assert run.commands == [["supervisorctl", "pid", "hello"]]
    assert app.requests == ["/health", "/version"]


def test_waits_until_the_app_answers_and_the_new_version_shows(run, app):
    app.answers["/health"] = (503, "starting")
    app.later["/health"] = (3, 200, "OK")
    app.answers["/version"] = (200, "1.4.1")
    app.later["/version"] = (2, 200, "1.4.2")
    result = run(expected_version="1.4.2", health_timeout=30)
    assert not result.failed, result.result
    assert app.requests.count("/health") == 4 and app.requests.count("/version") == 3


def test_an_app_that_never_gets_healthy_fails_with_what_it_said(run, app):
    app.answers["/health"] = (503, "database down")
    result = run(health_timeout=0)
    assert result.failed
    assert "/health did not answer 200 within 0 s: last 503 database down" in result.result["msg"]


def test_nothing_listening_fails_naming_the_url(run):
    with socket.socket() as sock:  # a port nothing listens on once the socket is closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = run(url=f"http://127.0.0.1:{port}", health_timeout=0)
    assert result.failed, result.result
    assert f"http://127.0.0.1:{port}/health did not answer 200 within 0 s: last no answer" in result.result["msg"]


def test_an_old_version_fails_after_the_version_timeout(run, app):
    app.answers["/version"] = (200, "1.4.1")
    result = run(expected_version="1.4.2", version_timeout=0)
    assert result.failed and "does not show 1.4.2 after 0 s: last 200 1.4.1" in result.result["msg"]


def test_check_mode_does_not_wait_for_the_new_version(run, app):
    app.answers["/version"] = (200, "1.4.1")
    result = run(check=True, expected_version="1.4.2")
    assert not result.failed and "version" not in result.result
    assert app.requests == ["/health"]


def test_a_lower_open_files_limit_fails_with_the_line_and_the_advice(run):
    run.process(4242, 1024, 524288)
    result = run(process_manager="systemd", name="hello", nofile=65536)
    assert result.failed
    assert result.result["msg"].startswith('The app (pid 4242) runs with "Max open files            1024')
    assert "lower kernel_tuning_nofile / jvm_app_nofile" in result.result["msg"]
    assert run.commands == [["systemctl", "show", "-p", "MainPID", "--value", "hello.service"]]


def test_runit_pid_comes_from_the_supervise_directory(run):
    run.process(777, 4096, 4096, runit_name="hello")
    result = run(process_manager="runit", name="hello", nofile=4096)
    assert not result.failed and result.result["pid"] == 777, result.result
    assert run.commands == []


def test_a_stopped_app_has_no_process(run):
    run.pid_answer = (0, "0\n", "")
    result = run(process_manager="systemd", name="hello", nofile=4096)
    assert result.failed and "systemd reports no process for hello (got '0')" in result.result["msg"]


@pytest.mark.parametrize(("args", "message"), [
    ({"health_timeout": -1}, "health_timeout: seconds, 0 or more, got -1"),
    ({"nofile": 4096}, "nofile: a limit of at least 1, with process_manager and name"),
    ({"nofile": 0, "process_manager": "runit", "name": "x"}, "nofile: a limit of at least 1"),
    ({"url": "http://127.0.0.1:8000/health"}, "url: http:// or https:// with a host and port and no path"),
    ({"url": "127.0.0.1:8000"}, "url: http:// or https://"),
])
def test_bad_options_fail_before_any_request(run, app, args, message):
    result = run(**args)
    assert result.failed and message in result.result["msg"], result.result
    assert app.requests == []
