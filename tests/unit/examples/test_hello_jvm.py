# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""examples/hello-jvm, the sample application: build.sh (idempotent, reproducible) and the running server.

The application is built into a temporary copy (the repository gets no build output) and run with
`java -cp <jar>:<config> jvmops.hello.Main` in a working directory holding public/, as a package would.
Needs a JDK 17 (javac, jar, java) on PATH.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import zipfile
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

import pytest

APP = Path(__file__).resolve().parents[3] / "examples" / "hello-jvm"
SECRET = "TOPSECRET-outside-public"
BUILT = re.compile(r"^hello-jvm: built (\S+) \(([0-9a-f]{12})\)$")


def wait_for(condition, timeout, what):
    """Poll condition() until it returns something true; fail with `what` after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def run_build(app, *args):
    # From another directory: build.sh must find its own.
    return subprocess.run([str(app / "build.sh"), *args], cwd=app.parent, capture_output=True, text=True, timeout=300, check=False)


def copy_app(dest):
    shutil.copytree(APP, dest, ignore=shutil.ignore_patterns("build"))
    return dest


def jar_properties(jar, name):
    with zipfile.ZipFile(jar) as archive:
        text = archive.read(name).decode()
    props = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=" if name.endswith(".properties") else ": ")
        if sep:
            props[key.strip()] = value.strip()
    return props


class Build(NamedTuple):
    app: Path
    stdout: str
    finished: float


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """One running hello-jvm process, its port and its log (stdout and stderr)."""

    def __init__(self, proc, port, log):
        self.proc = proc
        self.port = port
        self.log = log

    def request(self, method, path, timeout=10):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path)
            resp = conn.getresponse()
            return resp.status, resp, resp.read()
        finally:
            conn.close()

    def log_text(self):
        return self.log.read_text(errors="replace")

    def health(self):
        try:
            return self.request("GET", "/health", timeout=2)[0]
        except OSError:
            return None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)


def start_server(app, work, config=None, port=None, **env):
    """Start the app (on a free port, given as env PORT, unless told otherwise); wait until it answers /health itself.

    env: extra environment variables; None removes one (PORT=None: the port comes from application.properties).
    """
    port = port or free_port()
    environ = {k: v for k, v in os.environ.items() if k not in ("PORT", "HOST", "LOG_LEVEL", "JAVA_TOOL_OPTIONS")}
    environ.update({"PORT": str(port), "HOST": "127.0.0.1"})
    environ.update(env)
    environ = {k: v for k, v in environ.items() if v is not None}
    classpath = os.pathsep.join([str(app / "build" / "hello-jvm.jar"), str(config or app / "config")])
    log = work / f"server-{port}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(["java", "-cp", classpath, "jvmops.hello.Main"], cwd=work, env=environ,  # pylint: disable=consider-using-with
                                stdout=out, stderr=subprocess.STDOUT)
    server = Server(proc, port, log)

    def up():
        if proc.poll() is not None:
            raise AssertionError(f"hello-jvm exited with {proc.returncode}:\n{server.log_text()}")
        return server.health() == 200

    try:
        wait_for(up, 60, f"/health on port {port}")
        # The answer must come from this process, not from something else on the port.
        assert json.loads(server.request("GET", "/version")[2])["pid"] == proc.pid
    except BaseException:
        server.stop()
        raise
    return server


def require_jdk():
    missing = [tool for tool in ("javac", "jar", "java") if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"the hello-jvm tests need a JDK 17 on PATH (openjdk-17-jdk-headless); missing: {', '.join(missing)}")


@pytest.fixture(name="built", scope="module")
def built_fixture(tmp_path_factory):
    require_jdk()
    app = copy_app(tmp_path_factory.mktemp("hello") / "hello-jvm")
    result = run_build(app)
    assert result.returncode == 0, result.stdout + result.stderr
    return Build(app, result.stdout, time.time())


@pytest.fixture(name="app", scope="module")
def app_fixture(built):
    return built.app


@pytest.fixture(name="work", scope="module")
def work_fixture(app, tmp_path_factory):
    """A working directory like a package's: public/ here, and a file next to it that must stay private."""
    work = tmp_path_factory.mktemp("work")
    shutil.copytree(app / "public", work / "public")
    (work / "secret.txt").write_text(SECRET + "\n")
    (work / "public" / "leak.txt").symlink_to(work / "secret.txt")
    return work


@pytest.fixture(name="server", scope="module")
def server_fixture(app, work):
    server = start_server(app, work)
    yield server
    server.stop()


def test_build_writes_version_and_build_id_into_the_jar(built):
    app, stdout = built.app, built.stdout
    version = (app / "VERSION").read_text().strip()
    match = BUILT.match(stdout.strip())
    assert match, stdout
    assert match.group(1) == version
    jar = app / "build" / "hello-jvm.jar"
    props = jar_properties(jar, "build.properties")
    assert props == {"version": version, "build": match.group(2)}
    manifest = jar_properties(jar, "META-INF/MANIFEST.MF")
    assert manifest["Main-Class"] == "jvmops.hello.Main"
    assert manifest["Implementation-Title"] == "hello-jvm"
    assert manifest["Implementation-Version"] == version


def test_second_build_is_up_to_date_and_a_forced_rebuild_is_byte_identical(built):
    app = built.app
    jar = app / "build" / "hello-jvm.jar"
    before = jar.read_bytes()
    again = run_build(app)
    assert again.returncode == 0, again.stderr
    assert again.stdout == "hello-jvm: up to date\n"
    (app / "build" / ".inputs").unlink()
    # Zip entry times have a 2 s resolution: rebuild later than that, so build times in the jar would show.
    wait_for(lambda: time.time() > built.finished + 2.5, 10, "a later zip timestamp")
    forced = run_build(app)
    assert forced.returncode == 0, forced.stderr
    assert BUILT.match(forced.stdout.strip()), forced.stdout
    assert jar.read_bytes() == before


def test_version_option_and_source_changes_make_a_new_build(built, tmp_path):
    app = copy_app(tmp_path / "hello-jvm")
    default_build = BUILT.match(built.stdout.strip()).group(2)
    result = run_build(app, "--version", "2.0.0")
    assert result.returncode == 0, result.stderr
    match = BUILT.match(result.stdout.strip())
    assert match and match.group(1) == "2.0.0" and match.group(2) != default_build, result.stdout
    assert jar_properties(app / "build" / "hello-jvm.jar", "build.properties")["version"] == "2.0.0"

    main = app / "src" / "main" / "java" / "jvmops" / "hello" / "Main.java"
    main.write_text(main.read_text() + "// changed\n")
    changed = run_build(app, "--version", "2.0.0")
    assert changed.returncode == 0, changed.stderr
    assert BUILT.match(changed.stdout.strip()).group(2) not in (default_build, match.group(2)), changed.stdout


def test_compile_error_fails_the_build_with_a_message(tmp_path):
    require_jdk()
    app = copy_app(tmp_path / "hello-jvm")
    main = app / "src" / "main" / "java" / "jvmops" / "hello" / "Main.java"
    main.write_text(main.read_text().replace("public static void main", "public static void main oops"))
    result = run_build(app)
    assert result.returncode != 0
    assert "compilation failed" in result.stderr
    assert "Main.java" in result.stderr
    assert not (app / "build" / "hello-jvm.jar").exists()
    assert not (app / "build" / ".inputs").exists()


def test_startup_is_logged_in_one_line_format(server):
    version = (APP / "VERSION").read_text().strip()
    line = rf"^\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\dZ INFO hello-jvm {re.escape(version)} \([0-9a-f]{{12}}\) "
    line += rf"listening on 127\.0\.0\.1:{server.port}, pid {server.proc.pid}\b"
    assert re.search(line, server.log_text(), re.MULTILINE), server.log_text()


def test_health(server):
    status, resp, body = server.request("GET", "/health")
    assert (status, body) == (200, b"OK\n")
    assert resp.getheader("Content-Type").startswith("text/plain")
    status, resp, body = server.request("HEAD", "/health")
    assert (status, body, resp.getheader("Content-Length")) == (200, b"", "3")


def test_version_reports_the_build(server, app):
    status, resp, body = server.request("GET", "/version")
    assert status == 200
    assert resp.getheader("Content-Type") == "application/json"
    info = json.loads(body)
    props = jar_properties(app / "build" / "hello-jvm.jar", "build.properties")
    assert info["name"] == "hello-jvm"
    assert info["version"] == (app / "VERSION").read_text().strip()
    assert info["build"] == props["build"]
    assert info["pid"] == server.proc.pid
    assert datetime.fromisoformat(info["started"].replace("Z", "+00:00")).tzinfo is not None
    assert re.match(r"^\d+(\.\d+)*", info["java"])


@pytest.mark.parametrize("path, file, content_type", [
    ("/", "index.html", "text/html"),
    ("/css/style.css", "css/style.css", "text/css"),
    ("/js/app.js", "js/app.js", "text/javascript"),
])
def test_static_files(server, work, path, file, content_type):
    expected = (work / "public" / file).read_bytes()
    status, resp, body = server.request("GET", path)
    assert (status, body) == (200, expected)
    assert resp.getheader("Content-Type").startswith(content_type)
    assert resp.getheader("Content-Length") == str(len(expected))
    status, resp, body = server.request("HEAD", path)
    assert (status, body, resp.getheader("Content-Length")) == (200, b"", str(len(expected)))


def test_missing_file_is_404(server):
    status, body = server.request("GET", "/no/such/file.css")[::2]
    assert (status, body) == (404, b"Not Found\n")


@pytest.mark.parametrize("method, path", [("POST", "/health"), ("DELETE", "/"), ("PUT", "/version"), ("POST", "/events")])
def test_unsupported_method_is_405(server, method, path):
    status, resp = server.request(method, path)[:2]
    assert status == 405
    assert "GET" in resp.getheader("Allow")


@pytest.mark.parametrize("path", [
    "/../secret.txt", "/css/../../secret.txt", "/./../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E/secret.txt",
    "/..%2fsecret.txt", "/%2e%2e%2fsecret.txt", "/css/..%2F..%2Fsecret.txt", "/..\\secret.txt", "/..%5csecret.txt",
    "/%252e%252e/secret.txt", "/%c0%ae%c0%ae/secret.txt", "/secret.txt%00.html", "//../secret.txt", "/leak.txt",
])
def test_path_traversal_is_refused(server, work, path):
    # The file is really there, one level above public/, where a naive join would find it.
    assert SECRET in (work / "public" / ".." / "secret.txt").read_text()
    status, body = server.request("GET", path)[::2]
    assert status in (400, 403, 404), (status, body)
    assert SECRET.encode() not in body


def test_keep_alive_reuses_one_connection(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        statuses, sockets = [], set()
        for path in ["/health", "/version", "/css/style.css", "/missing", "/health"] * 4:
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            statuses.append(resp.status)
            sockets.add(id(conn.sock))
        assert statuses.count(200) == 16 and statuses.count(404) == 4
        assert len(sockets) == 1 and conn.sock is not None
    finally:
        conn.close()


def read_events(resp, count):
    """The first `count` non-empty lines of an event stream."""
    lines = []
    while len(lines) < count:
        line = resp.readline()
        assert line, f"stream ended after {lines}"
        if line.strip():
            lines.append(line.decode().rstrip("\n"))
    return lines


def test_events_stream_ticks(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("GET", "/events?interval=20")
        resp = conn.getresponse()
        assert resp.status == 200
        assert resp.getheader("Content-Type").startswith("text/event-stream")
        assert resp.getheader("Cache-Control") == "no-cache"
        assert resp.getheader("Content-Length") is None
        assert read_events(resp, 4) == [": connected", "data: tick 1", "data: tick 2", "data: tick 3"]
    finally:
        conn.close()


def test_open_event_streams_hold_no_worker_threads(server):
    # More streams than the 64 HTTP worker threads: each must still be answered, and so must /health.
    streams = []
    try:
        while len(streams) < 100:
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            streams.append(sock)
            sock.sendall(b"GET /events?interval=5000 HTTP/1.1\r\nHost: test\r\n\r\n")
        for sock in streams:
            received = b""
            while b": connected" not in received:
                chunk = sock.recv(4096)
                assert chunk, received
                received += chunk
        started = time.monotonic()
        assert server.request("GET", "/health", timeout=5)[0] == 200
        assert time.monotonic() - started < 2
    finally:
        for sock in streams:
            sock.close()


def test_requests_are_not_logged_at_info(app, work):
    server = start_server(app, work)
    try:
        server.request("GET", "/health?probe=info")
        # After the exit the log is complete: nothing can still be on its way.
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(timeout=15) == 0
        assert "INFO hello-jvm stopped" in server.log_text()
        assert "/health?probe=info" not in server.log_text()
    finally:
        server.stop()


def test_log_level_debug_logs_each_request(app, work):
    server = start_server(app, work, LOG_LEVEL="DEBUG")
    try:
        server.request("GET", "/health?probe=debug")
        wait_for(lambda: re.search(r'^\S+Z DEBUG 127\.0\.0\.1 "GET /health\?probe=debug HTTP/1\.1" 200 3 ',
                                   server.log_text(), re.MULTILINE), 10, "the request line in the log")
    finally:
        server.stop()


def test_settings_come_from_the_config_directory_on_the_class_path(app, work, tmp_path):
    port = free_port()
    config = tmp_path / "config"
    config.mkdir()
    (config / "application.properties").write_text(f"http.port={port}\nhttp.host=127.0.0.1\n")
    (config / "logback.xml").write_text((app / "config" / "logback.xml").read_text().replace('level="INFO"', 'level="DEBUG"'))
    server = start_server(app, work, config=config, port=port, PORT=None, HOST=None)
    try:
        assert server.port == port
        server.request("GET", "/health?probe=logback")
        wait_for(lambda: '"GET /health?probe=logback HTTP/1.1" 200' in server.log_text(), 10, "the request line in the log")
    finally:
        server.stop()


@pytest.mark.parametrize("port", ["abc", "0", "70000"])
def test_invalid_port_exits_2_with_a_message(app, work, port):
    env = {k: v for k, v in os.environ.items() if k not in ("HOST", "LOG_LEVEL", "JAVA_TOOL_OPTIONS")}
    env["PORT"] = port
    classpath = os.pathsep.join([str(app / "build" / "hello-jvm.jar"), str(app / "config")])
    result = subprocess.run(["java", "-cp", classpath, "jvmops.hello.Main"], cwd=work, env=env, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"invalid PORT '{port}'" in result.stderr
    assert "Exception" not in result.stderr and "\tat " not in result.stderr


def test_sigterm_ends_event_streams_and_exits_0(app, work):
    server = start_server(app, work)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("GET", "/events?interval=50")
        resp = conn.getresponse()
        assert read_events(resp, 2) == [": connected", "data: tick 1"]
        started = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(timeout=15) == 0, server.log_text()
        assert time.monotonic() - started < 5
        rest = resp.read()  # the stream ends: a last event, then the end of the chunked body
        assert b"event: shutdown" in rest
        assert "INFO hello-jvm stopped" in server.log_text()
    finally:
        conn.close()
        server.stop()


def test_health_answers_503_while_shutting_down(app, work, tmp_path):
    config = tmp_path / "config"
    shutil.copytree(app / "config", config)
    props = config / "application.properties"
    props.write_text(props.read_text().replace("shutdown.delay=0", "shutdown.delay=3000"))
    server = start_server(app, work, config=config)
    try:
        server.proc.send_signal(signal.SIGTERM)
        wait_for(lambda: server.health() == 503, 10, "/health to answer 503")
        assert server.proc.wait(timeout=15) == 0, server.log_text()
        assert server.health() is None  # nothing listens any more
    finally:
        server.stop()


@pytest.mark.parametrize("args, returncode, out", [
    (["demo", "100"], 0, "0 1 1 2 3 5 8 13 21 34 55 89\n"),
    (["demo", "1"], 0, "0\n"),
    (["demo", "0"], 0, "\n"),
    (["demo"], 2, ""),
    (["demo", "ten"], 2, ""),
])
def test_demo_one_off_prints_the_fibonacci_numbers_below_n(app, args, returncode, out):
    classpath = os.pathsep.join([str(app / "build" / "hello-jvm.jar"), str(app / "config")])
    result = subprocess.run(["java", "-cp", classpath, "jvmops.hello.Main", *args], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == returncode, result.stdout + result.stderr
    assert result.stdout == out
    if returncode:
        assert "usage: demo N" in result.stderr


def test_property_values_take_variables_from_the_environment(app, work, tmp_path):
    config = tmp_path / "config"
    config.mkdir()
    (config / "application.properties").write_text("http.port=${JVMOPS_TEST_PORT:-8000}\nhttp.host=127.0.0.1\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PORT", "HOST", "LOG_LEVEL", "JAVA_TOOL_OPTIONS")}
    env["JVMOPS_TEST_PORT"] = "70000"
    classpath = os.pathsep.join([str(app / "build" / "hello-jvm.jar"), str(config)])
    result = subprocess.run(["java", "-cp", classpath, "jvmops.hello.Main"], cwd=work, env=env, capture_output=True, text=True,
                            timeout=60, check=False)
    # The variable's value reached the port check (70000 is refused), so it was substituted.
    assert result.returncode == 2, result.stdout + result.stderr
    assert "70000" in result.stderr
