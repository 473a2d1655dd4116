# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""examples/hello-jvm's SockJS-shaped endpoint (src/main/java/jvmops/hello/SockJs.java), which the lab uses to show
session affinity through HAProxy and Nginx: POST /sockjs/<server>/<session>/xhr_streaming streams the prelude, the
open frame `o` and heartbeats; POST .../xhr_send answers the host's name; every answer names the host in X-Served-By.

Built and run as tests/unit/examples/test_hello_jvm.py does (its helpers). Needs a JDK 17 on PATH.
"""

from __future__ import annotations

import http.client
import signal
import socket
import time

import pytest

from test_hello_jvm import copy_app, require_jdk, run_build, start_server, wait_for

PRELUDE = b"h" * 2048 + b"\n"


@pytest.fixture(name="app", scope="module")
def app_fixture(tmp_path_factory):
    require_jdk()
    app = copy_app(tmp_path_factory.mktemp("hello") / "hello-jvm")
    result = run_build(app)
    assert result.returncode == 0, result.stdout + result.stderr
    return app


@pytest.fixture(name="work", scope="module")
def work_fixture(app, tmp_path_factory):
    work = tmp_path_factory.mktemp("work")
    (work / "public").mkdir()
    (work / "public" / "index.html").write_text("<p>hello</p>\n")
    del app
    return work


@pytest.fixture(name="server", scope="module")
def server_fixture(app, work):
    server = start_server(app, work)
    yield server
    server.stop()


def post(server, path, body=b"", timeout=10):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    conn.request("POST", path, body=body, headers={"Content-Type": "text/plain"})
    return conn, conn.getresponse()


def read_exactly(resp, size):
    data = b""
    while len(data) < size:
        chunk = resp.read1(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def test_xhr_send_answers_the_host_name(server):
    conn, resp = post(server, "/sockjs/123/abcdef/xhr_send", b'["hello"]')
    try:
        assert resp.status == 200
        assert resp.read() == f"{socket.gethostname()}\n".encode()
        assert resp.getheader("X-Served-By") == socket.gethostname()
        assert "no-store" in resp.getheader("Cache-Control")
    finally:
        conn.close()


def test_xhr_streaming_sends_the_prelude_the_open_frame_and_heartbeats(server):
    conn, resp = post(server, "/sockjs/123/abcdef/xhr_streaming?heartbeat=50")
    try:
        assert resp.status == 200
        assert resp.getheader("Content-Type") == "application/javascript; charset=UTF-8"
        assert resp.getheader("Transfer-Encoding") == "chunked"
        assert resp.getheader("X-Served-By") == socket.gethostname()
        assert resp.getheader("X-Accel-Buffering") == "no"
        assert read_exactly(resp, len(PRELUDE) + 2) == PRELUDE + b"o\n"
        started = time.monotonic()
        assert read_exactly(resp, 6) == b"h\nh\nh\n"  # three heartbeats, 50 ms apart
        assert time.monotonic() - started < 5
    finally:
        conn.close()


def test_open_streams_hold_no_worker_thread(server):
    """More open streams than the app has HTTP worker threads (64), and requests are still answered."""
    streams = [post(server, f"/sockjs/1/s{n}/xhr_streaming?heartbeat=60000") for n in range(70)]
    try:
        for _conn, resp in streams:
            assert resp.status == 200
            assert read_exactly(resp, len(PRELUDE) + 2).endswith(b"o\n")
        conn, resp = post(server, "/sockjs/1/other/xhr_send")
        assert resp.status == 200
        conn.close()
    finally:
        for conn, _resp in streams:
            conn.close()


@pytest.mark.parametrize("method, path, status, allow", [
    ("GET", "/sockjs/123/abcdef/xhr_streaming", 405, "POST"),
    ("GET", "/sockjs/123/abcdef/xhr_send", 405, "POST"),
    ("POST", "/sockjs/123/abcdef/websocket", 404, None),
    ("POST", "/sockjs/123/xhr_send", 404, None),
    ("POST", "/sockjs/1.2/abcdef/xhr_send", 404, None),
    ("POST", "/sockjs/123/abcdef/xhr_streaming?heartbeat=soon", 400, None),
])
def test_other_requests_are_refused(server, method, path, status, allow):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        resp.read()
        assert resp.status == status
        assert resp.getheader("Allow") == allow
        assert resp.getheader("X-Served-By") == socket.gethostname()
    finally:
        conn.close()


def test_a_stream_ends_with_a_close_frame_when_the_app_stops(app, work):
    server = start_server(app, work)
    conn = None
    try:
        conn, resp = post(server, "/sockjs/123/abcdef/xhr_streaming?heartbeat=100")
        assert read_exactly(resp, len(PRELUDE) + 2) == PRELUDE + b"o\n"
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(timeout=15) == 0, server.log_text()
        rest = resp.read()  # to the end of the chunked body
        assert rest.replace(b"h\n", b"") == b'c[3000,"Go away!"]\n', rest
        wait_for(lambda: "INFO hello-jvm stopped" in server.log_text(), 5, "the stop to be logged")
    finally:
        if conn is not None:
            conn.close()
        server.stop()
