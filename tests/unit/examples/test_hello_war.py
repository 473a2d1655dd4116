# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""examples/hello-jvm for the platforms: `build.sh --war` (the WAR for Tomcat 10, in Debian's Tomcat 10 when it is
installed) and the jar run as `java -jar` from a directory without config/ and public/ (Corretto on Elastic
Beanstalk). Built into a temporary copy. Needs a JDK 17 and Debian's libjakarta-servlet-api-java (hacking/bootstrap.sh
installs both); the Tomcat part needs tomcat10-common and libtomcat10-java and is skipped without them.
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
from pathlib import Path
from xml.dom import minidom

import pytest

APP = Path(__file__).resolve().parents[3] / "examples" / "hello-jvm"
SERVLET_API = Path("/usr/share/java/jakarta-servlet-api.jar")
CATALINA_HOME = Path("/usr/share/tomcat10")
BUILT = re.compile(r"^hello-jvm: built (\S+) \(([0-9a-f]{12})\)\nhello-jvm: war built \1 \(\2\)\n$")
WAR_ENTRIES = [
    "META-INF/", "META-INF/MANIFEST.MF", "WEB-INF/classes/build.properties",
    "WEB-INF/classes/jvmops/hello/war/HelloServlet.class", "WEB-INF/classes/jvmops/hello/war/ServletExchange$Body.class",
    "WEB-INF/classes/jvmops/hello/war/ServletExchange$Ended.class", "WEB-INF/classes/jvmops/hello/war/ServletExchange.class",
    "WEB-INF/lib/hello-jvm.jar", "WEB-INF/web.xml",
]
ENV = {k: v for k, v in os.environ.items() if k not in ("PORT", "HOST", "LOG_LEVEL", "JAVA_TOOL_OPTIONS", "SERVLET_API_JAR")}


def build(app, *args, **env):
    return subprocess.run([str(app / "build.sh"), *args], cwd=app.parent, env={**ENV, **env}, capture_output=True, text=True,
                          timeout=300, check=False)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(port, path, method="GET", timeout=5):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        return resp.status, resp, resp.read()
    finally:
        conn.close()


def wait_until_up(proc, port, log, timeout=60):
    """Wait until the process answers /health with 200 (not just a listening port: Tomcat answers 404 while deploying)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        try:
            if get(port, "/health", timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"no 200 from /health on port {port} after {timeout}s:\n{log.read_text(errors='replace')}")


def stop(proc):
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


@pytest.fixture(name="built", scope="module")
def built_fixture(tmp_path_factory):
    missing = [tool for tool in ("javac", "jar", "java") if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"needs a JDK 17 on PATH (openjdk-17-jdk-headless); missing: {', '.join(missing)}")
    if not SERVLET_API.is_file():
        pytest.fail(f"needs {SERVLET_API}: apt-get install libjakarta-servlet-api-java (hacking/bootstrap.sh does)")
    app = tmp_path_factory.mktemp("war") / "hello-jvm"
    shutil.copytree(APP, app, ignore=shutil.ignore_patterns("build"))
    result = build(app, "--war")
    assert result.returncode == 0, result.stdout + result.stderr
    match = BUILT.match(result.stdout)
    assert match, result.stdout
    return app, match.group(1), match.group(2)


def test_war_holds_the_servlet_the_jar_and_the_build_id(built):
    app, version, build_id = built
    war = app / "build" / "hello-jvm.war"
    with zipfile.ZipFile(war) as archive:
        names = archive.namelist()
        assert names == WAR_ENTRIES
        # Reproducible: fixed entry dates, whenever it was built.
        assert {info.date_time for info in archive.infolist()} == {(2026, 1, 1, 0, 0, 0)}
        assert archive.read("WEB-INF/classes/build.properties").decode() == f"version={version}\nbuild={build_id}\n"
        assert archive.read("WEB-INF/lib/hello-jvm.jar") == (app / "build" / "hello-jvm.jar").read_bytes()
        web = minidom.parseString(archive.read("WEB-INF/web.xml"))
        assert web.getElementsByTagName("servlet-class")[0].firstChild.data == "jvmops.hello.war.HelloServlet"
        assert "Implementation-Version: " + version in archive.read("META-INF/MANIFEST.MF").decode()
    with zipfile.ZipFile(app / "build" / "hello-jvm.jar") as jar:
        # The servlet is only in the war: the jar needs no servlet API.
        assert not [n for n in jar.namelist() if "/war/" in n]
        assert "jvmops/hello/public/index.html" in jar.namelist()
        assert jar.read("jvmops/hello/public.index").decode().splitlines() == ["css/style.css", "index.html", "js/app.js"]


def test_second_war_build_is_up_to_date_and_a_rebuild_is_byte_identical(built):
    app = built[0]
    war = app / "build" / "hello-jvm.war"
    before = war.read_bytes()
    again = build(app, "--war")
    assert (again.returncode, again.stdout) == (0, "hello-jvm: up to date\nhello-jvm: war up to date\n"), again.stderr
    (app / "build" / ".inputs-war").unlink()
    rebuilt = build(app, "--war")
    assert rebuilt.returncode == 0 and rebuilt.stdout.endswith(f"war built {built[1]} ({built[2]})\n"), rebuilt
    assert war.read_bytes() == before


def test_a_missing_servlet_api_fails_the_war_only(built, tmp_path):
    app = built[0]
    for args, env in [(["--war", "--servlet-api", str(tmp_path / "none.jar")], {}),
                      (["--war"], {"SERVLET_API_JAR": str(tmp_path / "none.jar")})]:
        result = build(app, *args, **env)
        assert result.returncode == 1, result
        assert "install libjakarta-servlet-api-java or pass --servlet-api" in result.stderr
        assert str(tmp_path / "none.jar") in result.stderr
    # The default build never looks for it.
    plain = build(app, SERVLET_API_JAR=str(tmp_path / "none.jar"))
    assert (plain.returncode, plain.stdout) == (0, "hello-jvm: up to date\n"), plain.stderr
    misuse = build(app, "--servlet-api", str(SERVLET_API))
    assert misuse.returncode == 2 and "--war" in misuse.stderr


def test_jar_runs_with_java_jar_from_anywhere(built, tmp_path):
    app, version, build_id = built
    port = free_port()
    log = tmp_path / "jar.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(["java", "-jar", str(app / "build" / "hello-jvm.jar")], cwd=tmp_path,  # pylint: disable=consider-using-with
                                env={**ENV, "PORT": str(port), "HOST": "127.0.0.1"}, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        wait_until_up(proc, port, log)
        assert get(port, "/health")[::2] == (200, b"OK\n")
        info = json.loads(get(port, "/version")[2])
        assert (info["version"], info["build"], info["pid"]) == (version, build_id, proc.pid)
        assert get(port, "/")[::2] == (200, (APP / "public" / "index.html").read_bytes())
        assert get(port, "/js/app.js")[2] == (APP / "public" / "js" / "app.js").read_bytes()
        assert get(port, "/public.index")[0] == 404
        assert get(port, "/%2e%2e/jvmops/hello/Main.class")[0] == 403
        text = log.read_text()
        assert "serving the copy of public/ packaged in the jar" in text
        assert "using the copy of config/application.properties packaged in the jar" in text
    finally:
        stop(proc)


@pytest.mark.skipif(not (CATALINA_HOME / "bin" / "catalina.sh").exists() or not (CATALINA_HOME / "lib").is_dir(),
                    reason="needs Debian's Tomcat 10 (tomcat10-common, libtomcat10-java)")
def test_war_in_tomcat_10(built, tmp_path):
    app, version, build_id = built
    base, port = tmp_path / "catalina", free_port()
    for sub in ("conf", "webapps", "logs", "temp", "work"):
        (base / sub).mkdir(parents=True)
    (base / "conf" / "server.xml").write_text(f"""<?xml version="1.0" encoding="UTF-8"?>
<Server port="-1" shutdown="SHUTDOWN">
  <Service name="Catalina">
    <Connector port="{port}" address="127.0.0.1" protocol="HTTP/1.1"/>
    <Engine name="Catalina" defaultHost="localhost">
      <Host name="localhost" appBase="webapps" unpackWARs="true" autoDeploy="false"/>
    </Engine>
  </Service>
</Server>
""")
    for etc in (CATALINA_HOME / "etc" / "web.xml", Path("/etc/tomcat10/web.xml")):
        if etc.exists():
            shutil.copy(etc, base / "conf" / "web.xml")  # the container's defaults (*.jsp and the default servlet)
            break
    shutil.copy(app / "build" / "hello-jvm.war", base / "webapps" / "ROOT.war")
    log = tmp_path / "catalina.log"
    env = {**ENV, "CATALINA_HOME": str(CATALINA_HOME), "CATALINA_BASE": str(base)}
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(CATALINA_HOME / "bin" / "catalina.sh"), "run"], cwd=base, env=env,  # pylint: disable=consider-using-with
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until_up(proc, port, log)
        assert get(port, "/health")[::2] == (200, b"OK\n")
        status, resp, body = get(port, "/health", method="HEAD")
        assert (status, body, resp.getheader("Content-Length")) == (200, b"", "3")
        status, resp, body = get(port, "/version")
        assert status == 200 and resp.getheader("Content-Type") == "application/json"
        info = json.loads(body)
        assert (info["name"], info["version"], info["build"]) == ("hello-jvm", version, build_id)
        status, resp, body = get(port, "/")
        assert (status, body) == (200, (APP / "public" / "index.html").read_bytes())
        assert resp.getheader("Content-Type").startswith("text/html")
        assert get(port, "/css/style.css")[2] == (APP / "public" / "css" / "style.css").read_bytes()
        assert get(port, "/missing.jsp")[::2] == (404, b"Not Found\n")  # the app's answer, not Jasper's
        status, resp = get(port, "/health", method="POST")[:2]
        assert status == 405 and resp.getheader("Allow") == "GET, HEAD"
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request("GET", "/events?interval=20")
            resp = conn.getresponse()
            assert resp.status == 200 and resp.getheader("Content-Type").startswith("text/event-stream")
            lines = [resp.readline() for _line in range(4)]
            assert lines == [b": connected\n", b"\n", b"data: tick 1\n", b"\n"]
        finally:
            conn.close()
        assert f"hello-jvm {version} ({build_id}) serving / in Apache Tomcat/10" in log.read_text(errors="replace")
    finally:
        stop(proc)
