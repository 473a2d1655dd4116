# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's load generator counts what it must: failures, and retries after a closed keep-alive connection."""

from __future__ import annotations

import importlib.util
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

SPEC = importlib.util.spec_from_file_location("jvmops_loadgen", Path(__file__).resolve().parents[2] / "lab" / "loadgen.py")
loadgen = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(loadgen)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    status = 200
    close_every = 0  # close the connection silently after this many responses (0: never)
    served = 0

    def log_message(self, *args):
        del args

    def do_GET(self):  # noqa: N802 (the http.server API)
        if self.path.startswith("/events"):
            self.events()
            return
        body = b"OK\n"
        self.send_response(self.status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        type(self).served += 1
        if self.close_every and type(self).served % self.close_every == 0:
            # As a server whose keep-alive timeout expires: close without a word.
            self.close_connection = True

    def events(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        try:
            self.wfile.write(b": connected\n\n")
            for tick in range(1, self.server.ticks + 1):
                self.wfile.write(f"data: tick {tick}\n\n".encode())
                self.wfile.flush()
                time.sleep(0.05)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client closed the stream


@pytest.fixture(name="serve")
def serve_fixture():
    servers = []

    def serve(**attrs):
        handler = type("H", (Handler,), dict(attrs, served=0))
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        server.ticks = attrs.get("ticks", 1000)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def test_healthy_server_reuses_connections(serve):
    with loadgen.LoadGenerator([serve()], workers=2) as load:
        assert load.wait_for_requests(200, timeout=10)
    report = load.report()
    assert report["failures"] == 0 and report["retries"] == 0, report
    assert report["statuses"] == {"200": report["requests"]}
    assert report["connections_opened"] <= 4


def test_rate_bounds_the_requests(serve):
    with loadgen.LoadGenerator([serve()], workers=2, rate=50) as load:
        time.sleep(1)
    assert 30 <= load.report()["requests"] <= 70, load.report()


def test_5xx_answers_are_failures(serve):
    with loadgen.LoadGenerator([serve(status=503)], workers=1) as load:
        assert load.wait_for_requests(5, timeout=10)
    report = load.report()
    assert report["failures"] == report["requests"] and "http_503" in report["failure_kinds"], report


def test_silently_closed_keep_alive_connections_are_retried_not_failed(serve):
    with loadgen.LoadGenerator([serve(close_every=3)], workers=1) as load:
        assert load.wait_for_requests(60, timeout=10)
    report = load.report()
    assert report["failures"] == 0, report
    assert report["retries"] > 0, report


def test_refused_connections_are_failures():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with loadgen.LoadGenerator([f"http://127.0.0.1:{port}"], workers=1) as load:
        assert load.wait_for_requests(3, timeout=10)
    report = load.report()
    assert report["failure_kinds"].get("refused") == report["requests"], report
    assert report["retries"] == 0


def test_stream_watcher_sees_ticks_and_our_close_is_not_an_end(serve):
    watcher = loadgen.EventStreamWatcher(serve())
    watcher.start()
    assert watcher.wait_open(5)
    assert watcher.wait_ticks(5, 5)
    watcher.close()
    assert not watcher.ended and watcher.end_reason is None


def test_stream_watcher_records_the_server_ending_the_stream(serve):
    watcher = loadgen.EventStreamWatcher(serve(ticks=3))
    watcher.start()
    assert not watcher.wait_ticks(10, 5)
    assert watcher.ended and watcher.end_reason == "EOF" and watcher.ticks == 3
    assert not watcher.is_alive()
