# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The local Heroku Platform API fake (tests/heroku_fake/server.py), started in-process and used over HTTPS."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import io
import json
import re
import signal
import socket
import ssl
import subprocess
import sys
import tarfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

SERVER = Path(__file__).resolve().parents[2] / "heroku_fake" / "server.py"
ACCEPT = "application/vnd.heroku+json; version=3"
WEB_COMMAND = "echo \"web dyno booting on $PORT as $DYNO\"; exec python3 -u -m http.server \"$PORT\" --bind 127.0.0.1"
EXIT_MARKER = "\uFFFF heroku-command-exit-status:"


def load_server():
    spec = importlib.util.spec_from_file_location("heroku_fake_server", SERVER)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


heroku_fake = load_server()


class Answer:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body


class Client:
    """urllib against the fake, trusting its throwaway CA; remembers the mismatches a test provokes on purpose."""

    def __init__(self, fake):
        self.fake = fake
        self.context = ssl.create_default_context(cafile=fake.ca_path)
        self.expected = []

    def call(self, method, path, body=None, key=True, accept=ACCEPT, headers=None):
        sent = dict(headers or {})
        if accept:
            sent["Accept"] = accept
        if key is True:
            sent["Authorization"] = f"Bearer {self.fake.api_key}"
        elif key:
            sent["Authorization"] = key
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        request = urllib.request.Request(self.fake.api_url + path, data=data, method=method, headers=sent)
        try:
            with urllib.request.urlopen(request, context=self.context, timeout=30) as response:
                return Answer(response.status, response.headers, json.loads(response.read() or b"null"))
        except urllib.error.HTTPError as exc:
            with exc:
                return Answer(exc.code, exc.headers, json.loads(exc.read() or b"null"))

    def ok(self, method, path, body=None, status=None):
        answer = self.call(method, path, body)
        assert answer.status == (status or (201 if method == "POST" else 200)), answer.body
        return answer.body

    def control(self, name, body=None):
        request = urllib.request.Request(f"{self.fake.api_url}/__fake__/{name}", method="POST" if body is not None else "GET",
                                         data=json.dumps(body).encode() if body is not None else None,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, context=self.context, timeout=30) as response:
            return json.loads(response.read())

    def open(self, url, method="GET", data=None, timeout=30):
        request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": ""} if data is not None else {})
        return urllib.request.urlopen(request, context=self.context, timeout=timeout)

    def expect_mismatch(self, method, path, where):
        self.expected.append((method, path, where))

    def stats(self):
        return self.control("stats")


@pytest.fixture(name="fake", scope="module")
def fake_fixture(tmp_path_factory):
    fake = heroku_fake.FakeHeroku(tmp_path_factory.mktemp("heroku-fake"), port=0, build_line_delay=0.01, stop_grace=3)
    fake.start()
    client = Client(fake)
    yield client
    fake.stop()
    # The whole module: every mismatch recorded was provoked on purpose, and each provoked one was recorded.
    stats = json.loads((fake.state_dir / "stats.json").read_text())
    seen = [(m["method"], m["path"], m["where"]) for m in stats["mismatches"]]
    assert sorted(seen) == sorted(client.expected), stats["mismatches"]
    assert stats["requests_validated"] > 50
    assert stats["responses_validated"] > 50


def tarball(files, top=None):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, content in files.items():
            data = content.encode()
            info = tarfile.TarInfo(f"{top}/{name}" if top else name)
            info.size = len(data)
            info.mode = 0o755 if name.endswith(".sh") else 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def sample(page="hello v1"):
    return {
        "Procfile": f"web: {WEB_COMMAND}\n",
        "index.html": page + "\n",
        "demo.sh": "#!/bin/sh\necho \"demo $1\"\necho \"to stderr\" >&2\nexit \"${2:-0}\"\n",
    }


def upload(client, data):
    blob = client.ok("POST", "/sources")["source_blob"]
    with client.open(blob["put_url"], method="PUT", data=data) as response:
        assert response.status == 200
    return blob


def read_stream(client, url):
    with client.open(url) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        return response.read().decode().splitlines()


def build(client, app, files, version=None, top=None, checksum=True, data=None):
    """Upload, build, read the output stream to its end; (build, output lines)."""
    data = data if data is not None else tarball(files, top)
    blob = upload(client, data)
    source_blob = {"url": blob["get_url"]}
    if checksum:
        source_blob["checksum"] = "SHA256:" + hashlib.sha256(data).hexdigest()
    if version:
        source_blob["version"] = version
    created = client.ok("POST", f"/apps/{app}/builds", {"source_blob": source_blob})
    assert created["status"] == "pending"
    lines = read_stream(client, created["output_stream_url"])
    return client.ok("GET", f"/apps/{app}/builds/{created['id']}"), lines


def web(url, timeout=40):
    """(status, body) of a plain HTTP GET to the app's router."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read().decode()


def log_lines(client, app, **body):
    session = client.ok("POST", f"/apps/{app}/log-sessions", dict({"lines": 1500}, **body))
    return read_stream(client, session["logplex_url"])


def deployed_app(client, name, page="hello v1"):
    client.ok("POST", "/apps", {"name": name})
    result = build(client, name, sample(page), version="1.0.0")[0]
    assert result["status"] == "succeeded"
    return client.ok("GET", f"/apps/{name}")


def rendezvous(client, attach_url):
    parts = urlsplit(attach_url)
    assert parts.scheme == "rendezvous"
    raw = socket.create_connection((parts.hostname, parts.port), timeout=30)
    with client.context.wrap_socket(raw, server_hostname=parts.hostname) as conn:
        conn.sendall(parts.path.lstrip("/").encode() + b"\r\n")
        chunks = []
        while True:
            data = conn.recv(65536)
            if not data:
                break
            chunks.append(data)
    return b"".join(chunks)


# -- start-up, authentication, headers ------------------------------------------------------------------------

def test_server_json_and_certificate(fake):
    info = json.loads((fake.fake.state_dir / "server.json").read_text())
    assert info["api_url"] == fake.fake.api_url and re.match(r"^https://127\.0\.0\.1:\d+$", info["api_url"])
    assert info["ca_path"] == str(fake.fake.state_dir / "ca.pem")
    assert info["api_key"] == fake.fake.api_key and info["pid"] > 0
    port = urlsplit(info["api_url"]).port
    for host in ("127.0.0.1", "localhost"):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with fake.context.wrap_socket(raw, server_hostname=host) as conn:
                assert conn.version().startswith("TLS")


def test_authentication(fake):
    wrong = fake.call("GET", "/account", key="Bearer not-the-key")
    assert wrong.status == 401
    assert wrong.body == {"id": "unauthorized", "message": "Invalid credentials provided."}
    assert fake.call("GET", "/account", key=None).status == 401
    basic = base64.b64encode(f":{fake.fake.api_key}".encode()).decode()
    account = fake.call("GET", "/account", key=f"Basic {basic}")
    assert account.status == 200 and account.body["email"] == "ops@example.com"
    assert re.match(r"^[0-9a-f-]{36}$", account.headers["Request-Id"])
    assert 0 < int(account.headers["RateLimit-Remaining"]) < 4500


def test_accept_header_required(fake):
    fake.expect_mismatch("GET", "/account", "headers")
    answer = fake.call("GET", "/account", accept=None)
    assert answer.status == 400 and answer.body["id"] == "bad_request"
    mismatches = fake.stats()["mismatches"]
    assert {"method": "GET", "path": "/account", "where": "headers"}.items() <= mismatches[-1].items()


def test_unknown_endpoint_is_a_mismatch(fake):
    fake.expect_mismatch("GET", "/no-such-thing", "request")
    answer = fake.call("GET", "/no-such-thing")
    assert answer.status == 404 and answer.body["id"] == "not_found"


# -- apps ------------------------------------------------------------------------------------------------------

def test_app_create_info_update_delete(fake):
    created = fake.ok("POST", "/apps", {"name": "crud-app", "region": "eu", "stack": "heroku-22"})
    assert created["region"]["name"] == "eu" and created["stack"]["name"] == "heroku-22"
    assert created["git_url"] == "https://git.heroku.com/crud-app.git"
    assert re.match(r"^http://127\.0\.0\.1:\d+/$", created["web_url"])
    assert fake.ok("GET", f"/apps/{created['id']}")["name"] == "crud-app"
    taken = fake.call("POST", "/apps", {"name": "crud-app"})
    assert taken.status == 422 and taken.body == {"id": "invalid_params", "message": "Name crud-app is already taken"}
    assert fake.call("POST", "/apps", {"name": "other-app", "region": "mars"}).status == 422
    generated = fake.ok("POST", "/apps", {})
    assert re.match(r"^[a-z]+-[a-z]+-\d{4}$", generated["name"])
    updated = fake.ok("PATCH", "/apps/crud-app", {"maintenance": True, "build_stack": "heroku-24"})
    assert updated["maintenance"] is True and updated["build_stack"]["name"] == "heroku-24"
    assert fake.ok("DELETE", "/apps/crud-app")["name"] == "crud-app"
    missing = fake.call("GET", "/apps/crud-app")
    assert missing.status == 404 and missing.body == {"id": "not_found", "message": "Couldn't find that app."}
    fake.ok("DELETE", f"/apps/{generated['name']}")


def test_app_list_pagination(fake):
    names = [f"page-app-{n}" for n in range(5)]
    for name in names:
        fake.ok("POST", "/apps", {"name": name})
    seen, statuses = [], []
    header = "name page-app-0..page-app-9; max=2"
    while True:
        answer = fake.call("GET", "/apps", headers={"Range": header})
        statuses.append(answer.status)
        seen.extend(app["name"] for app in answer.body)
        if answer.status != 206:
            break
        assert answer.headers["Content-Range"].startswith("name page-app-")
        header = answer.headers["Next-Range"]
        assert re.match(r"^name \]page-app-\d\.\.page-app-9; max=2$", header)
    assert seen == names and statuses == [206, 206, 200]
    descending = fake.call("GET", "/apps", headers={"Range": "name page-app-4..page-app-0; order=desc, max=10"})
    assert [app["name"] for app in descending.body] == names[::-1]
    assert fake.call("GET", "/apps", headers={"Range": "color ..; max=2"}).status == 416
    fake.control("config", {"page_size": 3})
    try:
        assert fake.call("GET", "/apps").status == 206
    finally:
        fake.control("config", {"page_size": 200})
    for name in names:
        fake.ok("DELETE", f"/apps/{name}")


def test_team_app(fake):
    app = fake.ok("POST", "/teams/apps", {"team": "jvmops", "name": "team-app-1", "region": "us"})
    assert app["team"] == {"name": "jvmops"} and app["locked"] is False
    assert fake.ok("GET", "/apps/team-app-1")["team"]["name"] == "jvmops"
    assert fake.ok("GET", "/teams/apps/team-app-1")["name"] == "team-app-1"
    assert [a["name"] for a in fake.ok("GET", "/teams/jvmops/apps")] == ["team-app-1"]
    assert fake.call("POST", "/teams/apps", {"team": "nobody", "name": "team-app-2"}).status == 404
    fake.ok("DELETE", "/apps/team-app-1")


# -- schema validation -----------------------------------------------------------------------------------------

def test_request_schema_violations_are_refused_and_recorded(fake):
    fake.ok("POST", "/apps", {"name": "schema-app"})
    before = fake.stats()
    fake.expect_mismatch("PATCH", "/apps/schema-app/config-vars", "request")
    bad_key = fake.call("PATCH", "/apps/schema-app/config-vars", {"bad-key": "x"})
    assert bad_key.status == 422 and bad_key.body["id"] == "invalid_params"
    assert "bad-key" in bad_key.body["message"]
    fake.expect_mismatch("POST", "/apps", "request")
    bad_name = fake.call("POST", "/apps", {"name": "Not_A_Name"})
    assert bad_name.status == 422 and bad_name.body["message"].startswith("Invalid params: name: must match the pattern")
    fake.expect_mismatch("PATCH", "/apps/schema-app/formation", "request")
    bad_update = fake.call("PATCH", "/apps/schema-app/formation", {"updates": [{"type": "web", "size": "basic"}]})
    assert bad_update.status == 422 and "'size' was unexpected" in bad_update.body["message"]
    fake.expect_mismatch("POST", "/apps/schema-app/releases", "request")
    neither = fake.call("POST", "/apps/schema-app/releases", {"release": 3})
    assert neither.status == 422 and "as Create" in neither.body["message"] and "as Rollback" in neither.body["message"]
    after = fake.stats()
    assert len(after["mismatches"]) == len(before["mismatches"]) + 4
    assert [m["where"] for m in after["mismatches"][-4:]] == ["request"] * 4
    assert after["requests_validated"] == before["requests_validated"]
    assert after["calls"]["PATCH /apps/{app}/config-vars"] >= 1
    on_disk = json.loads((fake.fake.state_dir / "stats.json").read_text())
    assert on_disk == after
    fake.ok("DELETE", "/apps/schema-app")
    assert fake.stats()["requests_validated"] == after["requests_validated"] + 1


def test_response_schema_violation_fails_loudly(fake, monkeypatch):
    monkeypatch.setitem(fake.fake.routes, "GET /account", lambda req: heroku_fake.Reply(200, {"email": "ops@example.com"}))
    fake.expect_mismatch("GET", "/account", "response")
    answer = fake.call("GET", "/account")
    assert answer.status == 500 and answer.body["id"] == "fake_schema_mismatch"
    assert "is a required property" in answer.body["message"]
    assert fake.stats()["mismatches"][-1]["where"] == "response"


BAD_FORMATS = [("created_at", "2024-01-01 00:00", "date-time"), ("id", "0123456789abcdef0123456789abcdef", "uuid")]


@pytest.mark.parametrize("field, value, rule", BAD_FORMATS)
def test_response_formats_are_checked(fake, monkeypatch, field, value, rule):
    app = fake.ok("POST", "/apps", {"name": f"format-{rule}"}, status=201)
    monkeypatch.setitem(fake.fake.routes, "GET /apps/{app}", lambda req: heroku_fake.Reply(200, dict(app, **{field: value})))
    fake.expect_mismatch("GET", f"/apps/format-{rule}", "response")
    answer = fake.call("GET", f"/apps/format-{rule}")
    assert answer.status == 500 and answer.body["id"] == "fake_schema_mismatch"
    assert f"{field}: must be a valid {rule}" in answer.body["message"]
    fake.ok("DELETE", f"/apps/format-{rule}")


# -- config vars and releases ------------------------------------------------------------------------------------

def test_config_vars_make_releases(fake):
    fake.ok("POST", "/apps", {"name": "config-app"})
    assert fake.ok("PATCH", "/apps/config-app/config-vars", {"AUTH_USER": "nico", "AUTH_PASS": "s3cret"}) == \
        {"AUTH_USER": "nico", "AUTH_PASS": "s3cret"}
    newest = fake.call("GET", "/apps/config-app/releases", headers={"Range": "version ..; order=desc, max=1"})
    assert newest.status == 206 and newest.headers["Next-Range"] == "version ]2..; max=1, order=desc"
    assert [(r["version"], r["description"], r["current"]) for r in newest.body] == [(2, "Set AUTH_USER, AUTH_PASS config vars", True)]
    fake.ok("PATCH", "/apps/config-app/config-vars", {"AUTH_USER": "nico", "GONE": None})
    assert len(fake.ok("GET", "/apps/config-app/releases")) == 2
    fake.ok("PATCH", "/apps/config-app/config-vars", {"AUTH_USER": None})
    releases = fake.ok("GET", "/apps/config-app/releases")
    assert [(r["version"], r["description"], r["current"]) for r in releases] == [
        (1, "Initial release", False), (2, "Set AUTH_USER, AUTH_PASS config vars", False), (3, "Remove AUTH_USER config vars", True)]
    assert fake.ok("GET", "/apps/config-app/config-vars") == {"AUTH_PASS": "s3cret"}
    assert fake.ok("GET", "/apps/config-app/releases/2/config-vars") == {"AUTH_USER": "nico", "AUTH_PASS": "s3cret"}
    assert fake.ok("GET", f"/apps/config-app/releases/{releases[0]['id']}")["version"] == 1
    assert fake.call("GET", "/apps/config-app/releases/9").status == 404
    lines = log_lines(fake, "config-app", source="app")
    assert any(line.endswith("app[api]: Set AUTH_USER, AUTH_PASS config vars by user ops@example.com") for line in lines)
    assert any(line.endswith("app[api]: Release v3 created by user ops@example.com") for line in lines)
    fake.ok("DELETE", "/apps/config-app")


def test_buildpack_installations(fake):
    fake.ok("POST", "/apps", {"name": "packs-app"})
    installed = fake.ok("PUT", "/apps/packs-app/buildpack-installations",
                        {"updates": [{"buildpack": "heroku/jvm"}, {"buildpack": "https://example.com/pack.tgz"}]}, status=200)
    assert installed == [{"buildpack": {"url": "urn:buildpack:heroku/jvm", "name": "heroku/jvm"}, "ordinal": 0},
                         {"buildpack": {"url": "https://example.com/pack.tgz", "name": "https://example.com/pack.tgz"}, "ordinal": 1}]
    assert fake.ok("GET", "/apps/packs-app/buildpack-installations") == installed
    fake.ok("DELETE", "/apps/packs-app")


# -- sources and builds ------------------------------------------------------------------------------------------

def test_source_blob_urls(fake):
    blob = fake.ok("POST", "/sources")["source_blob"]
    assert blob["get_url"] != blob["put_url"]
    for url, method in ((blob["put_url"].split("?")[0] + "?signature=wrong", "PUT"), (blob["get_url"], "PUT"),
                        (blob["put_url"].split("?")[0], "PUT"), (blob["put_url"], "GET")):
        with pytest.raises(urllib.error.HTTPError) as refused:
            fake.open(url, method=method, data=b"x" if method == "PUT" else None)
        assert refused.value.code == 403
        refused.value.close()
    with fake.open(blob["put_url"], method="PUT", data=b"some bytes") as response:
        assert response.status == 200
    with fake.open(blob["get_url"]) as response:
        assert response.read() == b"some bytes"
    calls = fake.stats()["calls"]
    assert not any("__blobs__" in key for key in calls)


def test_build_release_and_web_dyno(fake):
    fake.ok("POST", "/apps", {"name": "build-app"})
    fake.ok("PUT", "/apps/build-app/buildpack-installations", {"updates": [{"buildpack": "heroku/jvm"}]}, status=200)
    result, lines = build(fake, "build-app", sample(), version="1.0.0", top="build-app-main")
    assert result["status"] == "succeeded"
    assert lines[0] == "-----> Building on the Heroku-24 stack"
    assert "-----> Using buildpack: heroku/jvm" in lines
    assert "       Procfile declares types -> web" in lines
    assert "       Released v2" in lines
    app = fake.ok("GET", "/apps/build-app")
    assert lines[-1] == f"       {app['web_url']} deployed to Heroku"
    assert result["source_blob"]["version"] == "1.0.0" and result["source_blob"]["checksum"].startswith("SHA256:")
    release = fake.ok("GET", f"/apps/build-app/releases/{result['release']['id']}")
    assert release["version"] == 2 and release["description"] == "Deploy 1.0.0" and release["current"]
    assert release["slug"]["id"] == result["slug"]["id"]
    slug = fake.ok("GET", f"/apps/build-app/slugs/{result['slug']['id']}")
    assert slug["process_types"] == {"web": WEB_COMMAND} and slug["checksum"].startswith("SHA256:")
    assert app["slug_size"] == slug["size"] and app["buildpack_provided_description"] == "JVM"
    formation = fake.ok("GET", "/apps/build-app/formation")
    assert [(f["type"], f["quantity"], f["size"]) for f in formation] == [("web", 1, "Basic")]
    assert [b["id"] for b in fake.ok("GET", "/apps/build-app/builds")] == [result["id"]]
    # The router holds the request until web.1 is up, then forwards it.
    status, page = web(app["web_url"] + "index.html")
    assert (status, page) == (200, "hello v1\n")
    dynos = fake.ok("GET", "/apps/build-app/dynos")
    assert [(d["name"], d["state"], d["release"]["version"]) for d in dynos] == [("web.1", "up", 2)]
    assert fake.ok("GET", "/apps/build-app/dynos/web.1")["id"] == dynos[0]["id"]
    lines = log_lines(fake, "build-app")
    assert any(re.search(r"app\[web\.1\]: web dyno booting on \d+ as web\.1$", line) for line in lines)
    assert any(re.search(r'heroku\[router\]: at=info method=GET path="/index.html" .*dyno=web\.1 .*status=200', line)
               for line in lines)
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00 ", lines[0])
    # Scale to 0: the router has nothing to send to.
    scaled = fake.ok("PATCH", "/apps/build-app/formation", {"updates": [{"type": "web", "quantity": 0}]}, status=200)
    assert scaled[0]["quantity"] == 0
    status, page = web(app["web_url"])
    assert status == 503 and "Application error" in page
    assert any("code=H14" in line for line in log_lines(fake, "build-app", source="heroku", dyno_name="router"))
    fake.ok("PATCH", "/apps/build-app/formation/web", {"quantity": 2, "dyno_size": {"name": "standard-1x"}}, status=200)
    assert web(app["web_url"])[0] == 200
    assert sorted(d["name"] for d in fake.ok("GET", "/apps/build-app/dynos")) == ["web.1", "web.2"]
    assert fake.ok("GET", "/apps/build-app/formation/web")["dyno_size"]["name"] == "Standard-1X"
    unknown = fake.call("PATCH", "/apps/build-app/formation", {"updates": [{"type": "worker", "quantity": 1}]})
    assert unknown.status == 404 and unknown.body["message"] == "Couldn't find that process type (worker)."
    fake.ok("PATCH", "/apps/build-app", {"maintenance": True}, status=200)
    status, page = web(app["web_url"])
    assert status == 503 and "maintenance" in page
    fake.ok("PATCH", "/apps/build-app", {"maintenance": False}, status=200)
    with fake.fake.lock:
        processes = list(fake.fake.apps[app["id"]].dynos.values())
    fake.ok("DELETE", "/apps/build-app")
    for dyno in processes:
        assert dyno.exited.wait(10)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", urlsplit(app["web_url"]).port), timeout=5).close()


def test_build_without_procfile_fails(fake):
    fake.ok("POST", "/apps", {"name": "noproc-app"})
    result, lines = build(fake, "noproc-app", {"index.html": "no procfile\n"})
    assert result["status"] == "failed" and result["release"] is None
    assert lines[-2] == " !     Push rejected, failed to compile app."
    assert "No Procfile found" in lines[-1]
    assert len(fake.ok("GET", "/apps/noproc-app/releases")) == 1
    fake.ok("DELETE", "/apps/noproc-app")


def test_build_rejects_bad_sources(fake):
    fake.ok("POST", "/apps", {"name": "badsrc-app"})
    data = tarball(sample())
    blob = upload(fake, data)
    created = fake.ok("POST", "/apps/badsrc-app/builds", {"source_blob": {"url": blob["get_url"], "checksum": "SHA256:" + "0" * 64}})
    lines = read_stream(fake, created["output_stream_url"])
    assert "Checksum mismatch" in lines[-1]
    assert fake.ok("GET", f"/apps/badsrc-app/builds/{created['id']}")["status"] == "failed"
    evil = io.BytesIO()
    with tarfile.open(fileobj=evil, mode="w:gz") as tar:
        info = tarfile.TarInfo("../evil")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    result, lines = build(fake, "badsrc-app", {}, data=evil.getvalue())
    assert result["status"] == "failed" and "Unsafe path" in lines[-1]
    for target in ("/etc/passwd", "../../outside"):
        escaping = io.BytesIO()
        with tarfile.open(fileobj=escaping, mode="w:gz") as tar:
            info = tarfile.TarInfo("app/link")
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
            info = tarfile.TarInfo("app/Procfile")
            info.size = 4
            tar.addfile(info, io.BytesIO(b"web:"))
        result, lines = build(fake, "badsrc-app", {}, data=escaping.getvalue())
        assert result["status"] == "failed" and "Unsafe entry in the source tarball" in lines[-1], lines
    created = fake.ok("POST", "/apps/badsrc-app/builds", {"source_blob": {"url": "https://example.com/source.tgz"}})
    assert "Unable to fetch source" in read_stream(fake, created["output_stream_url"])[-1]
    fake.ok("DELETE", "/apps/badsrc-app")


def test_fail_next_build(fake):
    app = deployed_app(fake, "failnext-app")
    assert fake.control("fail-next-build", {"app": "failnext-app", "message": "compilation failed: demo.scala:3: error"})
    result, lines = build(fake, "failnext-app", sample("hello v2"))
    assert result["status"] == "failed"
    assert len(lines) > 3 and lines[-1] == " !     compilation failed: demo.scala:3: error"
    assert fake.ok("GET", "/apps/failnext-app/releases/2")["current"]
    assert web(app["web_url"]) == (200, "hello v1\n")
    result = build(fake, "failnext-app", sample("hello v2"))[0]
    assert result["status"] == "succeeded"
    fake.ok("DELETE", "/apps/failnext-app")


# -- faults -----------------------------------------------------------------------------------------------------

def test_injected_faults(fake):
    before = fake.stats()
    fake.control("faults", {"status": 429, "count": 2, "method": "GET", "path_regex": "^/account$"})
    for attempt in range(2):
        limited = fake.call("GET", "/account")
        assert limited.status == 429 and limited.body["id"] == "rate_limit"
        assert limited.body["message"].startswith("Your account reached the API rate limit")
        assert limited.headers["RateLimit-Remaining"] == "0"
    assert fake.call("GET", "/account").status == 200
    fake.control("faults", {"status": "503", "count": 1, "path_regex": "^/apps$"})
    refused = fake.call("POST", "/apps", {"name": "fault-app"})
    assert refused.status == 503 and refused.body["id"] == "internal_server_error"
    assert fake.call("GET", "/apps/fault-app").status == 404
    after = fake.stats()
    assert after["faults_injected"] == before["faults_injected"] + 3
    assert after["requests_received"] == before["requests_received"] + 5


# -- releases ----------------------------------------------------------------------------------------------------

def test_rollback(fake):
    app = deployed_app(fake, "rollback-app", page="page one")
    fake.ok("PATCH", "/apps/rollback-app/config-vars", {"GREETING": "hello"})
    second = build(fake, "rollback-app", sample("page two"), version="2.0.0")[0]
    assert second["status"] == "succeeded"
    assert web(app["web_url"]) == (200, "page two\n")
    v2 = fake.ok("GET", "/apps/rollback-app/releases/2")
    rolled = fake.ok("POST", "/apps/rollback-app/releases", {"release": v2["id"]})
    assert (rolled["version"], rolled["description"], rolled["current"]) == (5, "Rollback to v2", True)
    assert rolled["slug"]["id"] == v2["slug"]["id"]
    assert fake.ok("GET", "/apps/rollback-app/config-vars") == {}
    assert web(app["web_url"]) == (200, "page one\n")
    v1 = fake.ok("GET", "/apps/rollback-app/releases/1")
    assert fake.call("POST", "/apps/rollback-app/releases", {"release": v1["id"]}).status == 422
    again = fake.ok("POST", "/apps/rollback-app/releases", {"slug": second["slug"]["id"], "description": "Back to two"})
    assert (again["version"], again["description"]) == (6, "Back to two")
    assert web(app["web_url"]) == (200, "page two\n")
    fake.ok("DELETE", "/apps/rollback-app")


# -- one-off dynos and logs ------------------------------------------------------------------------------------

def test_one_off_dyno_attached(fake):
    deployed_app(fake, "run-app")
    command = f'./demo.sh 100; echo "{EXIT_MARKER} $?"'
    dyno = fake.ok("POST", "/apps/run-app/dynos", {"command": command, "attach": True, "type": "run", "env": {"TOKEN": "t"}})
    assert re.match(r"^run\.\d{4}$", dyno["name"]) and dyno["state"] == "starting"
    assert re.match(r"^rendezvous://127\.0\.0\.1:\d+/\S+$", dyno["attach_url"])
    output = rendezvous(fake, dyno["attach_url"])
    assert output.startswith(b"rendezvous\r\n")
    text = output[len(b"rendezvous\r\n"):].decode()
    assert text.splitlines() == ["demo 100", "to stderr", f"{EXIT_MARKER} 0"]
    failing = fake.ok("POST", "/apps/run-app/dynos", {"command": f'./demo.sh 7 3; echo "{EXIT_MARKER} $?"', "attach": True})
    assert rendezvous(fake, failing["attach_url"]).decode().endswith(f"{EXIT_MARKER} 3\n")
    # time_to_live ends the dyno: no exit status marker comes back.
    ttl = fake.ok("POST", "/apps/run-app/dynos", {"command": f'echo started; sleep 30; echo "{EXIT_MARKER} $?"',
                                                  "attach": True, "time_to_live": 1})
    started = time.monotonic()
    assert rendezvous(fake, ttl["attach_url"]) == b"rendezvous\r\nstarted\n"
    assert time.monotonic() - started < 10
    # A wrong secret gets nothing.
    parts = urlsplit(dyno["attach_url"])
    assert rendezvous(fake, f"rendezvous://{parts.hostname}:{parts.port}/not-a-secret") == b""
    listed = {d["name"]: d["state"] for d in fake.ok("GET", "/apps/run-app/dynos")}
    assert listed[dyno["name"]] == "complete" and listed["web.1"] == "up"
    heroku_lines = log_lines(fake, "run-app", dyno_name=ttl["name"])
    assert any(line.endswith("Stopping process with SIGKILL") for line in heroku_lines)
    assert any(line.endswith("Process exited with status 137") for line in heroku_lines)
    fake.ok("DELETE", "/apps/run-app")


def test_one_off_dyno_detached_in_log_session(fake):
    deployed_app(fake, "detached-app")
    dyno = fake.ok("POST", "/apps/detached-app/dynos", {"command": 'echo "token=$TOKEN"; ./demo.sh 5 4', "attach": False,
                                                        "env": {"TOKEN": "abc"}, "size": "standard-1X"})
    assert dyno["attach_url"] is None and dyno["size"] == "Standard-1X"
    session = fake.ok("POST", "/apps/detached-app/log-sessions", {"dyno_name": dyno["name"], "tail": True, "lines": 1500})
    assert re.match(r"^https://127\.0\.0\.1:\d+/__logs__/[0-9a-f-]{36}\?srv=\S+$", session["logplex_url"])
    lines = []
    with fake.open(session["logplex_url"]) as stream:
        for raw in stream:
            lines.append(raw.decode().rstrip("\n"))
            if re.search(r"State changed from \S+ to (complete|crashed)$", lines[-1]):
                break
    name = re.escape(dyno["name"])
    messages = [re.sub(r"^\S+ ", "", line) for line in lines]
    assert f"heroku[{dyno['name']}]: Starting process with command `echo \"token=$TOKEN\"; ./demo.sh 5 4` by user ops@example.com" in messages
    assert [m for m in messages if re.match(rf"^app\[{name}\]", m)] == [
        f"app[{dyno['name']}]: token=abc", f"app[{dyno['name']}]: demo 5", f"app[{dyno['name']}]: to stderr"]
    assert messages[-2:] == [f"heroku[{dyno['name']}]: Process exited with status 4",
                             f"heroku[{dyno['name']}]: State changed from up to complete"]
    assert fake.ok("GET", f"/apps/detached-app/dynos/{dyno['name']}")["state"] == "complete"
    fake.ok("DELETE", "/apps/detached-app")


def test_log_session_tail_streams_new_lines(fake):
    fake.ok("POST", "/apps", {"name": "tail-app"})
    recent = log_lines(fake, "tail-app", lines=1)
    assert len(recent) == 1 and recent[0].endswith("app[api]: Release v1 created by user ops@example.com")
    assert fake.call("POST", "/apps/tail-app/log-sessions", {"lines": 0}).status == 422
    session = fake.ok("POST", "/apps/tail-app/log-sessions", {"tail": True, "source": "app", "lines": 1})
    changed = threading.Event()

    def change():
        changed.wait(10)
        fake.ok("PATCH", "/apps/tail-app/config-vars", {"TAILED": "yes"}, status=200)
    worker = threading.Thread(target=change)
    worker.start()
    with fake.open(session["logplex_url"], timeout=20) as stream:
        first = stream.readline().decode()
        assert first.endswith("app[api]: Release v1 created by user ops@example.com\n")
        changed.set()
        nxt = stream.readline().decode()
        assert nxt.endswith("app[api]: Set TAILED config vars by user ops@example.com\n")
        assert stream.readline().decode().endswith("app[api]: Release v2 created by user ops@example.com\n")
    worker.join()
    with pytest.raises(urllib.error.HTTPError) as wrong:
        fake.open(session["logplex_url"].split("?")[0] + "?srv=wrong")
    assert wrong.value.code == 404
    wrong.value.close()
    fake.ok("DELETE", "/apps/tail-app")


def test_reset(fake):
    fake.ok("POST", "/apps", {"name": "reset-app"})
    fake.control("faults", {"status": 500, "count": 5, "path_regex": "^/never$"})
    before = fake.stats()
    assert fake.control("reset", {}) == {"reset": True}
    assert fake.call("GET", "/apps/reset-app").status == 404
    after = fake.stats()
    assert after["requests_validated"] == before["requests_validated"] + 1
    assert after["faults_injected"] == before["faults_injected"]


# -- dynos that crash or never boot, with short timeouts -------------------------------------------------------

@pytest.fixture(name="quick")
def quick_fixture(tmp_path):
    fake = heroku_fake.FakeHeroku(tmp_path / "state", boot_timeout=1, rendezvous_timeout=1, build_line_delay=0, stop_grace=2)
    fake.start()
    yield Client(fake)
    fake.stop()
    assert json.loads((fake.state_dir / "stats.json").read_text())["mismatches"] == []


def wait_for_state(client, app, dyno, states, timeout=20):
    """The dyno's state once it is one of states (the dyno manager changes it in the background)."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while True:
        state = client.ok("GET", f"/apps/{app}/dynos/{dyno}")["state"]
        if state in states or time.monotonic() > deadline:
            return state
        pause.wait(0.1)


def test_crashing_and_never_booting_web_dynos(quick):
    quick.ok("POST", "/apps", {"name": "crash-app"})
    result = build(quick, "crash-app", {"Procfile": "web: echo going down; exit 3\n"})[0]
    assert result["status"] == "succeeded"
    assert wait_for_state(quick, "crash-app", "web.1", ("crashed",)) == "crashed"
    app = quick.ok("GET", "/apps/crash-app")
    status, page = web(app["web_url"])
    assert status == 503 and "Application error" in page
    lines = log_lines(quick, "crash-app")
    messages = [re.sub(r"^\S+ ", "", line) for line in lines]
    assert "app[web.1]: going down" in messages
    assert messages.index("heroku[web.1]: Process exited with status 3") < messages.index("heroku[web.1]: State changed from starting to crashed")
    assert any("code=H10" in m for m in messages)
    # A web process that never binds $PORT is killed after the boot timeout (R10).
    build(quick, "crash-app", {"Procfile": "web: echo not listening; sleep 30\n"})
    assert wait_for_state(quick, "crash-app", "web.1", ("crashed",)) == "crashed"
    messages = [re.sub(r"^\S+ ", "", line) for line in log_lines(quick, "crash-app", dyno_name="web.1")]
    assert "heroku[web.1]: Error R10 (Boot timeout) -> Web process failed to bind to $PORT within 1 seconds of launch" in messages
    assert messages[-2:] == ["heroku[web.1]: Process exited with status 137", "heroku[web.1]: State changed from starting to crashed"]
    # Restarts replace the dyno (the new one will crash the same way).
    crashed = quick.ok("GET", "/apps/crash-app/dynos/web.1")["id"]
    assert quick.ok("DELETE", "/apps/crash-app/dynos", status=202) == {}
    restarted = quick.ok("GET", "/apps/crash-app/dynos/web.1")["id"]
    assert restarted != crashed
    assert quick.ok("DELETE", "/apps/crash-app/dynos/web.1", status=202) == {}
    assert quick.ok("GET", "/apps/crash-app/dynos/web.1")["id"] not in (crashed, restarted)
    # Nobody attaches to this one-off dyno: it ends after the rendezvous timeout.
    dyno = quick.ok("POST", "/apps/crash-app/dynos", {"command": "echo never", "attach": True})
    assert wait_for_state(quick, "crash-app", dyno["name"], ("complete",)) == "complete"
    messages = [re.sub(r"^\S+ ", "", line) for line in log_lines(quick, "crash-app", dyno_name=dyno["name"])]
    assert f"heroku[{dyno['name']}]: Timed out waiting for rendezvous" in messages
    assert rendezvous(quick, dyno["attach_url"]) == b""


# -- the command line ---------------------------------------------------------------------------------------------

def start_cli(state_dir, *extra):
    proc = subprocess.Popen([sys.executable, str(SERVER), "--state-dir", str(state_dir), *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    info_path = state_dir / "server.json"
    deadline = time.monotonic() + 30
    pause = threading.Event()
    while not info_path.exists():
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "server.json was not written"
        pause.wait(0.05)
    return proc, json.loads(info_path.read_text())


class CliFake:
    """What Client needs of a FakeHeroku, from server.json."""

    def __init__(self, info):
        self.api_url = info["api_url"]
        self.api_key = info["api_key"]
        self.ca_path = info["ca_path"]


def test_command_line_stops_its_dynos_on_sigterm(tmp_path):
    proc, info = start_cli(tmp_path, "--api-key", "HRKU-test-key", "--port", "0")
    assert info["api_key"] == "HRKU-test-key" and info["pid"] == proc.pid
    client = Client(CliFake(info))
    app = deployed_app(client, "cli-app")
    assert web(app["web_url"]) == (200, "hello v1\n")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    log = proc.stderr.read().decode()
    assert "signal 15: stopping" in log and "HRKU-test-key" not in log
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", urlsplit(app["web_url"]).port), timeout=5).close()
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["mismatches"] == [] and stats["requests_validated"] == stats["responses_validated"]


def test_command_line_server_stops_when_its_state_dir_is_taken_away(tmp_path):
    proc, info = start_cli(tmp_path)
    (tmp_path / "server.json").unlink()
    assert proc.wait(timeout=30) == 0
    assert "orphaned server" in proc.stderr.read().decode()
    assert info["api_key"].startswith("HRKU-")
