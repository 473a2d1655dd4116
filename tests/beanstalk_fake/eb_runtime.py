# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What an environment runs: the application version as a local process on a free port, and its health.

Two platforms, chosen by the solution stack name or platform ARN:

- Tomcat: the WAR (or the ROOT.war, or the single .war, of a zip bundle) deployed as ROOT in Debian's
  Tomcat 10 (CATALINA_HOME /usr/share/tomcat10), with a CATALINA_BASE of its own per deployment: a
  conf/server.xml with one HTTP connector on 127.0.0.1:<port> and the shutdown port off, webapps/ROOT.war,
  logs, work and temp. It runs as `java ... org.apache.catalina.startup.Bootstrap start`.
- Java SE (Corretto): an executable JAR as `java -jar application.jar`; a zip bundle with a Procfile runs
  its `web:` command under bash in the unpacked directory, else its single top-level .jar.

Every process gets PORT and SERVER_PORT (EB's Java SE contract) and the environment properties (namespace
aws:elasticbeanstalk:application:environment) as environment variables, runs in its own process group,
and is stopped with SIGTERM to the group and SIGKILL after a grace period. Healthy means the application
answers GET on the health check path (/health unless the option settings name another) with 200.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
import zipfile
from pathlib import Path

CATALINA_HOME = Path("/usr/share/tomcat10")
SERVER_XML = """<?xml version="1.0" encoding="UTF-8"?>
<Server port="-1" shutdown="SHUTDOWN">
  <Service name="Catalina">
    <Connector port="{port}" address="127.0.0.1" protocol="HTTP/1.1" connectionTimeout="20000"/>
    <Engine name="Catalina" defaultHost="localhost">
      <Host name="localhost" appBase="webapps" unpackWARs="true" autoDeploy="false"/>
    </Engine>
  </Service>
</Server>
"""
# Health checks go straight to the app's port, whatever http_proxy says.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class DeployError(Exception):
    """The bundle cannot run on the platform; the message becomes an ERROR event."""


def is_tomcat(platform):
    """Whether a solution stack name or platform ARN is a Tomcat platform."""
    return "tomcat" in (platform or "").lower()


def tomcat_installed():
    """Whether Debian's Tomcat 10 (tomcat10-common) is there to run WARs."""
    return (CATALINA_HOME / "bin" / "bootstrap.jar").is_file()


def free_port():
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _zip(bundle):
    try:
        return zipfile.ZipFile(io.BytesIO(bundle))
    except zipfile.BadZipFile as exc:
        raise DeployError("The application source bundle is not a valid zip, jar or war file.") from exc


def _safe_extract(archive, target):
    """Unpack without letting a member leave target (absolute paths, '..')."""
    root = target.resolve()
    for member in archive.infolist():
        dest = (target / member.filename).resolve()
        if dest != root and root not in dest.parents:
            raise DeployError(f"The application source bundle has a member outside its root: {member.filename}")
    archive.extractall(target)


def _tomcat_command(bundle, base, port):
    """Write a CATALINA_BASE for the WAR in bundle; the command that runs it."""
    archive = _zip(bundle)
    names = archive.namelist()
    wars = [name for name in names if "/" not in name and name.endswith(".war")]
    if any(name.startswith("WEB-INF/") for name in names) or not wars:
        war = bundle
    else:
        chosen = "ROOT.war" if "ROOT.war" in wars else wars[0] if len(wars) == 1 else None
        if chosen is None:
            raise DeployError("The zip bundle holds several WAR files and none is ROOT.war.")
        war = archive.read(chosen)
    for sub in ("conf", "webapps", "logs", "work", "temp"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    (base / "conf" / "server.xml").write_text(SERVER_XML.format(port=port), encoding="utf-8")
    (base / "webapps" / "ROOT.war").write_bytes(war)
    classpath = f"{CATALINA_HOME / 'bin' / 'bootstrap.jar'}:{CATALINA_HOME / 'bin' / 'tomcat-juli.jar'}"
    return ["java", f"-Dcatalina.home={CATALINA_HOME}", f"-Dcatalina.base={base}", f"-Djava.io.tmpdir={base / 'temp'}",
            "-classpath", classpath, "org.apache.catalina.startup.Bootstrap", "start"], base


def _java_se_command(bundle, app_dir):
    """Unpack a JAR or zip bundle for Java SE; the command that runs it and its directory."""
    archive = _zip(bundle)
    names = archive.namelist()
    app_dir.mkdir(parents=True, exist_ok=True)
    if "META-INF/MANIFEST.MF" in names:
        (app_dir / "application.jar").write_bytes(bundle)
        return ["java", "-jar", "application.jar"], app_dir
    _safe_extract(archive, app_dir)
    procfile = app_dir / "Procfile"
    if procfile.is_file():
        for line in procfile.read_text(encoding="utf-8", errors="replace").splitlines():
            name, sep, command = line.partition(":")
            if sep and name.strip() == "web" and command.strip():
                return ["bash", "-c", command.strip()], app_dir
        raise DeployError("The Procfile has no web process.")
    jars = sorted(path.name for path in app_dir.glob("*.jar"))
    if len(jars) != 1:
        raise DeployError(f"The source bundle has {len(jars)} JAR files at its root and no Procfile; "
                          "a Java SE bundle needs one executable JAR or a Procfile.")
    return ["java", "-jar", jars[0]], app_dir


class AppProcess:
    """One deployment of an application version: its directory, port and process group."""

    def __init__(self, workdir, platform, bundle, env_vars, health_path="/health", stop_grace=5.0):
        self.workdir = Path(workdir)
        self.platform = platform
        self.bundle = bundle
        self.env_vars = dict(env_vars)
        self.health_path = health_path if health_path.startswith("/") else "/" + health_path
        self.stop_grace = stop_grace
        self.port = None
        self.proc = None

    def start(self):
        """Unpack the bundle and start it; raises DeployError when it cannot run on the platform."""
        shutil.rmtree(self.workdir, ignore_errors=True)
        self.workdir.mkdir(parents=True)
        self.port = free_port()
        if is_tomcat(self.platform):
            if not tomcat_installed():
                raise DeployError(f"Tomcat is not installed here ({CATALINA_HOME}; Debian package tomcat10-common).")
            argv, cwd = _tomcat_command(self.bundle, self.workdir / "tomcat", self.port)
        else:
            argv, cwd = _java_se_command(self.bundle, self.workdir / "app")
        env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "JAVA_HOME") if name in os.environ}
        env.update(self.env_vars)
        env.update(PORT=str(self.port), SERVER_PORT=str(self.port))
        with open(self.workdir / "app.log", "ab") as log:
            self.proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,  # pylint: disable=consider-using-with
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def alive(self):
        """Whether the main process still runs."""
        return self.proc is not None and self.proc.poll() is None

    def healthy(self, timeout=2.0):
        """Whether GET <health path> answers 200."""
        url = f"http://127.0.0.1:{self.port}{self.health_path}"
        try:
            with _DIRECT.open(url, timeout=timeout) as response:
                return response.status == 200
        except (OSError, ValueError):
            return False

    def wait_healthy(self, timeout, cancelled):
        """Poll the health check until it passes (True), or timeout passes, the process ends or cancelled() (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not cancelled():
            if self.healthy():
                return True
            if not self.alive():
                return False
            time.sleep(0.2)
        return False

    def exit_status(self):
        """The main process's exit status, or None while it runs."""
        return None if self.proc is None else self.proc.poll()

    def stop(self):
        """SIGTERM to the process group, SIGKILL after the grace period; whatever is left of the group goes too."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(self.stop_grace)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
