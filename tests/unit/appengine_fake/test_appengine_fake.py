# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The local App Engine Admin API + Cloud Storage service (tests/appengine_fake), started in-process and used with
google-cloud-appengine-admin (REST transport) and google-cloud-storage, as the appengine_* modules will use them."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ae = pytest.importorskip("google.cloud.appengine_admin_v1")
storage = pytest.importorskip("google.cloud.storage")
pytest.importorskip("gcp_storage_emulator")
pytest.importorskip("googleapiclient")
from google.api_core import exceptions, retry as retries  # noqa: E402 pylint: disable=wrong-import-position
from google.api_core.future.polling import DEFAULT_POLLING  # noqa: E402 pylint: disable=wrong-import-position
import google.auth.transport.requests  # noqa: E402 pylint: disable=wrong-import-position
from google.auth.credentials import AnonymousCredentials  # noqa: E402 pylint: disable=wrong-import-position
from google.oauth2 import credentials as oauth2_credentials, service_account  # noqa: E402 pylint: disable=wrong-import-position
from google.protobuf import field_mask_pb2  # noqa: E402 pylint: disable=wrong-import-position

REPO = Path(__file__).resolve().parents[3]
FAKE = REPO / "tests" / "appengine_fake"
PROJECT = "jvmops-test"
POLLING = DEFAULT_POLLING.with_delay(initial=0.05, maximum=0.2, multiplier=1.5).with_timeout(60)
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _load(name):
    spec = importlib.util.spec_from_file_location(f"appengine_fake_{name}", FAKE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


server = _load("server")
control = _load("control")
ae_contract = sys.modules["ae_contract"]


@pytest.fixture(scope="session")
def jar(tmp_path_factory):
    """examples/hello-jvm built with its build.sh, in a copy (the repository's tree stays as it is)."""
    if not shutil.which("javac") or not shutil.which("jar"):
        pytest.skip("javac and jar (a JDK) are needed to build examples/hello-jvm")
    app = tmp_path_factory.mktemp("hello") / "hello-jvm"
    shutil.copytree(REPO / "examples" / "hello-jvm", app, ignore=shutil.ignore_patterns("build"))
    subprocess.run([str(app / "build.sh")], cwd=app, check=True, capture_output=True, timeout=300)
    return (app / "build" / "hello-jvm.jar").read_bytes()


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    service = server.FakeAppEngine(tmp_path_factory.mktemp("appengine"), projects=(PROJECT, "second-app"), token="ya29.test-token-" + "x" * 20,
                                   operation_delay=0.05, boot_timeout=30, stop_grace=2).start()
    service.expected_violations = 0
    yield service
    service.stop()
    assert service.service.running_processes() == 0
    # Only the violations the tests provoked on purpose.
    assert len(service.stats.data["violations"]) == service.expected_violations, service.stats.data["violations"]


def _clients(fake, token=None):
    creds = oauth2_credentials.Credentials(token or fake.token)
    options = {"api_endpoint": fake.endpoint}
    return (ae.ApplicationsClient(credentials=creds, transport="rest", client_options=options),
            ae.ServicesClient(credentials=creds, transport="rest", client_options=options),
            ae.VersionsClient(credentials=creds, transport="rest", client_options=options))


@pytest.fixture(scope="module")
def apps(fake):
    return _clients(fake)[0]


@pytest.fixture(scope="module")
def services(fake):
    return _clients(fake)[1]


@pytest.fixture(scope="module")
def versions(fake):
    return _clients(fake)[2]


@pytest.fixture(scope="module")
def bucket(fake):
    client = storage.Client(project=PROJECT, credentials=AnonymousCredentials(), client_options={"api_endpoint": fake.storage.endpoint})
    return client.bucket(f"staging.{PROJECT}.appspot.com")


def _upload(bucket, files):
    """Upload each file under its SHA-1, skipping those already there; deployment.files and the names uploaded."""
    manifest, uploaded = {}, []
    for path, data in files.items():
        sha1 = hashlib.sha1(data).hexdigest()  # noqa: S324 - App Engine's own checksum
        blob = bucket.blob(sha1)
        if not blob.exists():
            blob.upload_from_string(data)
            uploaded.append(path)
        manifest[path] = {"source_url": f"https://storage.googleapis.com/{bucket.name}/{sha1}", "sha1_sum": sha1}
    return manifest, uploaded


def _create(versions, service, version_id, manifest, **extra):
    return versions.create_version(request={"parent": f"apps/{PROJECT}/services/{service}",
                                            "version": {"id": version_id, "runtime": "java17", "deployment": {"files": manifest}, **extra}})


def _raw(fake, method, path, body=None, token=None, headers=None):
    """(status, JSON body) of a request sent by hand."""
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    request = urllib.request.Request(fake.endpoint + path, data=data, method=method,
                                     headers={"Authorization": f"Bearer {token or fake.token}", "Content-Type": "application/json",
                                              **(headers or {})})
    try:
        with _DIRECT.open(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def _get(fake, host, path="/"):
    """(status, body) of a request to an App Engine hostname through the service's front end."""
    request = urllib.request.Request(fake.endpoint + path, headers={"Host": host})
    try:
        with _DIRECT.open(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _control(fake, path, body=None):
    request = urllib.request.Request(fake.endpoint + path, data=None if body is None else json.dumps(body).encode(),
                                     method="GET" if body is None else "POST")
    with _DIRECT.open(request, timeout=10) as response:
        return json.loads(response.read())


def test_application_and_error_bodies(fake, apps):
    app = apps.get_application(request={"name": f"apps/{PROJECT}"})
    assert (app.code_bucket, app.default_hostname) == (f"staging.{PROJECT}.appspot.com", f"{PROJECT}.uc.r.appspot.com")
    assert app.serving_status == ae.Application.ServingStatus.SERVING
    with pytest.raises(exceptions.NotFound, match='Could not find Application "nope"'):
        apps.get_application(request={"name": "apps/nope"})
    status, body = _raw(fake, "GET", "/v1/apps/nope")
    assert (status, body["error"]["code"], body["error"]["status"]) == (404, 404, "NOT_FOUND")
    # Enums as the REST clients ask for them: numbers with enum-encoding=int, else names.
    assert _raw(fake, "GET", f"/v1/apps/{PROJECT}?%24alt=json%3Benum-encoding%3Dint")[1]["servingStatus"] == 1
    assert _raw(fake, "GET", f"/v1/apps/{PROJECT}")[1]["servingStatus"] == "SERVING"
    # As App Engine: the first service of an application is "default".
    status, body = _raw(fake, "POST", "/v1/apps/second-app/services/api/versions", {
        "id": "v1", "runtime": "java17", "deployment": {"files": {"a.jar": {"sourceUrl": "https://storage.googleapis.com/b/" + "a" * 40,
                                                                            "sha1Sum": "a" * 40}}}})
    assert (status, body["error"]["status"]) == (400, "INVALID_ARGUMENT") and "must be the 'default' service" in body["error"]["message"]


def test_bearer_token_is_checked(fake):
    with pytest.raises(exceptions.Forbidden):  # api-core names HTTP errors by their HTTP status
        _clients(fake, "ya29.someone-else")[0].get_application(request={"name": f"apps/{PROJECT}"})
    status, body = _raw(fake, "GET", f"/v1/apps/{PROJECT}", token="ya29.someone-else")
    assert (status, body["error"]["status"]) == (403, "PERMISSION_DENIED")
    request = urllib.request.Request(f"{fake.endpoint}/v1/apps/{PROJECT}")
    with pytest.raises(urllib.error.HTTPError) as missing:
        _DIRECT.open(request, timeout=10)
    assert missing.value.code == 401 and json.loads(missing.value.read())["error"]["status"] == "UNAUTHENTICATED"


def test_service_account_key_file(fake):
    info = json.loads((fake.state_dir / "server.json").read_text(encoding="utf-8"))
    before = fake.stats.snapshot()
    options = {"api_endpoint": info["api_endpoint"]}
    # The client library makes google-auth sign its own JWT for the API (always_use_jwt_access) ...
    creds = service_account.Credentials.from_service_account_file(info["service_account_file"],
                                                                  scopes=["https://www.googleapis.com/auth/cloud-platform"])
    assert ae.ApplicationsClient(credentials=creds, transport="rest", client_options=options).get_application(
        request={"name": f"apps/{PROJECT}"}).id == PROJECT
    # ... and without it, google-auth trades a JWT for an access token at the key file's token_uri.
    creds = service_account.Credentials.from_service_account_file(info["service_account_file"],
                                                                  scopes=["https://www.googleapis.com/auth/cloud-platform"])
    creds.refresh(google.auth.transport.requests.Request())
    assert creds.token == fake.token
    after = fake.stats.snapshot()
    assert (after["self_signed_jwt_requests"], after["token_requests"]) == (before["self_signed_jwt_requests"] + 1, before["token_requests"] + 1)
    assert (fake.state_dir / "service_account.json").stat().st_mode & 0o077 == 0


def test_deploy_split_stop_delete(fake, bucket, versions, services, jar):  # pylint: disable=too-many-locals,too-many-statements
    host = f"{PROJECT}.uc.r.appspot.com"
    manifest, uploaded = _upload(bucket, {"hello-jvm.jar": jar, "static/note.txt": b"note\n"})
    assert uploaded == ["hello-jvm.jar", "static/note.txt"]
    assert _upload(bucket, {"hello-jvm.jar": jar})[1] == []  # already there: skipped
    operation = _create(versions, "default", "v1", manifest, entrypoint={"shell": "java -jar hello-jvm.jar"},
                        env_variables={"LOG_LEVEL": "DEBUG"})
    assert not operation.operation.done
    metadata = ae.OperationMetadataV1.deserialize(operation.operation.metadata.value)
    assert (metadata.method, metadata.target) == ("google.appengine.v1.Versions.CreateVersion", f"apps/{PROJECT}/services/default/versions/v1")
    v1 = operation.result(polling=POLLING)
    assert v1.serving_status == ae.ServingStatus.SERVING
    assert v1.version_url == f"https://v1-dot-default-dot-{host}"
    full = versions.get_version(request={"name": v1.name, "view": ae.VersionView.FULL})
    assert sorted(full.deployment.files) == ["hello-jvm.jar", "static/note.txt"]
    assert not versions.get_version(request={"name": v1.name}).deployment.files  # BASIC
    status, body = _get(fake, f"v1-dot-default-dot-{host}", "/version")
    v1_pid = json.loads(body)["pid"]
    assert status == 200 and json.loads(body)["name"] == "hello-jvm"
    assert json.loads(_get(fake, host, "/version")[1])["pid"] == v1_pid  # the first version has all the traffic
    through_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({"http": fake.endpoint}))
    with through_proxy.open(f"http://v1-dot-default-dot-{host}/health", timeout=10) as response:  # as clients with http_proxy
        assert response.status == 200
    assert services.get_service(request={"name": f"apps/{PROJECT}/services/default"}).split.allocations == {"v1": 1.0}

    with pytest.raises(exceptions.Conflict, match="already exists"):
        _create(versions, "default", "v1", manifest)
    v2 = _create(versions, "default", "v2", {"hello-jvm.jar": manifest["hello-jvm.jar"]}).result(polling=POLLING)  # default entrypoint
    v2_pid = json.loads(_get(fake, f"v2-dot-default-dot-{host}", "/version")[1])["pid"]
    assert v2_pid != v1_pid and json.loads(_get(fake, host, "/version")[1])["pid"] == v1_pid

    service = services.update_service(request={"name": f"apps/{PROJECT}/services/default", "service": {"split": {"allocations": {"v2": 1.0}}},
                                               "update_mask": field_mask_pb2.FieldMask(paths=["split"])}).result(polling=POLLING)
    assert service.split.allocations == {"v2": 1.0}
    assert json.loads(_get(fake, host, "/version")[1])["pid"] == v2_pid
    assert json.loads(_get(fake, f"default-dot-{host}", "/version")[1])["pid"] == v2_pid
    with pytest.raises(exceptions.BadRequest, match="sum to 1"):
        services.update_service(request={"name": f"apps/{PROJECT}/services/default", "service": {"split": {"allocations": {"v1": 0.5}}},
                                         "update_mask": field_mask_pb2.FieldMask(paths=["split"])})

    stopped = versions.update_version(request={"name": v1.name, "version": {"serving_status": ae.ServingStatus.STOPPED},
                                               "update_mask": field_mask_pb2.FieldMask(paths=["serving_status"])}).result(polling=POLLING)
    assert stopped.serving_status == ae.ServingStatus.STOPPED
    assert _get(fake, f"v1-dot-default-dot-{host}")[0] == 503
    mask = field_mask_pb2.FieldMask(paths=["serving_status"])
    versions.update_version(request={"name": v1.name, "version": {"serving_status": ae.ServingStatus.SERVING}, "update_mask": mask}).result(polling=POLLING)
    assert json.loads(_get(fake, f"v1-dot-default-dot-{host}", "/version")[1])["pid"] not in (v1_pid, v2_pid)  # started again
    versions.update_version(request={"name": v1.name, "version": {"serving_status": ae.ServingStatus.STOPPED}, "update_mask": mask}).result(polling=POLLING)
    versions.delete_version(request={"name": v1.name}).result(polling=POLLING)
    assert [version.id for version in versions.list_versions(request={"parent": f"apps/{PROJECT}/services/default"})] == ["v2"]
    assert _get(fake, f"v1-dot-default-dot-{host}")[0] == 404
    with pytest.raises(exceptions.BadRequest, match="receiving traffic"):
        versions.delete_version(request={"name": f"apps/{PROJECT}/services/default/versions/v2"})
    assert fake.service.running_processes() == 1
    operations = _raw(fake, "GET", f"/v1/apps/{PROJECT}/operations?pageSize=2")[1]
    assert len(operations["operations"]) == 2 and operations["nextPageToken"]


def test_missing_or_mismatched_files_fail_the_operation(fake, bucket, versions, jar):
    manifest, _uploaded = _upload(bucket, {"hello-jvm.jar": jar})
    missing = {"hello-jvm.jar": manifest["hello-jvm.jar"],
               "lib/gone.jar": {"source_url": f"https://storage.googleapis.com/{bucket.name}/{'0' * 40}", "sha1_sum": "0" * 40}}
    with pytest.raises(exceptions.InvalidArgument, match=f"gs://{bucket.name}/{'0' * 40} does not exist"):
        _create(versions, "default", "broken", missing).result(polling=POLLING)
    bucket.blob("not-its-sha1").upload_from_string(b"other bytes")
    mismatched = {"hello-jvm.jar": {**manifest["hello-jvm.jar"], "source_url": f"https://storage.googleapis.com/{bucket.name}/not-its-sha1"}}
    with pytest.raises(exceptions.InvalidArgument, match="SHA-1 of .*not-its-sha1 is not"):
        _create(versions, "default", "broken", mismatched).result(polling=POLLING)
    with pytest.raises(exceptions.NotFound):
        versions.get_version(request={"name": f"apps/{PROJECT}/services/default/versions/broken"})
    with pytest.raises(exceptions.BadRequest, match="Runtime \"python312\" is not supported"):
        versions.create_version(request={"parent": f"apps/{PROJECT}/services/default",
                                         "version": {"id": "py", "runtime": "python312", "deployment": {"files": manifest}}})


def test_discovery_document_violations_are_detected(fake):
    before = len(fake.stats.snapshot()["violations"])
    path = f"/v1/apps/{PROJECT}/services/default/versions"
    status, body = _raw(fake, "POST", path, {"id": "v9", "runtime": "java17", "deploymnet": {}})
    assert (status, body["error"]["status"]) == (400, "INVALID_ARGUMENT")
    assert 'Unknown name "deploymnet"' in body["error"]["message"]
    assert body["error"]["details"][0]["fieldViolations"][0]["field"] == "version.deploymnet"
    assert _raw(fake, "GET", f"{path}?view=EVERYTHING")[0] == 400                      # not an enum value
    assert _raw(fake, "GET", f"{path}?color=blue")[0] == 400                           # no such query parameter
    assert _raw(fake, "PATCH", f"/v1/apps/{PROJECT}/services/default?updateMask=colour", {})[0] == 400   # not a field of Service
    assert _raw(fake, "POST", path, {"id": "v9", "envVariables": {"A": 1}})[0] == 400  # map of strings
    assert _raw(fake, "GET", f"/v1/apps/{PROJECT}/widgets")[0] == 404                   # no such method
    assert _raw(fake, "POST", path, b"{not json")[0] == 400
    violations = fake.stats.snapshot()["violations"][before:]
    fake.expected_violations += 7
    assert len(violations) == 7
    assert violations[0]["method"] == "appengine.apps.services.versions.create" and violations[0]["where"] == "request"


def test_faults_and_calls_log(fake, apps):
    _control(fake, "/__fake__/reset-calls", {})
    _control(fake, "/__fake__/faults", {"fail": {"apps.get": {"status": 503, "count": 2}}})
    retry = retries.Retry(initial=0.01, maximum=0.05, timeout=10, predicate=retries.if_exception_type(exceptions.ServiceUnavailable))
    assert apps.get_application(request={"name": f"apps/{PROJECT}"}, retry=retry).id == PROJECT
    _control(fake, "/__fake__/faults", {"fail": {"apps.get": {"status": 429}}})
    status, body = _raw(fake, "GET", f"/v1/apps/{PROJECT}")
    assert (status, body["error"]["status"]) == (429, "RESOURCE_EXHAUSTED")
    calls = _control(fake, "/__fake__/calls")
    assert [call["method"] for call in calls] == ["apps.get"] * 4 and not any(call["write"] for call in calls)
    assert _control(fake, "/__fake__/stats")["faults_injected"] >= 3


def test_contract_enum_numbers_and_alt():
    contract = ae_contract.Contract()
    values = contract.schemas["Version"]["properties"]["inboundServices"]["items"]["enum"]
    assert contract.enum_numbers("Version", "inboundServices", values)["INBOUND_SERVICE_WARMUP"] == 9  # the proto number, not the position
    encoded = contract.encode_enums("Operation", {"response": {"@type": "type.googleapis.com/google.appengine.v1.Version",
                                                               "servingStatus": "STOPPED"}})
    assert encoded["response"]["servingStatus"] == 2
    assert contract.decode_enums("Version", {"servingStatus": 2}) == {"servingStatus": "STOPPED"}
    method, params = contract.resolve("GET", "/v1/apps/p/services/s/versions/v")
    assert (method.id, params) == ("appengine.apps.services.versions.get", {"appsId": "p", "servicesId": "s", "versionsId": "v"})
    assert contract.check_query(method, {"$alt": ["json;enum-encoding=int"], "view": ["FULL"]}) == {"alt": "json", "view": "FULL"}
    with pytest.raises(ae_contract.ContractError):
        contract.check_query(method, {"$alt": ["json;enum-encoding=roman"]})
    with pytest.raises(ae_contract.ContractError, match="response.servingStatus"):
        contract.check_response(method, {"servingStatus": "RUNNING"})


def test_control_start_report_stop(tmp_path, monkeypatch):
    monkeypatch.setenv("APPENGINE_FAKE_TOKEN", "ya29.control-token-0123456789")
    state, info = control.start(tmp_path / "svc")
    try:
        assert state == "started" and info["api_endpoint"].startswith("http://127.0.0.1:") and info["token"] == "ya29.control-token-0123456789"
        assert control.start(tmp_path / "svc")[0] == "running"
        client = ae.ApplicationsClient(credentials=oauth2_credentials.Credentials(info["token"]), transport="rest",
                                       client_options={"api_endpoint": info["api_endpoint"]})
        assert client.get_application(request={"name": f"apps/{info['project']}"}).code_bucket == info["code_bucket"]
    finally:
        assert control.stop(tmp_path / "svc")
    key = json.loads(Path(info["service_account_file"]).read_text(encoding="utf-8"))["private_key"]
    result = control.report(tmp_path / "svc", {"a log": f"... {info['token']} ...", "a dump": json.dumps({"key": key})})
    assert result.contract_ok and result.started
    assert result.leaks == [("the access token", "a log"), ("the service account's private key", "a dump")]
    assert result.lines[0].startswith("App Engine Admin API service: 1 requests validated, 0 violations")
    assert control.main(["report", "--state-dir", str(tmp_path / "svc")]) == 0
