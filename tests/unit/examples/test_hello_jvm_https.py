# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""examples/hello-jvm over HTTPS: with a PKCS12 keystore (HTTPS_KEYSTORE, or https.keystore in
application.properties) and its password file, the same handlers answer on HTTPS_PORT as well; without one, plain
HTTP only. Keystore mistakes stop the app with one line on stderr (exit 2) that never holds the password.

The keystore is made with openssl, as the lab test and a user's CA tooling make it (OpenSSL 3's PKCS12 defaults).
Needs a JDK 17 and openssl on PATH; the app is built into a temporary copy (test_hello_jvm.py's helpers).
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
from typing import NamedTuple

import pytest

from test_hello_jvm import copy_app, free_port, require_jdk, run_build, start_server, wait_for

PASSWORD = "Hello-https-" + "pw-41c9"  # a literal the checks look for in the app's output


class Keystore(NamedTuple):
    path: object
    password_file: object
    cert: object
    context: ssl.SSLContext


def openssl(*args, env=None):
    if shutil.which("openssl") is None:
        pytest.fail("the HTTPS tests make their keystore with openssl; install it (Debian: openssl)")
    result = subprocess.run(["openssl", *args], env={**os.environ, **(env or {})}, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return result


def make_keystore(tmp, name, password=PASSWORD):
    """A self-signed certificate for 127.0.0.1 and its key, as a PKCS12 keystore, and its password file."""
    tmp.mkdir(parents=True, exist_ok=True)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
            "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(tmp / "key.pem"), "-out", str(tmp / "cert.pem"))
    # The password through the environment, not the command line.
    openssl("pkcs12", "-export", "-inkey", str(tmp / "key.pem"), "-in", str(tmp / "cert.pem"), "-name", name,
            "-out", str(tmp / "keystore.p12"), "-passout", "env:JVMOPS_P12_PASSWORD", env={"JVMOPS_P12_PASSWORD": password})
    (tmp / "keystore.password").write_text(password + "\n")  # one line, as a user writes it; the app drops the line end
    return Keystore(tmp / "keystore.p12", tmp / "keystore.password", tmp / "cert.pem",
                    ssl.create_default_context(cafile=str(tmp / "cert.pem")))


@pytest.fixture(name="app", scope="module")
def app_fixture(tmp_path_factory):
    require_jdk()
    app = copy_app(tmp_path_factory.mktemp("hello-https") / "hello-jvm")
    result = run_build(app)
    assert result.returncode == 0, result.stdout + result.stderr
    return app


@pytest.fixture(name="work", scope="module")
def work_fixture(app, tmp_path_factory):
    work = tmp_path_factory.mktemp("work-https")
    shutil.copytree(app / "public", work / "public")
    return work


@pytest.fixture(name="keystore", scope="module")
def keystore_fixture(tmp_path_factory):
    return make_keystore(tmp_path_factory.mktemp("tls"), "hello-test")


def https_env(keystore, port):
    return {"HTTPS_PORT": str(port), "HTTPS_KEYSTORE": str(keystore.path), "HTTPS_KEYSTORE_PASSWORD_FILE": str(keystore.password_file)}


def https_get(port, path, context, timeout=10):
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout, context=context)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp, resp.read()
    finally:
        conn.close()


def refused(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return False
    except ConnectionRefusedError:
        return True


def run_app(app, work, **env):
    """Run the app to its exit (a configuration error); its exit status and stderr."""
    environ = {k: v for k, v in os.environ.items() if k not in ("PORT", "HOST", "LOG_LEVEL", "JAVA_TOOL_OPTIONS")}
    environ.update({"PORT": str(free_port()), "HOST": "127.0.0.1", **env})
    environ = {k: v for k, v in environ.items() if v is not None}
    classpath = os.pathsep.join([str(app / "build" / "hello-jvm.jar"), str(app / "config")])
    result = subprocess.run(["java", "-cp", classpath, "jvmops.hello.Main"], cwd=work, env=environ, capture_output=True,
                            text=True, timeout=60, check=False)
    return result.returncode, result.stdout + result.stderr


def test_https_serves_the_same_handlers_with_the_keystore(app, work, keystore):
    https_port = free_port()
    server = start_server(app, work, **https_env(keystore, https_port))
    try:
        # The certificate verifies against the keystore's own certificate (name 127.0.0.1 included).
        status, resp, body = https_get(https_port, "/health", keystore.context)
        assert (status, body) == (200, b"OK\n")
        assert resp.getheader("Content-Type").startswith("text/plain")
        status, _resp, body = https_get(https_port, "/version", keystore.context)
        assert status == 200 and json.loads(body)["pid"] == server.proc.pid
        status, _resp, body = https_get(https_port, "/", keystore.context)
        assert (status, body) == (200, (work / "public" / "index.html").read_bytes())
        assert https_get(https_port, "/no/such/file", keystore.context)[0] == 404
        # HTTP stays: the health check of jvm_app and the load balancers use it.
        assert server.request("GET", "/health")[::2] == (200, b"OK\n")
        # A client that does not trust the certificate is refused the handshake.
        with pytest.raises(ssl.SSLError):
            https_get(https_port, "/health", ssl.create_default_context())
        log = server.log_text()
        assert f"listening on 127.0.0.1:{server.port} and 127.0.0.1:{https_port} (HTTPS), pid {server.proc.pid}" in log, log
        assert PASSWORD not in log
        # SIGTERM closes both ports and exits 0.
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(timeout=15) == 0, server.log_text()
        assert refused(https_port) and refused(server.port)
    finally:
        server.stop()


def test_an_event_stream_runs_over_https(app, work, keystore):
    https_port = free_port()
    server = start_server(app, work, **https_env(keystore, https_port))
    conn = http.client.HTTPSConnection("127.0.0.1", https_port, timeout=10, context=keystore.context)
    try:
        conn.request("GET", "/events?interval=20")
        resp = conn.getresponse()
        assert resp.status == 200 and resp.getheader("Content-Type").startswith("text/event-stream")
        lines = []
        while len(lines) < 3:
            line = resp.readline()
            assert line, lines
            if line.strip():
                lines.append(line.decode().rstrip("\n"))
        assert lines == [": connected", "data: tick 1", "data: tick 2"]
    finally:
        conn.close()
        server.stop()


def test_the_keystore_can_come_from_application_properties(app, work, keystore, tmp_path):
    https_port = free_port()
    config = tmp_path / "config"
    shutil.copytree(app / "config", config)
    props = config / "application.properties"
    text = props.read_text()
    for key, value in (("https.port", str(https_port)), ("https.keystore", str(keystore.path)),
                       ("https.keystore.password.file", str(keystore.password_file))):
        assert f"\n{key}=" in text, key  # the shipped file names every key
        text = "\n".join(f"{key}={value}" if line.startswith(f"{key}=") else line for line in text.split("\n"))
    props.write_text(text)
    server = start_server(app, work, config=config)
    try:
        assert https_get(https_port, "/health", keystore.context)[::2] == (200, b"OK\n")
    finally:
        server.stop()


def test_without_a_keystore_only_http_listens(app, work):
    https_port = free_port()
    server = start_server(app, work, HTTPS_PORT=str(https_port))
    try:
        assert server.request("GET", "/health")[0] == 200
        assert refused(https_port)
        assert "(HTTPS)" not in server.log_text()
    finally:
        server.stop()


def test_a_new_keystore_is_served_after_a_restart(app, work, keystore, tmp_path):
    """What jvm_app does when the keystore changes: the same paths, new content, the app restarted."""
    https_port = free_port()
    live = tmp_path / "live"
    live.mkdir()
    shutil.copy(keystore.path, live / "keystore.p12")
    shutil.copy(keystore.password_file, live / "keystore.password")
    env = {"HTTPS_PORT": str(https_port), "HTTPS_KEYSTORE": str(live / "keystore.p12"),
           "HTTPS_KEYSTORE_PASSWORD_FILE": str(live / "keystore.password")}
    server = start_server(app, work, **env)
    try:
        assert https_get(https_port, "/health", keystore.context)[0] == 200
    finally:
        server.stop()
    renewed = make_keystore(tmp_path / "renewed", "hello-renewed", password=PASSWORD + "-2")
    shutil.copy(renewed.path, live / "keystore.p12")
    shutil.copy(renewed.password_file, live / "keystore.password")
    wait_for(lambda: refused(https_port), 10, "the old server's HTTPS port to close")
    server = start_server(app, work, **env)
    try:
        assert https_get(https_port, "/health", renewed.context)[0] == 200
        with pytest.raises(ssl.SSLError):
            https_get(https_port, "/health", keystore.context)
    finally:
        server.stop()


@pytest.mark.parametrize("case", ["wrong-password", "no-password-file", "unreadable-password-file", "missing-keystore",
                                  "not-a-keystore", "same-port", "bad-port"])
def test_keystore_mistakes_exit_2_with_one_line_and_no_password(app, work, keystore, tmp_path, case):
    wrong = tmp_path / "wrong.password"
    wrong.write_text("not-" + PASSWORD + "\n")
    garbage = tmp_path / "garbage.p12"
    garbage.write_bytes(b"not a keystore\n")
    https_port = free_port()
    env = https_env(keystore, https_port)
    expected = {
        "wrong-password": ({"HTTPS_KEYSTORE_PASSWORD_FILE": str(wrong)}, f"cannot read the HTTPS keystore {keystore.path}"),
        "no-password-file": ({"HTTPS_KEYSTORE_PASSWORD_FILE": None}, "HTTPS_KEYSTORE_PASSWORD_FILE"),
        "unreadable-password-file": ({"HTTPS_KEYSTORE_PASSWORD_FILE": str(tmp_path / "none")},
                                     f"cannot read the HTTPS keystore password file {tmp_path / 'none'}: no such file"),
        "missing-keystore": ({"HTTPS_KEYSTORE": str(tmp_path / "none.p12")}, f"{tmp_path / 'none.p12'}"),
        "not-a-keystore": ({"HTTPS_KEYSTORE": str(garbage)},
                           f"the HTTPS keystore {garbage} (with the password in {keystore.password_file}): not a PKCS12 keystore"),
        "same-port": ({"HTTPS_PORT": "PORT"}, "is the HTTP port too"),
        "bad-port": ({"HTTPS_PORT": "70000"}, "invalid HTTPS_PORT '70000'"),
    }
    overrides, words = expected[case]
    env.update(overrides)
    if env["HTTPS_PORT"] == "PORT":
        port = str(free_port())
        env.update(PORT=port, HTTPS_PORT=port)
    returncode, output = run_app(app, work, **env)
    assert returncode == 2, output
    assert words in output, output
    assert len(output.strip().splitlines()) == 1, output
    assert "Exception" not in output and "\tat " not in output
    assert PASSWORD not in output


def test_a_taken_https_port_exits_1_naming_it(app, work, keystore):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        https_port = taken.getsockname()[1]
        returncode, output = run_app(app, work, **https_env(keystore, https_port))
    assert returncode == 1, output
    assert f"cannot listen on 127.0.0.1:{https_port}" in output, output
