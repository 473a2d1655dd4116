# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a version runs: its deployed files in a directory of its own, started as a local process on a free port.

As App Engine standard's Java runtimes (java11, java17, java21, java25) do: the command is the version's
`entrypoint.shell` run by `sh -c` in the application directory, else `java -jar <the one .jar at the root>`.
The process gets PORT, GAE_APPLICATION, GAE_SERVICE, GAE_VERSION, GAE_RUNTIME, GOOGLE_CLOUD_PROJECT and the
version's envVariables (plus PATH, HOME, LANG and JAVA_HOME of the service), runs in its own process group
with its output in app.log beside the directory, and is ready when it answers HTTP on its port (any status).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

JAVA_RUNTIME = re.compile(r"java(11|17|21|25)")
# Readiness checks go straight to the app's port, whatever http_proxy says.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class StartError(Exception):
    """The version cannot start or did not become ready; the message goes into the operation's error."""


def free_port():
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def safe_relative(path):
    """Whether a deployment.files path stays inside the application directory."""
    parts = Path(path).parts
    return bool(parts) and not Path(path).is_absolute() and ".." not in parts and "\\" not in path


class VersionProcess:
    """One running copy of a version: its directory, port and process group."""

    def __init__(self, workdir, files, env, entrypoint=None, boot_timeout=60.0, stop_grace=5.0):  # pylint: disable=too-many-arguments
        self.workdir = Path(workdir)
        self.app_dir = self.workdir / "app"
        self.files = files            # {relative path: bytes}, written once by assemble()
        self.env = dict(env)
        self.entrypoint = entrypoint
        self.boot_timeout = boot_timeout
        self.stop_grace = stop_grace
        self.port = None
        self.proc = None

    def assemble(self):
        """Write the version's files under workdir/app (the directory is replaced)."""
        shutil.rmtree(self.app_dir, ignore_errors=True)
        self.app_dir.mkdir(parents=True)
        for name, data in sorted(self.files.items()):
            target = self.app_dir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)

    def command(self):
        """argv: the entrypoint under sh -c, else java -jar with the single JAR at the root."""
        if self.entrypoint:
            return ["sh", "-c", self.entrypoint]
        jars = sorted(path.name for path in self.app_dir.glob("*.jar"))
        if len(jars) != 1:
            raise StartError(f"The version has no entrypoint and {len(jars)} JAR files at its root; the Java runtime's default "
                             "entrypoint (java -jar) needs exactly one.")
        return ["java", "-jar", jars[0]]

    def start(self, cancelled=lambda: False):
        """Start the process and wait until it answers HTTP; raises StartError when it does not."""
        argv = self.command()
        self.port = free_port()
        env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "JAVA_HOME") if name in os.environ}
        env.update(self.env)
        env["PORT"] = str(self.port)
        with open(self.workdir / "app.log", "ab") as log:
            self.proc = subprocess.Popen(argv, cwd=self.app_dir, env=env, stdin=subprocess.DEVNULL,  # pylint: disable=consider-using-with
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + self.boot_timeout
        while time.monotonic() < deadline and not cancelled():
            if self.answers():
                return
            if self.proc.poll() is not None:
                raise StartError(f"The application exited with status {self.proc.returncode} before it answered on PORT "
                                 f"(its log: {self.workdir / 'app.log'}).")
            time.sleep(0.1)
        self.stop()
        raise StartError(f"The application did not answer HTTP on PORT within {self.boot_timeout:g} s.")

    def answers(self):
        """Whether the application answers an HTTP request on its port, whatever the status."""
        try:
            with _DIRECT.open(f"http://127.0.0.1:{self.port}/", timeout=2):
                return True
        except urllib.error.HTTPError:
            return True
        except (OSError, ValueError):
            return False

    def alive(self):
        """Whether the main process still runs."""
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """SIGTERM to the process group, SIGKILL after the grace period."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(self.stop_grace)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
