# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The running parts of the local Heroku fake: app logs, the model, dynos (real processes), app routers,
the rendezvous service for attached one-off dynos, and safe unpacking of source tarballs.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tarfile
import threading
import time
import uuid
from collections import deque
from pathlib import Path

LOG = logging.getLogger("heroku_fake")

LOG_BUFFER_LINES = 1500                # lines an app's log keeps
ONE_OFF_KEEP = 60                      # seconds a finished one-off dyno stays listable
ROUTER_BOOT_WAIT = 30                  # seconds the router holds a request while web dynos boot

USER_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "heroku-fake:user:ops"))
USER_EMAIL = "ops@example.com"
DEFAULT_SIZE = "Basic"
PROCFILE_LINE = re.compile(r"^([A-Za-z0-9_-]+):\s*(.+)$")
BUILDPACK_DESCRIPTIONS = {"heroku/jvm": "JVM", "heroku/java": "Java", "heroku/scala": "Scala", "heroku/gradle": "Gradle",
                          "heroku/python": "Python", "heroku/nodejs": "Node.js", "heroku/ruby": "Ruby", "heroku/go": "Go"}

ROUTER_ERRORS = {
    "H10": "App crashed",
    "H13": "Connection closed without response",
    "H14": "No web processes running",
    "H20": "App boot timeout",
    "H80": "Maintenance mode",
}
APPLICATION_ERROR_PAGE = (
    "<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\"><title>Application Error</title></head>\n<body>\n"
    "<h1>Application error</h1>\n<p>An error occurred in the application and your page could not be served. "
    "If you are the application owner, check your logs for details. You can do this from the Heroku CLI with "
    "the command <code>heroku logs --tail</code></p>\n</body>\n</html>\n")
MAINTENANCE_PAGE = (
    "<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\"><title>Offline for Maintenance</title></head>\n<body>\n"
    "<h1>Offline for maintenance</h1>\n<p>This app is undergoing maintenance right now. Please check back later.</p>\n"
    "</body>\n</html>\n")


# -- small helpers --------------------------------------------------------------------------------------------

def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def iso(moment=None):
    """ISO 8601 with a Z, to the second, as the Platform API writes times."""
    return (moment or utcnow()).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_id():
    return str(uuid.uuid4())


def fixed_id(kind, name):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"heroku-fake:{kind}:{name}"))


def free_port(host="127.0.0.1"):
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def atomic_write(path, text, mode=0o644):
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def human_size(size):
    value = float(size)
    for unit in ("B", "K", "M"):
        if value < 1024:
            return f"{value:.1f}{unit}" if unit != "B" else f"{int(value)}B"
        value /= 1024
    return f"{value:.1f}G"


def exit_status(returncode):
    """The status a shell would show: 128+N for a process killed by signal N."""
    if returncode is None:
        return None
    return 128 - returncode if returncode < 0 else returncode


def kill_group(pid, sig):
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def tree_digest(root):
    """(SHA256:<hex>, bytes) of a directory tree: paths, modes, link targets and contents."""
    digest = hashlib.sha256()
    size = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]):
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            digest.update(rel.encode("utf-8", "surrogateescape") + b"\0")
            info = os.lstat(path)
            if os.path.islink(path):
                digest.update(b"L" + os.readlink(path).encode("utf-8", "surrogateescape") + b"\0")
                continue
            digest.update(b"X\0" if info.st_mode & 0o111 else b"F\0")
            size += info.st_size
            with open(path, "rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
    return "SHA256:" + digest.hexdigest(), size


def stack_title(name):
    return name[:1].upper() + name[1:]


# -- logs -----------------------------------------------------------------------------------------------------

class LogLine:
    __slots__ = ("seq", "stamp", "source", "dyno", "message")

    def __init__(self, seq, stamp, source, dyno, message):
        self.seq = seq
        self.stamp = stamp
        self.source = source
        self.dyno = dyno
        self.message = message

    def text(self):
        return f"{self.stamp} {self.source}[{self.dyno}]: {self.message}"

    def matches(self, source=None, dyno=None, ptype=None):
        if source and self.source != source:
            return False
        kind = self.dyno.split(".", 1)[0]
        if dyno and self.dyno != dyno and not ("." not in dyno and kind == dyno):
            return False
        return not ptype or kind == ptype


class LogBuffer:
    """An app's log (logplex): the last 1500 lines, with a condition for tailing readers."""

    def __init__(self, size=LOG_BUFFER_LINES):
        self.cond = threading.Condition()
        self.lines = deque(maxlen=size)
        self.seq = 0
        self.closed = False
        self._last = None

    def add(self, source, dyno, message):
        with self.cond:
            for part in str(message).splitlines() or [""]:
                moment = utcnow()
                if self._last is not None and moment <= self._last:
                    moment = self._last + datetime.timedelta(microseconds=1)
                self._last = moment
                self.seq += 1
                self.lines.append(LogLine(self.seq, moment.isoformat(timespec="microseconds"), source, dyno, part.rstrip("\r")))
            self.cond.notify_all()

    def close(self):
        with self.cond:
            self.closed = True
            self.cond.notify_all()


# -- the model ------------------------------------------------------------------------------------------------

class Release:
    def __init__(self, version, description, slug_id, config):
        self.id = new_id()
        self.version = version
        self.description = description
        self.slug_id = slug_id
        self.config = dict(config)
        self.created_at = self.updated_at = iso()


class Slug:
    def __init__(self, process_types, checksum, size, stack, path, commit=None, commit_description=None, description=None):
        self.id = new_id()
        self.process_types = dict(process_types)
        self.checksum = checksum
        self.size = size
        self.stack = stack
        self.path = Path(path)
        self.commit = commit
        self.commit_description = commit_description
        self.description = description
        self.created_at = self.updated_at = iso()


class Formation:
    def __init__(self, ptype, quantity, size=DEFAULT_SIZE):
        self.id = new_id()
        self.type = ptype
        self.quantity = quantity
        self.size = size
        self.created_at = self.updated_at = iso()


class Build:
    """A build and its output stream."""

    def __init__(self, app, source_blob, buildpacks, stack):
        self.id = new_id()
        self.app_id = app.id
        self.source_blob = {"url": source_blob["url"], "checksum": source_blob.get("checksum"),
                            "version": source_blob.get("version"), "version_description": source_blob.get("version_description")}
        self.buildpacks = buildpacks
        self.stack = stack
        self.status = "pending"
        self.slug_id = None
        self.release_id = None
        self.created_at = self.updated_at = iso()
        self.lines = []
        self.done = False
        self.cond = threading.Condition()

    def add(self, line):
        with self.cond:
            self.lines.append(line)
            self.cond.notify_all()

    def finish(self):
        with self.cond:
            self.done = True
            self.cond.notify_all()


class App:
    def __init__(self, name, region, stack, team=None):
        self.id = new_id()
        self.name = name
        self.region = region
        self.stack = stack
        self.build_stack = stack
        self.team = team
        self.locked = False
        self.maintenance = False
        self.created_at = self.updated_at = self.released_at = iso()
        self.config = {}
        self.releases = []
        self.builds = {}
        self.slugs = {}
        self.formation = {}
        self.buildpacks = []
        self.dynos = {}      # formation dynos by name (web.1, worker.2)
        self.oneoffs = {}    # one-off dynos by name (run.1234)
        self.log = LogBuffer()
        self.router = None
        self.deleted = False
        self.round_robin = 0

    def current_release(self):
        return self.releases[-1] if self.releases else None

    def current_slug(self):
        release = self.current_release()
        return self.slugs.get(release.slug_id) if release and release.slug_id else None

    def api_log(self, message):
        self.log.add("app", "api", message)

    def web_url(self):
        return f"http://127.0.0.1:{self.router.port}/"


# -- dynos ----------------------------------------------------------------------------------------------------

class Dyno:
    """One dyno: `bash -c <command>` in its own process group, in a fresh copy of the slug."""

    def __init__(self, fake, app, name, ptype, command, release, slug, size, extra_env=None, oneoff=False,
                 attach=False, ttl=None):
        self.fake = fake
        self.app = app
        self.id = new_id()
        self.name = name
        self.type = ptype
        self.command = command
        self.release = release
        self.slug = slug
        self.size = size
        self.extra_env = dict(extra_env or {})
        self.oneoff = oneoff
        self.attach = attach
        self.ttl = ttl
        self.state = "starting"
        self.created_at = self.updated_at = iso()
        self.port = free_port()
        self.secret = secrets.token_urlsafe(24) if attach else None
        self.attach_url = None
        self.proc = None
        self.stop_requested = False
        self.ended_at = None
        self.exited = threading.Event()
        self.sandbox = fake.state_dir / "dynos" / self.id

    # state changes happen under fake.lock
    def set_state(self, state):
        with self.fake.lock:
            if self.state == state:
                return
            old, self.state = self.state, state
            self.updated_at = iso()
            if state in ("crashed", "complete", "down"):
                self.ended_at = time.monotonic()
            self.fake.cond.notify_all()
        self.heroku_log(f"State changed from {old} to {state}")

    def heroku_log(self, message):
        self.app.log.add("heroku", self.name, message)

    def environment(self):
        env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "JAVA_HOME") if key in os.environ}
        env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
        env.update(self.release.config if self.release else {})
        env.update(self.extra_env)
        env["PORT"] = str(self.port)
        env["DYNO"] = self.name
        return env

    def start(self):
        threading.Thread(target=self.run, name=f"dyno-{self.app.name}-{self.name}", daemon=True).start()

    def run(self, sink=None):
        """Copy the slug, run the command, send its output to the log (or to sink), record how it ended."""
        try:
            if self.slug is not None:
                shutil.copytree(self.slug.path, self.sandbox, symlinks=True)
            else:
                self.sandbox.mkdir(parents=True)
            with self.fake.lock:
                if self.stop_requested or self.fake.stopping.is_set():
                    self.exited.set()
                    self.state = "down" if not self.oneoff else "complete"
                    self.ended_at = time.monotonic()
                    return
                self.heroku_log(f"Starting process with command `{self.command}`"
                                + (f" by user {USER_EMAIL}" if self.oneoff else ""))
                self.proc = subprocess.Popen(["bash", "-c", self.command], cwd=self.sandbox, env=self.environment(),
                                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                             start_new_session=True)
            waiter = threading.Thread(target=self._wait, daemon=True)
            waiter.start()
            if self.oneoff or self.type != "web":
                self.set_state("up")
            else:
                threading.Thread(target=self._watch_boot, daemon=True).start()
            if self.ttl:
                threading.Thread(target=self._watch_ttl, daemon=True).start()
            self._pump(sink)
            waiter.join()
            status = exit_status(self.proc.returncode)
            self.heroku_log(f"Process exited with status {status}")
            if self.oneoff:
                self.set_state("complete")
            elif self.stop_requested:
                self.set_state("down")
            else:
                self.set_state("crashed")
        except OSError as exc:
            LOG.error("dyno %s of app %s could not run: %s", self.name, self.app.name, exc)
            self.heroku_log(f"Error R99 (Platform error) -> could not start the process: {exc.strerror or exc}")
            self.exited.set()
            self.set_state("crashed" if not self.oneoff else "complete")
        finally:
            shutil.rmtree(self.sandbox, ignore_errors=True)

    def _wait(self):
        self.proc.wait()
        # The dyno ends with its main process: whatever it left behind goes too (and the pipe closes).
        kill_group(self.proc.pid, signal.SIGKILL)
        self.exited.set()

    def _pump(self, sink):
        stream = self.proc.stdout
        if sink is None:
            for raw in iter(stream.readline, b""):
                self.app.log.add("app", self.name, raw.decode("utf-8", "replace").rstrip("\n"))
            stream.close()
            return
        fd = stream.fileno()
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            if sink is not None:
                try:
                    sink.sendall(chunk)
                except (OSError, ssl.SSLError):
                    sink = None
                    # The client went away: like a closed terminal, the dyno gets a hangup.
                    kill_group(self.proc.pid, signal.SIGHUP)
        stream.close()

    def _watch_boot(self):
        deadline = time.monotonic() + self.fake.boot_timeout
        while not self.exited.is_set() and not self.stop_requested:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    pass
                with self.fake.lock:
                    up = self.state == "starting" and not self.stop_requested
                if up:
                    self.set_state("up")
                return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.heroku_log(f"Error R10 (Boot timeout) -> Web process failed to bind to $PORT within "
                                f"{self.fake.boot_timeout} seconds of launch")
                self.heroku_log("Stopping process with SIGKILL")
                kill_group(self.proc.pid, signal.SIGKILL)
                return
            self.exited.wait(0.1)

    def _watch_ttl(self):
        if self.exited.wait(self.ttl):
            return
        self.heroku_log("Stopping process with SIGKILL")
        kill_group(self.proc.pid, signal.SIGKILL)

    def stop(self):
        """SIGTERM to the process group, SIGKILL 10 s later if it is still there."""
        with self.fake.lock:
            if self.stop_requested:
                return
            self.stop_requested = True
            proc = self.proc
        if proc is None or self.exited.is_set():
            return
        self.heroku_log("Stopping all processes with SIGTERM")
        kill_group(proc.pid, signal.SIGTERM)

        def escalate():
            if not self.exited.wait(self.fake.stop_grace):
                self.heroku_log("Error R12 (Exit timeout) -> At least one process failed to exit within "
                                f"{self.fake.stop_grace} seconds of SIGTERM")
                self.heroku_log("Stopping remaining processes with SIGKILL")
                kill_group(proc.pid, signal.SIGKILL)
        threading.Thread(target=escalate, daemon=True).start()

    def visible(self):
        return self.ended_at is None or not self.oneoff or time.monotonic() - self.ended_at < ONE_OFF_KEEP


# -- the app router and the rendezvous service -------------------------------------------------------------

class Listener:
    """A TCP listener on 127.0.0.1 whose connections are served in threads."""

    def __init__(self, name, host="127.0.0.1"):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, name=name, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                conn, addr = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn, addr), daemon=True).start()

    def _serve(self, conn, addr):
        try:
            self.serve(conn, addr)
        except (OSError, ssl.SSLError) as exc:
            LOG.debug("%s: connection from %s ended: %s", type(self).__name__, addr, exc)
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def serve(self, conn, addr):
        raise NotImplementedError

    def close(self):
        self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class Router(Listener):
    """The app's router: plain HTTP on 127.0.0.1, forwarding each connection to an up web dyno (round robin)."""

    def __init__(self, fake, app):
        self.fake = fake
        self.app = app
        super().__init__(f"router-{app.name}")

    def log(self, message):
        self.app.log.add("heroku", "router", message)

    def serve(self, conn, addr):
        conn.settimeout(60)
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 65536:
            data = conn.recv(65536)
            if not data:
                return
            head += data
        first = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
        method, path = (first + ["", ""])[:2]
        host = ""
        for line in head.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
            if line.lower().startswith(b"host:"):
                host = line[5:].strip().decode("latin-1")
        request_id = new_id()
        common = f'method={method} path="{path}" host={host} request_id={request_id} fwd="{addr[0]}"'
        if self.app.maintenance:
            self.error_page(conn, "H80", common, MAINTENANCE_PAGE)
            return
        started = time.monotonic()
        dyno, code = self.fake.pick_web_dyno(self.app, ROUTER_BOOT_WAIT)
        if dyno is None:
            self.error_page(conn, code, common, APPLICATION_ERROR_PAGE)
            return
        try:
            upstream = socket.create_connection(("127.0.0.1", dyno.port), timeout=5)
        except OSError:
            self.error_page(conn, "H10", common, APPLICATION_ERROR_PAGE, dyno=dyno.name)
            return
        connect_ms = int((time.monotonic() - started) * 1000)
        with upstream:
            upstream.settimeout(60)
            upstream.sendall(head)
            threading.Thread(target=self._copy, args=(conn, upstream), daemon=True).start()
            status, sent = "", 0
            while True:
                try:
                    data = upstream.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    break
                if not status:
                    match = re.match(rb"^HTTP/\d\.\d (\d{3})", data)
                    status = match.group(1).decode() if match else "?"
                sent += len(data)
                try:
                    conn.sendall(data)
                except OSError:
                    break
        service_ms = int((time.monotonic() - started) * 1000) - connect_ms
        if not status:
            self.error_page(conn, "H13", common, APPLICATION_ERROR_PAGE, dyno=dyno.name)
            return
        self.log(f"at=info {common} dyno={dyno.name} connect={connect_ms}ms service={service_ms}ms status={status} "
                 f"bytes={sent} protocol=http")

    @staticmethod
    def _copy(source, target):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                target.sendall(data)
            target.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def error_page(self, conn, code, common, page, dyno=""):
        body = page.encode("utf-8")
        head = ("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: text/html; charset=utf-8\r\n"
                f"Cache-Control: no-cache, no-store\r\nContent-Length: {len(body)}\r\n\r\n").encode("ascii")
        try:
            conn.sendall(head + body)
        except OSError:
            pass
        self.log(f'at=error code={code} desc="{ROUTER_ERRORS[code]}" {common} dyno={dyno} connect=0ms service=0ms '
                 f"status=503 bytes={len(body)} protocol=http")


class Rendezvous(Listener):
    """Heroku's rendezvous service for attached one-off dynos: TLS, the client sends <secret>\\r\\n."""

    def __init__(self, fake, host, context):
        self.fake = fake
        self.context = context
        self.waiting = {}
        self.lock = threading.Lock()
        super().__init__("rendezvous", host)

    def register(self, dyno):
        with self.lock:
            self.waiting[dyno.secret] = dyno
        timer = threading.Timer(self.fake.rendezvous_timeout, self.expire, args=(dyno,))
        timer.daemon = True
        timer.start()

    def claim(self, secret):
        with self.lock:
            return self.waiting.pop(secret, None)

    def expire(self, dyno):
        if self.claim(dyno.secret) is None:
            return
        dyno.heroku_log("Timed out waiting for rendezvous")
        dyno.exited.set()
        dyno.set_state("complete")

    def serve(self, conn, addr):
        conn.settimeout(10)
        with self.context.wrap_socket(conn, server_side=True) as tls:
            line = b""
            while not line.endswith(b"\r\n") and len(line) < 1024:
                data = tls.recv(1024)
                if not data:
                    return
                line += data
            dyno = self.claim(line.strip().decode("latin-1"))
            if dyno is None:
                return
            tls.sendall(b"rendezvous\r\n")
            tls.settimeout(300)
            dyno.run(sink=tls)
            try:
                tls.unwrap()
            except (OSError, ssl.SSLError):
                pass


# -- builds ---------------------------------------------------------------------------------------------------

class BuildError(Exception):
    """Why a build failed, for its output."""


def clean_parts(name):
    """The path parts of a tar member name; BuildError for absolute paths and '..'."""
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise BuildError(f"Unsafe path in the source tarball: {name} is absolute")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise BuildError(f"Unsafe path in the source tarball: {name} goes outside the source")
    return parts


def unpack_source(data, dest):
    """Unpack a (gzipped) tarball safely into dest, without a single top directory; the number of files."""
    try:
        tar = tarfile.open(fileobj=io.BytesIO(data), mode="r:*")
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BuildError(f"The source is not a gzipped tarball: {exc}") from None
    with tar:
        try:
            members = tar.getmembers()
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise BuildError(f"The source tarball is damaged: {exc}") from None
        entries = [(member, clean_parts(member.name)) for member in members]
        entries = [(member, parts) for member, parts in entries if parts]
        tops = {parts[0] for member, parts in entries}
        strip = (len(tops) == 1 and any(len(parts) > 1 for member, parts in entries)
                 and all(len(parts) > 1 or member.isdir() for member, parts in entries))
        kept = []
        for member, parts in entries:
            if strip:
                parts = parts[1:]
                if not parts:
                    continue
            if not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
                continue  # devices and FIFOs have no place in a source tree
            member.name = "/".join(parts)
            if member.islnk():
                link_parts = clean_parts(member.linkname)
                if strip:
                    link_parts = link_parts[1:]
                if not link_parts:
                    raise BuildError(f"Unsafe link in the source tarball: {member.name}")
                member.linkname = "/".join(link_parts)
            kept.append(member)
        dest.mkdir(parents=True, exist_ok=True)
        try:
            # The data filter refuses links that point outside dest or to absolute paths.
            tar.extractall(dest, members=kept, filter="data")
        except tarfile.FilterError as exc:
            raise BuildError(f"Unsafe entry in the source tarball: {exc}") from None
        except (tarfile.TarError, OSError) as exc:
            raise BuildError(f"Unable to unpack the source tarball: {exc}") from None
        return sum(1 for member in kept if member.isfile())


def parse_procfile(path):
    types = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        match = PROCFILE_LINE.match(line.strip())
        if match:
            types[match.group(1)] = match.group(2).strip()
    return types


def buildpack_ref(value):
    """{"url", "name"} of a buildpack given by registry name, urn or URL."""
    value = value.strip()
    if value.startswith("urn:buildpack:"):
        value = value[len("urn:buildpack:"):]
    if "://" in value:
        return {"url": value, "name": value}
    return {"url": f"urn:buildpack:{value}", "name": value}
