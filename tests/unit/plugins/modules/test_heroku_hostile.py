# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hostile input and hostile servers (issue 12): no traceback, no hang, no leaked key.

Each case runs a Heroku module against real HTTP(S) servers on 127.0.0.1 and asserts a message naming the option
or the trouble, no key in anything returned, an end within a few seconds, and no write request.
"""

from __future__ import annotations

import http.server
import json
import os
import socket
import ssl
import subprocess
import threading
import time
import urllib.error

import pytest

from ansible_collections.jvmops.deploy.plugins.module_utils import _heroku
from ansible_collections.jvmops.deploy.plugins.modules import heroku_app, heroku_deploy, heroku_logs, heroku_release, heroku_run

KEY = "hrku-hostile-0123456789abcdef"
FAST = {"retry_delay": 0.01, "timeout": 2, "total_timeout": 5, "allow_http": True}
APP = {"id": "01234567-89ab-cdef-0123-456789abcdef", "name": "app-one"}


class Handler(http.server.BaseHTTPRequestHandler):
    """Records each request and answers with the server's answer(handler) -> (status, headers, body bytes)."""

    def log_message(self, *_args):
        pass

    def answer(self):
        self.server.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers)})
        status, headers, body = self.server.answer(self)
        if status is None:
            return
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = answer


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, answer, context=None):
        super().__init__(("127.0.0.1", 0), Handler)
        self.answer = answer
        self.requests = []
        if context is not None:
            self.socket = context.wrap_socket(self.socket, server_side=True)
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def url(self):
        scheme = "https" if isinstance(self.socket, ssl.SSLSocket) else "http"
        return f"{scheme}://127.0.0.1:{self.server_address[1]}"

    @property
    def writes(self):
        return [r for r in self.requests if r["method"] != "GET"]


@pytest.fixture(name="serve")
def serve_fixture():
    servers = []

    def serve(answer, context=None):
        server = Server(answer, context)
        servers.append(server)
        return server

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def json_answer(status, body, headers=None):
    return lambda _h: (status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(body).encode())


def raw_answer(status, body, headers=None):
    return lambda _h: (status, headers or {}, body)


def run(invoke, main, args, bound=8.0):
    """invoke the module, check it failed cleanly within bound seconds with no key and no traceback: the result."""
    start = time.monotonic()
    result = invoke(main, {"api_key": KEY, **FAST, **args})
    took = time.monotonic() - start
    text = json.dumps(result.result)
    assert KEY not in text
    assert "Traceback" not in text
    assert took < bound, f"took {took:.1f} s"
    return result


def failed(invoke, main, args, *messages, bound=8.0):
    result = run(invoke, main, args, bound)
    assert result.failed, result.result
    for message in messages:
        assert message in result.result["msg"], result.result["msg"]
    return result.result["msg"]


RELEASE = {"app": "app-one"}


# -- secrets ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_a_redirect_to_another_origin_never_carries_the_key(invoke, serve, code):
    other = serve(json_answer(200, APP))
    api = serve(raw_answer(code, b"", {"Location": other.url + "/apps/app-one?token=x"}))
    msg = failed(invoke, heroku_release.main, {**RELEASE, "api_url": api.url}, "Failed to read app 'app-one': redirect:",
                 f"redirects to {other.url};")
    assert "token=x" not in msg
    assert not other.requests
    assert len(api.requests) == 1


def test_a_redirect_on_the_same_origin_is_not_followed_either(invoke, serve):
    api = serve(lambda h: (302, {"Location": "/elsewhere"}, b"") if h.path.startswith("/apps") else (200, {}, b"{}"))
    failed(invoke, heroku_app.main, {"name": "app-one", "api_url": api.url}, "redirect:")
    assert [r["path"] for r in api.requests] == ["/apps/app-one"]


def test_a_key_pasted_with_its_newline_is_stripped_and_works(invoke, serve):
    api = serve(lambda h: (404, {}, b'{"id": "not_found", "message": "Couldn\'t find that app."}'))
    result = invoke(heroku_app.main, {"name": "app-one", "state": "absent", "api_key": f"  {KEY}\n", "api_url": api.url,
                                      **FAST})
    assert not result.failed, result.result
    assert api.requests[0]["headers"]["Authorization"] == "Bearer " + KEY


@pytest.mark.parametrize("key, rule", [
    (KEY[:8] + "\n" + KEY[8:], "must not hold spaces, line breaks or control characters"),
    (KEY[:8] + " " + KEY[8:], "must not hold spaces"),
    (KEY[:8] + "\x00" + KEY[8:], "control characters"),
    (KEY[:8] + "\x7f" + KEY[8:], "control characters"),
    (KEY[:8] + "\u2028" + KEY[8:], "must be Latin-1 text"),
    (KEY[:8] + "\x85" + KEY[8:], "line breaks or control characters"),
    (KEY + "\u0436", "must be Latin-1 text"),
    (KEY + "\U0001F511", "must be Latin-1 text"),
])
def test_a_key_that_cannot_be_a_header_is_refused_before_any_request(invoke, no_heroku_http, key, rule):
    result = invoke(heroku_release.main, {**RELEASE, "api_key": key, "api_url": "https://api.example.test"})
    assert result.failed
    assert result.result["msg"].startswith("api_key: ") and rule in result.result["msg"]
    assert KEY not in json.dumps(result.result) and KEY[8:] not in json.dumps(result.result)
    assert not no_heroku_http


def test_header_value_errors_are_reworded_without_the_value(monkeypatch):
    def refuse(*_args, **_kwargs):
        raise ValueError(f"Invalid header value b'Bearer {KEY}\\n'")

    monkeypatch.setattr(_heroku, "open_url", refuse)
    module = type("M", (), {"params": {"api_key": KEY, "api_url": "https://api.example.test", "validate_certs": True,
                                       "ca_path": None, "timeout": 2, "retries": 1, "retry_delay": 0.0}})()
    with pytest.raises(_heroku.HerokuError) as caught:
        _heroku.HerokuClient(module).get("/apps/{app}", app="app-one")
    assert "invalid_request: a request header value is not valid HTTP" in str(caught.value)
    assert KEY not in str(caught.value)


@pytest.mark.parametrize("url, allow, message", [
    ("http://api.example.test", False, "api_url: 'http://api.example.test' is plain http"),
    ("https://api.example.test/v3", False, "api_url: must be the API root without a path"),
    ("https://api.example.test/?x=1", False, "api_url: must not hold a query or fragment"),
    ("https://api.example.test?", False, "api_url: must not hold a query or fragment"),
    ("https://api.example.test/#top", False, "api_url: must not hold a query or fragment"),
    ("https://user:pw@api.example.test", False, "api_url: must not hold a user name or password"),
    ("https://api.example.test:99999", False, "api_url: 'https://api.example.test:99999' is not a URL"),
    ("https://", False, "api_url: must be an http(s) URL"),
    ("api.example.test", False, "api_url: must be an http(s) URL"),
    ("ftp://api.example.test", True, "api_url: must be an http(s) URL"),
])
def test_api_urls_that_would_mislead_are_refused(invoke, no_heroku_http, url, allow, message):
    result = invoke(heroku_app.main, {"name": "app-one", "api_key": KEY, "api_url": url, "allow_http": allow})
    assert result.failed
    assert message in result.result["msg"], result.result["msg"]
    assert "pw" not in result.result["msg"] and "x=1" not in result.result["msg"] and "top" not in result.result["msg"]
    assert not no_heroku_http


@pytest.mark.parametrize("url", ["https://api.example.test", "https://api.example.test/", "https://API.example.test:8443"])
def test_api_urls_that_work_today_still_do(invoke, no_heroku_http, url):
    result = invoke(heroku_run.main, {**RELEASE, "command": "true", "api_key": KEY, "api_url": url}, check=True)
    assert not result.failed, result.result


def test_http_works_when_allowed(invoke, serve):
    api = serve(json_answer(404, {"id": "not_found", "message": "none"}))
    result = invoke(heroku_app.main, {"name": "app-one", "state": "absent", "api_key": KEY, "api_url": api.url, **FAST})
    assert not result.failed and result.result["changed"] is False


# -- options the service would refuse: refused before any request -------------------------------------------------

@pytest.mark.parametrize("main, args, message", [
    (heroku_release.main, {"app": "../../account"}, "app: '../../account' is neither a Heroku app name"),
    (heroku_deploy.main, {"app": "../../account", "src": "/nonexistent"}, "app: '../../account'"),
    (heroku_logs.main, {"app": "App-One"}, "app: 'App-One'"),
    (heroku_run.main, {"app": "a", "command": "true"}, "app: 'a'"),
    (heroku_run.main, {"app": "app-one%2F..", "command": "true"}, "app: 'app-one%2F..'"),
    (heroku_release.main, {"app": "app-one", "ca_path": "/nonexistent/ca.pem"}, "ca_path: must be a PEM file"),
    (heroku_release.main, {"app": "app-one", "ca_path": "/"}, "/ is a directory"),
    (heroku_release.main, {"app": "app-one", "ca_path": __file__}, "is not a PEM file of certificate authorities"),
    (heroku_release.main, {"app": "app-one", "total_timeout": 0}, "total_timeout: must be more than 0 seconds"),
])
def test_options_the_service_would_refuse(invoke, no_heroku_http, main, args, message):
    result = invoke(main, {"api_key": KEY, "api_url": "https://api.example.test", **args})
    assert result.failed
    assert message in result.result["msg"], result.result["msg"]
    assert not no_heroku_http


def test_an_app_id_is_an_app(invoke, no_heroku_http):
    result = invoke(heroku_run.main, {"app": APP["id"], "command": "true", "api_key": KEY,
                                      "api_url": "https://api.example.test"}, check=True)
    assert not result.failed


# -- answers of the wrong shape ---------------------------------------------------------------------------------

@pytest.mark.parametrize("body, message", [
    (b"<html><body>Bad gateway</body></html>", "the answer is not JSON: <html>"),
    (b'"app-one"', "the answer is a string where an object was expected"),
    (b'[{"name": "app-one"}]', "the answer is a list where an object was expected"),
    (b"null", "the answer is null where an object was expected"),
    (b"42", "the answer is a number where an object was expected"),
    (b'{"name": "app-', "the answer is not JSON"),
    (b"", "the answer is empty; an object was expected"),
    (b"   \n", "the answer is empty"),
    (b'\xff\xfe{"name"', "the answer is not JSON"),
])
def test_an_app_answer_of_the_wrong_shape(invoke, serve, body, message):
    api = serve(raw_answer(200, body, {"Content-Type": "application/json"}))
    failed(invoke, heroku_app.main, {"name": "app-one", "api_url": api.url}, "Failed to read app 'app-one': invalid_response: ",
           message)
    assert not api.writes


@pytest.mark.parametrize("body, message", [
    (b'{"version": 1}', "the answer is an object where a list of objects was expected"),
    (b"[1, 2]", "the answer is a list where a list of objects was expected"),
    (b"", "the answer is empty; a list was expected"),
])
def test_a_list_answer_of_the_wrong_shape(invoke, serve, body, message):
    def answer(handler):
        if handler.path == "/apps/app-one":
            return 200, {}, json.dumps(APP).encode()
        return 200, {}, body

    api = serve(answer)
    failed(invoke, heroku_release.main, {**RELEASE, "api_url": api.url},
           "Failed to read releases of app 'app-one': invalid_response: ", message)


def test_a_truncated_answer(invoke, serve):
    api = serve(raw_answer(200, b'{"name": "app', {"Content-Length": "500"}))
    failed(invoke, heroku_app.main, {"name": "app-one", "api_url": api.url}, "Failed to read app 'app-one': invalid_response:")


# -- hangs ------------------------------------------------------------------------------------------------------

def releases_forever(same):
    def answer(handler):
        if handler.path == "/apps/app-one":
            return 200, {}, json.dumps(APP).encode()
        sent = handler.headers.get("Range") or "version ..; max=1"
        nxt = sent if same else f"version ]{len(handler.server.requests)}..; max=1"
        return 206, {"Next-Range": nxt}, json.dumps([{"version": len(handler.server.requests)}]).encode()
    return answer


def test_a_next_range_that_does_not_advance_is_an_error(invoke, serve):
    api = serve(releases_forever(same=True))
    failed(invoke, heroku_release.main, {**RELEASE, "api_url": api.url, "limit": 0},
           "Failed to read releases of app 'app-one': invalid_response: the API answers the same Next-Range again")
    assert len(api.requests) <= 4


def test_pagination_is_bounded(invoke, serve, monkeypatch):
    monkeypatch.setattr(_heroku, "MAX_PAGES", 5)
    api = serve(releases_forever(same=False))
    failed(invoke, heroku_release.main, {**RELEASE, "api_url": api.url, "limit": 0}, "the list goes on past 5 pages")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_refused_connection_gets_a_short_bounded_retry(invoke, monkeypatch):
    tries = []
    real = _heroku.open_url
    monkeypatch.setattr(_heroku, "open_url", lambda *a, **kw: tries.append(1) or real(*a, **kw))
    failed(invoke, heroku_release.main, {**RELEASE, "api_url": f"http://127.0.0.1:{free_port()}", "retries": 10,
                                         "retry_delay": 0.05},
           "Failed to read app 'app-one': connection_error: cannot reach http://127.0.0.1:", bound=4)
    assert len(tries) == 1 + _heroku.REFUSED_RETRIES


@pytest.fixture(name="tls", scope="module")
def tls_fixture(tmp_path_factory):
    """A server context with a self-signed certificate for 127.0.0.1 (and the certificate, to trust it)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    try:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=other.test",
                        "-addext", "subjectAltName=DNS:other.test", "-keyout", str(key), "-out", str(cert)],
                       check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"openssl cannot make a certificate: {exc}")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    return context, str(cert)


@pytest.mark.parametrize("trust", [False, True])
def test_an_untrusted_or_mismatched_certificate_fails_at_once(invoke, serve, tls, monkeypatch, trust):
    context, cert = tls
    api = serve(json_answer(200, APP), context=context)
    tries = []
    real = _heroku.open_url
    monkeypatch.setattr(_heroku, "open_url", lambda *a, **kw: tries.append(1) or real(*a, **kw))
    args = {**RELEASE, "api_url": api.url, "retries": 10, "retry_delay": 0.5, "allow_http": False}
    if trust:
        args["ca_path"] = cert  # trusted, but issued to other.test, not 127.0.0.1
    failed(invoke, heroku_release.main, args, "connection_error:", "certificate is not trusted", "set ca_path", bound=3)
    assert len(tries) == 1
    assert not api.requests


def test_a_server_that_never_answers_is_bounded_by_total_timeout(invoke, serve):
    def stall(_handler):
        time.sleep(3)
        return None, {}, b""

    api = serve(stall)
    msg = failed(invoke, heroku_release.main, {**RELEASE, "api_url": api.url, "timeout": 1, "total_timeout": 2,
                                               "retries": 10, "retry_delay": 0.1}, "Failed to read app 'app-one': ", bound=4)
    assert "timeout" in msg


def test_a_retry_after_beyond_total_timeout_fails_at_once(invoke, serve):
    api = serve(json_answer(503, {"id": "unavailable", "message": "later"}, {"Retry-After": "60"}))
    failed(invoke, heroku_release.main, {**RELEASE, "api_url": api.url, "total_timeout": 30},
           "Failed to read app 'app-one': timeout: gave up after 0 s and 1 tries (HTTP 503); Retry-After 60 s would pass "
           "total_timeout (30 s)", bound=3)
    assert len(api.requests) == 1


def test_retries_stop_at_total_timeout(invoke, serve):
    api = serve(json_answer(503, {"id": "unavailable", "message": "later"}, {"Retry-After": "0.4"}))
    failed(invoke, heroku_release.main, {**RELEASE, "api_url": api.url, "total_timeout": 1, "retries": 50},
           "timeout: gave up after", "Retry-After 0.4 s would pass total_timeout (1 s)", bound=3)
    assert 2 <= len(api.requests) <= 4


def test_a_write_is_not_repeated_after_a_connection_error(monkeypatch):
    tries = []

    def refuse(*_args, **_kwargs):
        tries.append(1)
        raise urllib.error.URLError(ConnectionResetError("reset"))

    monkeypatch.setattr(_heroku, "open_url", refuse)
    module = type("M", (), {"params": {"api_key": KEY, "api_url": "https://api.example.test", "validate_certs": True,
                                       "ca_path": None, "timeout": 2, "retries": 3, "retry_delay": 0.0}})()
    with pytest.raises(_heroku.HerokuError, match="connection_error"):
        _heroku.HerokuClient(module).post("/apps", {}, app="app-one")
    assert len(tries) == 1


# -- heroku_deploy: special files in the source ----------------------------------------------------------------

def test_a_socket_in_the_source_is_a_clean_message(invoke, tmp_path, no_heroku_http):
    (tmp_path / "Procfile").write_text("web: true\n")
    sock = socket.socket(socket.AF_UNIX)
    here = os.getcwd()
    try:
        os.chdir(tmp_path)
        sock.bind("app.sock")
    finally:
        os.chdir(here)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    try:
        result = invoke(heroku_deploy.main, {"app": "app-one", "src": str(tmp_path), "api_key": KEY,
                                             "api_url": "https://api.example.test"})
    finally:
        sock.close()
    assert result.failed
    assert result.result["msg"].startswith("src: cannot pack ")
    assert "Traceback" not in result.result["msg"]
    assert not no_heroku_http


# -- check mode predicts what the service would refuse ---------------------------------------------------------------

@pytest.mark.parametrize("main, args, message", [
    (heroku_app.main, {"name": "app-one", "formation": [{"type": "web", "quantity": 10 ** 9}]},
     "formation[0].quantity: must be at most 100"),
    (heroku_app.main, {"name": "app-one", "formation": [{"type": "web", "size": " "}]}, "formation[0].size: must not be empty"),
    (heroku_app.main, {"name": "app-one", "buildpacks": ["heroku/jvm", ""]}, "buildpacks[1]: must not be empty"),
    (heroku_app.main, {"name": "app-one", "buildpacks": ["ftp://packs.example.test/jvm.tgz"]},
     "buildpacks[0]: 'ftp://packs.example.test/jvm.tgz' is not an http(s) URL"),
    (heroku_app.main, {"name": "app-one", "buildpacks": ["https://"]}, "buildpacks[0]: 'https://' is not an http(s) URL"),
    (heroku_app.main, {"name": "app-one", "buildpacks": ["heroku/ jvm"]}, "buildpacks[0]: 'heroku/ jvm' must not hold white space"),
    (heroku_deploy.main, {"app": "app-one", "src": "/nonexistent", "buildpacks": [""]}, "buildpacks[0]: must not be empty"),
    (heroku_run.main, {"app": "app-one", "command": "true", "time_to_live": 86401}, "time_to_live: must be at most 86400"),
    (heroku_run.main, {"app": "app-one", "command": "true", "size": ""}, "size: must not be empty"),
])
@pytest.mark.parametrize("check", [True, False])
def test_values_the_api_refuses_are_refused_in_check_mode_too(invoke, no_heroku_http, main, args, message, check):
    result = invoke(main, {"api_key": KEY, "api_url": "https://api.example.test", **args}, check=check)
    assert result.failed
    assert message in result.result["msg"], result.result["msg"]
    assert not no_heroku_http


def fake_app(formation_size="Eco", quantity=1):
    """A small Heroku: app-one with a web formation; dyno sizes basic and standard-1X (and eco)."""
    sizes = {"eco": "Eco", "basic": "Basic", "standard-1x": "Standard-1X"}

    def answer(handler):
        path = handler.path
        if path.startswith("/dyno-sizes/"):
            name = sizes.get(path.rsplit("/", 1)[1].lower())
            if name is None:
                return 404, {}, b'{"id": "not_found", "message": "Couldn\'t find that dyno size."}'
            return 200, {}, json.dumps({"name": name}).encode()
        if path == "/apps/app-one":
            return 200, {}, json.dumps(APP).encode()
        if path.endswith("/config-vars"):
            return 200, {}, b"{}"
        if path.endswith("/buildpack-installations"):
            return 200, {}, b"[]"
        if path.endswith("/formation"):
            return 200, {}, json.dumps([{"type": "web", "quantity": quantity, "dyno_size": {"name": formation_size}}]).encode()
        if path.endswith("/releases"):
            return 200, {}, b"[]"
        return 404, {}, b'{"id": "not_found", "message": "no"}'
    return answer


@pytest.mark.parametrize("check", [True, False])
@pytest.mark.parametrize("entry, message", [
    ({"type": "web", "size": "huge-9X"}, "formation[0].size: 'huge-9X' is not a Heroku dyno size"),
    ({"type": "web", "quantity": 3}, "formation[0].quantity: at most 1 dyno of size eco per process type, got 3"),
    ({"type": "web", "quantity": 2, "size": "eco"}, "formation[0].quantity: at most 1 dyno of size eco"),
])
def test_formation_is_checked_against_the_service_in_check_mode_too(invoke, serve, check, entry, message):
    api = serve(fake_app())
    failed(invoke, heroku_app.main, {"name": "app-one", "api_url": api.url, "formation": [entry]}, message)
    assert not api.writes


def test_a_known_size_still_scales_in_check_mode(invoke, serve):
    api = serve(fake_app())
    result = invoke(heroku_app.main, {"name": "app-one", "api_url": api.url, "api_key": KEY, **FAST,
                                      "formation": [{"type": "web", "quantity": 2, "size": "basic"}]}, check=True)
    assert not result.failed, result.result
    assert result.result["changed"] is True
    assert "/dyno-sizes/basic" in [r["path"] for r in api.requests]
    assert not api.writes


@pytest.mark.parametrize("check", [True, False])
def test_heroku_run_checks_the_size_before_starting_a_dyno(invoke, serve, check):
    api = serve(fake_app())
    failed(invoke, heroku_run.main, {"app": "app-one", "api_url": api.url, "command": "true", "size": "huge-9X"},
           "size: 'huge-9X' is not a Heroku dyno size")
    assert not api.writes


# -- heroku_run: exit status, output, time ----------------------------------------------------------------------------

@pytest.mark.parametrize("command, output, status", [
    ("echo hi", "hi\n", 0),
    ("echo hi # a comment", "hi\n", 0),
    ("exit 3", "", 3),
    ("echo one; exit 4", "one\n", 4),
    ("sleep 0 &", "", 0),
    ("false", "", 1),
    ("echo a\necho b", "a\nb\n", 0),
    ("echo 'a;b' && (exit 2)", "a;b\n", 2),
    ("exec sh -c 'exit 5'", "", 5),
])
def test_the_exit_marker_survives_comments_background_and_exit(command, output, status):
    wrapped = heroku_run.with_exit_marker(command)
    done = subprocess.run(["bash", "-c", wrapped], capture_output=True, check=False, timeout=10)
    assert _heroku.parse_exit_status(done.stdout.decode()) == (output, status)


def test_heroku_run_returns_bytes_that_are_not_utf8_as_text(invoke, monkeypatch, serve):
    api = serve(json_answer(201, {"name": "run.1", "attach_url": "rendezvous://127.0.0.1:1/secret"}))
    monkeypatch.setattr(_heroku.HerokuClient, "rendezvous",
                        lambda *_a, **_kw: b"caf\xe9 \xff\xfe ok\n\xef\xbf\xbf heroku-command-exit-status: 0\n")
    result = run(invoke, heroku_run.main, {"app": "app-one", "api_url": api.url, "command": "cat latin1.txt"})
    assert not result.failed, result.result
    assert result.result["stdout"] == "caf\ufffd \ufffd\ufffd ok\n"
    json.dumps(result.result)


def test_heroku_run_says_it_timed_out(invoke, monkeypatch, serve, tls):
    context, cert = tls
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop = threading.Event()

    def rendezvous():
        conn, _addr = listener.accept()
        with context.wrap_socket(conn, server_side=True) as tls_conn:
            tls_conn.recv(100)
            tls_conn.sendall(b"rendezvous\r\nstarted\n")
            stop.wait(10)

    thread = threading.Thread(target=rendezvous, daemon=True)
    thread.start()
    api = serve(json_answer(201, {"name": "run.1", "attach_url": f"rendezvous://127.0.0.1:{port}/secret"}))
    monkeypatch.setattr(_heroku.HerokuClient, "ssl_context", lambda self: ssl._create_unverified_context())
    try:
        failed(invoke, heroku_run.main, {"app": "app-one", "api_url": api.url, "command": "sleep 60", "wait_timeout": 1},
               "timed out after 1 s", "wait_timeout", bound=5)
    finally:
        stop.set()
        listener.close()
    assert cert


def test_heroku_deploy_reads_the_newest_builds_only(monkeypatch):
    asked = []

    class Client:
        def request(self, method, template, range_header=None, **params):
            asked.append((method, template, range_header, params))
            return 206, {}, [{"status": "succeeded", "slug": {"id": "s2"}, "id": "b2"},
                             {"status": "succeeded", "slug": {"id": "s1"}, "id": "b1"}]

    assert heroku_deploy.released_build(Client(), "app-one", {"slug": {"id": "s1"}})["id"] == "b1"
    assert asked == [("GET", "/apps/{app}/builds", f"started_at ..; order=desc, max={heroku_deploy.BUILDS_LOOKED_AT}",
                      {"app": "app-one"})]
    assert heroku_deploy.released_build(Client(), "app-one", {"slug": {"id": "s9"}}) is None


@pytest.mark.parametrize("body, message", [
    ({"name": "run.1"}, "the answer has no logplex_url"),
    ({"logplex_url": None}, "the answer has no logplex_url"),
])
def test_a_log_session_without_its_url(invoke, serve, body, message):
    api = serve(json_answer(201, body))
    failed(invoke, heroku_logs.main, {**RELEASE, "api_url": api.url},
           "Failed to open log session of app 'app-one': invalid_response: ", message)


def test_a_release_list_without_versions(invoke, serve):
    def answer(handler):
        if handler.path == "/apps/app-one":
            return 200, {}, json.dumps(APP).encode()
        return 200, {}, b'[{"version": 2}, {"description": "no version"}]'

    api = serve(answer)
    failed(invoke, heroku_release.main, {**RELEASE, "api_url": api.url}, "Failed to read releases of app 'app-one': "
           "invalid_response: the answer has no version")


def test_a_source_upload_without_urls(invoke, serve, tmp_path):
    (tmp_path / "Procfile").write_text("web: true\n")

    def answer(handler):
        if handler.path == "/apps/app-one":
            return 200, {}, json.dumps(APP).encode()
        if handler.path.endswith("/releases") or handler.path.endswith("/builds"):
            return 200, {}, b"[]"
        if handler.path == "/sources":
            return 201, {}, b'{"source_blob": {"get_url": "https://blobs.example.test/g"}}'
        return 404, {}, b'{"id": "not_found", "message": "no"}'

    api = serve(answer)
    failed(invoke, heroku_deploy.main, {"app": "app-one", "src": str(tmp_path), "api_url": api.url},
           "Failed to create source upload for app 'app-one': invalid_response: the answer has no source_blob.put_url")
    assert [r["path"] for r in api.writes] == ["/sources"]
