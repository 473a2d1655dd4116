# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A bounded HTTP load generator and an event stream watcher, for scenarios that must lose no request.

    python tests/lab/loadgen.py http://10.213.7.10 http://10.213.7.10:8080 --duration 10 [--rate 300]

Each worker thread keeps one keep-alive connection and sends GET requests at a shared, bounded rate.
Counting follows RFC 9112, 9.3.1: a request that dies on a *reused* connection before any byte of the
response arrived (the server closed an idle connection as the request left) is sent again once on a new
connection, as standard HTTP clients do, and counted under `retries`, not as a failure. Everything else
is a failure: refused connections, errors on fresh connections, timeouts, 5xx answers, cut bodies, and a
retry that fails too.
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import ssl
import sys
import threading
import time
import urllib.parse
from collections import Counter

RETRYABLE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


def connect(base, timeout):
    parts = urllib.parse.urlsplit(base)
    if parts.scheme == "https":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return http.client.HTTPSConnection(parts.hostname, parts.port or 443, timeout=timeout, context=context)
    return http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)


def failure_kind(exc):
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timeout"
    if isinstance(exc, RETRYABLE):
        return "reset"
    if isinstance(exc, http.client.IncompleteRead):
        return "incomplete_body"
    return type(exc).__name__


class LoadGenerator:
    """Worker threads sending GET requests through keep-alive connections; see the module docstring."""

    def __init__(self, urls, workers=4, rate=None, timeout=5.0, paths=("/health",)):
        self.urls = list(urls)
        self.workers = workers
        self.rate = rate
        self.timeout = timeout
        self.paths = list(paths)
        self._lock = threading.Condition()
        self._stop = threading.Event()
        self._threads = []
        self._started = None
        self._ended = None
        self.requests = 0
        self.ok = 0
        self.failures = Counter()
        self.samples = []
        self.retries = Counter()
        self.statuses = Counter()
        self.per_url = {url: Counter() for url in self.urls}
        self.connections = 0

    # ------------------------------------------------------------------ running

    def start(self):
        self._started = time.monotonic()
        for index in range(self.workers):
            thread = threading.Thread(target=self._work, args=(index,), name=f"load-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self):
        self._stop.set()
        for thread in self._threads:
            thread.join(self.timeout * 3)
        self._ended = time.monotonic()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def wait_for_requests(self, count, timeout):
        """Block until at least count requests have completed; False after timeout seconds."""
        with self._lock:
            return self._lock.wait_for(lambda: self.requests >= count, timeout)

    # ------------------------------------------------------------------ results

    def snapshot(self):
        with self._lock:
            end = self._ended or time.monotonic()
            duration = end - (self._started or end)
            return {
                "requests": self.requests,
                "ok": self.ok,
                "failures": sum(self.failures.values()),
                "failure_kinds": dict(self.failures),
                "failure_samples": list(self.samples),
                "retries": sum(self.retries.values()),
                "retry_reasons": dict(self.retries),
                "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
                "per_url": {url: dict(c) for url, c in self.per_url.items()},
                "duration": duration,
                "rps": self.requests / duration if duration else 0.0,
                "connections_opened": self.connections,
            }

    report = snapshot

    def _record(self, url, status=None, kind=None, detail=""):
        with self._lock:
            self.requests += 1
            if kind is None:
                self.ok += 1
                self.statuses[status] += 1
                self.per_url[url]["ok"] += 1
            else:
                if status is not None:
                    self.statuses[status] += 1
                self.failures[kind] += 1
                self.per_url[url]["failures"] += 1
                if len(self.samples) < 20:
                    self.samples.append(f"{time.strftime('%H:%M:%S')} {url}: {kind} {detail}".strip())
            self._lock.notify_all()

    # ------------------------------------------------------------------ one worker

    def _work(self, index):
        url = self.urls[index % len(self.urls)]
        interval = self.workers / self.rate if self.rate else 0.0
        due = time.monotonic() + (interval * index / self.workers if interval else 0.0)
        conn, used = None, 0
        count = 0
        while not self._stop.is_set():
            if interval:
                delay = due - time.monotonic()
                if delay > 0 and self._stop.wait(delay):
                    break
                due = max(due + interval, time.monotonic() - interval)
            path = self.paths[count % len(self.paths)]
            count += 1
            conn, used = self._one(url, path, conn, used)
        if conn is not None:
            conn.close()

    def _one(self, url, path, conn, used):
        """Send one request; return the connection to use next (None to open a new one) and its use count."""
        for attempt in (1, 2):
            if conn is None:
                conn, used = connect(url, self.timeout), 0
                with self._lock:
                    self.connections += 1
            got_bytes = False
            try:
                conn.request("GET", path, headers={"Host": urllib.parse.urlsplit(url).netloc})
                response = conn.getresponse()
                got_bytes = True
                response.read()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                reused = used > 0
                if attempt == 1 and reused and not got_bytes and isinstance(exc, RETRYABLE + (http.client.BadStatusLine,)):
                    with self._lock:
                        self.retries[type(exc).__name__] += 1
                    conn = None
                    continue
                kind = failure_kind(exc)
                self._record(url, kind=kind if attempt == 1 else f"{kind} (on retry)", detail=f"{path}: {exc!r}")
                return None, 0
            used += 1
            if response.status >= 500:
                self._record(url, status=response.status, kind=f"http_{response.status}", detail=path)
            else:
                self._record(url, status=response.status)
            if response.will_close:
                conn.close()
                return None, 0
            return conn, used
        return None, 0


class EventStreamWatcher:
    """Holds one Server-Sent Events stream open and records its ticks and how it ended."""

    def __init__(self, base, path="/events", timeout=2.0):
        self.base = base
        self.path = path
        self.timeout = timeout
        self.ticks = 0
        self.opened = False
        self.ended = False
        self.end_reason = None
        self.last_tick_at = None
        self.max_gap = 0.0
        self._cond = threading.Condition()
        self._closing = False
        self._conn = None
        self._sock = None
        self._thread = threading.Thread(target=self._read, name=f"events-{base}", daemon=True)

    def start(self):
        self._thread.start()
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return (f"<stream {self.base}{self.path}: opened={self.opened} ticks={self.ticks} ended={self.ended} "
                f"reason={self.end_reason!r} max_gap={self.max_gap:.1f}s>")

    def wait_open(self, timeout):
        with self._cond:
            return self._cond.wait_for(lambda: self.opened or self.ended, timeout) and self.opened

    def wait_ticks(self, count, timeout):
        with self._cond:
            return self._cond.wait_for(lambda: self.ticks >= count or self.ended, timeout) and self.ticks >= count

    def is_alive(self):
        return self.opened and not self.ended

    def close(self):
        """Close the stream from our side (that is not an end by the server)."""
        self._closing = True
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)  # wakes the reader blocked in recv
            except OSError:
                pass
        self._thread.join(self.timeout * 2)
        if self._conn is not None:
            self._conn.close()

    def _end(self, reason):
        with self._cond:
            if not self._closing:
                self.ended = True
                self.end_reason = reason
            self._cond.notify_all()

    def _read(self):
        try:
            self._conn = connect(self.base, self.timeout)
            self._conn.request("GET", self.path, headers={"Accept": "text/event-stream"})
            # http.client lets go of the socket when the answer says Connection: close; keep it.
            self._sock = self._conn.sock
            response = self._conn.getresponse()
            if response.status != 200:
                self._end(f"HTTP {response.status}")
                return
            # Ticks may be seconds apart: block in recv; close() shuts the socket down to end the wait.
            self._sock.settimeout(None)
            while not self._closing:
                line = response.readline()
                if not line:
                    self._end("EOF")
                    return
                text = line.decode("utf-8", "replace").rstrip("\r\n")
                with self._cond:
                    self.opened = True
                    if text.startswith("data:"):
                        now = time.monotonic()
                        if self.last_tick_at is not None:
                            self.max_gap = max(self.max_gap, now - self.last_tick_at)
                        self.last_tick_at = now
                        self.ticks += 1
                    self._cond.notify_all()
                if text.startswith("event: shutdown"):
                    self._end("event: shutdown")
                    return
        except (OSError, http.client.HTTPException, ValueError, AttributeError) as exc:
            self._end(repr(exc))


def main():
    parser = argparse.ArgumentParser(description="Bounded HTTP load; exits 1 when a request failed.")
    parser.add_argument("urls", nargs="+")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--rate", type=float, default=None, help="requests per second, all workers together")
    parser.add_argument("--path", action="append", dest="paths", help="paths to cycle through (default /health)")
    args = parser.parse_args()
    with LoadGenerator(args.urls, workers=args.workers, rate=args.rate, paths=args.paths or ["/health"]) as load:
        time.sleep(args.duration)
    report = load.report()
    json.dump(report, sys.stdout, indent=2)
    print()
    return 1 if report["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
