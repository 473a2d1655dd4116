# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the appengine_* module tests share: the local App Engine Admin API + Cloud Storage service
(tests/appengine_fake) started in-process, the requests that read and steer it, and examples/hello-jvm built to
deploy to it. Importing it skips the test module unless the Google client libraries and gcp-storage-emulator are
installed.

A test module imports the fixtures by their function names, and pytest finds them by the names they are declared
with: `fake` (the service, one for the test module; an error at the module's end when a call missed the
discovery document), `svc` (the service reset to nothing for each test) and `fast` (autouse: the modules' polls
and retries shortened, no GCP_* or endpoint settings from the environment).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from ansible_collections.jvmops.deploy.plugins.module_utils import _appengine

# The modules' client libraries and the service's: a test module that imports this one is skipped without them.
for _library in ("google.cloud.appengine_admin_v1", "google.cloud.storage", "gcp_storage_emulator", "googleapiclient"):
    pytest.importorskip(_library)

REPO = Path(__file__).resolve().parents[4]
FAKE = REPO / "tests" / "appengine_fake"
PROJECT = "jvmops-test"
TOKEN = "ya29.unit-test-token-" + "q" * 24
# The service is on 127.0.0.1: never through a proxy that http_proxy may name.
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _load_server():
    spec = importlib.util.spec_from_file_location("appengine_fake_server_for_modules", FAKE / "server.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(name="fake", scope="module")
def fake_fixture(tmp_path_factory):
    """The service for project PROJECT and access token TOKEN, started for the test module and stopped after it;
    then no request or response may have missed the discovery document."""
    server = _load_server()
    service = server.FakeAppEngine(tmp_path_factory.mktemp("appengine"), projects=(PROJECT,), token=TOKEN,
                                   operation_delay=0.05, boot_timeout=30, stop_grace=2).start()
    yield service
    service.stop()
    assert not service.stats.data["violations"], service.stats.data["violations"]


@pytest.fixture(name="fast", autouse=True)
def fast_fixture(monkeypatch):
    """Short polls and retries in module_utils/_appengine; none of the GCP_* or endpoint variables set."""
    monkeypatch.setattr(_appengine, "POLL_INITIAL", 0.05)
    monkeypatch.setattr(_appengine, "POLL_MAXIMUM", 0.2)
    monkeypatch.setattr(_appengine, "RETRY_INITIAL", 0.01)
    monkeypatch.setattr(_appengine, "RETRY_MAXIMUM", 0.05)
    for name in ("GCP_AUTH_KIND", "GCP_ACCESS_TOKEN", "GCP_SERVICE_ACCOUNT_FILE", "GCP_SERVICE_ACCOUNT_CONTENTS",
                 "GCP_PROJECT", "STORAGE_EMULATOR_HOST", "APPENGINE_API_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(name="svc")
def svc_fixture(fake):
    """The service from nothing for each test."""
    control(fake, "/__fake__/reset", {})
    return fake


def control(fake, path, body=None):
    """The answer of one of the service's /__fake__ endpoints: a GET, or a POST of body (JSON) when one is given."""
    request = urllib.request.Request(fake.endpoint + path, data=None if body is None else json.dumps(body).encode(),
                                     method="GET" if body is None else "POST")
    with DIRECT.open(request, timeout=10) as response:
        return json.loads(response.read())


def calls(fake):
    """The service's calls log: the authenticated Admin API calls since the last reset or reset-calls, in order."""
    return control(fake, "/__fake__/calls")


def writes(fake):
    """The methods of the calls that changed something, in order."""
    return [call["method"] for call in calls(fake) if call["write"]]


def get(fake, host, path="/version"):
    """What a version answers (JSON) to a GET of path sent to the front end as hostname host."""
    request = urllib.request.Request(fake.endpoint + path, headers={"Host": host})
    with DIRECT.open(request, timeout=10) as response:
        return json.loads(response.read())


def build_hello_jvm(root):
    """examples/hello-jvm copied to root/hello-jvm and built there with its build.sh; the JAR's path. Skips the
    test when there is no JDK."""
    if not shutil.which("javac") or not shutil.which("jar"):
        pytest.skip("javac and jar (a JDK) are needed to build examples/hello-jvm")
    app = root / "hello-jvm"
    shutil.copytree(REPO / "examples" / "hello-jvm", app, ignore=shutil.ignore_patterns("build"))
    subprocess.run([str(app / "build.sh")], cwd=app, check=True, capture_output=True, timeout=300)
    return app / "build" / "hello-jvm.jar"
