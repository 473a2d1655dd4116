# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""appengine_deploy against the local App Engine Admin API + Cloud Storage service (tests/appengine_fake), started
in-process: the versions really run examples/hello-jvm, and the service's calls log shows every write."""

from __future__ import annotations

import io
import json
import tarfile

import pytest

# Imported first, as it skips this module without the Google libraries. fake_fixture, fast_fixture and svc_fixture
# are the fixtures fake, fast (autouse) and svc: pytest finds them here.
# pylint: disable-next=unused-import
from ansible_collections.jvmops.deploy.tests.unit.plugins.modules.appengine_support import (
    PROJECT, build_hello_jvm, calls, control, fake_fixture, fast_fixture, get, svc_fixture, writes)
from ansible_collections.jvmops.deploy.plugins.modules import appengine_deploy

SECRET = "env-secret-value-7d1f"


@pytest.fixture(scope="session")
def jar(tmp_path_factory):
    """examples/hello-jvm built with its build.sh, in a copy."""
    return build_hello_jvm(tmp_path_factory.mktemp("hello"))


def args(fake, src, **extra):
    return {"project": PROJECT, "src": str(src), "access_token": fake.token, "api_endpoint": fake.endpoint,
            "storage_endpoint": fake.storage.endpoint, **extra}


def build_tar(tmp_path, jar, note):
    """The build role's kind of archive: the JAR at the root and a file that differs per build."""
    path = tmp_path / f"hello-{len(note)}.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        archive.add(jar, arcname="hello-jvm.jar")
        data = note.encode()
        info = tarfile.TarInfo("static/note.txt")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return path


def assert_no_secret(result, fake):
    text = json.dumps(result, default=str)
    assert fake.token not in text
    assert SECRET not in text


def test_first_deploy_then_unchanged_rerun(invoke, svc, jar):
    first = invoke(appengine_deploy.main, args(svc, jar, env_variables={"DB_PASSWORD": SECRET}))
    assert not first.failed, first.result
    result = first.result
    assert result["changed"] and result["created"]
    assert (result["uploaded"], result["already_stored"], result["files"]) == (1, 0, 1)
    assert result["version_id"].startswith("v") and len(result["version_id"]) == 13
    host = f"{result['version_id']}-dot-default-dot-{PROJECT}.uc.r.appspot.com"
    assert result["url"] == f"https://{host}"
    assert result["split"] == {result["version_id"]: 1.0}
    assert result["previous_version"] is None
    assert result["version"]["env_variables"] == {"DB_PASSWORD": "********"}
    assert result["version"]["serving_status"] == "SERVING"
    assert get(svc, host)["name"] == "hello-jvm"
    assert_no_secret(result, svc)

    control(svc, "/__fake__/reset-calls", {})
    again = invoke(appengine_deploy.main, args(svc, jar, env_variables={"DB_PASSWORD": SECRET}))
    assert not again.failed, again.result
    assert not again.result["changed"]
    assert (again.result["uploaded"], again.result["created"]) == (0, False)
    assert again.result["version_id"] == result["version_id"]
    assert writes(svc) == []
    assert calls(svc), "the rerun read the service"


def test_new_build_moves_traffic_and_stops_the_previous(invoke, svc, jar, tmp_path):
    v1 = invoke(appengine_deploy.main, args(svc, build_tar(tmp_path, jar, "one"), version="v1")).result
    assert v1["changed"] and (v1["uploaded"], v1["files"]) == (2, 2)
    control(svc, "/__fake__/reset-calls", {})
    v2 = invoke(appengine_deploy.main, args(svc, build_tar(tmp_path, jar, "two!"), version="v2", stop_previous=True))
    assert not v2.failed, v2.result
    v2 = v2.result
    assert v2["changed"] and v2["created"]
    assert (v2["uploaded"], v2["already_stored"]) == (1, 1)  # the JAR is in the bucket already
    assert v2["previous_version"] == "v1"
    assert v2["split"] == {"v2": 1.0}
    assert v2["stopped"] == ["v1"]
    assert writes(svc) == ["apps.services.versions.create", "apps.services.patch", "apps.services.versions.patch"]
    host = f"{PROJECT}.uc.r.appspot.com"
    assert get(svc, f"default-dot-{host}")["name"] == "hello-jvm"
    assert get(svc, f"v2-dot-default-dot-{host}")["pid"] == get(svc, host)["pid"]


def test_gradual_split_and_check_mode_and_diff(invoke, svc, jar, tmp_path):
    invoke(appengine_deploy.main, args(svc, build_tar(tmp_path, jar, "one"), version="v1"))
    control(svc, "/__fake__/reset-calls", {})
    src = build_tar(tmp_path, jar, "two!")
    split = {"v1": 0.9, "v2": 0.1}
    predicted = invoke(appengine_deploy.main, args(svc, src, version="v2", split=split, env_variables={"K": SECRET}),
                       check=True, diff=True)
    assert not predicted.failed, predicted.result
    result = predicted.result
    assert result["changed"] and result["created"] and result["uploaded"] == 1
    assert result["split"] == split
    assert writes(svc) == []
    diff = result["diff"]
    assert diff["before"] == {"version": {}, "split": {"v1": 1.0}}
    assert diff["after"]["split"] == split
    assert diff["after"]["version"]["env_variables"] == {"K": "********"}
    assert sorted(diff["after"]["version"]["files"]) == ["hello-jvm.jar", "static/note.txt"]
    assert_no_secret(result, svc)

    done = invoke(appengine_deploy.main, args(svc, src, version="v2", split=split, env_variables={"K": SECRET}),
                  diff=True)
    assert not done.failed, done.result
    assert done.result["split"] == split and done.result["previous_version"] == "v1"
    assert writes(svc) == ["apps.services.versions.create", "apps.services.patch"]
    # Then all of it: no new version, only the split moves.
    control(svc, "/__fake__/reset-calls", {})
    full = invoke(appengine_deploy.main, args(svc, src, version="v2", env_variables={"K": SECRET}), diff=True).result
    assert full["changed"] and not full["created"] and full["split"] == {"v2": 1.0}
    assert full["diff"]["before"]["split"] == split
    assert writes(svc) == ["apps.services.patch"]


def test_app_yaml_is_read_as_gcloud_reads_it(invoke, svc, jar, tmp_path):
    app_yaml = tmp_path / "app.yaml"
    app_yaml.write_text("runtime: java21\nentrypoint: java -jar hello-jvm.jar\ninstance_class: B2\n"
                        "basic_scaling:\n  max_instances: 2\n  idle_timeout: 5m\n"
                        f"env_variables:\n  TOKEN_SECRET: {SECRET}\n"
                        "handlers:\n  - url: /static\n    static_dir: public\n  - url: /.*\n    script: auto\n"
                        "    secure: always\n", encoding="utf-8")
    result = invoke(appengine_deploy.main, args(svc, jar, app_yaml=str(app_yaml)))
    assert not result.failed, result.result
    version = result.result["version"]
    assert (version["runtime"], version["instance_class"]) == ("java21", "B2")
    assert version["basic_scaling"] == {"max_instances": 2, "idle_timeout": "300s"}
    assert version["handlers"][0]["url_regex"] == "/static/(.*)"
    assert version["handlers"][1]["security_level"] == "SECURE_ALWAYS"
    assert_no_secret(result.result, svc)
    again = invoke(appengine_deploy.main, args(svc, jar, app_yaml=str(app_yaml)))
    assert not again.result["changed"]


@pytest.mark.parametrize("extra, message", [
    ({"project": "Jvmops-Test"}, "project: 'Jvmops-Test' must not contain upper-case letters"),
    ({"project": "jvmops-"}, "project: 'jvmops-' must start with a letter"),
    ({"runtime": "java8"}, "runtime"),
    ({"split": {"v1": 0.5, "v2": 0.4}}, "split: the fractions must sum to 1"),
    ({"split": {"v1": 0.333, "v2": 0.667}}, "at most 2 decimals"),
    ({"version": "ah-builtin"}, "reserved prefix 'ah-'"),
    ({"service": "My_Service"}, "service: 'My_Service' may hold only"),
])
def test_bad_input_fails_before_any_call(invoke, svc, jar, extra, message):
    control(svc, "/__fake__/reset-calls", {})
    result = invoke(appengine_deploy.main, args(svc, jar, **extra))
    assert result.failed
    assert message in result.result["msg"]
    assert calls(svc) == []


def test_unknown_runtime_in_app_yaml_fails_before_any_call(invoke, svc, jar, tmp_path):
    app_yaml = tmp_path / "app.yaml"
    app_yaml.write_text("runtime: python312\n", encoding="utf-8")
    control(svc, "/__fake__/reset-calls", {})
    result = invoke(appengine_deploy.main, args(svc, jar, app_yaml=str(app_yaml)))
    assert result.failed and "app_yaml: runtime: 'python312' is not a runtime" in result.result["msg"]
    assert calls(svc) == []


def test_google_errors_are_surfaced_clearly(invoke, svc, jar):
    result = invoke(appengine_deploy.main, args(svc, jar, project="nope-project"))
    assert result.failed
    assert result.result["msg"] == "Failed to read application 'nope-project': Could not find Application \"nope-project\"."
    assert (result.result["status"], result.result["reason"]) == (404, "NOT_FOUND")
    assert result.result["request"] == "GET /v1/apps/nope-project"

    denied = invoke(appengine_deploy.main, {**args(svc, jar), "access_token": "ya29.someone-else-entirely"})
    assert denied.failed and denied.result["status"] == 403 and denied.result["reason"] == "PERMISSION_DENIED"
    assert "The caller does not have permission" in denied.result["msg"]
    assert "ya29.someone-else-entirely" not in json.dumps(denied.result)

    control(svc, "/__fake__/faults", {"fail": {"apps.services.versions.create": {"status": 500, "count": 1}}})
    failed = invoke(appengine_deploy.main, args(svc, jar))
    assert failed.failed and failed.result["msg"].startswith("Failed to create version")
    assert failed.result["status"] == 500 and failed.result["request"].startswith("POST /v1/apps/jvmops-test/services")
    assert_no_secret(failed.result, svc)


def test_throttling_is_retried(invoke, svc, jar):
    control(svc, "/__fake__/faults", {"fail": {"apps.get": {"status": 429, "count": 2},
                                               "apps.services.versions.create": {"status": 503, "count": 1}}})
    result = invoke(appengine_deploy.main, args(svc, jar))
    assert not result.failed, result.result
    assert result.result["created"]


def test_existing_version_with_other_content_fails(invoke, svc, jar, tmp_path):
    invoke(appengine_deploy.main, args(svc, build_tar(tmp_path, jar, "one"), version="v1"))
    control(svc, "/__fake__/reset-calls", {})
    result = invoke(appengine_deploy.main, args(svc, build_tar(tmp_path, jar, "two!"), version="v1"))
    assert result.failed and "Version 'v1' of service 'default' exists with other files" in result.result["msg"]
    assert writes(svc) == []


def test_service_account_key_file(invoke, svc, jar):
    info = json.loads((svc.state_dir / "server.json").read_text(encoding="utf-8"))
    params = args(svc, jar, auth_kind="serviceaccount", service_account_file=info["service_account_file"])
    del params["access_token"]
    result = invoke(appengine_deploy.main, params)
    assert not result.failed, result.result
    assert result.result["created"]
